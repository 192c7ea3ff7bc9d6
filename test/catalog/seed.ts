/**
 * Fresh and seeded catalogs for the catalog's tests: SQLite files, or with FERRY_TEST_STORE=postgres databases
 * on one PostgreSQL for the test file (test/helpers/test-store.ts; FERRY_TEST_PG's when set), a new one per catalog.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import tap, { type Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { pgKeyFileOf } from '../../src/catalog/secrets.js';
import type { NewVm } from '../../src/model.js';
import { tmpDir } from '../helpers/fixtures.js';
import { freshDatabase, STORE, storeServer } from '../helpers/test-store.js';

export { postgresOnly, rawStore, sqliteOnly, STORE, type RawStatement, type RawStore } from '../helpers/test-store.js';

if (storeServer !== undefined) {
  // A catalog reopened by its URL (Catalog.open(path)) finds its key file (catalog-<id>.key in $FERRY_HOME) in a
  // folder of this test file's.
  process.env.FERRY_HOME = tmpDir(tap, 'ferry-home-');
}

/**
 * A fresh catalog (a temp file, or a new PostgreSQL database), closed (dropped) on teardown; `path` reopens it.
 * `store` 'sqlite' makes a file whatever the tests' store (for the tests that compare the two).
 */
export function fresh(t: Test, store: 'sqlite' | 'postgres' = STORE): { catalog: Catalog; path: string } {
  // The database is dropped on teardown after the catalog is closed (teardowns run last first).
  const path = store === 'postgres' ? freshDatabase(t) : join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  return { catalog, path };
}

/** A catalog with an IMAGE datastore, a SYSTEM datastore and a host. */
export function seeded(t: Test) {
  const { catalog, path } = fresh(t);
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/var/lib/one/datastores/1' });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'shared', basePath: '/var/lib/one/datastores/0' });
  catalog.addHost({ name: 'node1', transport: 'local' });
  return { catalog, path, images, system };
}

/** A VM on node1 with an image disk (of `imageId`) and a context disk. */
export function vmInput(name: string, systemDsId: number, imageId: number | null): NewVm {
  const disks: NewVm['disks'] = [
    { diskId: 0, kind: 'image', imageId, mode: 'clone', sizeMb: null, format: 'qcow2', files: null },
    { diskId: 1, kind: 'context', imageId: null, mode: null, sizeMb: null, format: null, files: ['/etc/one/a.sh', '/tmp/b'] },
  ];
  return { name, host: 'node1', systemDsId, disks };
}

/** The exit code of `child`, once it has exited. */
export const waitExit = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((done) => child.once('exit', (code) => done(code)));

/** The key file of fresh()'s catalog: `<file>.key` beside a SQLite file; catalog-<id>.key in $FERRY_HOME for PostgreSQL. */
export function keyFileOfFresh(catalog: Catalog, path: string): string {
  return STORE === 'postgres' ? pgKeyFileOf(catalog.identity()) : `${path}.key`;
}
