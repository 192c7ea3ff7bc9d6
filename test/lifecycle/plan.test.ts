/** plan.ts: the steps of every plan, the refs each step records, and undo built from those refs. Pure: records in, steps out. */
import t from 'tap';
import type { Datastore, Image, PlanStep, Vm, VmDisk } from '../../src/model.js';
import {
  datastorePlan,
  imageClonePlan,
  imageCreatePlan,
  imageDeletePlan,
  imageSnapshotPlan,
  imageStep,
  monitorDriver,
  monitorStep,
  planFor,
  rollbackPlan,
  saveAsSource,
  saveAsSteps,
  transferLine,
  type PlanContext,
} from '../../src/lifecycle/plan.js';
import { thrown } from '../helpers/fixtures.js';

const AT = '2026-01-01T00:00:00.000Z';

function datastore(id: number, name: string, type: Datastore['type'], tmMad: string, basePath: string, dsMad: string | null = null): Datastore {
  return { id, name, type, dsMad, tmMad, basePath, template: {}, secrets: {}, totalMb: null, freeMb: null, usedMb: null, monitoredAt: null, origin: 'catalog', createdAt: AT };
}

function image(id: number, name: string, source: string | null, persistent: boolean): Image {
  return { id, name, datastoreId: 1, path: null, source, sizeMb: 10, format: 'qcow2', fs: null, type: 'OS', persistent, state: 'READY', error: null, snapshots: [], clonedFrom: null, createdAt: AT, updatedAt: AT };
}

const system = datastore(0, 'system', 'SYSTEM', 'shared', '/sys');
const images = datastore(1, 'images', 'IMAGE', 'qcow2', '/img', 'fs');
const IMAGES: Record<number, Image> = { 1: image(1, 'base', '/img/base', false), 2: image(2, 'data', '/img/data', true), 3: image(3, 'empty', null, false) };

function disk(diskId: number, kind: VmDisk['kind'], extra: Partial<VmDisk> = {}): VmDisk {
  return { diskId, kind, imageId: null, mode: null, sizeMb: null, format: null, files: null, target: `/sys/7/disk.${diskId}`, snapshots: [], ...extra };
}

const DISKS: VmDisk[] = [
  disk(0, 'image', { imageId: 1, mode: 'clone' }),
  disk(1, 'image', { imageId: 2, mode: 'ln' }),
  disk(2, 'volatile', { sizeMb: 512, format: 'raw' }),
  disk(3, 'swap', { sizeMb: 128 }),
  disk(4, 'context', { files: ['/ctx/a.sh', '/ctx/b'] }),
];

function vm(patch: Partial<Vm> = {}): Vm {
  return { id: 7, name: 'vm', host: 'h1', systemDsId: 0, state: 'PENDING', operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null, disks: DISKS, createdAt: AT, updatedAt: AT, ...patch };
}

function ctx(machine: Vm): PlanContext {
  return { vm: machine, systemDs: system, frontend: 'fe', image: (id) => IMAGES[id] as Image, datastore: (id) => (id === 0 ? system : images) };
}

/** The VM after `operation` ran `done` steps of its plan and failed. */
function failed(operation: string, plan: PlanStep[], done: number, patch: Partial<Vm> = {}): Vm {
  return vm({ state: 'FAILED', operation, plan, step: done, ...patch });
}

const lines = (steps: PlanStep[]) => steps.map(transferLine);

