/**
 * The operation queue on a real PostgreSQL 15: graphile-worker's schema installed by ferry (twice at once too),
 * a job queued inside a catalog transaction (gone with its rollback, there with its commit), one resource's jobs
 * run one at a time and in order while two resources' overlap, a SIGKILLed worker's job taken up by another, a
 * clean stop, and the queue-to-start latency of 200 jobs on one worker.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { TaskList } from 'graphile-worker';
import type pg from 'pg';
import { parsePostgresUrl } from '../../src/catalog/location.js';
import { migratePostgres } from '../../src/catalog/db/postgres-schema.js';
import type { PostgresExecutor } from '../../src/catalog/db/postgres-executor.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { DEFAULT_MAX_ATTEMPTS, enqueueOperation, OPERATION_TASK, operationPayload, type OperationPayload } from '../../src/queue/enqueue.js';
import { installQueue, queuePool, queueSchemaVersion } from '../../src/queue/install.js';
import { startWorker } from '../../src/queue/worker.js';
import { openExecutor } from '../helpers/pg-executor.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

t.setTimeout(110_000);
const server: TestPostgres = await startPostgres(t);

interface Catalog {
  url: string;
  executor: PostgresExecutor;
  pool: pg.Pool;
}

/** A fresh migrated catalog with the queue installed, and a pool on it for workers. */
async function catalog(tt: Tap.Test): Promise<Catalog> {
  const url = await server.createDatabase();
  const executor = openExecutor(server, url);
  migratePostgres(executor);
  const pool = queuePool(parsePostgresUrl(url, '--catalog'), server.password, 8);
  tt.teardown(async () => {
    executor.close();
    await pool.end();
  });
  await installQueue(pool, silentLogger);
  return { url, executor, pool };
}

/** Queues one operation in a transaction of its own, as a command would with the resource's lock. */
function queue(c: Catalog, operationId: number, subject: string): number {
  return c.executor.transaction(() => enqueueOperation(c.executor, { operationId, subject, kind: 'test' }));
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Records every log line, to check none carries the password. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    child: () => logger,
    error: (obj, msg) => void lines.push(JSON.stringify([msg, obj])),
    warn: (obj, msg) => void lines.push(JSON.stringify([msg, obj])),
    info: (obj, msg) => void lines.push(JSON.stringify([msg, obj])),
    debug: (obj, msg) => void lines.push(JSON.stringify([msg, obj])),
  };
  return logger;
}

t.test('the queue schema installs on the catalog database, twice at once and again, and logs no password', async (t) => {
  const url = await server.createDatabase();
  const location = parsePostgresUrl(url, '--catalog');
  const pools = [queuePool(location, server.password, 3), queuePool(location, server.password, 3)];
  t.teardown(() => Promise.all(pools.map((p) => p.end())));
  t.equal(await queueSchemaVersion(pools[0]!), undefined, 'nothing before');
  const lines: string[] = [];
  await Promise.all(pools.map((p) => installQueue(p, recordingLogger(lines))));
  await installQueue(pools[1]!, recordingLogger(lines));
  t.equal(await queueSchemaVersion(pools[0]!), 19, "graphile-worker 0.17.3's 19 migrations");
  const { rows } = await pools[0]!.query('SELECT count(*)::int AS n FROM graphile_worker.migrations');
  t.equal(rows[0].n, 19, 'each applied once');
  t.notOk(lines.join('\n').includes(server.password), 'no log line holds the password');
});

