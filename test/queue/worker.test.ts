/**
 * `ferry worker` and the commands that queue on a PostgreSQL catalog (issue 17): real processes on a real
 * PostgreSQL, the built CLI. What the commands print, --async and `ferry op`, two front-ends racing on one VM, a
 * worker limited to hosts or datastores, and the refusals on SQLite.
 */
import { join } from 'node:path';
import t from 'tap';
import { binBuilt, binMissingMessage, jsonOf, runBin } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';
import { seededQueueWorld, until } from './world.js';

// Real processes on a real PostgreSQL: more than the default 120 s per file on a busy machine.
t.setTimeout(300_000);

t.before(() => {
  if (!binBuilt()) throw new Error(binMissingMessage);
});

const CREATE = ['vm', 'create', '--name', 'vm1', '--host', 'host01', '--system-ds', 'system', '--disk', 'deb', '--volatile', '10'];

t.test('commands queue their operations, a worker runs them, and each command prints what it would have in-process', async (t) => {
  const w = await seededQueueWorld(t);
  const worker = w.startWorker();
  const created = await w.ferry(CREATE);
  t.equal(created.status, 0, created.stderr);
  t.match(created.stdout, /^vm 1 vm1: RUNNING on host01/, 'the VM as the in-process command prints it');
  t.match(created.stderr, /operation \d+ queued \(create vm:1\)/);
  t.match(created.stderr, /ok {3}\[1\/2\] CLONE slow/, 'its steps, from the journal, as they end');
  t.match(created.stderr, /ok {3}\[2\/2\] MKIMAGE slow/);
  const catalog = w.view();
  t.equal(catalog.vm(1).state, 'RUNNING');
  t.equal(catalog.lockHolder('vm:1'), undefined, 'the operation\'s lock went with its end');
  const [op] = catalog.listOperations({ subject: 'vm:1' });
  t.match(op, { operation: 'create', state: 'done', attempts: 1, resultId: 1, steps: 2, stepStarted: 1, stepDone: 1 });
  t.match(op?.scope, ['ds:1', 'ds:2', 'host:host01'], 'what it touches');

  const queued = await w.ferry(['--async', '--json', 'vm', 'stop', 'vm1']);
  t.equal(queued.status, 0, queued.stderr);
  const id = jsonOf(queued.stdout).result.operation.id as number;
  t.match(jsonOf(queued.stdout).result.operation, { subject: 'vm:1', operation: 'stop' });
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 0, waited.stderr);
  t.match(waited.stdout, `operation ${id}: stop vm:1  DONE`);
  t.equal(catalog.vm(1).state, 'STOPPED');
  const shown = await w.ferry(['op', 'show', String(id), '--json']);
  t.match(jsonOf(shown.stdout).result, { id, state: 'done', worker: /:\d+$/ });
  t.notOk(shown.stdout.includes(w.pg.password), 'no password in the operation');

  // A failing step: the command exits as in-process (the driver's status), the operation says why.
  w.fail('mv');
  const failed = await w.ferry(['vm', 'resume', 'vm1']);
  t.equal(failed.status, 1, 'E_DRIVER_FAILED: exit 1');
  t.match(failed.stderr, /failed: .*injected failure in mv/);
  t.equal(catalog.vm(1).state, 'FAILED');
  const list = await w.ferry(['op', 'list', '--json']);
  t.match(jsonOf(list.stdout).result[0], { operation: 'resume', state: 'failed', errorCode: 'E_DRIVER_FAILED' });
  const waitFailed = await w.ferry(['op', 'wait', String(jsonOf(list.stdout).result[0].id)]);
  t.equal(waitFailed.status, 1, 'op wait exits with the failed operation\'s status');
  w.fail('mv', false);
  const recovered = await w.ferry(['vm', 'recover', 'vm1', '--retry']);
  t.equal(recovered.status, 0, recovered.stderr);
  t.match(recovered.stdout, 'vm 1 vm1: RUNNING');
  t.same(catalog.listOperations({ open: true }), [], 'nothing left open');
  worker.child.kill('SIGTERM');
  t.equal(await worker.exited, 0, 'SIGTERM: a clean stop, exit 0');
  t.match(worker.output(), 'ferry worker ready');
});

