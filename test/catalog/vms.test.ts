/** VM rows and their disks. */
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import type { NewVm, PlanStep } from '../../src/model.js';
import { thrown } from '../helpers/fixtures.js';
import { postgresOnly, rawStore, seeded, sqliteOnly, vmInput } from './seed.js';

t.test('VMs', async (t) => {
  const { catalog, images, system } = seeded(t);
  const image = catalog.addImage({ name: 'img', datastoreId: images.id });
  const vm = catalog.addVm(vmInput('web', system.id, image.id), '/var/lib/one/datastores/0/');
  t.match(vm, { name: 'web', host: 'node1', systemDsId: system.id, state: 'PENDING', operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null });
  t.same(vm.disks.map((d) => d.target), [`/var/lib/one/datastores/0/${vm.id}/disk.0`, `/var/lib/one/datastores/0/${vm.id}/disk.1`], 'trailing slash handled');
  t.match(vm.disks[0], { diskId: 0, kind: 'image', imageId: image.id, mode: 'clone', format: 'qcow2', files: null });
  t.same(vm.disks[1]?.files, ['/etc/one/a.sh', '/tmp/b'], 'context files round-trip');
  const other = catalog.addVm(vmInput('db', system.id, null), '/ds//');
  t.equal(other.disks[0]?.target, `/ds/${other.id}/disk.0`, 'several trailing slashes');
  t.not(other.id, vm.id);
  t.equal(thrown(() => catalog.addVm(vmInput('web', system.id, null), '/ds')).code, 'E_CONFLICT');
  t.equal(catalog.findVm('web')?.id, vm.id, 'findVm by name');
  t.equal(catalog.findVm(vm.id)?.name, 'web');
  t.equal(catalog.findVm('nope'), undefined);
  t.equal(thrown(() => catalog.vm('nope')).code, 'E_NOT_FOUND');
  t.same(catalog.listVms().map((v) => v.name), ['web', 'db']);

  const plan: PlanStep[] = [
    { kind: 'tm', action: 'clone', driver: 'shared', args: ['fe:/ds/1/abc', `node1:/ds/0/${vm.id}/disk.0`, String(vm.id), '1'], why: 'disk 0 from image "img"' },
    { kind: 'datastore', action: 'stat', driver: 'fs', args: [], why: 'size\nwith newline' },
  ];
  const moved = catalog.updateVm(vm.id, { state: 'FAILED', operation: 'migrate', plan, step: 1, error: 'exit 1', previousState: 'RUNNING', targetHost: 'node2' });
  t.same(moved.plan, plan, 'plan round-trips');
  t.match(moved, { state: 'FAILED', operation: 'migrate', step: 1, error: 'exit 1', previousState: 'RUNNING', targetHost: 'node2', host: 'node1' });
  t.same(catalog.vm('web'), moved, 'stored');
  t.same(moved.disks, vm.disks, 'disks untouched');
  const cleared = catalog.updateVm(vm.id, { plan: null, step: null, error: null, previousState: null, targetHost: null, host: 'node2', state: 'RUNNING' });
  t.match(cleared, { plan: null, step: null, error: null, previousState: null, targetHost: null, host: 'node2', state: 'RUNNING', operation: 'migrate' });
});

t.test('a failed addVm leaves no VM; a VM on an unknown host is E_NOT_FOUND', async (t) => {
  const { catalog, system, images } = seeded(t);
  const image = catalog.addImage({ name: 'img', datastoreId: images.id });
  const bad = { name: 'half', host: 'node1', systemDsId: system.id, disks: [{ diskId: 0, kind: 'bogus', imageId: null, mode: null, sizeMb: null, format: null, files: null }] } as unknown as NewVm;
  t.throws(() => catalog.addVm(bad, '/ds'));
  t.equal(catalog.findVm('half'), undefined, 'a failed addVm leaves no VM');
  t.equal(thrown(() => catalog.addVm({ ...vmInput('w', system.id, image.id), host: 'nowhere' } as NewVm, '/ds')).code, 'E_NOT_FOUND', 'a VM on an unknown host');
});

