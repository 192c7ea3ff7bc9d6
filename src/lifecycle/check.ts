/**
 * `ferry datastore check`: what lies in a datastore folder that no catalog
 * record owns, and records whose SOURCE is gone. Leftovers of ferry and its
 * drivers are recognised by the one temporary naming they write under
 * (docs/driver-contract.md "Temporary files"): `[.]NAME.ferry-tmp.PID[.TAG]`,
 * PID the writer's process, TAG `image-ID-…` when the image is known. Only
 * those, and only once their writer is gone, are ever removed; anything else
 * is listed and left alone.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startedOf } from '../catalog/owner.js';
import type { CatalogTx } from '../catalog/store.js';
import { FerryError } from '../errors.js';
import type { Datastore, Image } from '../model.js';
import { MARKER_NAME } from './owner-marker.js';

/** The temporary naming: an optional dot, the final name, `.ferry-tmp.`, the writer's pid, an optional tag. */
const TEMP_NAME = /^\.?(.+)\.ferry-tmp\.([1-9][0-9]*)(?:\.([A-Za-z0-9_-]+))?$/;

/** What a temporary name says: the name it becomes, who writes it, and for which image (when the tag says). */
export interface TempName {
  final: string;
  pid: number;
  imageId?: number;
}

/** The parts of a name of the temporary naming; undefined for any other name. */
export function parseTempName(name: string): TempName | undefined {
  const match = TEMP_NAME.exec(name);
  if (!match) return undefined;
  const image = /^image-([0-9]+)(?:-|$)/.exec(match[3] ?? '');
  return { final: match[1] as string, pid: Number(match[2]), ...(image ? { imageId: Number(image[1]) } : {}) };
}

/** A file or folder under BASE_PATH that no record owns; `temp`: of the temporary naming, with whether its writer still runs. */
export interface Leftover {
  path: string;
  temp?: TempName & { writerAlive: boolean };
}

export interface CheckReport {
  datastore: { id: number; name: string; basePath: string };
  /** Files no record owns (a temporary one whose writer still runs is work under way, not listed). */
  unowned: Leftover[];
  /** Records whose SOURCE (a path in BASE_PATH) does not exist. */
  missing: Array<{ image: number; name: string; state: string; source: string }>;
  /** With --fix: what was removed. */
  removed: string[];
}

/** Whether a local process `pid` runs (a zombie does not). */
function running(pid: number): boolean {
  return startedOf(pid) !== undefined;
}

function leftover(path: string): Leftover {
  const temp = parseTempName(basename(path));
  return temp ? { path, temp: { ...temp, writerAlive: running(temp.pid) } } : { path };
}

/** Entries of `dir` (none when it cannot be read). */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** An image's SOURCE when it is a path inside `base` (other drivers' SOURCEs are not files here). */
function localSource(base: string, image: Image): string | undefined {
  const source = image.source;
  return source && dirname(source) === base ? source : undefined;
}

/** The top-level names in BASE_PATH that records own: image SOURCEs (and their .snap folders), VM folders. */
function ownedNames(tx: CatalogTx, ds: Datastore): Set<string> {
  const owned = new Set<string>([MARKER_NAME]);
  for (const image of tx.listImages()) {
    // Any datastore's image: two datastores may share a folder.
    const source = localSource(ds.basePath, image);
    if (source) owned.add(basename(source)).add(`${basename(source)}.snap`);
  }
  if (ds.type === 'SYSTEM') for (const vm of tx.listVms()) if (vm.systemDsId === ds.id && vm.state !== 'DONE') owned.add(String(vm.id));
  return owned;
}

/** Lists what BASE_PATH holds that no record owns and the records whose SOURCE is missing. */
export function checkDatastore(tx: CatalogTx, ref: string | number): CheckReport {
  const ds = tx.datastore(ref);
  const base = ds.basePath.replace(/(.)\/+$/, '$1');
  if (!existsSync(base) || !statSync(base).isDirectory()) {
    throw new FerryError('E_CONFLICT', `datastore ${ds.name}: BASE_PATH ${base} is not a folder on this machine; nothing to check`, { hint: 'run the check where the datastore folder is' });
  }
  const owned = ownedNames(tx, { ...ds, basePath: base });
  const unowned: Leftover[] = [];
  for (const name of entries(base)) {
    const path = join(base, name);
    // Inside an owned VM folder, only leftovers of the temporary naming are looked for: the rest is the VM's.
    if (owned.has(name)) {
      if (ds.type === 'SYSTEM' && /^[0-9]+$/.test(name)) unowned.push(...entries(path).filter((inner) => parseTempName(inner)).map((inner) => leftover(join(path, inner))));
      continue;
    }
    unowned.push(leftover(path));
  }
  const missing = tx
    .listImages()
    .filter((image) => image.datastoreId === ds.id)
    .flatMap((image) => {
      const source = localSource(base, image);
      return source && !existsSync(source) ? [{ image: image.id, name: image.name, state: image.state, source }] : [];
    });
  return { datastore: { id: ds.id, name: ds.name, basePath: base }, unowned: unowned.filter((each) => !each.temp?.writerAlive), missing, removed: [] };
}

/** Whether `--fix` may remove it: of the temporary naming and its writer gone. */
export function removable(each: Leftover): boolean {
  return each.temp !== undefined && !each.temp.writerAlive;
}

/** Removes the leftovers `--fix` may remove (checked again just before); returns their paths. */
export function removeLeftovers(list: readonly Leftover[]): string[] {
  const removed: string[] = [];
  for (const each of list) {
    const again = leftover(each.path);
    if (!removable(again)) continue;
    rmSync(each.path, { recursive: true, force: true });
    removed.push(each.path);
  }
  return removed;
}

/** With --fix: the report, with what it removed. */
export function fixDatastore(report: CheckReport): CheckReport {
  return { ...report, removed: removeLeftovers(report.unowned) };
}

/**
 * What an unfinished operation of `image` left in its datastore folder:
 * temporary files tagged with its id, or named after its SOURCE (a TM's
 * copy into it). Those of a writer that still runs are included: the
 * caller refuses to go on while one does.
 */
export function imageLeftovers(ds: Datastore, image: Image): Leftover[] {
  const base = ds.basePath.replace(/(.)\/+$/, '$1');
  const source = localSource(base, image);
  return entries(base)
    .map((name) => leftover(join(base, name)))
    .filter((each) => each.temp && (each.temp.imageId === image.id || (source !== undefined && each.temp.final === basename(source))));
}
