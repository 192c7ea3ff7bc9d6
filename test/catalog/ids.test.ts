/** Ids are never reused: a deleted record's id stays taken, also in a catalog migrated from schema 3. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { tmpDir } from '../helpers/fixtures.js';
import { seeded, vmInput } from './seed.js';

t.test('create, delete, create gives a new id', async (t) => {
  const { catalog, images, system } = seeded(t);
  const first = catalog.addImage({ name: 'big2', datastoreId: images.id });
  catalog.record({ subject: `image:${first.id}`, operation: 'create', step: null, kind: 'datastore', driver: 'fs', action: 'cp', args: [], ok: true, exitCode: 0, durationMs: 1, message: null, logs: [] });
  catalog.deleteImageRecord(first.id);
  const second = catalog.addImage({ name: 'big3', datastoreId: images.id });
  t.ok(second.id > first.id, `image ${second.id} after deleted ${first.id}`);
  t.same(catalog.journal(`image:${second.id}`), [], 'the new image has no history of the old one');

  const scratch = catalog.addDatastore({ name: 'scratch', type: 'SYSTEM', tmMad: 'shared', basePath: '/tmp/s' });
  catalog.deleteDatastore(scratch.id);
  const again = catalog.addDatastore({ name: 'scratch', type: 'SYSTEM', tmMad: 'shared', basePath: '/tmp/s' });
  t.ok(again.id > scratch.id, `datastore ${again.id} after deleted ${scratch.id}`);

  // A VM record goes only with its (DONE) system datastore.
  const vm = catalog.addVm(vmInput('gone', again.id, null), '/tmp/s');
  catalog.updateVm(vm.id, { state: 'DONE' });
  catalog.deleteDatastore(again.id);
  const next = catalog.addVm(vmInput('next', system.id, null), '/ds/0');
  t.ok(next.id > vm.id, `VM ${next.id} after deleted ${vm.id}`);
});

t.test('a catalog at schema 3 migrates, keeps its rows, and never reuses an id it gave', async (t) => {
  const dir = tmpDir(t, 'ferry-catalog-');
  const path = join(dir, 'catalog.db');
  const raw = new Database(path);
  for (const migration of MIGRATIONS.slice(0, 3)) raw.exec(migration);
  raw.pragma('user_version = 3');
  const at = new Date().toISOString();
  raw.prepare("INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, created_at) VALUES (1, 'images', 'IMAGE', 'fs', 'shared', '/ds/1', ?)").run(at);
  raw.prepare("INSERT INTO images (id, name, datastore_id, state, created_at, updated_at) VALUES (4, 'kept', 1, 'READY', ?, ?)").run(at, at);
  // Image 6 and VM 3 were deleted; only the journal remembers them.
  const journal = raw.prepare("INSERT INTO journal (at, subject, operation, kind, driver, action, args, ok) VALUES (?, ?, 'create', 'datastore', 'fs', 'cp', '[]', 1)");
  journal.run(at, 'image:6');
  journal.run(at, 'vm:3');
  journal.run(at, 'datastore:2');
  raw.close();

  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, MIGRATIONS.length);
  t.match(catalog.image(4), { name: 'kept', state: 'READY' }, 'rows kept');
  t.equal(catalog.journal().length, 3, 'journal kept');
  t.equal(catalog.addImage({ name: 'new', datastoreId: 1 }).id, 7, 'past the journal\'s image 6');
  t.equal(catalog.addDatastore({ name: 'sys', type: 'SYSTEM', tmMad: 'shared', basePath: '/ds/0' }).id, 3, 'past the journal\'s datastore 2');
  catalog.addHost({ name: 'node1', transport: 'local' });
  t.equal(catalog.addVm(vmInput('vm', 3, null), '/ds/0').id, 4, 'past the journal\'s VM 3');
});
