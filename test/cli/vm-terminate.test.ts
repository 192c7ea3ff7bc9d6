/**
 * `ferry vm terminate VM [--hard]` on real drivers and files: a VM is removed
 * from any state (a rolled-back create left PENDING, FAILED, RUNNING,
 * STOPPED), ends DONE with its images released; --hard goes on past a
 * failing step and journals it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startedOf } from '../../src/catalog/owner.js';
import { stage, vmYaml, world, type World } from '../helpers/catalog-world.js';

/** The VM is DONE, its folder gone, the persistent image back in its datastore and READY, the base image READY. */
function checkGone(t: Test, w: World, system: string, id: number): void {
  const catalog = w.catalog();
  t.equal(catalog.vm(id).state, 'DONE', 'DONE');
  t.equal(catalog.vm(id).operation, null, 'no operation left');
  t.notOk(existsSync(join(system, String(id))), 'the VM folder is gone');
  const data = catalog.image('data');
  t.ok(existsSync(data.source as string), 'the persistent image is still in its datastore');
  t.equal(data.state, 'READY', 'and released');
  t.equal(catalog.image('base').state, 'READY', 'the base image released');
  t.same(catalog.listVms().filter((vm) => vm.state !== 'DONE'), [], 'no VM left but DONE ones');
}

t.test('a create rolled back to PENDING: shutdown and host delete refuse it, terminate removes it', async (t) => {
  const w = world(t);
  const { system } = await stage(t, w, 'flaky');
  writeFileSync(join(w.markers, 'fail-ln'), '');
  t.equal((await w.cli(['vm', 'create', vmYaml(w)])).status, 1);
  rmSync(join(w.markers, 'fail-ln'));
  t.equal((await w.json(['vm', 'recover', 'vm01', '--failure'])).state, 'PENDING');
  t.equal((await w.cli(['vm', 'shutdown', 'vm01'])).status, 2, 'shutdown refuses a PENDING VM');
  const hostDelete = await w.cli(['host', 'delete', 'host01']);
  t.match(hostDelete.stderr, /ferry vm terminate VM/, 'host delete names terminate');

  const dry = await w.cli(['vm', 'terminate', 'vm01', '--dry-run']);
  t.equal(dry.status, 0);
  t.equal(dry.stdout, `# vm terminate 1 (dry run)\nDELETE flaky host01:${join(system, '1')} 1 2\n`, 'the plan: the VM folder, in case the create left one');
  t.equal(w.catalog().vm('vm01').state, 'PENDING', 'a dry run changes nothing');

  const done = await w.json(['vm', 'terminate', 'vm01']);
  t.equal(done.state, 'DONE');
  checkGone(t, w, system, 1);
  t.equal((await w.cli(['host', 'delete', 'host01'])).status, 0, 'the host can go now');
  t.match((await w.cli(['vm', 'terminate', '--help'])).stdout, /Examples:\n {2}\$ ferry vm terminate vm01 --dry-run/);
});

t.test('a FAILED create: what it made is undone, then DONE', async (t) => {
  const w = world(t);
  const { system } = await stage(t, w, 'flaky');
  writeFileSync(join(w.markers, 'fail-ln'), '');
  await w.cli(['vm', 'create', vmYaml(w)]);
  rmSync(join(w.markers, 'fail-ln'));
  t.ok(existsSync(join(system, '1', 'disk.0')), 'the clone of step 1 is there');
  const plan = await w.json(['vm', 'terminate', 'vm01', '--dry-run']);
  t.same(plan.plan.map((step: { action: string }) => step.action), ['delete', 'delete'], 'delete the clone, then the folder');
  await w.json(['vm', 'terminate', 'vm01']);
  checkGone(t, w, system, 1);
});

