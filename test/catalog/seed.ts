/** Fresh and seeded catalogs for the catalog's tests. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import type { NewVm } from '../../src/model.js';
import { tmpDir } from '../helpers/fixtures.js';

/** A fresh catalog in a temp folder, closed on teardown. */
export function fresh(t: Test): { catalog: Catalog; path: string } {
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
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