t.test('two front-ends racing on one VM: one queues, the other is refused naming the operation', async (t) => {
  const w = await seededQueueWorld(t);
  const setup = await w.ferry(['--config', join(w.dir, 'inline.yaml'), ...CREATE]);
  t.equal(setup.status, 0, setup.stderr);
  // No worker yet: the winner's operation stays queued, holding the VM.
  const runs = await Promise.all([0, 1, 2].map(() => w.ferry(['--async', 'vm', 'stop', 'vm1'])));
  const statuses = runs.map((run) => run.status).sort();
  t.same(statuses, [0, 75, 75], 'one queued, two refused E_BUSY (75)');
  const winner = runs.find((run) => run.status === 0);
  const id = Number(/operation (\d+) queued/.exec(winner?.stdout ?? '')?.[1]);
  t.match(winner?.stderr, 'no ferry worker is connected to this catalog');
  for (const loser of runs.filter((run) => run.status === 75)) t.match(loser.stderr, new RegExp(`vm:1 is busy: operation ${id} \\(stop\\) holds it, queued`));
  const catalog = w.view();
  t.match(catalog.lockHolder('vm:1'), { operationId: id, state: 'alive' });
  t.equal(catalog.listOperations().length, 1, 'the refused left no operation behind');
  w.startWorker();
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 0, waited.stderr);
  t.equal(catalog.vm(1).state, 'STOPPED');
  t.equal(w.calls().filter((call) => call.startsWith('mv ')).length, 3, 'the stop ran once: three moves');
});

t.test('a worker limited to hosts or datastores leaves the operations on others to other workers', async (t) => {
  const w = await seededQueueWorld(t);
  const setup = await w.ferry(['--config', join(w.dir, 'inline.yaml'), ...CREATE]);
  t.equal(setup.status, 0, setup.stderr);
  const limited = w.startWorker('--hosts', 'host02');
  const byDs = w.startWorker('--datastores', 'images');
  await until('the limited workers to be ready', () => limited.output().includes('ferry worker ready') && byDs.output().includes('ferry worker ready'));
  const queued = await w.ferry(['--async', 'vm', 'stop', 'vm1']);
  t.equal(queued.status, 0, queued.stderr);
  const id = Number(/operation (\d+) queued/.exec(queued.stdout)?.[1]);
  // Both are idle and were woken by the job's NOTIFY: had they been allowed, they would have taken it by now.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(w.view().operation(id).state, 'queued', 'neither took it: host01 and the system datastore are outside them');
  w.startWorker('--hosts', 'host01,host02', '--datastores', 'images,system');
  const waited = await w.ferry(['op', 'wait', String(id)]);
  t.equal(waited.status, 0, waited.stderr);
  t.notMatch(limited.output(), 'operation started');
  t.notMatch(byDs.output(), 'operation started');
  const typo = await w.ferry(['worker', '--hosts', 'nosuch']);
  t.equal(typo.status, 2, 'an unknown host is refused at start');
  t.match(typo.stderr, 'nosuch');
});

t.test('on a SQLite catalog there is no queue: ferry worker and --async say so', async (t) => {
  const home = tmpDir(t);
  const env = { FERRY_HOME: home };
  const worker = await runBin(['worker'], { env });
  t.equal(worker.status, 2);
  t.match(worker.stderr, 'ferry worker runs operations queued on a PostgreSQL catalog');
  t.match(worker.stderr, 'docs/workers.md');
  const asyncRun = await runBin(['--async', 'vm', 'stop', 'vm1'], { env });
  t.equal(asyncRun.status, 2);
  const list = await runBin(['op', 'list', '--json'], { env });
  t.equal(list.status, 0);
  t.same(jsonOf(list.stdout).result, [], 'no operations: SQLite commands run theirs themselves');
});
