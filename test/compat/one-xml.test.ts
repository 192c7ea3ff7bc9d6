/**
 * OpenNebula-shaped documents from a catalog filled through ferry's own
 * lifecycle (the CLI, dummy drivers): every field is read back with OpenNebula's own
 * xpath.rb (the shims and their errors: test/cli/onecompat.test.ts).
 */
import t from 'tap';
import { activeSnapshots, datastoreXml, hostXml, vmXml } from '../../src/compat/one-xml.js';
import { oneState } from '../../src/compat/one-states.js';
import type { Vm } from '../../src/model.js';
import { join } from 'node:path';
import { runCli } from '../cli/helpers.js';
import { world, type World } from '../helpers/catalog-world.js';

import { xpathRb, type XpathRb } from '../helpers/one-xpath.js';

/** Reads with OpenNebula's xpath.rb; set by each test (undefined: the test has failed saying what is missing). */
let read: XpathRb = () => {
  throw new Error('xpath.rb not set up');
};
function setUp(t: Parameters<Parameters<typeof t.test>[1]>[0]): boolean {
  const reader = xpathRb(t);
  if (reader) read = reader;
  return reader !== undefined;
}

/** Hosts, a dummy image datastore (with a secret and a template value that needs escaping), a system one, two images and a VM. */
async function filled(t: Parameters<Parameters<typeof t.test>[1]>[0]): Promise<World> {
  const w = world(t);
  await w.json(['host', 'create', 'host01', '--local']);
  await w.json(['host', 'create', 'host02', '--local']);
  // The secret's value comes from ferry's environment, never its command line.
  const made = await runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'datastore', 'create', 'images', '--ds-mad', 'dummy', '--tm-mad', 'dummy', '--base-path', `${w.root}/images`, '--secret', 'ONECOMPAT_TEST_SECRET', '--attr', 'NOTE=a]]>b <&> c', '--attr', 'REPLICA_HOST=replica01'], {
    env: { FERRY_HOME: w.home, ONECOMPAT_TEST_SECRET: 's3cr3t-value' },
    cwd: w.root,
  });
  if (made.status !== 0) throw new Error(`datastore create failed: ${made.stderr}`);
  await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'dummy', '--base-path', `${w.root}/system`]);
  await w.json(['image', 'create', '--datastore', 'images', '--size', '8', '--name', 'base']);
  await w.json(['image', 'create', '--datastore', 'images', '--size', '16', '--name', 'data', '--persistent']);
  await w.json(['vm', 'create', '--name', 'vm01', '--host', 'host01', '--system-ds', 'system', '--disk', 'base', '--disk', 'data']);
  return w;
}

t.test('a VM: its disks as oned fills TEMPLATE/DISK, its history, and its state', async (t) => {
  if (!setUp(t)) return;
  const w = await filled(t);
  const catalog = w.catalog();
  const vm = catalog.vm('vm01');
  const base = catalog.image('base');
  const data = catalog.image('data');
  const xml = vmXml(catalog, vm);
  t.same(read(xml, '/VM/ID', '/VM/NAME', '/VM/STATE', '/VM/LCM_STATE', '/VM/TEMPLATE/VMID'), [String(vm.id), 'vm01', '8', '0', String(vm.id)], 'a deployed VM is POWEROFF: no hypervisor runs it');
  t.same(
    read(xml, ...['SOURCE', 'CLONE', 'FORMAT', 'SIZE', 'ORIGINAL_SIZE', 'IMAGE_ID', 'DATASTORE_ID', 'TM_MAD', 'TYPE', 'SAVE'].map((field) => `/VM/TEMPLATE/DISK[DISK_ID=0]/${field}`)),
    [base.source, 'YES', base.format ?? '', String(base.sizeMb), String(base.sizeMb), String(base.id), String(base.datastoreId), 'dummy', 'FILE', 'NO'],
  );
  t.same(read(xml, '/VM/TEMPLATE/DISK[DISK_ID=1]/SOURCE', '/VM/TEMPLATE/DISK[DISK_ID=1]/CLONE', '/VM/TEMPLATE/DISK[DISK_ID=1]/PERSISTENT'), [data.source, 'NO', 'YES'], 'a persistent image is linked, not cloned');
  t.same(read(xml, '/VM/HISTORY_RECORDS/HISTORY[last()]/HOSTNAME', '/VM/HISTORY_RECORDS/HISTORY[last()]/DS_ID', '/VM/HISTORY_RECORDS/HISTORY[last()]/VM_MAD'), ['host01', String(vm.systemDsId), ''], 'no VM_MAD: ferry has no hypervisor driver');
  t.same(read(xml, '/VM/DEPLOY_ID', '/VM/TEMPLATE/DISK[DISK_ID=0]/TARGET'), ['', ''], 'no domain, no device names: left out, read as empty');

  const host = hostXml(catalog, catalog.host('host01'));
  t.same(read(host, '/HOST/NAME', '/HOST/STATE', '/HOST/TEMPLATE/HOSTNAME', '/HOST/VMS/ID', '/HOST/TEMPLATE/REPLICA_STORAGE_IP'), ['host01', '2', 'host01', String(vm.id), '']);
});

