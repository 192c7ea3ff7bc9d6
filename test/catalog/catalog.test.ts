import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { Catalog, catalogPath, type NewVm, type PlanStep } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { thrown, tmpDir } from '../helpers/fixtures.js';

/** A fresh catalog in a temp folder, closed on teardown. */
function fresh(t: Test): { catalog: Catalog; path: string } {
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  return { catalog, path };
}

/** A catalog with an IMAGE datastore, a SYSTEM datastore and a host. */
function seeded(t: Test) {
  const { catalog, path } = fresh(t);
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/var/lib/one/datastores/1' });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'shared', basePath: '/var/lib/one/datastores/0' });
  catalog.addHost({ name: 'node1', transport: 'local' });
  return { catalog, path, images, system };
}

function vmInput(name: string, systemDsId: number, imageId: number | null): NewVm {
  const disks: NewVm['disks'] = [
    { diskId: 0, kind: 'image', imageId, mode: 'clone', sizeMb: null, format: 'qcow2', files: null },
    { diskId: 1, kind: 'context', imageId: null, mode: null, sizeMb: null, format: null, files: ['/etc/one/a.sh', '/tmp/b'] },
  ];
  return { name, host: 'node1', systemDsId, disks };
}

const waitExit = (child: ChildProcess): Promise<number | null> => child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((done) => child.once('exit', (code) => done(code)));

t.test('open creates the folder and a 0600 file, migrated to the last version', async (t) => {
  const path = join(tmpDir(t), 'a', 'b', 'catalog.db');
  const umask = process.umask(0o022);
  t.teardown(() => void process.umask(umask));
  const catalog = Catalog.open(path);
  t.ok(existsSync(path), 'file created');
  t.equal(statSync(path).mode & 0o777, 0o600, 'file mode 0600');
  t.equal(statSync(join(path, '..')).mode & 0o077, 0, 'new folder closed to group and others');
  t.equal(catalog.path, path);
  t.equal(catalog.version, MIGRATIONS.length, 'migrated to MIGRATIONS.length');
  t.ok(MIGRATIONS.length >= 1);
  catalog.addHost({ name: 'kept', transport: 'local' });
  t.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL file (it holds secrets too) is 0600');
  catalog.close();

  const again = Catalog.open(path);
  t.equal(again.version, MIGRATIONS.length);
  t.same(again.listHosts().map((host) => host.name), ['kept'], 'reopening keeps the data');
  again.close();
});

t.test('a catalog from a newer ferry is refused with E_CATALOG', async (t) => {
  const path = join(tmpDir(t), 'catalog.db');
  Catalog.open(path).close();
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  const error = thrown(() => Catalog.open(path));
  t.equal(error.code, 'E_CATALOG');
  const message = error.message.replace(path, '');
  t.match(message, /\b99\b/, 'names the catalog version');
  t.match(message.replace(/\b99\b/g, ''), new RegExp(`\\b${MIGRATIONS.length}\\b`), 'names the known version');
  t.type(error.hint, 'string');
  const check = new Database(path);
  t.equal(check.pragma('user_version', { simple: true }), 99, 'the file is left alone');
  check.close();

  const dir = tmpDir(t);
  t.equal(thrown(() => Catalog.open(dir)).code, 'E_CATALOG', 'an unopenable path is E_CATALOG');
});

t.test('catalogPath: flag, then $FERRY_HOME, then ./.ferry', async (t) => {
  t.equal(catalogPath('x/c.db', { FERRY_HOME: '/home/f' }, '/w'), '/w/x/c.db', 'flag wins, relative to cwd');
  t.equal(catalogPath('/abs/c.db', {}, '/w'), '/abs/c.db');
  t.equal(catalogPath(undefined, { FERRY_HOME: '/home/f' }, '/w'), '/home/f/catalog.db');
  t.equal(catalogPath(undefined, { FERRY_HOME: 'rel' }, '/w'), '/w/rel/catalog.db');
  t.equal(catalogPath(undefined, {}, '/w'), '/w/.ferry/catalog.db');
  t.equal(catalogPath(undefined, { FERRY_HOME: '' }, '/w'), '/w/.ferry/catalog.db', 'empty $FERRY_HOME is unset');
});