t.test('disk snapshots and steps', async (t) => {
  const { catalog, system, images } = seeded(t);
  const image = catalog.addImage({ name: 'img', datastoreId: images.id });
  const vm = catalog.addVm(vmInput('v', system.id, image.id), '/ds');
  catalog.setDiskSnapshots(vm.id, 0, [0, 2]);
  t.same(catalog.vm(vm.id).disks[0]?.snapshots, [0, 2], 'snapshot ids stored');
  t.same(catalog.vm(vm.id).disks[1]?.snapshots, [], 'the other disk untouched');
  t.equal(thrown(() => catalog.setDiskSnapshots(vm.id, 7, [1])).code, 'E_NOT_FOUND', 'a disk the VM has not');
  catalog.setVmStep(vm.id, 3);
  t.equal(catalog.vm(vm.id).step, 3, 'step stored');
});

t.test('a DONE VM\'s name can be taken again; the name then means the live VM', async (t) => {
  const { catalog, system } = seeded(t);
  const old = catalog.addVm(vmInput('web', system.id, null), '/ds/0');
  t.equal(thrown(() => catalog.addVm(vmInput('web', system.id, null), '/ds/0')).code, 'E_CONFLICT', 'not while it is not DONE');
  catalog.updateVm(old.id, { state: 'DONE' });
  t.equal(catalog.vm('web').id, old.id, 'the DONE one, while it is the only one');
  const next = catalog.addVm(vmInput('web', system.id, null), '/ds/0');
  t.ok(next.id > old.id);
  t.equal(catalog.vm('web').id, next.id, 'the name means the live one');
  t.equal(catalog.vm(old.id).name, 'web', 'the DONE one by its id');
  t.equal(thrown(() => catalog.addVm(vmInput('web', system.id, null), '/ds/0')).code, 'E_CONFLICT', 'one live VM per name');
});

t.test('migrating to schema 6 keeps VMs and their disks', sqliteOnly('it rewinds the file to schema 5'), async (t) => {
  const { catalog, path, system } = seeded(t);
  const vm = catalog.addVm(vmInput('web', system.id, null), '/ds/0');
  catalog.close();
  // Back to schema 5's table: names unique whatever the state.
  const raw = new Database(path);
  raw.pragma('foreign_keys = OFF');
  raw.exec(`CREATE TABLE vms_v5 AS SELECT * FROM vms; DROP TABLE vms;
    CREATE TABLE vms (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, host TEXT NOT NULL, system_ds_id INTEGER NOT NULL REFERENCES datastores(id), state TEXT NOT NULL, operation TEXT, plan TEXT, step INTEGER, previous_state TEXT, target_host TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    INSERT INTO vms SELECT * FROM vms_v5; DROP TABLE vms_v5;`);
  raw.pragma('user_version = 5');
  raw.close();
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  t.equal(again.version, MIGRATIONS.length);
  t.same(again.vm(vm.id), vm, 'the VM and its disks kept');
  again.updateVm(vm.id, { state: 'DONE' });
  t.equal(again.addVm(vmInput('web', system.id, null), '/ds/0').id, vm.id + 1, 'its name free once DONE; ids still grow');
});

t.test('a PostgreSQL catalog starts past schema 6: reopened it keeps VMs and their disks; a DONE VM frees its name', postgresOnly('the counterpart of the SQLite migration above: PostgreSQL has no schema 5 to come from'), async (t) => {
  const { catalog, path, system } = seeded(t);
  const vm = catalog.addVm(vmInput('web', system.id, null), '/ds/0');
  catalog.close();
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  t.equal(again.version, MIGRATIONS.length);
  const applied = rawStore(t, path).prepare('SELECT version FROM schema_migrations ORDER BY version').all();
  t.same(applied.map((row) => Number(row.version)), [10, ...MIGRATIONS.slice(10).map((_, i) => 11 + i)], 'made at 10 at once, then each later migration once; reopening applies nothing again');
  t.same(again.vm(vm.id), vm, 'the VM and its disks kept');
  t.equal(thrown(() => again.addVm(vmInput('web', system.id, null), '/ds/0')).code, 'E_CONFLICT', 'a live VM keeps its name');
  again.updateVm(vm.id, { state: 'DONE' });
  t.equal(again.addVm(vmInput('web', system.id, null), '/ds/0').id, vm.id + 1, 'its name free once DONE; ids still grow');
});
