/**
 * The capabilities a driver may claim in driver.yaml, with what each
 * promises. The one vocabulary: driver.yaml's schema, validate (the actions a
 * claim needs, from the contract table's `need.claimedBy`) and the
 * conformance suite (which checks run) all read this table.
 */
export const CAPABILITIES = {
  snapshots: 'snapshot actions work: datastore snap_delete, snap_flatten, snap_revert; tm snap_create, snap_delete, snap_revert',
  live_snapshots: 'tm snap_create_live: snapshots of a running VM\'s disk',
  sparse: 'copies keep holes: a sparse image stays sparse',
  shared: 'the front-end and every host see the datastore at the same paths',
  image_datastore: 'tm: serves image datastores (clone, ln, mvds, cpds)',
  system_datastore: 'tm: serves system datastores (context, delete, mkimage, mkswap, premigrate, postmigrate)',
  clone_copy: 'clone makes a full copy of the image',
  clone_overlay: 'clone makes a copy-on-write overlay backed by the image',
  persistent_link: 'tm ln links a persistent image instead of copying it',
  saveas: 'tm cpds saves a disk, or a snapshot of it, as a new image',
  resize: 'tm resize grows a disk',
  context: 'tm context builds the context ISO',
  monitor: 'monitor reports the datastore\'s capacity',
  url_import: 'datastore cp imports http(s) URLs as well as local paths',
  atomic_writes: 'images are written to a temporary file and renamed: never seen half-written',
  checksums: 'datastore cp checks the MD5 or SHA1 given in the image template',
  mkfs_raw: 'datastore mkfs creates raw images',
  mkfs_qcow2: 'datastore mkfs creates qcow2 images',
} as const;

export type Capability = keyof typeof CAPABILITIES;

export function isCapability(name: string): name is Capability {
  return Object.hasOwn(CAPABILITIES, name);
}