t.test('datastores', async (t) => {
  const { catalog } = fresh(t);
  t.same(catalog.listDatastores(), []);
  let error = thrown(() => catalog.datastore('nope'));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.hint, /ferry datastore create/, 'empty catalog: hint says how to create');

  const ds = catalog.addDatastore({
    name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1',
    template: { BRIDGE_LIST: 'a b', 'ODD KEY': 'é"\n' }, secrets: { CEPH_KEY: 's3cr3t' },
  });
  t.type(ds.id, 'number');
  t.match(ds, { name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', origin: 'catalog', totalMb: null, monitoredAt: null });
  t.same(ds.template, { BRIDGE_LIST: 'a b', 'ODD KEY': 'é"\n' }, 'template round-trips');
  t.same(ds.secrets, { CEPH_KEY: 's3cr3t' }, 'secrets round-trip');
  t.ok(!Number.isNaN(Date.parse(ds.createdAt)));
  const sys = catalog.addDatastore({ id: 100, name: 'system', type: 'SYSTEM', tmMad: 'ssh', basePath: '/ds/100', origin: 'config' });
  t.equal(sys.id, 100, 'explicit id kept');
  t.same(sys.template, {});
  t.same(sys.secrets, {});
  t.equal(sys.dsMad, null);
  t.equal(sys.origin, 'config');

  t.same(catalog.listDatastores().map((d) => d.name), ['images', 'system'], 'listed by id');
  t.equal(catalog.findDatastore(ds.id)?.name, 'images', 'by numeric id');
  t.equal(catalog.findDatastore('100')?.name, 'system', 'by id as a string');
  t.equal(catalog.findDatastore('system')?.id, 100, 'by name');
  t.equal(catalog.findDatastore('missing'), undefined);
  t.same(catalog.datastore('images'), ds);

  error = thrown(() => catalog.datastore(42));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.message, /"42"/);
  t.match(error.hint, `${ds.id} (images)`, 'hint lists known ones');
  t.match(error.hint, '100 (system)');

  error = thrown(() => catalog.addDatastore({ name: 'images', type: 'FILE', tmMad: 'shared', basePath: '/x' }));
  t.equal(error.code, 'E_CONFLICT', 'duplicate name');
  t.equal(catalog.listDatastores().length, 2);

  const updated = catalog.updateDatastore(ds.id, { basePath: '/ds/one', secrets: { CEPH_KEY: 'new' } });
  t.equal(updated.basePath, '/ds/one');
  t.same(updated.secrets, { CEPH_KEY: 'new' });
  t.same(updated.template, ds.template, 'fields not in the patch are kept');
  t.equal(updated.name, 'images');
  t.same(catalog.datastore(ds.id), updated, 'update is stored');
  t.equal(thrown(() => catalog.updateDatastore(999, { name: 'x' })).code, 'E_NOT_FOUND');

  const before = Date.now();
  catalog.setMonitor(ds.id, { totalMb: 1000, freeMb: 600, usedMb: 400 });
  const monitored = catalog.datastore(ds.id);
  t.match(monitored, { totalMb: 1000, freeMb: 600, usedMb: 400 });
  t.ok(Date.parse(monitored.monitoredAt ?? '') >= before - 1000, 'monitoredAt set to now');

  const image = catalog.addImage({ name: 'img', datastoreId: ds.id });
  error = thrown(() => catalog.deleteDatastore(ds.id));
  t.equal(error.code, 'E_CONFLICT', 'refused while an image references it');
  t.match(error.message, /1 image/);
  t.ok(catalog.findDatastore(ds.id), 'still there');
  catalog.deleteImageRecord(image.id);
  catalog.deleteDatastore(ds.id);
  t.equal(catalog.findDatastore(ds.id), undefined, 'deleted once the image is gone');
});

