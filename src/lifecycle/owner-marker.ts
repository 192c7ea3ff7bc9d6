/**
 * A datastore folder's owner. At `datastore create` ferry writes a small
 * marker in BASE_PATH naming the catalog (its uuid and path) and the
 * datastore that own the folder, so a second catalog cannot take the same
 * folder unnoticed: its `datastore create` there is refused, naming the
 * owner. The marker is read from this machine's file system, as `datastore
 * check` reads BASE_PATH; a folder not here (yet) gets none.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import type { CatalogStore } from '../catalog/store.js';
import { FerryError } from '../errors.js';
import type { Datastore } from '../model.js';

export const MARKER_NAME = '.ferry-datastore.json';

const MarkerSchema = v.object({ catalog: v.string(), catalogPath: v.string(), datastore: v.number(), name: v.string() });
export type OwnerMarker = v.InferOutput<typeof MarkerSchema>;

/** The marker in `basePath`; undefined when there is none (or it is not one ferry wrote). */
export function readMarker(basePath: string): OwnerMarker | undefined {
  let text: string;
  try {
    text = readFileSync(join(basePath, MARKER_NAME), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = v.safeParse(MarkerSchema, JSON.parse(text) as unknown);
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

function ours(marker: OwnerMarker, catalog: CatalogStore, datastoreId?: number): boolean {
  return marker.catalog === catalog.identity() && (datastoreId === undefined || marker.datastore === datastoreId);
}

/** Refuses `basePath` when another catalog's marker is there. The same catalog (a datastore made again) is fine. */
export function checkOwner(catalog: CatalogStore, name: string, basePath: string): void {
  const marker = readMarker(basePath);
  if (!marker || ours(marker, catalog)) return;
  throw new FerryError('E_CONFLICT', `datastore ${name}: BASE_PATH ${basePath} belongs to datastore ${marker.name} (id ${marker.datastore}) of the catalog ${marker.catalogPath}`, {
    hint: `use that catalog (FERRY_HOME or --catalog), or, if that catalog is gone, take the folder over: rm ${join(basePath, MARKER_NAME)}`,
  });
}

/** Writes `ds`'s marker in its BASE_PATH, atomically (a temporary name, then a rename); none when the folder is not here. */
export function writeMarker(catalog: CatalogStore, ds: Datastore): void {
  // A folder shared by two datastores of this catalog keeps the first one's marker.
  if (!isFolder(ds.basePath) || readMarker(ds.basePath)) return;
  const marker: OwnerMarker = { catalog: catalog.identity(), catalogPath: catalog.path, datastore: ds.id, name: ds.name };
  const path = join(ds.basePath, MARKER_NAME);
  // The temporary naming of docs/driver-contract.md, so `datastore check --fix` can clean up after a kill.
  const temp = `${path}.ferry-tmp.${process.pid}`;
  try {
    writeFileSync(temp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o644 });
    renameSync(temp, path);
  } catch {
    // A folder ferry cannot write to (the driver's user owns it): the datastore works, only unmarked.
    rmSync(temp, { force: true });
  }
}

/** Removes `ds`'s marker, when it is this catalog's marker of that datastore. */
export function removeMarker(catalog: CatalogStore, ds: Datastore): void {
  const marker = readMarker(ds.basePath);
  if (!marker || !ours(marker, catalog, ds.id)) return;
  rmSync(join(ds.basePath, MARKER_NAME), { force: true });
  // Another datastore of this catalog on the same folder owns it now.
  const heir = catalog.listDatastores().find((other) => other.id !== ds.id && other.basePath === ds.basePath);
  if (heir) writeMarker(catalog, heir);
}

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
