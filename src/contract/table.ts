/**
 * The driver contract in one table: for every action of every kind, the
 * arguments its script gets, whether the dump also goes on stdin, how stdout
 * is parsed, the default timeout, the id argument and the resource it locks,
 * its protocol verb and reply encoding, its route, and what validate requires
 * of a driver (see ActionSpec in spec.ts). Every layer derives from it
 * through lookup.ts; adding an action is one row here plus a fixture.
 */
import type { ArgSpec } from './args.js';
import {
  parseImageSource,
  parseMkfsSource,
  parseMonitor,
  parseNothing,
  parseRaw,
  parseSize,
  parseSource,
  type ImageSourceResult,
  type MonitorResult,
  type Parser,
} from './parsers.js';
import type { ActionNeed, ActionSpec, DumpFields, Kind, LockOn, Route } from './spec.js';

export { KINDS } from './spec.js';
export type { ActionNeed, ActionSpec, DumpFields, Kind, LockOn, Need, ProtocolSpec, Route } from './spec.js';

const HOURS = 3600;
const MINUTES = 60;

const DUMP_ARGS = [
  { name: 'dump', type: 'dump' },
  { name: 'id', type: 'id' },
] as const satisfies readonly ArgSpec[];

const need = (level: ActionNeed['need'], breaks: string, ...claimedBy: NonNullable<ActionNeed['claimedBy']>): ActionNeed =>
  claimedBy.length > 0 ? { need: level, breaks, claimedBy } : { need: level, breaks };

interface DsRowOptions<R> {
  parse: Parser<R>;
  timeoutSec: number;
  returns: boolean;
  need: ActionNeed;
  /** ActionSpec.repeatSafe. */
  repeatSafe: boolean;
  lockOn?: LockOn;
  route?: ActionSpec<R>['route'];
  /** The protocol verb; default the action's name in capitals. */
  verb?: string | null;
  reply?: 'text' | 'base64';
}

/** A datastore row: `<dump> <id>`, the dump on stdin too, a protocol request of its own named after the action. */
function dsRow<R>(action: string, summary: string, options: DsRowOptions<R>): ActionSpec<R> {
  const verb = options.verb === undefined ? action.toUpperCase() : options.verb;
  return {
    summary,
    args: DUMP_ARGS,
    dumpOnStdin: true,
    parse: options.parse,
    timeoutSec: options.timeoutSec,
    returns: options.returns,
    idArg: 'id',
    lockOn: options.lockOn ?? 'image',
    ...(verb !== null ? { protocol: { verb, reply: options.reply ?? 'text' } } : {}),
    ...(options.route ? { route: options.route } : {}),
    need: options.need,
    repeatSafe: options.repeatSafe,
  };
}

/** A tm row: its own argument list, nothing on stdin, nothing returned, a TRANSFER line named after the action, serialized per VM. */
function tmRow(action: string, summary: string, args: readonly ArgSpec[], timeoutSec: number, actionNeed: ActionNeed, repeatSafe: boolean): ActionSpec<undefined> {
  const idArg = args.find((arg) => arg.name === 'vm_id' || arg.name === 'vmid')?.name;
  return {
    summary,
    args,
    dumpOnStdin: false,
    parse: parseNothing,
    timeoutSec,
    returns: false,
    ...(idArg ? { idArg } : {}),
    lockOn: 'vm',
    protocol: { verb: action.toUpperCase(), reply: 'text' },
    need: actionNeed,
    repeatSafe,
  };
}

const src = (name: string): ArgSpec => ({ name, type: 'hostpath' });
const dst = (name: string): ArgSpec => ({ name, type: 'hostpath' });
const VM_DS = [
  { name: 'vm_id', type: 'id' },
  { name: 'ds_id', type: 'id' },
] as const satisfies readonly ArgSpec[];
const SNAP: ArgSpec = { name: 'snap_id', type: 'uint' };
const MIGRATE = [
  { name: 'source_host', type: 'host' },
  { name: 'dst_host', type: 'host' },
  { name: 'remote_system_dir', type: 'path' },
  { name: 'vmid', type: 'id' },
  { name: 'dsid', type: 'id' },
  { name: 'template', type: 'base64' },
] as const satisfies readonly ArgSpec[];