t.test('hosts', async (t) => {
  const { catalog, system } = seeded(t);
  const ssh = catalog.addHost({ name: 'kvm2', transport: 'ssh', address: '10.0.0.2', port: 2222, user: 'oneadmin', identity: '/k', knownHosts: '/kh' });
  t.match(ssh, { name: 'kvm2', transport: 'ssh', address: '10.0.0.2', port: 2222, user: 'oneadmin', identity: '/k', knownHosts: '/kh' });
  t.match(catalog.host('node1'), { transport: 'local', address: null, port: null, user: null });
  t.same(catalog.listHosts().map((h) => h.name), ['kvm2', 'node1'], 'listed by name');
  t.equal(thrown(() => catalog.addHost({ name: 'node1', transport: 'ssh' })).code, 'E_CONFLICT');
  const error = thrown(() => catalog.host('ghost'));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.hint, /kvm2, node1/, 'hint lists known hosts');
  t.equal(thrown(() => catalog.deleteHost('ghost')).code, 'E_NOT_FOUND');

  const vm = catalog.addVm({ name: 'vm', host: 'kvm2', systemDsId: system.id, disks: [] }, '/ds/0');
  for (const state of ['PENDING', 'RUNNING', 'STOPPED', 'FAILED'] as const) {
    catalog.updateVm(vm.id, { state });
    const refused = thrown(() => catalog.deleteHost('kvm2'));
    t.equal(refused.code, 'E_CONFLICT', `refused with a ${state} VM`);
    t.match(refused.message, String(vm.id), 'names the VM');
  }
  catalog.updateVm(vm.id, { state: 'FAILED', host: 'node1', operation: 'migrate', targetHost: 'kvm2' });
  t.match(thrown(() => catalog.deleteHost('kvm2')).message, /being moved/, 'refused while a failed migrate would still move a VM there');
  catalog.updateVm(vm.id, { state: 'DONE', host: 'kvm2', operation: null, targetHost: null });
  catalog.deleteHost('kvm2');
  t.equal(catalog.findHost('kvm2'), undefined, 'deleted once its VM is DONE');
  t.same(catalog.listHosts().map((h) => h.name), ['node1']);
});

t.test('images', async (t) => {
  const { catalog, images, system } = seeded(t);
  const image = catalog.addImage({ name: 'ttylinux', datastoreId: images.id, path: '/tmp/tty.img', sizeMb: 40, format: 'raw' });
  t.match(image, { name: 'ttylinux', datastoreId: images.id, path: '/tmp/tty.img', sizeMb: 40, format: 'raw', state: 'LOCKED', type: 'OS', persistent: false, source: null, error: null });
  t.same(image.snapshots, []);
  t.equal(catalog.findImage('ttylinux')?.id, image.id);
  t.equal(catalog.findImage(String(image.id))?.name, 'ttylinux');
  t.equal(thrown(() => catalog.image('nope')).code, 'E_NOT_FOUND');
  t.equal(thrown(() => catalog.addImage({ name: 'ttylinux', datastoreId: images.id })).code, 'E_CONFLICT');
  t.equal(catalog.listImages().length, 1);

  const ready = catalog.updateImage(image.id, { state: 'READY', source: '/ds/1/abc', snapshots: [0, 1], persistent: true, error: null });
  t.match(ready, { state: 'READY', source: '/ds/1/abc', persistent: true, sizeMb: 40, format: 'raw' });
  t.same(ready.snapshots, [0, 1]);
  t.same(catalog.image(image.id), ready, 'stored');
  t.equal(catalog.updateImage(image.id, { state: 'ERROR', error: 'boom' }).error, 'boom');

  t.same(catalog.vmsUsingImage(image.id), []);
  const a = catalog.addVm(vmInput('a', system.id, image.id), '/ds/0');
  const b = catalog.addVm(vmInput('b', system.id, image.id), '/ds/0');
  catalog.addVm(vmInput('c', system.id, null), '/ds/0');
  t.same(catalog.vmsUsingImage(image.id), [a.id, b.id], 'VMs with a disk of it');
  catalog.updateVm(a.id, { state: 'DONE' });
  t.same(catalog.vmsUsingImage(image.id), [b.id], 'DONE VMs do not count');
  catalog.updateVm(b.id, { state: 'FAILED' });
  t.same(catalog.vmsUsingImage(image.id), [b.id], 'FAILED ones do');
});

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

