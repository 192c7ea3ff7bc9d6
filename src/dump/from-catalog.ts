/**
 * Action dumps made from catalog records: a datastore (and the image an
 * action is for) as oned would send them to a datastore driver. Secrets
 * never go in a dump: secretEnv gives them to the driver's environment.
 */
import type { Datastore, Image } from '../model.js';
import { buildDump, type ActionDump, type ImageFields } from './dump.js';
import { envName } from './env.js';
import { SECRET_ENV_PREFIX } from '../log/mask.js';

/** DATASTORE/TYPE as OpenNebula numbers it. */
export const DS_TYPE_NUMBER = { IMAGE: 0, SYSTEM: 1, FILE: 2 } as const;

/** Secret attributes as FERRY_DS_SECRET_<NAME> variables: the only way they reach a driver. */
export function secretEnv(ds: Datastore): Record<string, string> {
  return Object.fromEntries(Object.entries(ds.secrets).map(([name, value]) => [`${SECRET_ENV_PREFIX}${envName(name)}`, value]));
}

/** The format an empty image is made in when none is asked: the datastore's DRIVER, else raw (as oned chooses). */
export function emptyImageFormat(ds: Datastore): string {
  return ds.template.DRIVER || 'raw';
}

/**
 * The IMAGE element of a dump: what is known of the image (a new one has id
 * -1 and no SOURCE yet). An empty image to make (no PATH, no SOURCE) always
 * has a FORMAT, as oned gives it one (the datastore's DRIVER, else raw):
 * OpenNebula's mkfs passes it unquoted to mkfs_command, so an empty one
 * shifts the size into its place. The file system goes as FS (what
 * OpenNebula's mkfs reads) and as FSTYPE (its older name).
 */
function imageFields(ds: Datastore, image: Partial<Image> & { id: number }): ImageFields {
  const toMake = !image.path && !image.source;
  const format = image.format || (toMake ? emptyImageFormat(ds) : undefined);
  return {
    ID: image.id,
    ...(image.name ? { NAME: image.name } : {}),
    ...(image.path ? { PATH: image.path } : {}),
    ...(image.source ? { SOURCE: image.source } : {}),
    ...(image.sizeMb !== undefined && image.sizeMb !== null ? { SIZE: image.sizeMb } : {}),
    ...(format ? { FORMAT: format } : {}),
    ...(image.fs ? { FS: image.fs, FSTYPE: image.fs } : {}),
    ...(image.clonedFrom !== undefined && image.clonedFrom !== null ? { CLONING_ID: image.clonedFrom } : {}),
    PERSISTENT: image.persistent ? 1 : 0,
    TYPE: image.type ?? 'OS',
    DATASTORE_ID: ds.id,
  };
}

/** The action dump of a datastore action; secrets are left out (see secretEnv). */
export function datastoreDump(ds: Datastore, image?: Partial<Image> & { id: number }, extra: Record<string, string | number> = {}): ActionDump {
  return buildDump({
    ...(image ? { IMAGE: imageFields(ds, image) } : {}),
    DATASTORE: {
      ID: ds.id,
      NAME: ds.name,
      // A system datastore has no datastore driver: OpenNebula writes "-" (its monitor is the TM's).
      DS_MAD: ds.dsMad ?? '-',
      TM_MAD: ds.tmMad,
      TYPE: DS_TYPE_NUMBER[ds.type],
      BASE_PATH: ds.basePath,
      TEMPLATE: { ...ds.template, BASE_PATH: ds.basePath, TM_MAD: ds.tmMad, ...(ds.dsMad ? { DS_MAD: ds.dsMad } : {}) },
    },
    ...extra,
  });
}