/** A system datastore (DATASTORE/TYPE 1) is monitored by its TM driver. */
const systemDatastoreRoute = (dump: DumpFields): Route | undefined =>
  dump.get('DATASTORE/TYPE') === '1' ? { kind: 'tm', driverFrom: 'DATASTORE/TM_MAD' } : undefined;

export const DATASTORE_CONTRACT = {
  cp: dsRow<ImageSourceResult>('cp', 'copy an image into the datastore; prints "<image_source> <size>"', {
    parse: parseImageSource, timeoutSec: 12 * HOURS, returns: true,
    need: need('required', 'images cannot be registered (nothing copies them into the datastore)', 'url_import', 'checksums'),
    // A second run writes a second SOURCE; the first one's file would be left behind.
    repeatSafe: false,
  }),
  // OpenNebula's current mkfs prints only the source: accepted, the size is then the dump's IMAGE/SIZE (withDumpSize).
  mkfs: dsRow<ImageSourceResult>('mkfs', 'create an empty image; prints "<image_source> <size>" or only the source (the size is then IMAGE/SIZE)', {
    parse: parseMkfsSource, timeoutSec: 1 * HOURS, returns: true,
    need: need('recommended', 'empty datablocks and save-as targets cannot be created', 'mkfs_raw', 'mkfs_qcow2'),
    repeatSafe: false,
  }),
  rm: dsRow('rm', 'remove an image from the datastore', {
    parse: parseNothing, timeoutSec: 1 * HOURS, returns: false, need: need('required', 'images cannot be deleted from the datastore'), repeatSafe: true,
  }),
  stat: dsRow<number>('stat', 'print the size of an image in MB', {
    parse: parseSize, timeoutSec: 5 * MINUTES, returns: true, need: need('required', 'the size of an image to register is unknown, so registering it fails'), repeatSafe: true,
  }),
  clone: dsRow<string>('clone', 'clone an image; prints the new source', {
    parse: parseSource, timeoutSec: 12 * HOURS, returns: true, need: need('recommended', 'images cannot be cloned', 'clone_copy', 'clone_overlay'), repeatSafe: false,
  }),
  monitor: dsRow<MonitorResult>('monitor', 'print USED_MB, TOTAL_MB and FREE_MB of the datastore', {
    parse: parseMonitor, timeoutSec: 5 * MINUTES, returns: true, lockOn: 'datastore', reply: 'base64', route: systemDatastoreRoute,
    need: need('required', 'the datastore reports no capacity, so nothing is placed on it', 'monitor'), repeatSafe: true,
  }),
  snap_delete: dsRow('snap_delete', 'delete snapshot TARGET_SNAPSHOT of a persistent image', {
    parse: parseNothing, timeoutSec: 1 * HOURS, returns: false, need: need('optional', 'image snapshots cannot be deleted', 'snapshots'), repeatSafe: false,
  }),
  snap_flatten: dsRow('snap_flatten', 'flatten the image to snapshot TARGET_SNAPSHOT', {
    parse: parseNothing, timeoutSec: 1 * HOURS, returns: false, need: need('optional', 'an image cannot be flattened to a snapshot', 'snapshots'), repeatSafe: false,
  }),
  snap_revert: dsRow('snap_revert', 'revert the image to snapshot TARGET_SNAPSHOT', {
    parse: parseNothing, timeoutSec: 1 * HOURS, returns: false, need: need('optional', 'an image cannot be reverted to a snapshot', 'snapshots'), repeatSafe: false,
  }),
} as const satisfies Record<string, ActionSpec>;

const DISK = src('host:remote_system_ds/disk.i');
const SOURCE: ArgSpec = { name: 'fe:SOURCE', type: 'hostsource' };