t.test('journal', async (t) => {
  const { catalog } = fresh(t);
  const base = { operation: 'create', kind: 'tm', driver: 'shared', exitCode: 0, durationMs: 12.5, message: null };
  catalog.record({ ...base, subject: 'vm:1', step: 0, action: 'clone', args: ['a b', "it's", ''], ok: true, logs: [{ level: 'info', message: 'copied' }] });
  catalog.record({ ...base, subject: 'image:3', step: null, action: 'cp', args: [], ok: true, logs: [] });
  catalog.record({ ...base, subject: 'vm:1', step: 1, action: 'context', args: ['x'], ok: false, exitCode: 1, message: 'no space', logs: [{ level: 'error', message: 'ENOSPC' }, { level: 'debug', message: 'df' }] });
  const entries = catalog.journal('vm:1');
  t.same(entries.map((e) => e.action), ['clone', 'context'], 'only the subject, in order');
  t.ok(entries[0]!.id < entries[1]!.id);
  t.same(entries[0]?.args, ['a b', "it's", ''], 'args round-trip');
  t.same(entries[1]?.logs, [{ level: 'error', message: 'ENOSPC' }, { level: 'debug', message: 'df' }], 'logs round-trip');
  t.equal(entries[0]?.ok, true);
  t.equal(entries[1]?.ok, false);
  t.match(entries[1], { step: 1, exitCode: 1, message: 'no space', durationMs: 12.5, operation: 'create', kind: 'tm', driver: 'shared', subject: 'vm:1' });
  t.ok(!Number.isNaN(Date.parse(entries[0]!.at)));
  t.equal(catalog.journal('image:3')[0]?.step, null);
  t.same(catalog.journal().map((e) => e.subject), ['vm:1', 'image:3', 'vm:1'], 'all subjects without a filter');
  t.same(catalog.journal('nobody'), []);
});

t.test('locks', async (t) => {
  const { catalog, path } = fresh(t);
  const raw = new Database(path);
  t.teardown(() => raw.close());
  const row = (subject: string) => raw.prepare('SELECT * FROM locks WHERE subject = ?').get(subject) as Record<string, unknown> | undefined;

  const release = catalog.lock('vm:1', 'create');
  t.type(release, 'function');
  t.match(row('vm:1'), { owner_pid: process.pid, owner_host: hostname(), operation: 'create' });
  const again = catalog.lock('vm:1', 'stop');
  t.type(again, 'function', 're-entrant for the same process');
  t.ok(row('vm:1'));
  again();
  t.ok(row('vm:1'), 'the outer lock is still held after the inner release');
  release();
  t.equal(row('vm:1'), undefined, 'release deletes the row');

  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void (sleeper.exitCode === null && sleeper.signalCode === null && sleeper.kill('SIGKILL')));
  const pid = sleeper.pid as number;
  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run('image:3', pid, hostname(), 'clone-xyz', new Date().toISOString());
  const error = thrown(() => catalog.lock('image:3', 'delete'));
  t.equal(error.code, 'E_BUSY');
  t.match(error.message, String(pid), 'names the owner pid');
  t.match(error.message, 'clone-xyz', 'names the operation');
  t.equal(error.exitStatus, 75);
  t.match(row('image:3'), { owner_pid: pid }, 'the row is untouched');

  sleeper.kill('SIGKILL');
  await waitExit(sleeper);
  const taken = catalog.lock('image:3', 'delete');
  t.match(row('image:3'), { owner_pid: process.pid, operation: 'delete' }, 'taken over from a dead owner');
  taken();
  t.equal(row('image:3'), undefined);

  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run('vm:9', pid, `not-${hostname()}`, 'stop', 'then');
  t.equal(thrown(() => catalog.lock('vm:9', 'x')).code, 'E_BUSY', 'an owner on another host is assumed alive');
});

