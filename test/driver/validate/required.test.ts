/** Missing actions, judged by the contract table's need of each row and the capabilities driver.yaml claims. */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { actionsOf, specFor } from '../../../src/contract/lookup.js';
import { CAPABILITIES } from '../../../src/driver/manifest.js';
import { validateDriver } from '../../../src/driver/validate/index.js';
import { tmpDir } from '../../helpers/fixtures.js';
import { SH, datastoreDriver, noLint, only, put, tmDriver } from './helpers.js';

t.test('the contract table decides what a driver needs of every action', async (t) => {
  const required = (kind: 'datastore' | 'tm'): string[] =>
    actionsOf(kind)
      .filter((action) => specFor(kind, action).need.need === 'required')
      .sort();
  t.same(required('datastore'), ['cp', 'monitor', 'rm', 'stat']);
  t.same(required('tm'), ['clone', 'delete', 'ln', 'mv', 'mvds']);
  for (const kind of ['datastore', 'tm'] as const) {
    for (const action of actionsOf(kind)) {
      for (const capability of specFor(kind, action).need.claimedBy ?? []) t.ok(Object.hasOwn(CAPABILITIES, capability), `${capability} is a known capability`);
    }
  }
});

t.test('missing actions: required ones are errors saying what breaks; recommended ones warnings', async (t) => {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const ds = datastoreDriver(join(remotes, 'datastore', 'partial'), ['cp', 'rm', 'mkfs']);
  const report = await validateDriver(ds, noLint);
  const missing = only(report, 'missing-action').map((f) => `${f.severity} ${f.message}`);
  t.same(missing, [
    'error no cp action: images cannot be registered (nothing copies them into the datastore)',
    'error no rm action: images cannot be deleted from the datastore',
    'warning no mkfs action: empty datablocks and save-as targets cannot be created',
  ]);
  t.ok(only(report, 'missing-action').every((f) => f.file === ds && f.line === undefined), 'about the driver folder');

  const tm = tmDriver(join(remotes, 'tm', 'partial'), ['delete', 'context']);
  const tmReport = await validateDriver(tm, noLint);
  t.same(
    only(tmReport, 'missing-action').map((f) => `${f.severity} ${f.message}`),
    [
      'error no delete action: VMs cannot be shut down: their disks and folders are never removed',
      'warning no context action: VMs with a CONTEXT section cannot start (needed when this TM serves a system datastore)',
    ],
  );
  put(join(tm, 'driver.yaml'), 'api: 1\nkind: tm\ncapabilities: [system_datastore, snapshots]\n', 0o644);
  const claimed = await validateDriver(tm, noLint);
  const messages = only(claimed, 'missing-action').map((f) => `${f.severity} ${f.message}`);
  t.ok(messages.includes('error no context action, but driver.yaml claims capability context: VMs with a CONTEXT section cannot start') || messages.includes('error no context action, but driver.yaml claims capability system_datastore: VMs with a CONTEXT section cannot start'), 'a claimed system_datastore makes context required');
  t.ok(messages.some((m) => /^error no snap_create action, but driver.yaml claims capability snapshots/.test(m)), 'a claimed capability makes its actions required');
  t.same(only(claimed, 'optional-missing').map((f) => f.message.split(':')[1]?.split('(')[0]?.trim()), ['failmigrate, snap_create_live, monitor, resize'], 'claimed ones leave the optional list');
});

t.test('clone.ssh does not stand in for clone: ferry asked for clone runs only clone', async (t) => {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const tm = tmDriver(join(remotes, 'tm', 'suffixed'), ['clone']);
  put(join(tm, 'clone.ssh'), SH(':'), 0o755);
  const report = await validateDriver(tm, noLint);
  t.same(only(report, 'missing-action').map((f) => f.message), ['no clone action: VMs with non-persistent disks cannot be deployed']);
});
