/**
 * Queued operations (schema 11) and the locks they hold, on either store (FERRY_TEST_STORE): an operation's lock is
 * its own whatever process works for it, refuses everyone else while the operation is under way, and goes with
 * its end.
 */
import { hostname } from 'node:os';
import t from 'tap';
import { FerryError } from '../../src/errors.js';
import { fresh } from './seed.js';

/** An operation recorded and its lock taken in one transaction, as queue/submit.ts does. */
function queuedWithLock(catalog: ReturnType<typeof fresh>['catalog'], subject: string, operation: string) {
  return catalog.transaction((tx) => {
    const made = tx.addOperation({ ...input(subject), operation });
    tx.lockForOperation(subject, operation, made.id);
    return made;
  });
}

const input = (subject: string) => ({ subject, kind: 'vm', operation: 'stop', request: { kind: 'vm', vm: 7, operation: 'stop', args: {} }, scope: ['ds:1', 'host:node1'], createdBy: 'fe:1' });

t.test('an operation from queued to running to done, and the worker\'s notes on it', async (t) => {
  const { catalog } = fresh(t);
  const op = catalog.addOperation(input('vm:7'));
  t.match(op, { subject: 'vm:7', kind: 'vm', operation: 'stop', state: 'queued', attempts: 0, scope: ['ds:1', 'host:node1'], startedAt: null, worker: null });
  t.same(op.request, { kind: 'vm', vm: 7, operation: 'stop', args: {} });
  const before = catalog.startOperation(op.id, 'w1:100');
  t.equal(before.state, 'queued', 'startOperation returns the record as it was');
  t.match(catalog.operation(op.id), { state: 'running', worker: 'w1:100', attempts: 1 });
  catalog.markStepStarted(op.id, 0, 3);
  catalog.markStepDone(op.id, 0);
  catalog.markStepStarted(op.id, 1, 3);
  t.match(catalog.operation(op.id), { steps: 3, stepStarted: 1, stepDone: 0 });
  const again = catalog.startOperation(op.id, 'w2:200');
  t.equal(again.state, 'running', 'taken up again: it was running (its worker died)');
  t.match(catalog.operation(op.id), { worker: 'w2:200', attempts: 2, startedAt: before.startedAt ?? catalog.operation(op.id).startedAt });
  t.equal(catalog.endOperation(op.id, { ok: true, resultId: 7 }), true);
  t.match(catalog.operation(op.id), { state: 'done', resultId: 7, errorCode: null });
  t.equal(catalog.endOperation(op.id, { ok: false, error: new FerryError('E_INTERNAL', 'late') }), false, 'an ended operation stays as it ended');
  t.equal(catalog.operation(op.id).state, 'done');
  // Its job run again (the worker died after the end, before telling the queue): told it ended, left as it is.
  t.equal(catalog.startOperation(op.id, 'w3:300').state, 'done');
  t.match(catalog.operation(op.id), { state: 'done', worker: 'w2:200', attempts: 2 });
  const failed = catalog.addOperation(input('vm:8'));
  catalog.endOperation(failed.id, { ok: false, error: new FerryError('E_DRIVER_FAILED', 'mv failed', { hint: 'look' }) });
  t.match(catalog.operation(failed.id), { state: 'failed', errorCode: 'E_DRIVER_FAILED', error: 'mv failed', errorHint: 'look' });
  t.same(catalog.listOperations().map((each) => each.id), [failed.id, op.id], 'newest first');
  t.same(catalog.listOperations({ open: true }), []);
  t.same(catalog.listOperations({ subject: 'vm:8' }).map((each) => each.id), [failed.id]);
  t.throws(() => catalog.operation(999), { code: 'E_NOT_FOUND', message: 'no operation 999 in the catalog' });
});

t.test('an operation\'s lock: its own to whoever acts for it, E_BUSY to the rest, gone with its end', async (t) => {
  const { catalog } = fresh(t);
  const op = queuedWithLock(catalog, 'vm:7', 'stop');
  const busy = catalog.busy('vm:7');
  t.match(busy, { code: 'E_BUSY', message: `vm:7 is busy: operation ${op.id} (stop) holds it, queued`, hint: `wait for it: ferry op wait ${op.id}` });
  t.throws(() => catalog.lock('vm:7', 'resume'), { code: 'E_BUSY' }, 'this very process is refused too: the lock is the operation\'s');
  t.match(catalog.lockHolder('vm:7'), { operationId: op.id, state: 'alive', operation: 'stop' });
  catalog.startOperation(op.id, `${hostname()}:1`);
  t.match(catalog.busy('vm:7')?.message, 'running on worker');

  catalog.actFor(op.id);
  t.equal(catalog.busy('vm:7'), undefined, 'acting for it: the lock is ours');
  const nested = catalog.lock('vm:7', 'stop');
  nested();
  t.match(catalog.lockHolder('vm:7'), { operationId: op.id }, 'a nested take and release leave it held');
  // A lock taken while acting for the operation is the operation's, and let go by its release.
  const image = catalog.lock('image:3', 'clone');
  t.match(catalog.lockHolder('image:3'), { operationId: op.id });
  image();
  t.equal(catalog.lockHolder('image:3'), undefined);
  const kept = catalog.lock('image:4', 'clone');
  t.ok(kept);
  catalog.actFor(undefined);
  t.match(catalog.busy('image:4'), { code: 'E_BUSY' }, 'not ours once we stop acting for it');
  t.same(catalog.breakLocks(hostname()), [], 'break-locks leaves operations\' locks alone');

  catalog.endOperation(op.id, { ok: true });
  t.equal(catalog.lockHolder('vm:7'), undefined, 'its end let go of every lock it held');
  t.equal(catalog.lockHolder('image:4'), undefined);
  const release = catalog.lock('vm:7', 'resume');
  release();
});

t.test('a lock whose operation ended without letting go (written by hand, or an older ferry) is stale and taken over', async (t) => {
  const { catalog } = fresh(t);
  const op = queuedWithLock(catalog, 'vm:7', 'stop');
  // Ended without the lock's release: the row stays, its operation does not hold it any more.
  catalog.executor.run({ sql: catalog.dialect === 'postgres' ? `UPDATE operations SET state = 'done' WHERE id = $1` : `UPDATE operations SET state = 'done' WHERE id = ?`, parameters: [op.id] });
  t.equal(catalog.busy('vm:7'), undefined);
  t.equal(catalog.lockHolder('vm:7'), undefined);
  const release = catalog.lock('vm:7', 'resume');
  t.match(catalog.lockHolder('vm:7'), { pid: process.pid, operation: 'resume' });
  t.notOk(catalog.lockHolder('vm:7')?.operationId);
  release();
});

t.test('two operations cannot hold one resource', async (t) => {
  const { catalog } = fresh(t);
  const first = queuedWithLock(catalog, 'vm:7', 'stop');
  t.throws(
    () =>
      queuedWithLock(catalog, 'vm:7', 'resume'),
    { code: 'E_BUSY', message: `vm:7 is busy: operation ${first.id} (stop) holds it, queued` },
  );
  t.equal(catalog.listOperations().length, 1, 'the refused operation was rolled back with its transaction');
});