export const TM_CONTRACT = {
  clone: tmRow('clone', 'clone a non-persistent image to a host', [SOURCE, dst('host:remote_system_ds/disk.i'), ...VM_DS], 12 * HOURS,
    need('required', 'VMs with non-persistent disks cannot be deployed', 'clone_copy', 'clone_overlay', 'image_datastore'), true),
  ln: tmRow('ln', 'link a persistent image to a host', [SOURCE, dst('host:remote_system_ds/disk.i'), ...VM_DS], 12 * HOURS,
    need('required', 'VMs with persistent disks cannot be deployed', 'persistent_link', 'image_datastore'), true),
  mvds: tmRow('mvds', 'move a persistent image back to its datastore', [DISK, { name: 'fe:SOURCE', type: 'source' }, ...VM_DS], 12 * HOURS,
    need('required', 'persistent disks are not saved back to their datastore when a VM shuts down', 'image_datastore'), false),
  cpds: tmRow('cpds', 'copy a disk back to its datastore (saveas)', [DISK, { name: 'fe:SOURCE', type: 'source' }, { name: 'snap_id', type: 'id' }, ...VM_DS], 12 * HOURS,
    need('recommended', 'disks cannot be saved as new images (saveas)', 'saveas', 'image_datastore'), true),
  mv: tmRow('mv', 'move a disk or a VM folder between hosts', [src('hostA:system_ds/path'), dst('hostB:system_ds/path'), ...VM_DS], 12 * HOURS,
    need('required', 'VMs cannot be stopped, resumed or migrated cold'), false),
  premigrate: tmRow('premigrate', 'run before a live migration', MIGRATE, 10 * MINUTES, need('system', 'live migration fails before it starts', 'system_datastore'), true),
  postmigrate: tmRow('postmigrate', 'run after a live migration', MIGRATE, 10 * MINUTES, need('system', 'live migration fails after the VM moved', 'system_datastore'), true),
  failmigrate: tmRow('failmigrate', 'run after a failed live migration', MIGRATE, 10 * MINUTES, need('optional', 'a failed live migration is not cleaned up'), true),
  snap_create: tmRow('snap_create', 'create a disk snapshot', [DISK, SNAP, ...VM_DS], 1 * HOURS, need('optional', 'disk snapshots cannot be taken', 'snapshots'), false),
  snap_create_live: tmRow('snap_create_live', 'create a disk snapshot of a running VM', [DISK, SNAP, ...VM_DS], 1 * HOURS,
    need('optional', 'snapshots of a running VM\'s disks cannot be taken', 'live_snapshots'), false),
  snap_delete: tmRow('snap_delete', 'delete a disk snapshot', [DISK, SNAP, ...VM_DS], 1 * HOURS, need('optional', 'disk snapshots cannot be deleted', 'snapshots'), false),
  snap_revert: tmRow('snap_revert', 'revert a disk to a snapshot', [DISK, SNAP, ...VM_DS], 1 * HOURS, need('optional', 'disks cannot be reverted to a snapshot', 'snapshots'), false),
  context: tmRow('context', 'build a context ISO of the files on a host', [{ name: 'file', type: 'text', variadic: true }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 10 * MINUTES,
    need('system', 'VMs with a CONTEXT section cannot start', 'context', 'system_datastore'), true),
  delete: tmRow('delete', 'delete a disk or a VM folder', [dst('host:remote_system_ds/path'), ...VM_DS], 1 * HOURS,
    need('required', 'VMs cannot be shut down: their disks and folders are never removed'), true),
  mkimage: tmRow('mkimage', 'create a volatile disk', [{ name: 'size', type: 'uint' }, { name: 'format', type: 'word' }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 1 * HOURS,
    need('system', 'VMs with volatile disks cannot start', 'system_datastore'), true),
  mkswap: tmRow('mkswap', 'create a swap disk', [{ name: 'size', type: 'uint' }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 1 * HOURS,
    need('system', 'VMs with swap disks cannot start', 'system_datastore'), true),
  // Reached from a datastore MONITOR of a system datastore (the route above), never from a TRANSFER line.
  monitor: dsRow<MonitorResult>('monitor', 'print USED_MB, TOTAL_MB and FREE_MB of a shared system datastore', {
    parse: parseMonitor, timeoutSec: 5 * MINUTES, returns: true, lockOn: 'datastore', verb: null,
    need: need('optional', 'a shared system datastore reports no capacity', 'monitor'), repeatSafe: true,
  }),
  resize: tmRow('resize', 'resize a disk', [DISK, { name: 'size', type: 'uint' }, { name: 'vm_id', type: 'id' }, { name: 'ds_id', type: 'id', optional: true }], 1 * HOURS,
    need('optional', 'disks cannot be resized', 'resize'), false),
} as const satisfies Record<string, ActionSpec>;

const genericDs = (action: string, summary: string, verb: string | null = null): ActionSpec<string> =>
  dsRow<string>(action, summary, { parse: parseRaw, timeoutSec: 1 * HOURS, returns: false, verb, need: need('optional', `${summary} is not available`), repeatSafe: false });

const genericTm = (summary: string): ActionSpec<string> => ({
  summary,
  args: [{ name: 'arg', type: 'text', variadic: true, optional: true }],
  dumpOnStdin: false,
  parse: parseRaw,
  timeoutSec: 1 * HOURS,
  returns: false,
  lockOn: 'vm',
  need: need('optional', `${summary} is not available`),
  // Not ferry's to know: a driver-specific action is never run twice for it.
  repeatSafe: false,
});

/**
 * Actions a driver folder may hold that ferry's contract does not define but
 * OpenNebula knows (backups, exports, the ssh TM's host-side monitor_ds and
 * replica snapshots): run as given, stdout raw, and known to validate
 * (information saying what each is, never a typo). RESTORE and INCREMENT_FLATTEN are
 * requests of OpenNebula's datastore driver process.
 */
export const EXTRA_ACTIONS = {
  datastore: {
    export: genericDs('export', 'export an image (marketplace)'),
    restore: genericDs('restore', 'restore a backup into images', 'RESTORE'),
    increment_flatten: genericDs('increment_flatten', 'flatten backup increments', 'INCREMENT_FLATTEN'),
    ls: genericDs('ls', 'list a backup datastore'),
  },
  tm: {
    prebackup: genericTm('prepare a backup of a VM\'s disks'),
    prebackup_live: genericTm('prepare a backup of a running VM\'s disks'),
    postbackup: genericTm('clean up after a backup'),
    postbackup_live: genericTm('clean up after a backup of a running VM'),
    restore: genericTm('restore a VM\'s disks from a backup'),
    // Run on each host by OpenNebula's monitoring probe (monitor_ds.sh), never by its TM driver process.
    monitor_ds: genericTm('report the disk and snapshot sizes of the VMs in a system datastore folder on a host (VM = [ ... ] lines)'),
    // Run on a host for the ssh TM's replica mode: the periodic snapshot of a running VM's disk that a replica host recovers from.
    recovery_snap_create_live: genericTm('take the recovery snapshot of a running VM\'s disk for the ssh TM\'s replica host'),
  },
} as const satisfies { [K in Kind]: Record<string, ActionSpec> };

/** Actions a driver folder holds that neither table names: run as given, stdout raw. */
export const GENERIC_CONTRACT = {
  datastore: genericDs('', 'driver-specific action; stdout returned as printed'),
  tm: genericTm('driver-specific action; arguments passed as given, stdout returned as printed'),
} as const satisfies { [K in Kind]: ActionSpec<string> };

export const CONTRACT = { datastore: DATASTORE_CONTRACT, tm: TM_CONTRACT } as const satisfies { [K in Kind]: Record<string, ActionSpec> };

/** OpenNebula's TM driver process takes one request, a transfer file whose lines carry the tm rows' verbs, serialized per VM. */
export const TRANSFER_REQUEST = { verb: 'TRANSFER', lockOn: 'vm' } as const satisfies { verb: string; lockOn: LockOn };

export type DsAction = keyof typeof DATASTORE_CONTRACT;
export type TmAction = keyof typeof TM_CONTRACT;
/** The actions the table defines (a snapshot taken when ferry loads; layers read the table through lookup.ts). */
export const DS_ACTIONS = Object.keys(DATASTORE_CONTRACT) as readonly DsAction[];
export const TM_ACTIONS = Object.keys(TM_CONTRACT) as readonly TmAction[];

export type ContractOf<K extends Kind> = (typeof CONTRACT)[K];
export type ActionOf<K extends Kind> = keyof ContractOf<K> & string;
/** The typed result of action A of kind K; a driver-specific action returns its stdout. */
export type ResultOf<K extends Kind, A extends string> = A extends ActionOf<K>
  ? ContractOf<K>[A] extends ActionSpec<infer R> ? R : never
  : string;

export { baseAction, isKind, isKnownAction, specFor } from './lookup.js';
