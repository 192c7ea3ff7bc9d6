/** vms.ts: VM plans checked against the catalog (nothing recorded), and run: recorded, locked, each step journaled. */
import t from 'tap';
import { planCreate, runImagePlan } from '../../src/lifecycle/images.js';
import { createVm, operate, planNewVm, planVm, runVmPlan } from '../../src/lifecycle/vms.js';
import { rawStore } from '../catalog/seed.js';
import { rejection, thrown } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

async function withImage(t: Parameters<typeof lifeWorld>[0]) {
  const world = lifeWorld(t);
  const base = await runImagePlan(world.life, planCreate(world.life, { datastore: world.images, name: 'base', sizeMb: 8 }));
  return { ...world, base };
}

t.test('a new VM: planned with the id it would get and nothing recorded; run, RUNNING with its image USED', async (t) => {
  const { life, catalog, system, base, events } = await withImage(t);
  const input = { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image' as const, image: 'base' }, { kind: 'volatile' as const, sizeMb: 4 }] };
  const plan = planNewVm(life, input);
  t.match(plan, { kind: 'vm', operation: 'create', vm: { id: 1, state: 'PENDING' }, input });
  t.same(plan.steps.map((step) => step.action), ['clone', 'mkimage']);
  t.equal(catalog.findVm('vm01'), undefined, 'nothing recorded');
  t.equal(thrown(() => planNewVm(life, { ...input, host: 'fe' })).code, 'E_NOT_FOUND', 'an unknown host');
  t.equal(thrown(() => planNewVm(life, { ...input, systemDs: 'images' })).code, 'E_CONFLICT', 'not a SYSTEM datastore');

  const vm = await runVmPlan(life, plan);
  t.match(vm, { id: 1, state: 'RUNNING', operation: null, plan: null });
  t.equal(catalog.image(base.id).state, 'USED');
  t.same(catalog.journal('vm:1').map((entry) => [entry.action, entry.step]), [['clone', 0], ['mkimage', 1]]);
  t.same(events.filter((event) => event.outcome?.ok).map((event) => event.index), [0, 1], 'each step reported');
  t.equal(thrown(() => planNewVm(life, input)).code, 'E_CONFLICT', 'the name is taken now');
  t.equal(system.id, vm.systemDsId);
});

t.test('operations: checked against the state; stop then resume; a VM another ferry works on is busy', async (t) => {
  const { life, catalog } = await withImage(t);
  const vm = await createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }] });
  t.equal(thrown(() => planVm(life, vm.id, 'resume')).code, 'E_CONFLICT', 'a RUNNING VM is not resumed');
  t.equal(thrown(() => planVm(life, vm.id, 'migrate', { target: 'host01' })).code, 'E_CONFLICT', 'already there');
  t.equal(thrown(() => planVm(life, vm.id, 'migrate', { target: 'nowhere' })).code, 'E_NOT_FOUND');
  const stop = planVm(life, vm.id, 'stop');
  t.same(stop.steps.map((step) => step.refs?.at?.split(':')[0]), ['fe', 'fe'], 'disks and folder to the frontend');
  t.equal((await runVmPlan(life, stop)).state, 'STOPPED');
  t.equal((await operate(life, vm.id, 'resume')).state, 'RUNNING');

  // Another ferry, elsewhere, holds the VM's lock: a plan says busy rather than "interrupted".
  const raw = rawStore(t, catalog.path);
  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, 1, ?, ?, ?)').run(`vm:${vm.id}`, 'elsewhere', 'stop', new Date().toISOString());
  t.equal(thrown(() => planVm(life, vm.id, 'stop')).code, 'E_BUSY');
  t.equal((await rejection(operate(life, vm.id, 'stop'))).code, 'E_BUSY');
});

t.test('disk snapshots: the next free id; the end state records it on the disk', async (t) => {
  const { life, catalog } = await withImage(t);
  const vm = await createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }, { kind: 'swap', sizeMb: 2 }] });
  const plan = planVm(life, vm.id, 'disk-snapshot-create', { disk: 0 });
  t.match(plan.steps, [{ action: 'snap_create', refs: { disk: 0, snapshot: 0 } }]);
  await runVmPlan(life, plan);
  t.same(catalog.vm(vm.id).disks[0]?.snapshots, [0]);
  t.match(planVm(life, vm.id, 'disk-snapshot-create', { disk: 0 }).steps, [{ refs: { snapshot: 1 } }], 'the next one');
  t.equal(thrown(() => planVm(life, vm.id, 'disk-snapshot-create', { disk: 1 })).code, 'E_CONFLICT', 'not a swap disk');
  t.equal(thrown(() => planVm(life, vm.id, 'disk-snapshot-revert', { disk: 0, snapshot: 5 })).code, 'E_NOT_FOUND');
});