t.test('a job is queued in the transaction of the lock: gone with its rollback, there with its commit', async (t) => {
  const c = await catalog(t);
  const lockRow = { sql: "INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES ($1, 1, 'h', 'migrate', '2024-01-01T00:00:00Z')", parameters: ['vm:7'] };
  const count = (sql: string) => c.executor.get<{ n: number }>({ sql, parameters: [] })!.n;
  t.throws(() =>
    c.executor.transaction(() => {
      c.executor.run(lockRow);
      enqueueOperation(c.executor, { operationId: 1, subject: 'vm:7', kind: 'migrate' });
      throw new Error('the command failed');
    }),
  );
  t.equal(count('SELECT count(*)::int AS n FROM locks'), 0, 'no lock after the rollback');
  t.equal(count('SELECT count(*)::int AS n FROM graphile_worker.jobs'), 0, 'no job after the rollback');

  const id = c.executor.transaction(() => {
    c.executor.run(lockRow);
    return enqueueOperation(c.executor, { operationId: 1, subject: 'vm:7', kind: 'migrate' });
  });
  t.equal(count('SELECT count(*)::int AS n FROM locks'), 1, 'the lock after the commit');
  const job = c.executor.get<{ id: number; queue_name: string; task_identifier: string; max_attempts: number; key: string; payload: OperationPayload }>({
    sql: 'SELECT j.id, j.queue_name, j.task_identifier, j.max_attempts, j.key, p.payload FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p USING (id)',
    parameters: [],
  });
  t.match(job, { id, queue_name: 'vm:7', task_identifier: OPERATION_TASK, max_attempts: DEFAULT_MAX_ATTEMPTS, key: 'op:1' });
  t.same(operationPayload(job?.payload), { operationId: 1, subject: 'vm:7', kind: 'migrate' });
  t.equal(queue(c, 1, 'vm:7'), id, 'the same operation queued again is the same job');
  t.equal(count('SELECT count(*)::int AS n FROM graphile_worker.jobs'), 1);
  t.throws(() => enqueueOperation(c.executor, { operationId: 2, subject: 'vm:7', kind: 'x' }), { code: 'E_USAGE' }, 'refused outside a transaction');
  t.throws(() => c.executor.transaction(() => enqueueOperation(c.executor, { operationId: 2, subject: 'vm 7', kind: 'x' })), { code: 'E_USAGE' });
});

interface Span {
  op: number;
  subject: string;
  start: number;
  end: number;
}

t.test("one resource's jobs run one at a time in queue order; two resources' run at once", async (t) => {
  const c = await catalog(t);
  // Queued before any worker runs; vm:1's five in one transaction (clock_timestamp() orders them), vm:2's one by one.
  c.executor.transaction(() => {
    for (let op = 1; op <= 5; op++) enqueueOperation(c.executor, { operationId: op, subject: 'vm:1', kind: 'test' });
  });
  for (let op = 6; op <= 10; op++) queue(c, op, 'vm:2');
  const spans: Span[] = [];
  const tasks: TaskList = {
    [OPERATION_TASK]: async (payload) => {
      const { operationId, subject } = operationPayload(payload);
      const start = performance.now();
      await sleep(60);
      spans.push({ op: operationId, subject, start, end: performance.now() });
    },
  };
  const worker = await startWorker({ pool: c.pool, tasks, concurrency: 4, logger: silentLogger, reclaimIntervalMs: 0 });
  await until('10 jobs', () => spans.length === 10);
  await worker.stop();
  for (const subject of ['vm:1', 'vm:2']) {
    const mine = spans.filter((s) => s.subject === subject).sort((a, b) => a.start - b.start);
    t.same(
      mine.map((s) => s.op),
      [...mine.map((s) => s.op)].sort((a, b) => a - b),
      `${subject}: run in queue order`,
    );
    t.ok(
      mine.every((s, i) => i === 0 || s.start >= mine[i - 1]!.end),
      `${subject}: each job starts after the one before ended`,
    );
  }
  const overlaps = spans.filter((a) => a.subject === 'vm:1' && spans.some((b) => b.subject === 'vm:2' && b.start < a.end && a.start < b.end));
  t.ok(overlaps.length > 0, `vm:1 and vm:2 ran at the same time (${overlaps.length} of vm:1's jobs overlapped one of vm:2's)`);
});

t.test("a worker killed with SIGKILL mid-job: its job is taken up by another worker, once it is seen dead", async (t) => {
  const c = await catalog(t);
  const jobId = queue(c, 42, 'image:3');
  const execArgv = process.execArgv.filter((arg) => !arg.includes('processinfo'));
  const child = spawn(process.execPath, [...execArgv, join(import.meta.dirname, 'worker-child.ts'), c.url], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...server.env, NODE_OPTIONS: '' } });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  t.teardown(() => void child.kill('SIGKILL'));
  await until('the child to run the job', () => /running \S+ \d+/.test(out) || child.exitCode !== null);
  const [, childPool, childJob] = /running (\S+) (\d+)/.exec(out) ?? [];
  t.equal(Number(childJob), jobId, `the child runs the job (${out.trim()})`);
  const locked = await c.pool.query('SELECT locked_by, locked_at, attempts FROM graphile_worker.jobs WHERE id = $1', [jobId]);
  t.match(locked.rows[0], { locked_by: childPool, attempts: 1 }, "the job is locked by the child's pool");
  t.ok(locked.rows[0].locked_at instanceof Date);
  const queueRow = await c.pool.query("SELECT locked_by FROM graphile_worker._private_job_queues WHERE queue_name = 'image:3'");
  t.equal(queueRow.rows[0].locked_by, childPool, 'and so is its queue');

  const runs: number[] = [];
  const tasks: TaskList = { [OPERATION_TASK]: async (payload) => void runs.push(operationPayload(payload).operationId) };
  const killedAt = { ms: 0 };
  child.kill('SIGKILL');
  await new Promise((done) => child.once('exit', done));
  killedAt.ms = performance.now();
  const worker = await startWorker({ pool: c.pool, tasks, logger: silentLogger, reclaimIntervalMs: 100, reclaimGraceMs: 200 });
  t.teardown(() => worker.stop());
  await until('the job to run again', () => runs.length === 1);
  const tookMs = performance.now() - killedAt.ms;
  t.same(runs, [42], `run again by the other worker ${tookMs.toFixed(0)} ms after the kill`);
  await until('the job to be done', async () => (await c.pool.query('SELECT 1 FROM graphile_worker.jobs WHERE id = $1', [jobId])).rowCount === 0);
  await sleep(300);
  t.same(runs, [42], 'once');
});

