/**
 * Operations queued to workers (schema 11): one row per operation a command queued on a PostgreSQL catalog, from
 * queued through running to done or failed. The row is the operation's record for `ferry op show|wait` and the
 * worker's notes on it (which step it started and finished), so a worker taking over a dead one's job knows where
 * it stood (queue/resume.ts). Its lock (locks.ts: lockForOperation) is let go in the transaction that ends it.
 */
import { FerryError } from '../errors.js';
import type { NewOperation, Operation, OperationState } from '../model.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';
import { json, now, num, str, type Row } from './values.js';

const byId = prepared((db) => db.selectFrom('operations').selectAll().where('id', '=', arg<number>(0)));
const stepStarted = prepared((db) => db.updateTable('operations').set({ step_started: arg(1), steps: arg(2) }).where('id', '=', arg<number>(0)));
const stepDone = prepared((db) => db.updateTable('operations').set({ step_done: arg(1) }).where('id', '=', arg<number>(0)));

function operationOf(row: Row): Operation {
  return {
    id: Number(row.id),
    subject: String(row.subject),
    kind: String(row.kind),
    operation: String(row.operation),
    request: json(row.request, {}),
    state: String(row.state) as OperationState,
    scope: json(row.scope, []),
    createdAt: String(row.created_at),
    createdBy: String(row.created_by),
    startedAt: str(row.started_at),
    finishedAt: str(row.finished_at),
    worker: str(row.worker),
    attempts: Number(row.attempts),
    steps: num(row.steps),
    stepStarted: num(row.step_started),
    stepDone: num(row.step_done),
    resultId: num(row.result_id),
    errorCode: str(row.error_code),
    error: str(row.error),
    errorHint: str(row.error_hint),
  };
}

/** Records a queued operation; its id is the store's (it only grows). */
export function addOperation(c: Connection, input: NewOperation): Operation {
  const row = c.get(
    c.q
      .insertInto('operations')
      .values({
        subject: input.subject,
        kind: input.kind,
        operation: input.operation,
        request: JSON.stringify(input.request),
        state: 'queued',
        scope: JSON.stringify(input.scope),
        created_at: now(),
        created_by: input.createdBy,
      })
      .returningAll(),
  );
  if (row === undefined) throw new Error('the insert of an operation returned no row');
  return operationOf(row as Row);
}

/** Moves an operation to another subject (a new VM's, once recorded in the transaction that queues it). */
export function setOperationSubject(c: Connection, id: number, subject: string): void {
  c.run(c.q.updateTable('operations').set({ subject }).where('id', '=', id));
}

export function findOperation(c: Connection, id: number): Operation | undefined {
  const row = byId.get(c.ex, id) as Row | undefined;
  return row ? operationOf(row) : undefined;
}

export function operation(c: Connection, id: number): Operation {
  const found = findOperation(c, id);
  if (!found) throw new FerryError('E_NOT_FOUND', `no operation ${id} in the catalog`, { hint: 'list them: ferry op list' });
  return found;
}

/** Newest first; `open`: only those queued or running. */
export function listOperations(c: Connection, filter: { open?: boolean; subject?: string; limit?: number } = {}): Operation[] {
  let query = c.q.selectFrom('operations').selectAll();
  if (filter.open) query = query.where('state', 'in', ['queued', 'running']);
  if (filter.subject !== undefined) query = query.where('subject', '=', filter.subject);
  return c.all(query.orderBy('id', 'desc').limit(filter.limit ?? 100)).map((row) => operationOf(row as Row));
}

/**
 * A worker takes the operation up: running, one attempt more, its name. Returns the record as it was before
 * (`running` then means a worker took it before and did not end it: it died).
 */
export function startOperation(c: Connection, id: number, worker: string): Operation {
  return c.transaction(() => {
    const before = operation(c, id);
    // Ended, and its job run again (its worker died between the end and telling the queue): left as it ended.
    if (before.state === 'done' || before.state === 'failed') return before;
    c.run(
      c.q
        .updateTable('operations')
        .set({ state: 'running', worker, attempts: before.attempts + 1, started_at: before.startedAt ?? now() })
        .where('id', '=', id),
    );
    return before;
  });
}

/** The worker's note that plan step `index` (of `total`) starts: until stepDone says otherwise, it is in flight. */
export function markStepStarted(c: Connection, id: number, index: number, total: number): void {
  stepStarted.run(c.ex, id, index, total);
}

export function markStepDone(c: Connection, id: number, index: number): void {
  stepDone.run(c.ex, id, index);
}

/**
 * Ends an operation, done (with the id of what it made or changed) or failed (with the error), and lets go of
 * the locks it holds, in one transaction. An operation that already ended is left as it is (a worker taking up a
 * dead one's job may find it ended): returns false then.
 */
export function endOperation(c: Connection, id: number, outcome: { ok: true; resultId?: number | null } | { ok: false; error: FerryError }): boolean {
  return c.transaction(() => {
    const current = operation(c, id);
    if (current.state === 'done' || current.state === 'failed') return false;
    const failure = outcome.ok ? undefined : outcome.error;
    c.run(
      c.q
        .updateTable('operations')
        .set({
          state: outcome.ok ? 'done' : 'failed',
          finished_at: now(),
          result_id: outcome.ok ? (outcome.resultId ?? null) : null,
          error_code: failure?.code ?? null,
          error: failure?.message ?? null,
          error_hint: failure?.hint ?? null,
        })
        .where('id', '=', id),
    );
    c.run(c.q.deleteFrom('locks').where('owner_operation', '=', id));
    return true;
  });
}
