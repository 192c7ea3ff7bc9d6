/**
 * Alerts from `datastore monitor` (the default rules) and `ferry alert
 * list|show|ack`: three failed monitors raise one monitor_failing alert
 * listing what the datastore affects, a fourth does not duplicate it, a
 * success clears it; a datastore running short of space raises free_low
 * then free_critical, each cleared only past its hysteresis.
 */
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bundledRemotes } from './helpers.js';
import { stage, vmYaml, world, type World } from '../helpers/catalog-world.js';

const alertsOf = async (w: World, rule: string, state = 'all') => ((await w.json(['alert', 'list', '--state', state])) as unknown as Array<Record<string, any>>).filter((alert) => alert.rule === rule);

t.test('three failed monitors raise one monitor_failing alert with its impact; a success clears it; ack records who', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  writeFileSync(join(w.markers, 'fail-monitor'), '');
  for (let run = 1; run <= 2; run++) t.equal((await w.cli(['datastore', 'monitor', 'system'])).status, 1, `run ${run} fails`);
  t.same(await alertsOf(w, 'monitor_failing'), [], 'two failures: no alert yet');
  t.equal((await w.cli(['datastore', 'monitor', 'system'])).status, 1, 'run 3 fails');
  const raised = await alertsOf(w, 'monitor_failing', 'firing');
  t.equal(raised.length, 1, 'the third failure raises one alert');
  const alert = raised[0] as Record<string, any>;
  const system = await w.json(['datastore', 'show', 'system']);
  t.same(alert.subject, { kind: 'datastore', id: String(system.id) });
  t.equal(alert.severity, 'major');
  t.equal(alert.value, 3);
  t.match(alert.message, /datastore system: its monitor failed 3 times in a row/);
  t.same(alert.affects, [{ kind: 'vm', id: String(vm.id) }, { kind: 'host', id: 'host01' }], 'it affects the VM running from it and its host');

  t.equal((await w.cli(['datastore', 'monitor', 'system'])).status, 1, 'run 4 fails');
  t.equal((await alertsOf(w, 'monitor_failing')).length, 1, 'a fourth failure does not duplicate it');

  const text = await w.cli(['alert', 'list']);
  t.equal(text.status, 0);
  t.match(text.stdout, /^ID\s+SEVERITY\s+STATE\s+RULE\s+SUBJECT\s+RAISED\s+ACKED\s+MESSAGE$/m);
  t.match(text.stdout, new RegExp(`^${alert.id}\\s+major\\s+firing\\s+monitor_failing\\s+datastore ${system.id}\\s`, 'm'));
  const shown = await w.cli(['alert', 'show', String(alert.id)]);
  t.match(shown.stdout, new RegExp(`^ {2}affects {4}vm ${vm.id}, host host01$`, 'm'));

  const acked = await w.json(['alert', 'ack', String(alert.id), '--by', 'alice']);
  t.equal(acked.ackedBy, 'alice', 'ack records who');
  t.match(acked.ackedAt, /^\d{4}-\d\d-\d\dT/);
  t.equal((await w.json(['alert', 'ack', String(alert.id), '--by', 'bob'])).ackedBy, 'alice', 'the first acknowledgement is kept');
  const bare = await w.cli(['alert', 'ack', String(alert.id)]);
  t.ok(bare.status === 0 || (bare.status === 2 && /--by NAME/.test(bare.stderr)), '--by defaults to $USER, else the error names --by');

  rmSync(join(w.markers, 'fail-monitor'));
  await w.json(['datastore', 'monitor', 'system']);
  t.same(await alertsOf(w, 'monitor_failing', 'firing'), [], 'a success clears it');
  const cleared = await w.json(['alert', 'show', String(alert.id)]);
  t.equal(cleared.state, 'cleared');
  t.match(cleared.clearedAt, /^\d{4}-\d\d-\d\dT/);
  t.equal((await w.json(['alert', 'list', '--state', 'cleared', '--severity', 'major'])).length >= 1, true, 'listed as cleared');

  const missing = await w.cli(['alert', 'show', '999']);
  t.equal(missing.status, 2, 'an unknown id: exit 2');
  t.match(missing.stderr, /no alert "999" in the catalog/);
  t.equal((await w.cli(['alert', 'ack', '999', '--by', 'alice'])).status, 2);
  t.equal((await w.cli(['alert', 'show', 'x'])).status, 2, 'a non-number id: usage');
  t.equal((await w.cli(['alert', 'list', '--state', 'open'])).status, 2, 'an unknown --state: usage');
  t.equal((await w.cli(['alert', 'list', '--severity', 'fatal'])).status, 2, 'an unknown --severity: usage');
});

