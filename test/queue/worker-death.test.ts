/**
 * A worker that dies in the middle of a VM operation (SIGKILL: the machine's power cut, as far as the queue and
 * the catalog can tell) loses nothing (issue 17): another worker takes the job up; steps the journal shows done
 * are never run again; the step in flight runs again only when its driver action is safe to repeat (the contract
 * table's repeatSafe), else the VM stops FAILED at that step (E_INTERRUPTED) for `ferry vm recover`. And SIGTERM:
 * running operations finish (default) or are handed back.
 */
import { join } from 'node:path';
import t from 'tap';
import { specFor } from '../../src/contract/lookup.js';
import { binBuilt, binMissingMessage } from '../cli/helpers.js';
import { seededQueueWorld, until } from './world.js';

t.setTimeout(400_000);
t.before(() => {
  if (!binBuilt()) throw new Error(binMissingMessage);
});

const CREATE = ['vm', 'create', '--name', 'vm1', '--host', 'host01', '--system-ds', 'system', '--disk', 'deb', '--volatile', '10'];

/** The contract's word, checked here so that the cases below test what they say. */
t.test('the actions these cases cut: clone and mkimage are safe to repeat, mv is not', async (t) => {
  t.equal(specFor('tm', 'clone').repeatSafe, true);
  t.equal(specFor('tm', 'mkimage').repeatSafe, true);
  t.equal(specFor('tm', 'mv').repeatSafe, false);
});

interface Case {
  name: string;
  /** Run first, in-process (queue: false), to get the VM to where the case starts. */
  before: string[][];
  operation: string[];
  action: string;
  /** Which call of `action` to cut: a text only its arguments hold. */
  pattern: string;
  step: number;
  total: number;
  safe: boolean;
}

const CASES: Case[] = [
  { name: 'create, cut in step 1 (clone)', before: [], operation: CREATE, action: 'clone', pattern: 'disk.0', step: 0, total: 2, safe: true },
  { name: 'create, cut in step 2 (mkimage)', before: [], operation: CREATE, action: 'mkimage', pattern: 'disk.1', step: 1, total: 2, safe: true },
  { name: 'stop, cut in step 1 (mv disk.0)', before: [CREATE], operation: ['vm', 'stop', 'vm1'], action: 'mv', pattern: 'disk.0 ', step: 0, total: 3, safe: false },
  { name: 'stop, cut in step 2 (mv disk.1)', before: [CREATE], operation: ['vm', 'stop', 'vm1'], action: 'mv', pattern: 'disk.1 ', step: 1, total: 3, safe: false },
  { name: 'stop, cut in step 3 (mv the VM folder)', before: [CREATE], operation: ['vm', 'stop', 'vm1'], action: 'mv', pattern: 'system/1 ', step: 2, total: 3, safe: false },
];

/** Queues `argv` (--async) with `action` slow on calls holding `pattern`; resolves with its id once the action started. */
async function queueSlowed(w: Awaited<ReturnType<typeof seededQueueWorld>>, argv: string[], action: string, pattern = '', seconds = 30): Promise<number> {
  w.slow(action, pattern, seconds);
  const queued = await w.ferry(['--async', ...argv]);
  if (queued.status !== 0) throw new Error(`ferry ${argv.join(' ')}: ${queued.stderr}`);
  const id = Number(/operation (\d+) queued/.exec(queued.stdout)?.[1]);
  await until(`${action} to start`, () => w.started(action));
  return id;
}

for (const each of CASES) {
  t.test(`worker SIGKILLed: ${each.name}`, async (t) => {
    const w = await seededQueueWorld(t);
    for (const argv of each.before) {
      const run = await w.ferry(['--config', join(w.dir, 'inline.yaml'), ...argv]);
      t.equal(run.status, 0, run.stderr);
    }
    const doomed = w.startWorker();
    const id = await queueSlowed(w, each.operation, each.action, each.pattern);
    const catalog = w.view();
    t.match(catalog.operation(id), { state: 'running', stepStarted: each.step, attempts: 1 }, 'the worker noted the step in flight');
    const callsBefore = w.calls();
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    w.fast(each.action);
    w.startWorker();
    const waited = await w.ferry(['op', 'wait', String(id)]);
    const op = catalog.operation(id);
    t.equal(op.attempts, 2, 'taken up by a second worker');
    const after = w.calls().slice(callsBefore.length);
    const vm = catalog.vm(1);
    if (each.safe) {
      t.equal(waited.status, 0, `done: ${waited.stderr}`);
      t.equal(op.state, 'done');
      t.equal(vm.state, 'RUNNING');
      t.equal(after.length, each.total - each.step, 'the step in flight ran again, then the rest; nothing before it');
      t.match(after[0], new RegExp(`^${each.action} .*${each.pattern.trim()}`), 'the cut step first');
    } else {
      t.equal(waited.status, 1, 'E_INTERRUPTED: exit 1');
      t.match(waited.stderr, `step ${each.step + 1}/${each.total}`);
      t.match(waited.stderr, 'not safe to run twice');
      t.match(op, { state: 'failed', errorCode: 'E_INTERRUPTED' });
      t.match(vm, { state: 'FAILED', operation: 'stop', step: each.step }, 'FAILED at the step in flight');
      t.same(after, [], 'nothing ran after the cut');
      t.equal(catalog.lockHolder('vm:1'), undefined, 'its lock let go: recover may run');
      const recovered = await w.ferry(['vm', 'recover', 'vm1', '--retry']);
      t.equal(recovered.status, 0, recovered.stderr);
      t.equal(catalog.vm(1).state, 'STOPPED');
    }
    // Each step done before the cut ran once in all: the operation's calls up to the cut are the last ones then.
    const done = each.step === 0 ? [] : callsBefore.slice(-(each.step + 1), -1);
    t.equal(done.length, each.step);
    for (const call of done) t.equal(w.calls().filter((other) => other === call).length, 1, `ran once: ${call}`);
    t.same(catalog.listOperations({ open: true }), [], 'nothing left open');
  });
}