t.test('create: one step per disk kind, each recording the disk, where it goes, its datastore and what it came from', async (t) => {
  const steps = planFor('create', ctx(vm()));
  t.same(lines(steps), [
    'CLONE qcow2 fe:/img/base h1:/sys/7/disk.0 7 1',
    'LN qcow2 fe:/img/data h1:/sys/7/disk.1 7 1',
    'MKIMAGE shared 512 raw h1:/sys/7/disk.2 7 0',
    'MKSWAP shared 128 h1:/sys/7/disk.3 7 0',
    'CONTEXT shared /ctx/a.sh /ctx/b h1:/sys/7/disk.4 7 0',
  ]);
  t.same(steps.map((step) => step.refs), [
    { disk: 0, at: 'h1:/sys/7/disk.0', ds: 1, from: 'fe:/img/base' },
    { disk: 1, at: 'h1:/sys/7/disk.1', ds: 1, from: 'fe:/img/data', source: '/img/data' },
    { disk: 2, at: 'h1:/sys/7/disk.2', ds: 0 },
    { disk: 3, at: 'h1:/sys/7/disk.3', ds: 0 },
    { disk: 4, at: 'h1:/sys/7/disk.4', ds: 0 },
  ]);
  t.ok(steps.every((step) => step.kind === 'tm' && step.why.startsWith(`disk `)), 'TM steps, each saying which disk');
  const noSource = thrown(() => planFor('create', ctx(vm({ disks: [disk(0, 'image', { imageId: 3 })] }))));
  t.equal(noSource.code, 'E_CONFLICT', 'an image with no SOURCE cannot be deployed');
});

t.test('create rollback: every disk made is deleted (a linked one moved back to its image), last first, then the VM folder', async (t) => {
  const plan = planFor('create', ctx(vm()));
  t.same(lines(rollbackPlan(ctx(failed('create', plan, 5)))), [
    'DELETE shared h1:/sys/7/disk.4 7 0',
    'DELETE shared h1:/sys/7/disk.3 7 0',
    'DELETE shared h1:/sys/7/disk.2 7 0',
    'MVDS qcow2 h1:/sys/7/disk.1 /img/data 7 1',
    'DELETE qcow2 h1:/sys/7/disk.0 7 1',
    'DELETE shared h1:/sys/7 7 0',
  ]);
  const undo = rollbackPlan(ctx(failed('create', plan, 1)));
  t.same(lines(undo), ['DELETE qcow2 h1:/sys/7/disk.0 7 1', 'DELETE shared h1:/sys/7 7 0'], 'only what ran is undone');
  t.same(undo.map((step) => step.why), ['undo: disk 0: clone image 1 (base)', 'undo: VM folder']);
  t.same(undo[0]?.refs, { disk: 0, at: 'h1:/sys/7/disk.0', ds: 1 }, 'the undo records what it removes');
  t.same(lines(rollbackPlan(ctx(failed('create', plan, 0)))), ['DELETE shared h1:/sys/7 7 0'], 'nothing ran: only the folder');
});

t.test('undo is built from the refs, not from argument positions', async (t) => {
  // The same plan with its arguments scrambled: an undo read from positions would change, one from refs does not.
  const plan = planFor('create', ctx(vm())).map((step) => ({ ...step, args: ['x', ...step.args.reverse()] }));
  t.same(lines(rollbackPlan(ctx(failed('create', plan, 2)))), ['MVDS qcow2 h1:/sys/7/disk.1 /img/data 7 1', 'DELETE qcow2 h1:/sys/7/disk.0 7 1', 'DELETE shared h1:/sys/7 7 0']);
  const migrate = planFor('migrate', ctx(vm({ state: 'RUNNING' })), { target: 'h2' }).map((step) => ({ ...step, args: ['?', '?', '?', '?'] }));
  t.same(lines(rollbackPlan(ctx(failed('migrate', migrate, 1, { targetHost: 'h2', previousState: 'RUNNING' })))), ['MV qcow2 h2:/sys/7/disk.0 h1:/sys/7/disk.0 7 1']);
});