t.test('transactions are atomic', async (t) => {
  const { catalog } = fresh(t);
  t.throws(() => catalog.transaction(() => {
    catalog.addDatastore({ name: 'ghost', type: 'IMAGE', tmMad: 'shared', basePath: '/g' });
    t.ok(catalog.findDatastore('ghost'), 'visible inside the transaction');
    throw new Error('boom');
  }),
    { message: 'boom' });
  t.same(catalog.listDatastores(), [], 'rolled back');
  t.equal(catalog.transaction(() => catalog.addHost({ name: 'h', transport: 'local' }).name), 'h', 'returns the value');
  t.ok(catalog.findHost('h'), 'committed');
});

t.test('defects found in review, fixed', async (t) => {
  const { catalog, system, images } = seeded(t);
  const image = catalog.addImage({ name: 'img', datastoreId: images.id });
  const vm = catalog.addVm(vmInput('v', system.id, image.id), '/ds');
  catalog.updateVm(vm.id, { state: 'DONE' });
  let error: unknown;
  try {
    catalog.deleteDatastore(system.id);
  } catch (caught) {
    error = caught;
  }
  t.equal(error, undefined, 'deleteDatastore with only DONE VMs deletes it');
  t.equal(catalog.findDatastore(system.id), undefined);

  const bad = { name: 'half', host: 'node1', systemDsId: system.id, disks: [{ diskId: 0, kind: 'bogus', imageId: null, mode: null, sizeMb: null, format: null, files: null }] } as unknown as NewVm;
  t.throws(() => catalog.addVm(bad, '/ds'));
  t.equal(catalog.findVm('half'), undefined, 'a failed addVm leaves no VM');
  t.equal(thrown(() => catalog.addDatastore({ name: String(images.id), type: 'FILE', tmMad: 'shared', basePath: '/f' })).code, 'E_USAGE', 'an all-digit name is refused: it would read as an id');
  t.equal(thrown(() => catalog.addImage({ name: 'img2', datastoreId: 999 })).code, 'E_NOT_FOUND', 'an image in an unknown datastore');
  t.equal(thrown(() => catalog.addDatastore({ name: 'dup-id', id: images.id, type: 'FILE', tmMad: 'shared', basePath: '/f' })).code, 'E_CONFLICT', 'a taken id is a conflict, not a raw SQLite error');
  t.equal(thrown(() => catalog.addVm({ ...vmInput('w', system.id, image.id), host: 'nowhere' } as NewVm, '/ds')).code, 'E_NOT_FOUND', 'a VM on an unknown host');
});

