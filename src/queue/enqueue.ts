/**
 * Queuing a ferry operation as a graphile-worker job, synchronously and inside the caller's catalog transaction:
 * the job becomes visible to workers when, and only when, the transaction that takes the resource's lock and
 * records the operation commits (a rollback takes the job with it). graphile-worker's add_job sends its NOTIFY
 * in the same transaction, and PostgreSQL delivers a NOTIFY at commit only, so a waiting worker wakes then.
 *
 * One named queue per resource: queue_name is the subject (`vm:7`, `image:3`). graphile-worker locks a named
 * queue while one of its jobs runs (its job_queues row; getJobs skips locked queues), so the jobs of one resource
 * run one at a time, while jobs of different queues run in parallel on any worker. Within a queue the next job is
 * the one with the lowest (priority, run_at); add_job's default run_at is now(), the transaction's start, the
 * same for two jobs queued in one transaction: ferry passes clock_timestamp() so enqueue order is run order.
 */
import { FerryError } from '../errors.js';
import type { Executor } from '../catalog/db/executor.js';
import { QUEUE_SCHEMA } from './install.js';

/** A worker's presence session is named this and its pool id (worker.ts); commands count them (wait.ts). */
export const PRESENCE_PREFIX = 'ferry-worker:';

/** The task every ferry operation job runs (a worker's task list has it). */
export const OPERATION_TASK = 'ferry_operation';

/** A job's payload: which operation, on what, of what kind. The operation itself lives in the catalog. */
export interface OperationPayload {
  operationId: number;
  /** The resource: `vm:7`, `image:3`; also the job's queue. */
  subject: string;
  /** create, stop, migrate, clone … */
  kind: string;
}

export interface EnqueueOptions {
  /**
   * Runs before the job is given up. A run counts when a worker takes the job, so a worker that dies mid-job
   * uses one up: the job is run again only while attempts < maxAttempts. Default 25: an operation's job is thrown
   * back only by a dead or stopping worker or a catalog that is away, and on its last attempt the task records the
   * operation's failure rather than throw (task.ts), so no operation is left running with no job.
   */
  maxAttempts?: number;
  /** graphile-worker's job flags: the hosts and datastores it touches (request.ts scopeOf); a worker forbids the rest. */
  flags?: readonly string[];
}

export const DEFAULT_MAX_ATTEMPTS = 25;

const SUBJECT = /^[a-z]+:[1-9][0-9]*$/;

/**
 * Queues `payload`'s operation on `executor`, inside the transaction the caller runs (refused outside one: a job
 * queued on its own would escape the lock it belongs with). Returns graphile-worker's job id.
 *
 * The job key is `op:<operationId>` in `unsafe_dedupe` mode: queuing the same operation again while its job
 * exists returns that job instead of making a second one. (graphile-worker's default `replace` mode would make a
 * second job when the first has started, and use up the first's attempts: one operation run twice.)
 */
export function enqueueOperation(executor: Executor, payload: OperationPayload, options: EnqueueOptions = {}): number {
  if (executor.dialect !== 'postgres') throw new FerryError('E_USAGE', 'operations are queued to workers with a PostgreSQL catalog only');
  if (!executor.inTransaction) throw new FerryError('E_USAGE', 'an operation is queued inside the catalog transaction that takes its lock');
  if (!SUBJECT.test(payload.subject)) throw new FerryError('E_USAGE', `not a resource subject: ${JSON.stringify(payload.subject)} (vm:7, image:3)`);
  if (!Number.isSafeInteger(payload.operationId) || payload.operationId <= 0) throw new FerryError('E_USAGE', `not an operation id: ${payload.operationId}`);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 32767) throw new FerryError('E_USAGE', `maxAttempts must be 1 to 32767: ${maxAttempts}`);
  const body: OperationPayload = { operationId: payload.operationId, subject: payload.subject, kind: payload.kind };
  const row = executor.get<{ id: number }>({
    sql: `SELECT id FROM ${QUEUE_SCHEMA}.add_job($1::text, $2::json, queue_name => $3::text, run_at => clock_timestamp(),
            max_attempts => $4::int, job_key => $5::text, job_key_mode => 'unsafe_dedupe', flags => $6::text[])`,
    parameters: [OPERATION_TASK, JSON.stringify(body), payload.subject, maxAttempts, `op:${payload.operationId}`, [...(options.flags ?? [])]],
  });
  if (row === undefined) throw new Error('graphile_worker.add_job returned no job');
  return Number(row.id);
}

/** A job's payload checked: what a task receives, as `unknown`, made an OperationPayload or refused. */
export function operationPayload(value: unknown): OperationPayload {
  const p = value as Partial<OperationPayload> | null;
  if (p === null || typeof p !== 'object' || typeof p.operationId !== 'number' || typeof p.subject !== 'string' || typeof p.kind !== 'string') {
    throw new Error(`not a ferry operation job payload: ${JSON.stringify(value)}`);
  }
  return { operationId: p.operationId, subject: p.subject, kind: p.kind };
}