t.test('stop, resume, migrate: every disk then the folder moved; their undo moves back what moved, last first', async (t) => {
  const running = vm({ state: 'RUNNING' });
  const stop = planFor('stop', ctx(running));
  t.same(lines(stop), [
    'MV qcow2 h1:/sys/7/disk.0 fe:/sys/7/disk.0 7 1',
    'MV qcow2 h1:/sys/7/disk.1 fe:/sys/7/disk.1 7 1',
    'MV shared h1:/sys/7/disk.2 fe:/sys/7/disk.2 7 0',
    'MV shared h1:/sys/7/disk.3 fe:/sys/7/disk.3 7 0',
    'MV shared h1:/sys/7/disk.4 fe:/sys/7/disk.4 7 0',
    'MV shared h1:/sys/7 fe:/sys/7 7 0',
  ]);
  t.same(stop[0]?.refs, { disk: 0, from: 'h1:/sys/7/disk.0', at: 'fe:/sys/7/disk.0', ds: 1 });
  t.same(stop[5]?.refs, { from: 'h1:/sys/7', at: 'fe:/sys/7', ds: 0 }, 'the folder step names no disk');
  t.same(lines(planFor('resume', ctx(vm({ state: 'STOPPED' })))).at(-1), 'MV shared fe:/sys/7 h1:/sys/7 7 0');
  t.match(planFor('resume', ctx(vm({ state: 'STOPPED' })))[0]?.why, 'fe -> h1 (resume)');

  const migrate = planFor('migrate', ctx(running), { target: 'h2' });
  t.same(lines(migrate).at(0), 'MV qcow2 h1:/sys/7/disk.0 h2:/sys/7/disk.0 7 1');
  const undo = rollbackPlan(ctx(failed('migrate', migrate, 2, { previousState: 'RUNNING', targetHost: 'h2' })));
  t.same(lines(undo), ['MV qcow2 h2:/sys/7/disk.1 h1:/sys/7/disk.1 7 1', 'MV qcow2 h2:/sys/7/disk.0 h1:/sys/7/disk.0 7 1']);
  t.same(undo[0]?.refs, { disk: 1, from: 'h2:/sys/7/disk.1', at: 'h1:/sys/7/disk.1', ds: 1 }, 'the undo records its own way');
  t.same(rollbackPlan(ctx(failed('stop', stop, 0, { previousState: 'RUNNING' }))), [], 'nothing moved: nothing to undo');
  t.equal(thrown(() => planFor('migrate', ctx(running))).code, 'E_USAGE', 'migrate needs a destination');
});

t.test('shutdown: non-persistent disks deleted, a linked one moved back, the folder deleted; never rolled back', async (t) => {
  const steps = planFor('shutdown', ctx(vm({ state: 'RUNNING' })));
  t.same(lines(steps), [
    'DELETE qcow2 h1:/sys/7/disk.0 7 1',
    'MVDS qcow2 h1:/sys/7/disk.1 /img/data 7 1',
    'DELETE shared h1:/sys/7/disk.2 7 0',
    'DELETE shared h1:/sys/7/disk.3 7 0',
    'DELETE shared h1:/sys/7/disk.4 7 0',
    'DELETE shared h1:/sys/7 7 0',
  ]);
  t.same(steps[1]?.refs, { disk: 1, at: 'h1:/sys/7/disk.1', source: '/img/data', ds: 1 });
  const error = thrown(() => rollbackPlan(ctx(failed('shutdown', steps, 2, { previousState: 'RUNNING' }))));
  t.equal(error.code, 'E_CONFLICT');
  t.match(error.hint, /--retry .* or --success/);
});

