/**
 * A queue worker: graphile-worker's run() over a pool on the catalog's database, with the caller's task list,
 * its concurrency, ferry's logger, and a clean stop when the caller's AbortSignal fires (runner.stop(): no new
 * job is taken, running ones finish). graphile-worker's own signal handlers are off: ferry decides what SIGTERM does.
 *
 * Taking up the jobs of a dead worker. graphile-worker 0.17 marks a taken job (and its named queue) with
 * locked_by = the pool's id and locked_at; its own reset frees jobs locked for more than 4 hours, a figure fixed
 * in its SQL (resetLockedAt.js: `interval '4 hours'`), with no option to shorten it, and the reset moves the job's
 * run_at to now, behind younger jobs of its queue. So ferry reclaims by itself, sooner and in order: each worker
 * keeps one connection named `ferry-worker:<pool id>` (application_name) for as long as it runs; a pool id that
 * holds locks but has no such session is dead (SIGKILL or a crash closes its sockets at once; a machine that loses
 * power is noticed by the server's TCP keepalive, tcp_keepalives_idle), and graphile-worker's
 * force_unlock_workers(ids) frees its jobs and queues as they were, run_at unchanged (a NOTIFY wakes the workers).
 * Every worker does this on start and every `reclaimIntervalMs`; a lock younger than `reclaimGraceMs` is left
 * alone, as its pool may be one that has not named its session yet.
 */
import { EventEmitter } from 'node:events';
import { run, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import type { Logger } from '../log/logger.js';
import { QUEUE_SCHEMA } from './install.js';
import { workerLogger } from './logger.js';

import { PRESENCE_PREFIX } from './enqueue.js';

export { PRESENCE_PREFIX };

export interface WorkerOptions {
  /** A pool on the catalog's database (install.ts's queuePool), at least concurrency + 2 connections. */
  pool: pg.Pool;
  /** Task name → function; graphile-worker runs a job's task with (payload, helpers). */
  tasks: TaskList;
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  logger: Logger;
  /** Stops the worker cleanly when it fires. */
  signal?: AbortSignal;
  /** How often to look for jobs without a NOTIFY (default 2000 ms: NOTIFY wakes the worker at once). */
  pollIntervalMs?: number;
  /** How often to free the jobs of dead workers (default 15 s; 0: never). */
  reclaimIntervalMs?: number;
  /** How old a dead worker's lock must be to be freed (default 10 s). */
  reclaimGraceMs?: number;
  /** Job flags this worker does not take (asked before each fetch): the hosts and datastores it cannot reach. */
  forbiddenFlags?: () => string[] | Promise<string[]>;
}

export interface QueueWorker {
  /** graphile-worker's pool id: what its jobs' locked_by says. */
  readonly poolId: string;
  /** Resolves when the worker has stopped (rejects when it failed). */
  readonly done: Promise<void>;
  /** Stops cleanly: no new job, running ones finish. */
  stop(): Promise<void>;
}

/** Frees the jobs and queues locked by workers that have no live session; returns their pool ids. */
export async function reclaimDeadWorkers(pool: pg.Pool, graceMs = 10_000): Promise<string[]> {
  const { rows } = await pool.query<{ locked_by: string }>(
    `WITH held AS (
       SELECT locked_by, locked_at FROM ${QUEUE_SCHEMA}._private_jobs WHERE locked_by IS NOT NULL
       UNION ALL SELECT locked_by, locked_at FROM ${QUEUE_SCHEMA}._private_job_queues WHERE locked_by IS NOT NULL)
     SELECT locked_by FROM held
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 || held.locked_by)
     GROUP BY locked_by HAVING max(locked_at) < now() - make_interval(secs => $2::double precision / 1000)`,
    [PRESENCE_PREFIX, graceMs],
  );
  const dead = rows.map((row) => row.locked_by);
  if (dead.length === 0) return dead;
  await pool.query(`SELECT ${QUEUE_SCHEMA}.force_unlock_workers($1::text[])`, [dead]);
  // Freed jobs send no NOTIFY of their own: without this, idle workers would see them at their next poll only.
  await pool.query(`SELECT pg_notify('jobs:insert', $1)`, [JSON.stringify({ r: Math.random(), count: 1 })]);
  return dead;
}

/** Starts a worker; it runs until stop() or the signal. */
export async function startWorker(options: WorkerOptions): Promise<QueueWorker> {
  const { pool, logger } = options;
  const concurrency = options.concurrency ?? 1;
  const log = logger.child({ component: 'queue-worker' });
  // Our own emitter, given to run(): the pool's id is announced (pool:create) before run() resolves.
  const events = new EventEmitter() as WorkerEvents;
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
  });
  // The session that says this worker is alive, named before any job can be taken by our pool id... as nearly as
  // can be: the pool id exists only once run() made the pool, hence reclaimGraceMs.
  const presence = await pool.connect();
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      taskList: options.tasks,
      concurrency,
      logger: workerLogger(log),
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 2000,
      ...(options.forbiddenFlags ? { forbiddenFlags: options.forbiddenFlags } : {}),
      // No cron: without this graphile-worker looks for a ./crontab file in the current folder.
      parsedCronItems: [],
      events,
    });
    if (poolId === undefined) throw new Error('graphile-worker started no worker pool');
    await presence.query('SELECT set_config($1, $2, false)', ['application_name', `${PRESENCE_PREFIX}${poolId}`]);
  } catch (error) {
    presence.release(true);
    throw error;
  }
  const id = poolId;
  log.info({ poolId: id, concurrency }, 'queue worker started');

  const graceMs = options.reclaimGraceMs ?? 10_000;
  const reclaim = (): void => {
    reclaimDeadWorkers(pool, graceMs).then(
      (dead) => {
        if (dead.length > 0) log.warn({ workers: dead.join(',') }, 'took up the jobs of dead queue workers');
      },
      (error: unknown) => log.warn({ err: { message: String((error as Error).message ?? error) } }, 'could not look for dead queue workers'),
    );
  };
  const interval = options.reclaimIntervalMs ?? 15_000;
  const timer = interval > 0 ? setInterval(reclaim, interval) : undefined;
  timer?.unref();
  if (interval > 0) reclaim();

  let ended = false;
  const cleanup = (): void => {
    if (ended) return;
    ended = true;
    if (timer) clearInterval(timer);
    presence.release(true);
    log.info({ poolId: id }, 'queue worker stopped');
  };
  // Ends when the runner ends, whether stopped here or on its own (a fatal error rejects it).
  const done = runner.promise.finally(cleanup);
  // A rejection is the caller's to see through `done` or stop(); not an unhandled one meanwhile.
  done.catch(() => {});
  let stopping: Promise<void> | undefined;
  // runner.stop() resolves once running jobs have finished and the pool is released; it refuses a runner that
  // already ended on its own, whose end `done` tells.
  const stop = (): Promise<void> => (stopping ??= (ended ? Promise.resolve() : runner.stop()).then(() => done));
  if (options.signal) {
    if (options.signal.aborted) stop().catch(() => {});
    else options.signal.addEventListener('abort', () => stop().catch(() => {}), { once: true });
  }
  return { poolId: id, done, stop };
}