t.test("a live worker's job is left to it", async (t) => {
  const c = await catalog(t);
  queue(c, 1, 'vm:9');
  let release!: () => void;
  const held = new Promise<void>((done) => (release = done));
  let starts = 0;
  const holder = await startWorker({
    pool: c.pool,
    logger: silentLogger,
    reclaimIntervalMs: 0,
    tasks: { [OPERATION_TASK]: async () => void (starts++, await held) },
  });
  await until('the job to start', () => starts === 1);
  const other = await startWorker({ pool: c.pool, logger: silentLogger, reclaimIntervalMs: 50, reclaimGraceMs: 0, tasks: { [OPERATION_TASK]: async () => void starts++ } });
  await sleep(500);
  t.equal(starts, 1, 'no second run while the holder lives');
  release();
  await Promise.all([holder.stop(), other.stop()]);
});

t.test('stop on abort: the running job finishes, no new one starts, the worker ends cleanly', async (t) => {
  const c = await catalog(t);
  queue(c, 1, 'vm:1');
  queue(c, 2, 'vm:1');
  const finished: number[] = [];
  let started = 0;
  const controller = new AbortController();
  const lines: string[] = [];
  const worker = await startWorker({
    pool: c.pool,
    logger: recordingLogger(lines),
    signal: controller.signal,
    tasks: {
      [OPERATION_TASK]: async (payload) => {
        started++;
        await sleep(300);
        finished.push(operationPayload(payload).operationId);
      },
    },
  });
  await until('the first job to start', () => started === 1);
  controller.abort();
  await worker.done;
  t.same(finished, [1], 'the running job finished');
  t.equal(started, 1, 'the next did not start');
  const left = await c.pool.query('SELECT locked_by, attempts FROM graphile_worker.jobs');
  t.match(left.rows, [{ locked_by: null, attempts: 0 }], 'the second job waits, unlocked, for another worker');
  t.ok(lines.some((l) => l.includes('queue worker stopped')));
  t.notOk(lines.join('\n').includes(server.password), 'no log line holds the password');
});

t.test('queue-to-start latency with one worker (LISTEN/NOTIFY)', async (t) => {
  const c = await catalog(t);
  const queuedAt = new Map<number, number>();
  const latencies: number[] = [];
  const worker = await startWorker({
    pool: c.pool,
    logger: silentLogger,
    reclaimIntervalMs: 0,
    // No polling within the test's time: a job can only start because its NOTIFY woke the worker.
    pollIntervalMs: 600_000,
    tasks: { [OPERATION_TASK]: async (payload) => void latencies.push(performance.now() - queuedAt.get(operationPayload(payload).operationId)!) },
  });
  t.teardown(() => worker.stop());
  // One at a time, each after the last started, so the figure is the wake-up, not a backlog; 200 resources.
  for (let op = 1; op <= 200; op++) {
    queuedAt.set(op, performance.now());
    queue(c, op, `vm:${op}`);
    await until(`job ${op}`, () => latencies.length === op, 10_000);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  t.comment(`queue-to-start over 200 jobs: p50 ${p(0.5).toFixed(2)} ms, p90 ${p(0.9).toFixed(2)} ms, max ${p(1).toFixed(2)} ms`);
  t.equal(latencies.length, 200, 'every job started on its NOTIFY (the worker polls only every 10 minutes)');
});