t.test('several processes write the same catalog', async (t) => {
  const { catalog, path } = fresh(t);
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(process.argv[1]);
    db.pragma('busy_timeout = 10000');
    const insert = db.prepare("INSERT INTO journal (at, subject, operation, kind, driver, action, args, ok) VALUES (?, ?, 'op', 'tm', 'd', 'a', '[]', 1)");
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50; i++) { insert.run(new Date().toISOString(), process.argv[2]); Atomics.wait(pause, 0, 0, 1); }
    db.close();`;
  const children = ['child:a', 'child:b'].map((subject) => {
    const child = spawn(process.execPath, ['-e', script, path, subject], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = { child, stderr: '' };
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  t.teardown(() => children.forEach(({ child }) => void (child.exitCode === null && child.kill('SIGKILL'))));
  for (let i = 0; i < 50; i++) {
    catalog.record({ subject: 'parent', operation: 'op', step: i, kind: 'tm', driver: 'd', action: 'a', args: [String(i)], ok: true, exitCode: 0, durationMs: null, message: null, logs: [] });
    await new Promise((done) => setTimeout(done, 2));
  }
  for (const out of children) {
    t.equal(await waitExit(out.child), 0, 'child exits 0');
    t.equal(out.stderr, '', 'no SQLITE_BUSY or other error');
  }
  t.equal(catalog.journal('parent').length, 50);
  t.equal(catalog.journal('child:a').length, 50);
  t.equal(catalog.journal('child:b').length, 50);
  t.same(catalog.journal('parent').map((e) => e.step), Array.from({ length: 50 }, (_, i) => i), 'parent rows in order');
  t.equal(new Set(catalog.journal().map((e) => e.id)).size, 150, 'ids are unique');
});

t.test('two ferries opening an older catalog at once: one migrates, the other finds it done', async (t) => {
  // Real processes on the built catalog module: the race is between two connections' reads of the schema version.
  const built = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/catalog/catalog.js');
  t.ok(existsSync(built), `${built} is missing: run npm run build (node scripts/build.mjs) before the tests`);
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec(MIGRATIONS[0] as string);
  old.pragma('user_version = 1');
  // Hold the write lock, so both children read version 1 before either can migrate.
  old.prepare('BEGIN IMMEDIATE').run();
  const script = `import(${JSON.stringify(built)}).then(({ Catalog }) => { const c = Catalog.open(process.argv[1]); process.stdout.write(String(c.version)); c.close(); })`;
  const children = [0, 1].map(() => {
    const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close', not 'exit': the output is all read by then.
    const out = { closed: new Promise((done) => child.once('close', (status) => done(status))), stdout: '', stderr: '' };
    child.stdout?.on('data', (chunk) => (out.stdout += String(chunk)));
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  old.prepare('COMMIT').run();
  old.close();
  for (const out of children) {
    t.equal(await out.closed, 0, `opened: ${out.stderr}`);
    t.equal(out.stdout, String(MIGRATIONS.length), 'at the last version');
  }
});

t.test('migration 3: the journal keeps its rows and ids, drops AUTOINCREMENT, and new entries follow the last id', async (t) => {
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const old = new Database(path);
  old.exec(MIGRATIONS[0] as string);
  old.exec(MIGRATIONS[1] as string);
  old.pragma('user_version = 2');
  const insert = old.prepare(
    "INSERT INTO journal (id, at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs) VALUES (?, '2026-11-22T00:00:00.000Z', ?, 'stop', ?, 'tm', 'dummy', 'mv', '[\"a\",\"b\"]', 1, 0, 1.5, NULL, '[]')",
  );
  for (const [id, subject, step] of [[1, 'vm:1', 0], [2, 'vm:1', 1], [5, 'vm:2', 0]] as const) insert.run(id, subject, step);
  old.close();

  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, 3);
  t.same(catalog.journal().map((entry) => [entry.id, entry.subject, entry.step, entry.args]), [[1, 'vm:1', 0, ['a', 'b']], [2, 'vm:1', 1, ['a', 'b']], [5, 'vm:2', 0, ['a', 'b']]], 'rows and ids kept');
  t.same(catalog.journal('vm:1').map((entry) => entry.id), [1, 2], 'by subject, through the index');
  catalog.record({ subject: 'vm:3', operation: 'create', step: 0, kind: 'tm', driver: 'dummy', action: 'clone', args: [], ok: true, exitCode: 0, durationMs: 1, message: null, logs: [] });
  t.equal(catalog.journal('vm:3')[0]?.id, 6, 'the next entry follows the last id');
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  const sql = (check.prepare("SELECT sql FROM sqlite_master WHERE name = 'journal'").get() as { sql: string }).sql;
  t.notMatch(sql, /AUTOINCREMENT/i, 'no AUTOINCREMENT');
  t.ok(check.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'journal_subject'").get(), 'the subject index is back');
});