t.test('disk snapshots: one step on the disk where it is; a snapshot taken is deleted on undo, a revert cannot be undone', async (t) => {
  const running = vm({ state: 'RUNNING' });
  const create = planFor('disk-snapshot-create', ctx(running), { disk: 0, snapshot: 3 });
  t.same(lines(create), ['SNAP_CREATE qcow2 h1:/sys/7/disk.0 3 7 1']);
  t.same(create[0]?.refs, { disk: 0, snapshot: 3, at: 'h1:/sys/7/disk.0', ds: 1 });
  t.same(lines(planFor('disk-snapshot-revert', ctx(vm({ state: 'STOPPED' })), { disk: 2, snapshot: 0 })), ['SNAP_REVERT shared fe:/sys/7/disk.2 0 7 0'], 'a stopped VM: on the frontend');
  t.same(lines(planFor('disk-snapshot-delete', ctx(vm({ state: 'FAILED', previousState: 'STOPPED' })), { disk: 0, snapshot: 1 })), ['SNAP_DELETE qcow2 fe:/sys/7/disk.0 1 7 1'], 'failed while stopped: still on the frontend');

  const undo = rollbackPlan(ctx(failed('disk-snapshot-create', create, 1, { previousState: 'RUNNING' })));
  t.same(lines(undo), ['SNAP_DELETE qcow2 h1:/sys/7/disk.0 3 7 1']);
  t.same(undo[0]?.refs, create[0]?.refs, 'the same disk and snapshot');
  t.same(rollbackPlan(ctx(failed('disk-snapshot-create', create, 0))), [], 'it failed: nothing to undo');
  const revert = planFor('disk-snapshot-revert', ctx(running), { disk: 0, snapshot: 3 });
  const refused = thrown(() => rollbackPlan(ctx(failed('disk-snapshot-revert', revert, 1, { previousState: 'RUNNING' }))));
  t.equal(refused.code, 'E_CONFLICT');
  t.match(refused.hint, '--success');
  t.equal(thrown(() => planFor('disk-snapshot-create', ctx(running), { disk: 9, snapshot: 0 })).code, 'E_USAGE', 'a disk the VM has not');
});

t.test('terminate: from any state, the disks torn down where they are, a failed operation finished or undone first', async (t) => {
  const teardown = (host: string) => lines(planFor('shutdown', ctx(vm({ state: 'RUNNING', host }))));
  t.same(lines(planFor('terminate', ctx(vm()))), ['DELETE shared h1:/sys/7 7 0'], 'PENDING: only the folder a create may have left');
  t.same(lines(planFor('terminate', ctx(vm({ state: 'RUNNING' })))), teardown('h1'), 'RUNNING: as shutdown');
  t.same(lines(planFor('terminate', ctx(vm({ state: 'STOPPED' })))), teardown('h1').map((line) => line.replace(/h1:/g, 'fe:')), 'STOPPED: on the frontend');

  const create = planFor('create', ctx(vm()));
  t.same(lines(planFor('terminate', ctx(failed('create', create, 2, { previousState: 'PENDING' })))), lines(rollbackPlan(ctx(failed('create', create, 2)))), 'a failed create: its rollback');

  const migrate = planFor('migrate', ctx(vm({ state: 'RUNNING' })), { target: 'h2' });
  const halfMoved = failed('migrate', migrate, 2, { previousState: 'RUNNING', targetHost: 'h2' });
  t.same(lines(planFor('terminate', ctx(halfMoved))), [...lines(rollbackPlan(ctx(halfMoved))), ...teardown('h1')], 'a failed migrate: moved back, then torn down at home');
  const stop = planFor('stop', ctx(vm({ state: 'RUNNING' })));
  const interrupted = vm({ state: 'RUNNING', operation: 'stop', plan: stop, step: 1, previousState: 'RUNNING' });
  t.same(
    lines(planFor('terminate', ctx(interrupted))),
    ['MV qcow2 fe:/sys/7/disk.1 h1:/sys/7/disk.1 7 1', 'MV qcow2 fe:/sys/7/disk.0 h1:/sys/7/disk.0 7 1', ...teardown('h1')],
    'an interrupted stop: the same, the move in flight (disk.1) moved back too',
  );

  const shutdown = planFor('shutdown', ctx(vm({ state: 'RUNNING' })));
  t.same(lines(planFor('terminate', ctx(failed('shutdown', shutdown, 2, { previousState: 'RUNNING' })))), lines(shutdown).slice(2), 'a failed shutdown: the rest of it');
  const resume = planFor('resume', ctx(vm({ state: 'STOPPED' })));
  const rollback = rollbackPlan(ctx(failed('resume', resume, 2, { previousState: 'STOPPED' })));
  const failedRollback = failed('resume-rollback', rollback, 1, { previousState: 'STOPPED' });
  t.same(lines(planFor('terminate', ctx(failedRollback))), [...lines(rollback).slice(1), ...teardown('h1').map((line) => line.replace(/h1:/g, 'fe:'))], 'a failed rollback: the rest of it, then torn down where it was');
  const snap = planFor('disk-snapshot-revert', ctx(vm({ state: 'STOPPED' })), { disk: 0, snapshot: 0 });
  t.same(lines(planFor('terminate', ctx(failed('disk-snapshot-revert', snap, 0, { previousState: 'STOPPED' })))), teardown('h1').map((line) => line.replace(/h1:/g, 'fe:')), 'a failed snapshot step: torn down where the disks are');
  t.match(thrown(() => rollbackPlan(ctx(failed('terminate', shutdown, 1, { previousState: 'RUNNING' })))).message, /terminate cannot be rolled back/);
  const legacy = create.map(({ refs: _refs, ...step }) => step);
  t.same(lines(planFor('terminate', ctx(failed('create', legacy, 2, { previousState: 'PENDING' })))), teardown('h1'), 'a create an older ferry recorded: every disk torn down');
});