t.test('disk snapshots: ACTIVE follows the last one taken or reverted to, as the journal has them', async (t) => {
  if (!setUp(t)) return;
  const w = await filled(t);
  const snap = (action: string, ...rest: string[]) => w.json(['vm', 'disk-snapshot', action, 'vm01', '0', ...rest]);
  await snap('create');
  await snap('create');
  const catalog = w.catalog();
  const active = (): string[] => read(vmXml(catalog, catalog.vm('vm01')), '/VM/SNAPSHOTS/SNAPSHOT[ID=0]/ACTIVE', '/VM/SNAPSHOTS/SNAPSHOT[ID=1]/ACTIVE', '/VM/SNAPSHOTS[DISK_ID=0]/CURRENT_BASE');
  t.same(active(), ['', 'YES', '1'], 'the newest snapshot is the active one');
  await snap('revert', '0');
  t.same(active(), ['YES', '', '0'], 'reverted to: active');
  await snap('delete', '0');
  t.same(active(), ['', '', '-1'], 'the active one deleted: none is');
  t.same([...activeSnapshots([])], [], 'an empty journal: none');
});

t.test('a datastore: its dump fields, template and capacity, never a secret; template text survives ]]> and markup', async (t) => {
  if (!setUp(t)) return;
  const w = await filled(t);
  const catalog = w.catalog();
  const ds = catalog.datastore('images');
  t.equal(ds.secrets.ONECOMPAT_TEST_SECRET, 's3cr3t-value', 'the catalog has the secret');
  const xml = datastoreXml(catalog, ds);
  t.notMatch(xml, /s3cr3t-value/, 'its value is nowhere');
  t.notMatch(xml, /ONECOMPAT_TEST_SECRET/, 'nor its name');
  t.same(
    read(xml, '/DATASTORE/ID', '/DATASTORE/NAME', '/DATASTORE/TYPE', '/DATASTORE/DS_MAD', '/DATASTORE/TM_MAD', '/DATASTORE/BASE_PATH', '/DATASTORE/TEMPLATE/REPLICA_HOST', '/DATASTORE/TEMPLATE/NOTE', '/DATASTORE/TEMPLATE/NFS_AUTO_ENABLE'),
    [String(ds.id), 'images', '0', 'dummy', 'dummy', ds.basePath, 'replica01', 'a]]>b <&> c', ''],
  );
  t.same(read(xml, '%m%/DATASTORE/IMAGES/ID'), [catalog.listImages().map((image) => image.id).join(' ')]);
  const system = datastoreXml(catalog, catalog.datastore('system'));
  t.same(read(system, '/DATASTORE/TYPE', '/DATASTORE/DS_MAD'), ['1', '-'], 'a system datastore: type 1, DS_MAD "-" as oned writes it');
});

t.test('states: operations under way and failed, as OpenNebula numbers them', async (t) => {
  if (!setUp(t)) return;
  const vm = (fields: Partial<Vm>): Vm => ({ id: 1, name: 'v', host: 'h1', systemDsId: 0, state: 'RUNNING', operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null, disks: [], createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', ...fields });
  const cases: Array<[Partial<Vm>, number, number]> = [
    [{ state: 'PENDING' }, 1, 0],
    [{ state: 'RUNNING' }, 8, 0],
    [{ state: 'STOPPED' }, 4, 0],
    [{ state: 'DONE' }, 6, 0],
    [{ state: 'PENDING', operation: 'create' }, 3, 1],
    [{ state: 'FAILED', operation: 'create', previousState: 'PENDING' }, 3, 39],
    [{ state: 'RUNNING', operation: 'create-rollback' }, 3, 39],
    [{ state: 'RUNNING', operation: 'stop' }, 3, 10],
    [{ state: 'STOPPED', operation: 'resume' }, 3, 9],
    [{ state: 'RUNNING', operation: 'migrate', targetHost: 'h2' }, 3, 43],
    [{ state: 'FAILED', operation: 'migrate', previousState: 'RUNNING' }, 3, 44],
    [{ state: 'RUNNING', operation: 'shutdown' }, 3, 11],
    [{ state: 'RUNNING', operation: 'disk-snapshot-create' }, 3, 51],
    [{ state: 'RUNNING', operation: 'disk-snapshot-revert' }, 3, 52],
    [{ state: 'STOPPED', operation: 'disk-snapshot-delete' }, 3, 53],
    [{ state: 'FAILED', operation: 'disk-snapshot-delete', previousState: 'STOPPED' }, 4, 0],
  ];
  for (const [fields, state, lcmState] of cases) t.same(oneState(vm(fields)), { state, lcmState }, JSON.stringify(fields));
  const migrating = vmXml({ findImage: () => undefined, findDatastore: () => undefined, listVms: () => [], journal: () => [] }, vm({ operation: 'migrate', targetHost: 'h2', systemDsId: 4 }));
  t.same(
    read(migrating, '/VM/HISTORY_RECORDS/HISTORY[last()]/HOSTNAME', '/VM/HISTORY_RECORDS/HISTORY[last()-1]/HOSTNAME', '/VM/HISTORY_RECORDS/HISTORY[last()-1]/DS_ID', '/VM/HISTORY_RECORDS/HISTORY[last()]/ACTION'),
    ['h2', 'h1', '4', '1'],
    'a migrate: the source host, then the destination',
  );
});