t.test('SIGTERM: a worker lets its running operation finish, then exits 0', async (t) => {
  const w = await seededQueueWorld(t);
  const worker = w.startWorker();
  const id = await queueSlowed(w, CREATE, 'clone', '', 2);
  worker.child.kill('SIGTERM');
  t.equal(await worker.exited, 0, 'exit 0 once the operation ended');
  t.match(worker.output(), 'letting running operations finish');
  t.match(w.view().operation(id), { state: 'done', attempts: 1 });
  t.equal(w.view().vm(1).state, 'RUNNING');
});

t.test('SIGTERM with --on-stop handback: the running step is stopped and its operation taken up by another worker', async (t) => {
  const w = await seededQueueWorld(t);
  const worker = w.startWorker('--on-stop', 'handback');
  const id = await queueSlowed(w, CREATE, 'clone');
  worker.child.kill('SIGTERM');
  t.equal(await worker.exited, 0, 'exit 0, without waiting for the 30 s step');
  t.match(worker.output(), 'handed back');
  const catalog = w.view();
  t.match(catalog.operation(id), { state: 'running' }, 'still the queue\'s');
  t.match(catalog.vm(1), { state: 'PENDING', operation: 'create', step: 0, error: null }, 'interrupted, not FAILED');
  w.fast('clone');
  w.startWorker();
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 0, waited.stderr);
  t.match(catalog.operation(id), { state: 'done', attempts: 2 });
  t.equal(catalog.vm(1).state, 'RUNNING', 'clone is safe to repeat: run again, and the create finished');
});

/** Queues `argv` with `action` slow, SIGKILLs the worker once the action started, starts another: the operation's id. */
async function cutAndTakeUp(w: Awaited<ReturnType<typeof seededQueueWorld>>, action: string, argv: string[]): Promise<number> {
  const doomed = w.startWorker();
  const id = await queueSlowed(w, argv, action);
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  w.fast(action);
  w.startWorker();
  return id;
}

t.test('worker SIGKILLed in an image\'s mkfs (not safe to repeat): the image is ERROR, E_INTERRUPTED, and image recover finishes it', async (t) => {
  const w = await seededQueueWorld(t);
  const id = await cutAndTakeUp(w, 'mkfs', ['image', 'create', '--name', 'blank', '--datastore', 'slowimages', '--size', '10']);
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 1, 'E_INTERRUPTED: exit 1');
  t.match(waited.stderr, 'mkfs is not safe to run twice');
  t.match(w.view().operation(id), { state: 'failed', errorCode: 'E_INTERRUPTED', attempts: 2 });
  const image = w.view().image('blank');
  t.match(image, { state: 'ERROR', error: /^mkfs: the worker running it died/ });
  t.equal(w.calls().filter((call) => call.startsWith('mkfs ')).length, 1, 'mkfs ran once');
  t.equal(w.view().lockHolder(`image:${image.id}`), undefined, 'its lock went with the operation');
  const recovered = await w.ferry(['image', 'recover', 'blank', '--retry']);
  t.equal(recovered.status, 0, recovered.stderr);
  t.equal(w.view().image('blank').state, 'READY');
});

t.test('worker SIGKILLed in an image\'s rm (safe to repeat): run again, the image is gone, the operation done', async (t) => {
  const w = await seededQueueWorld(t);
  const made = await w.ferry(['--config', join(w.dir, 'inline.yaml'), 'image', 'create', '--name', 'old', '--datastore', 'slowimages', '--size', '10']);
  t.equal(made.status, 0, made.stderr);
  const id = await cutAndTakeUp(w, 'rm', ['image', 'delete', 'old']);
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 0, waited.stderr);
  t.match(w.view().operation(id), { state: 'done', attempts: 2 });
  t.equal(w.view().findImage('old'), undefined, 'deleted');
  t.equal(w.calls().filter((call) => call.startsWith('rm ')).length, 2, 'rm ran again');
});