t.test('a failed rollback, and a plan recorded without refs (an older ferry), are not rolled back', async (t) => {
  const plan = planFor('create', ctx(vm()));
  t.match(thrown(() => rollbackPlan(ctx(failed('create-rollback', plan, 1)))).message, /rollback of create failed itself/);
  const legacy = plan.map(({ refs: _refs, ...step }) => step);
  const error = thrown(() => rollbackPlan(ctx(failed('create', legacy, 2))));
  t.equal(error.code, 'E_CONFLICT');
  t.match(error.message, /older ferry/);
  t.match(error.hint, '--retry');
  t.same(lines(rollbackPlan(ctx(failed('create', legacy, 0)))), ['DELETE shared h1:/sys/7 7 0'], 'nothing ran: no step refs needed');
});

t.test('image and datastore steps: the datastore driver, the image id, and the monitor route', async (t) => {
  t.same(imageStep(images, 'cp', -1, '/tmp/a.qcow2'), { kind: 'datastore', action: 'cp', driver: 'fs', args: ['-1'], why: '/tmp/a.qcow2' }, 'a new image: id -1, no refs');
  t.same(imageStep(images, 'snap_revert', 4, '/img/x snapshot 1', { snapshot: 1 }).refs, { image: 4, snapshot: 1 });
  t.same(monitorDriver(images), { kind: 'datastore', driver: 'fs' });
  t.same(monitorDriver(system), { kind: 'tm', driver: 'shared' }, 'a SYSTEM datastore is monitored by its TM');
  t.same(monitorStep(system), { kind: 'datastore', action: 'monitor', driver: 'shared', args: ['0'], why: 'monitor' });
  t.same(monitorStep(images).driver, 'fs');
});

t.test('disk save-as: mkfs then cpds from where the disk rests, by its own TM; the SOURCE once mkfs named it', async (t) => {
  const copy = saveAsSource(ctx(vm({ state: 'STOPPED' })), DISKS[0] as VmDisk, images);
  t.same(copy, { vmId: 7, disk: DISKS[0], from: 'fe:/sys/7/disk.0', tm: 'qcow2', into: images });
  const [mkfs, cpds] = saveAsSteps(copy, { name: 'saved' }, -1);
  t.same(lines([mkfs, cpds]), ['MKFS fs (image saved, FSTYPE save_as)', 'CPDS qcow2 fe:/sys/7/disk.0 (new SOURCE) -1 7 1']);
  const [made, copied] = saveAsSteps(copy, { name: 'saved', snapshot: 2 }, 9, '/img/new');
  t.same(made.args, ['9'], 'the recorded image');
  t.same(lines([copied]), ['CPDS qcow2 fe:/sys/7/disk.0 /img/new 2 7 1']);
  t.same(copied.refs, { disk: 0, from: 'fe:/sys/7/disk.0', ds: 1, source: '/img/new' });
  t.equal(saveAsSource(ctx(vm({ state: 'RUNNING' })), DISKS[2] as VmDisk, images).tm, 'shared', 'a volatile disk: the system datastore\'s TM');
});