t.test('free space: free_low then free_critical, each cleared past its hysteresis', async (t) => {
  const w = world(t);
  // datastore/gauge: the dummy driver whose monitor prints the figures in a file.
  const figures = join(w.root, 'figures');
  cpSync(join(bundledRemotes, 'datastore', 'dummy'), join(w.remotes, 'datastore', 'gauge'), { recursive: true, verbatimSymlinks: true });
  const monitor = join(w.remotes, 'datastore', 'gauge', 'monitor');
  rmSync(monitor);
  writeFileSync(monitor, `#!/bin/sh\nset -eu\ncat '${figures}'\n`);
  chmodSync(monitor, 0o755);
  const free = (pct: number) => writeFileSync(figures, `USED_MB=${1000 - pct * 10}\nTOTAL_MB=1000\nFREE_MB=${pct * 10}\n`);
  mkdirSync(join(w.root, 'ds'));
  free(50);
  const ds = await w.json(['datastore', 'create', 'gauge', '--ds-mad', 'gauge', '--tm-mad', 'dummy', '--base-path', join(w.root, 'ds')]);
  const image = await w.json(['image', 'create', '--datastore', 'gauge', '--size', '8', '--name', 'data']);

  const firing = async () => ((await w.json(['alert', 'list'])) as unknown as Array<Record<string, any>>).map((alert) => alert.rule).sort();
  const step = async (pct: number, want: string[], why: string) => {
    free(pct);
    await w.json(['datastore', 'monitor', 'gauge']);
    t.same(await firing(), want, `${pct} % free: ${why}`);
  };
  await step(30, [], 'nothing');
  await step(15, ['free_low'], 'under 20: warning');
  const low = (await alertsOf(w, 'free_low'))[0] as Record<string, any>;
  t.equal(low.severity, 'warning');
  t.equal(low.value, 15);
  t.same(low.subject, { kind: 'datastore', id: String(ds.id) });
  t.same(low.affects, [{ kind: 'image', id: String(image.id) }], 'it affects the image on it');
  t.match(low.message, /datastore gauge has 15 % free, under 20 %/);
  await step(8, ['free_critical', 'free_low'], 'under 10: critical too');
  await step(10.5, ['free_critical', 'free_low'], 'back at 10.5: critical holds (hysteresis 1)');
  await step(9, ['free_critical', 'free_low'], 'down again: still one of each');
  await step(11, ['free_low'], 'at 11: critical clears');
  await step(21, ['free_low'], 'at 21: warning holds (hysteresis 2)');
  await step(22, [], 'at 22: warning clears');
  const all = await alertsOf(w, 'free_critical');
  t.equal(all.length, 1, 'free_critical raised once in all');
  t.equal((await w.json(['alert', 'list', '--state', 'all', '--severity', 'critical'])).length, 1);
  await step(15, ['free_low'], 'down again: a new warning');
  t.equal((await alertsOf(w, 'free_low')).length, 2, 'a new alert (ids only grow)');
});

t.test("a removed datastore's alerts end with it", async (t) => {
  const w = world(t);
  mkdirSync(join(w.root, 'sys'));
  await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'flaky', '--base-path', join(w.root, 'sys')]);
  writeFileSync(join(w.markers, 'fail-monitor'), '');
  for (let run = 1; run <= 3; run++) await w.cli(['datastore', 'monitor', 'system']);
  const [alert] = await alertsOf(w, 'monitor_failing', 'firing');
  t.ok(alert, 'firing');
  await w.json(['datastore', 'delete', 'system']);
  t.same(await alertsOf(w, 'monitor_failing', 'firing'), [], 'no longer firing');
  t.equal((await w.json(['alert', 'show', String(alert?.id)])).state, 'cleared', 'cleared, kept in the history of alerts');
  t.same(w.catalog().listEvaluatorStates(), [], "its rules' states are forgotten");
});