for (const stopped of [false, true]) {
  t.test(`a ${stopped ? 'STOPPED' : 'RUNNING'} VM: persistent disk back with mvds, the rest deleted`, async (t) => {
    const w = world(t);
    const { system } = await stage(t, w, 'shared');
    await w.json(['vm', 'create', vmYaml(w, '  - volatile: 4\n')]);
    if (stopped) await w.json(['vm', 'stop', 'vm01']);
    const plan = await w.json(['vm', 'terminate', 'vm01', '--dry-run']);
    const where = stopped ? 'fe' : 'host01';
    t.same(
      plan.plan.map((step: { line: string }) => step.line.split(' ').slice(0, 3).join(' ')),
      [`DELETE shared ${where}:${join(system, '1', 'disk.0')}`, `MVDS shared ${where}:${join(system, '1', 'disk.1')}`, `DELETE shared ${where}:${join(system, '1', 'disk.2')}`, `DELETE shared ${where}:${join(system, '1')}`],
    );
    await w.json(['vm', 'terminate', 'vm01']);
    checkGone(t, w, system, 1);
    t.same(w.catalog().journal('vm:1').filter((entry) => entry.operation === 'terminate').map((entry) => entry.action), ['delete', 'mvds', 'delete', 'delete'], 'journaled');
  });
}

t.test('a failing step: FAILED without --hard; --hard goes on, journals what it skipped, and ends DONE', async (t) => {
  const w = world(t);
  const { system } = await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w)]);
  writeFileSync(join(w.markers, 'fail-delete'), '');
  const failed = await w.cli(['vm', 'terminate', 'vm01']);
  t.equal(failed.status, 1);
  t.match(w.catalog().vm('vm01'), { state: 'FAILED', operation: 'terminate', step: 0 });

  const hard = await w.json(['vm', 'terminate', 'vm01', '--hard']);
  t.equal(hard.state, 'DONE', 'DONE past the failures');
  t.match(hard.error, /terminate --hard skipped step 1\/3 \(DELETE flaky .*injected failure in delete.*; step 3\/3 \(DELETE flaky/, 'the VM names what was skipped');
  const skipped = w.catalog().journal('vm:1').filter((entry) => entry.message?.startsWith('skipped (--hard)'));
  t.same(skipped.map((entry) => entry.action), ['delete', 'delete'], 'each skipped step journaled');
  const data = w.catalog().image('data');
  t.ok(existsSync(data.source as string), 'the persistent disk went back (mvds ran)');
  t.equal(data.state, 'READY');
  t.ok(existsSync(join(system, '1')), 'the folder a failing delete left is still there');
});

t.test('an operation interrupted (its ferry killed) does not stop terminate; a live one does', async (t) => {
  const w = world(t);
  const { system } = await stage(t, w, 'shared');
  await w.json(['vm', 'create', vmYaml(w)]);
  // As a ferry killed before the first step of a stop leaves it: the operation recorded, the VM still RUNNING.
  const plan = (await w.json(['vm', 'stop', 'vm01', '--dry-run'])).plan;
  w.catalog().updateVm(1, { operation: 'stop', plan, step: 0, previousState: 'RUNNING' });
  t.match((await w.cli(['vm', 'shutdown', 'vm01'])).stderr, /interrupted stop/, 'other operations refuse it');
  // Another live process holds the VM's lock (the CLI runs in this one, where a lock of ours would be re-entrant).
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(other, 'spawn');
  t.teardown(() => void other.kill('SIGKILL'));
  const raw = w.raw();
  const pid = other.pid as number;
  raw.prepare("INSERT INTO locks (subject, owner_pid, owner_host, owner_started, operation, since) VALUES ('vm:1', ?, ?, ?, 'stop', 'then')").run(pid, hostname(), startedOf(pid));
  const busy = await w.cli(['vm', 'terminate', 'vm01']);
  t.equal(busy.status, 75, 'refused while a live ferry holds the VM');
  other.kill('SIGKILL');
  await once(other, 'exit');
  t.equal((await w.json(['vm', 'terminate', 'vm01'])).state, 'DONE');
  checkGone(t, w, system, 1);
});