t.test('image plans: one datastore action each, what it acts on recorded, a new image with id -1 and its dump', async (t) => {
  const create = imageCreatePlan({ datastore: images, name: 'deb', path: '/tmp/deb.qcow2', format: 'qcow2', persistent: true }, 'cp');
  t.match(create, { kind: 'image', operation: 'create', image: { id: -1, name: 'deb', datastoreId: 1, path: '/tmp/deb.qcow2', format: 'qcow2', persistent: true } });
  t.same(create.steps, [{ kind: 'datastore', action: 'cp', driver: 'fs', args: ['-1'], why: '/tmp/deb.qcow2' }]);
  t.match(create.dump, /<ID>-1<\/ID>/);
  t.match(create.dump, /<PATH>\/tmp\/deb.qcow2<\/PATH>/);
  t.match(create.dump, /<PERSISTENT>1<\/PERSISTENT>/);
  t.equal(imageCreatePlan({ datastore: images, name: 'blank', sizeMb: 64 }, 'mkfs').steps[0]?.why, '64 MB raw', 'an empty one: its size');

  const base = IMAGES[1] as Image & { source: string };
  const clone = imageClonePlan(base, images, { name: 'copy' });
  t.match(clone, { operation: 'clone', original: { id: 1 }, image: { id: -1, name: 'copy', path: '/img/base', clonedFrom: 1, persistent: false } });
  t.same(clone.steps, [{ kind: 'datastore', action: 'clone', driver: 'fs', args: ['-1'], why: '/img/base -> new image copy', refs: { from: '/img/base' } }]);
  t.equal(imageClonePlan(base, images, { name: 'p', persistent: true }).image.persistent, true, 'persistent as asked');

  t.same(imageDeletePlan(base, images).steps, [{ kind: 'datastore', action: 'rm', driver: 'fs', args: ['1'], why: '/img/base', refs: { image: 1, source: '/img/base' } }]);
  t.same(imageDeletePlan(IMAGES[3] as Image, images).steps, [], 'no SOURCE: only the record goes');
  t.same(imageDeletePlan(base, { ...images, dsMad: null }).steps, [], 'no datastore driver: only the record goes');

  const snapshot = imageSnapshotPlan(base, images, 'flatten', 2);
  t.match(snapshot, { operation: 'snapshot-flatten', snapshot: 2 });
  t.same(snapshot.steps, [{ kind: 'datastore', action: 'snap_flatten', driver: 'fs', args: ['1'], why: '/img/base snapshot 2', refs: { image: 1, snapshot: 2 } }]);
});

t.test('datastore plans: a monitor that must accept a new or changed datastore; none for a removal or --no-monitor', async (t) => {
  const input = { name: 'images', type: 'IMAGE' as const, dsMad: 'fs', tmMad: 'qcow2', basePath: '/img' };
  t.same(datastorePlan(images, { operation: 'create', input, check: true }).steps, [monitorStep(images)]);
  t.same(datastorePlan(images, { operation: 'create', input, check: false }).steps, []);
  t.match(datastorePlan(system, { operation: 'update', patch: { basePath: '/sys' } }), { operation: 'update', patch: { basePath: '/sys' }, steps: [{ action: 'monitor', driver: 'shared' }] });
  t.same(datastorePlan(images, { operation: 'delete' }).steps, []);
});
