/**
 * The driver.yaml of a datastore's two drivers (its datastore driver, then
 * its TM), as the runner loads them. A driver that is not in the remotes
 * folder is left out: the monitor is the one to report it, with the list of
 * drivers there are.
 */
import { join } from 'node:path';
import type { Kind } from '../contract/spec.js';
import { isDriverFolder } from './locate.js';
import type { Manifest } from './manifest.js';
import type { Runner } from './runner.js';

export interface DatastoreDriver {
  kind: Kind;
  name: string;
  manifest: Manifest;
}

export async function datastoreDrivers(runner: Runner, ds: { dsMad: string | null; tmMad: string }): Promise<DatastoreDriver[]> {
  const remotes = await runner.remotesPath();
  const drivers: DatastoreDriver[] = [];
  for (const [kind, name] of [['datastore', ds.dsMad], ['tm', ds.tmMad]] as const) {
    if (!name || !isDriverFolder(remotes, kind, name)) continue;
    drivers.push({ kind, name, manifest: await runner.manifest(join(remotes, kind, name)) });
  }
  return drivers;
}
