/** recover.ts: a FAILED VM retried from its failed step, marked done, or rolled back by the undo its steps' refs give. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { planCreate, runImagePlan } from '../../src/lifecycle/images.js';
import { planRecover, runRecover } from '../../src/lifecycle/recover.js';
import { createVm } from '../../src/lifecycle/vms.js';
import { rejection, thrown } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

/** A VM whose create failed at its second step (mkimage), the clone done. */
async function failedCreate(t: Parameters<typeof lifeWorld>[0]) {
  const world = lifeWorld(t, 'flaky');
  const { life, catalog, fail } = world;
  await runImagePlan(life, planCreate(life, { datastore: world.images, name: 'base', sizeMb: 8 }));
  fail('mkimage');
  const error = await rejection(createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }, { kind: 'volatile', sizeMb: 4 }] }));
  t.match(error.message, /injected failure in mkimage/);
  const vm = catalog.vm('vm01');
  t.match(vm, { state: 'FAILED', operation: 'create', step: 1 });
  return { ...world, vm, heal: (action: string) => rmSync(join(world.markers, `fail-${action}`)) };
}

t.test('plans: --retry the rest, --failure the undo of what ran, --success nothing', async (t) => {
  const { life, vm } = await failedCreate(t);
  t.same(planRecover(life, vm.id, 'retry').steps.map((step) => step.action), ['mkimage']);
  t.same(planRecover(life, vm.id, 'success').steps, []);
  const undo = planRecover(life, vm.id, 'failure').steps;
  t.same(undo.map((step) => [step.action, step.refs?.disk]), [['delete', 0], ['delete', undefined]], 'the cloned disk, then the VM folder');
  t.equal(undo[0]?.args[0], vm.plan?.[0]?.refs?.at, 'deleted where the clone put it');
});

t.test('--failure: the undo runs, the VM is PENDING again; --retry after a failed rollback finishes it', async (t) => {
  const { life, catalog, vm, fail, heal } = await failedCreate(t);
  fail('delete');
  await t.rejects(runRecover(life, planRecover(life, vm.id, 'failure')), /injected failure in delete/);
  t.match(catalog.vm(vm.id), { state: 'FAILED', operation: 'create-rollback', step: 0 });
  t.match(thrown(() => planRecover(life, vm.id, 'failure')).message, /rollback of create failed itself/);
  heal('delete');
  const back = await runRecover(life, planRecover(life, vm.id, 'retry'));
  t.match(back, { state: 'PENDING', operation: null, plan: null });
  t.same(
    catalog.journal(`vm:${vm.id}`).map((entry) => `${entry.operation} ${entry.action} ${entry.ok ? 'ok' : 'FAIL'}`),
    ['create clone ok', 'create mkimage FAIL', 'create-rollback delete FAIL', 'create-rollback delete ok', 'create-rollback delete ok'],
  );
  t.equal(thrown(() => planRecover(life, vm.id, 'retry')).code, 'E_CONFLICT', 'nothing left to recover');
});

t.test('--retry runs from the failed step; --success marks it done', async (t) => {
  const { life, catalog, vm, heal } = await failedCreate(t);
  heal('mkimage');
  const done = await runRecover(life, planRecover(life, vm.id, 'retry'));
  t.equal(done.state, 'RUNNING');
  t.same(catalog.journal(`vm:${vm.id}`).filter((entry) => entry.ok).map((entry) => entry.action), ['clone', 'mkimage'], 'the clone is not run again');

  const other = await failedCreate(t);
  t.equal((await runRecover(other.life, planRecover(other.life, other.vm.id, 'success'))).state, 'RUNNING');
});

t.test('a plan recorded without refs (an older ferry) is not rolled back, but can be retried', async (t) => {
  const { life, catalog, vm } = await failedCreate(t);
  catalog.updateVm(vm.id, { plan: (vm.plan ?? []).map(({ refs: _refs, ...step }) => step) });
  const error = thrown(() => planRecover(life, vm.id, 'failure'));
  t.equal(error.code, 'E_CONFLICT');
  t.match(error.message, /older ferry/);
  t.same(planRecover(life, vm.id, 'retry').steps.map((step) => step.action), ['mkimage']);
});

t.test('--failure of an interrupted operation also undoes the step in flight (it may have finished before the kill)', async (t) => {
  const { life, catalog, vm } = await failedCreate(t);
  // As a killed ferry leaves it: the operation at step 1 (mkimage), the VM never marked FAILED.
  catalog.updateVm(vm.id, { state: 'PENDING', error: null });
  const undo = planRecover(life, vm.id, 'failure').steps;
  t.same(undo.map((step) => [step.action, step.refs?.disk]), [['delete', 1], ['delete', 0], ['delete', undefined]], 'the volatile disk in flight, the cloned disk, then the VM folder');
  t.equal(undo[0]?.args[0], vm.plan?.[1]?.refs?.at, 'deleted where mkimage puts it');
});

t.test('a FAILED step is not undone: it did not finish, and its undo could fail on what it never made', async (t) => {
  const { life, vm } = await failedCreate(t);
  t.notOk(planRecover(life, vm.id, 'failure').steps.some((step) => step.refs?.disk === 1), 'nothing of the failed mkimage');
});

t.test('--retry: while it runs the VM is no longer FAILED (a ferry stopped in it leaves it interrupted), and a failure makes it FAILED again', async (t) => {
  const { life, catalog, vm, heal } = await failedCreate(t);
  const seen: string[] = [];
  const watching = { ...life, onStep: () => seen.push(catalog.vm(vm.id).state) };
  await t.rejects(runRecover(watching, planRecover(life, vm.id, 'retry')), /injected failure in mkimage/);
  t.same(seen, ['PENDING', 'FAILED'], 'while the step ran: its state before the operation (the operation recorded); after: FAILED');
  t.match(catalog.vm(vm.id), { state: 'FAILED', operation: 'create', step: 1, error: /injected failure in mkimage/ });
  heal('mkimage');
  const done = await runRecover(life, planRecover(life, vm.id, 'retry'));
  t.equal(done.state, 'RUNNING');
});
