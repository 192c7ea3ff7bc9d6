/**
 * The executor on PostgreSQL, synchronous: a pg Client lives in a worker thread (pg-worker.ts) and each call
 * blocks this thread on an Atomics wait until the worker has the answer (synckit's createSyncFn). A round trip
 * on loopback costs a fraction of a millisecond, so the catalog keeps its synchronous interface on PostgreSQL.
 *
 * Nothing else runs on this thread while a call waits, so every wait is bounded: a statement waits at most
 * LOCK_TIMEOUT_MS for a lock (then E_BUSY: also one held by another executor of this same process, which
 * would otherwise never let go) and runs at most STATEMENT_TIMEOUT_MS; a call that gets no answer from the
 * worker at all (stuck, or dead) ends after bridgeLimits.callTimeoutMs with E_CATALOG.
 *
 * A lost connection (the server restarted, the session terminated, the network dropped) is taken up again:
 * outside a transaction the call reconnects, waiting up to RECONNECT_WITHIN_MS for the server, and runs
 * again, unless its statement was already out and may have had an effect (then E_CATALOG: outcome unknown).
 * Inside a transaction the transaction died with the connection: the call fails (E_CATALOG, rolled back),
 * every call of that transaction after it too, and the first call after the transaction reconnects.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { SynckitOptions } from 'synckit';
import { bindable, returnedId, syncResult, type Executor, type Query, type RunResult } from './executor.js';
import type { PgReply, PgRequest, PgWireError } from './pg-worker.js';
import { Failures, harmless, nameOf, passing, PostgresError } from './postgres-failures.js';

export { PostgresError } from './postgres-failures.js';

// synckit's CommonJS build, whoever loads this module. Its ES build tells where it lives by a global
// __dirname when there is one, and `node -e` (a CommonJS script) defines one, '.': it then looked for its
// worker preload (register.cjs) relative to the working directory, the worker died before it could say so,
// and the first call waited forever.
const { createSyncFn } = createRequire(import.meta.url)('synckit') as typeof import('synckit');

/** How long a statement waits for a lock another session holds before it fails, E_BUSY (lock_timeout). */
export const LOCK_TIMEOUT_MS = 30_000;
/** How long a statement may run before PostgreSQL cancels it, E_CATALOG (statement_timeout); also the most allowed. */
export const STATEMENT_TIMEOUT_MS = 300_000;
/** How long a lost connection is waited for, outside a transaction, trying every RETRY_EVERY_MS. */
export const RECONNECT_WITHIN_MS = 30_000;
export const RETRY_EVERY_MS = 250;
/** One connection attempt's bound when the settings give none, and at most. */
const CONNECT_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MAX_MS = 60_000;

/**
 * synckit's bound on one call, a minute past anything a call may take (a statement, a connection attempt):
 * reaching it means the server stopped answering without closing the connection (a network gone; no
 * per-query timer in the worker, which would cost every call) or the worker thread is stuck or dead. Lowered
 * only by a test of it, in a process of its own, before the first connection (the worker and its bound are
 * made once per process).
 */
export const bridgeLimits = { callTimeoutMs: STATEMENT_TIMEOUT_MS + 60_000 };

/** The session's bounds (each a whole number of ms) and how messages name the database. */
export interface PostgresSessionOptions {
  /** The catalog's password-free URL, for messages; by default made of host, port, user and database. */
  name?: string;
  /** LOCK_TIMEOUT_MS by default. */
  lockTimeoutMs?: number;
  /** STATEMENT_TIMEOUT_MS by default, and at most. */
  statementTimeoutMs?: number;
  /** RECONNECT_WITHIN_MS by default. */
  reconnectWithinMs?: number;
}

/**
 * The worker's file: next to this module, compiled (dist/catalog/db/pg-worker.js), bundled (dist/bin/pg-worker.js,
 * next to the bundle's chunks: scripts/build.mjs makes it an entry point of its own), or its source when this
 * module runs from src/ (the tests), loaded by the same TypeScript loader that runs this one.
 */
function worker(): SynckitOptions & { path: string } {
  const timeout = bridgeLimits.callTimeoutMs;
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = join(here, 'pg-worker.js');
  if (existsSync(compiled)) return { path: compiled, execArgv: [], timeout };
  const source = join(here, 'pg-worker.ts');
  // synckit knows TypeScript runners by name only and refuses a .ts worker without one; 'bun' is the runner for
  // which it adds nothing, so the worker gets this process's own loader flags (tap's --import) and loads the .ts.
  if (existsSync(source)) return { path: source, execArgv: loaderFlags(process.execArgv), tsRunner: 'bun', timeout };
  throw new Error(`the PostgreSQL worker is missing: no pg-worker.js in ${here} (build ferry again: npm run build)`);
}

/** `execArgv` without a script given on the command line (`node -e …`, `-p`), which a worker would run again. */
function loaderFlags(execArgv: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(flag)) i++;
    else if (!/^--(eval|print|input-type)=/.test(flag)) flags.push(flag);
  }
  return flags;
}

type Call = (request: PgRequest) => PgReply;
type Ok = Extract<PgReply, { ok: true }>;
type Statement = Extract<PgRequest, { op: 'query' | 'exec' }>;
let call: Call | undefined;

/** The worker, started on first use: one for the process (synckit keeps one per file). */
function bridge(): Call {
  if (call === undefined) {
    const { path, ...options } = worker();
    call = createSyncFn<(request: PgRequest) => Promise<PgReply>>(path, options);
  }
  return call;
}

let clients = 0;

/** A parameter as pg binds it, after the common conversions: a bigint as its decimal text (exact). */
function pgParameter(value: unknown): unknown {
  const bound = bindable(value);
  return typeof bound === 'bigint' ? bound.toString() : bound;
}

/** Sleeps this thread (nothing else could run on it meanwhile anyway). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A bound given in the options: whole milliseconds, from 1 to `max`. */
function whole(ms: number, what: string, max = Infinity): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > max) throw new RangeError(`${what} must be a whole number of milliseconds${max === Infinity ? ', at least 1' : ` from 1 to ${max}`}, not ${ms}`);
  return ms;
}

export class PostgresExecutor implements Executor {
  readonly dialect = 'postgres' as const;
  private depth = 0;
  private closed = false;
  /** The connection is gone, or may be (a call got no answer, connecting again failed): the next call connects first. */
  private stale = false;
  private session: string | undefined;
  private readonly failures: Failures;

  private constructor(
    private readonly bridge: Call,
    private readonly client: number,
    /** How messages name the database (never with its password). */
    readonly name: string,
    private readonly settings: pg.ClientConfig,
    private readonly limits: Required<Omit<PostgresSessionOptions, 'name'>>,
  ) {
    this.failures = new Failures(name, settings, limits);
  }

  /**
   * Connects to PostgreSQL: a connection string (postgres://user@host:port/db) or pg's client settings (plain
   * data only: they cross to the worker). Without a password in them, pg takes PGPASSWORD or the PGPASSFILE.
   * A failure to connect here is not waited out: it is the PostgresError pg gave.
   */
  static open(config: string | pg.ClientConfig, options: PostgresSessionOptions = {}): PostgresExecutor {
    const settings: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : config;
    const limits = {
      lockTimeoutMs: whole(options.lockTimeoutMs ?? LOCK_TIMEOUT_MS, 'lockTimeoutMs'),
      statementTimeoutMs: whole(options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS, 'statementTimeoutMs', STATEMENT_TIMEOUT_MS),
      reconnectWithinMs: whole(options.reconnectWithinMs ?? RECONNECT_WITHIN_MS, 'reconnectWithinMs'),
    };
    const connectMs = Math.min(settings.connectionTimeoutMillis || CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MAX_MS);
    // Startup parameters: every reconnection (the worker keeps these settings) has them again.
    const session: pg.ClientConfig = {
      keepAlive: true,
      ...settings,
      connectionTimeoutMillis: connectMs,
      lock_timeout: limits.lockTimeoutMs,
      statement_timeout: limits.statementTimeoutMs,
    };
    const executor = new PostgresExecutor(bridge(), ++clients, options.name ?? nameOf(settings), session, limits);
    const reply = executor.call({ op: 'open', client: executor.client, config: session });
    if (!reply.ok) throw new PostgresError(reply.error);
    return executor;
  }

  /** One round trip to the worker; its own failure (no answer in time, the thread dead) is E_CATALOG. */
  private call(request: PgRequest): PgReply {
    if (this.closed) throw new Error('this PostgreSQL catalog connection is closed');
    try {
      return this.bridge(request);
    } catch (error) {
      this.stale = true;
      this.session = undefined;
      throw this.failures.bridge(error, bridgeLimits.callTimeoutMs, request.op === 'query' || request.op === 'exec' ? request.sql : undefined);
    }
  }

  private send(request: Statement): Ok {
    if (this.stale) this.replace(request);
    for (;;) {
      const reply = this.call(request);
      if (reply.ok) {
        // Bytes cross the thread as Uint8Array: Buffers again, as better-sqlite3 gives blobs.
        for (const column of reply.binary ?? []) {
          for (const row of reply.rows) {
            const value = row[column];
            if (value instanceof Uint8Array) row[column] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          }
        }
        return reply;
      }
      if (reply.lost === undefined) throw this.failures.statement(reply.error, request.sql);
      this.session = undefined;
      if (this.depth > 0) throw this.failures.lostInTransaction(reply.error, reply.lost, request.sql);
      if (reply.lost === 'sent' && !harmless(request.sql)) throw this.failures.unknownOutcome(reply.error, request.sql, 'its connection was lost');
      this.reconnect(reply.error);
    }
  }

  /** Before `request`, a connection left unusable by a call that got no answer: none inside its transaction. */
  private replace(request: Statement): void {
    const wire = { name: 'Error', message: 'an earlier call got no answer' };
    if (this.depth > 0) throw this.failures.lostInTransaction(wire, 'before', request.sql);
    this.reconnect(wire);
  }

  /** Connects again, trying every RETRY_EVERY_MS while the failure is one a restarting server explains. */
  private reconnect(cause: PgWireError): void {
    const deadline = performance.now() + this.limits.reconnectWithinMs;
    const connectMs = this.settings.connectionTimeoutMillis as number;
    let last: PgWireError | undefined;
    for (;;) {
      const timeoutMs = Math.max(1, Math.min(connectMs, deadline - performance.now()));
      const reply = this.call({ op: 'connect', client: this.client, timeoutMs });
      if (reply.ok) {
        this.stale = false;
        this.session = undefined;
        return;
      }
      this.stale = true;
      // An attempt cut short by the deadline says less than the one before it (connection refused …).
      if (last === undefined || timeoutMs >= connectMs || !/timeout/i.test(reply.error.message)) last = reply.error;
      const waited = deadline - performance.now() <= 0;
      if (waited || !passing(reply.error)) throw this.failures.notBack(cause, last, waited);
      sleep(Math.min(RETRY_EVERY_MS, deadline - performance.now()));
    }
  }

  private query(query: Query): Ok {
    return this.send({ op: 'query', client: this.client, sql: query.sql, parameters: query.parameters.map(pgParameter) });
  }

  all<R = Record<string, unknown>>(query: Query): R[] {
    return this.query(query).rows as R[];
  }

  get<R = Record<string, unknown>>(query: Query): R | undefined {
    return this.query(query).rows[0] as R | undefined;
  }

  run(query: Query): RunResult {
    const reply = this.query(query);
    const insertId = returnedId(reply.rows[0]);
    return insertId === undefined ? { changes: reply.rowCount } : { changes: reply.rowCount, insertId };
  }

  exec(sql: string): void {
    this.send({ op: 'exec', client: this.client, sql });
  }

  /** The last statement's command tag (COMMIT, ROLLBACK …). */
  private command(sql: string): string | undefined {
    return this.send({ op: 'exec', client: this.client, sql }).command;
  }

  transaction<T>(fn: () => T): T {
    const depth = this.depth;
    const savepoint = `ferry_savepoint_${depth}`;
    this.exec(depth === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}`);
    // Still inside until COMMIT has answered: a connection lost before then is a lost transaction, not a retry.
    this.depth = depth + 1;
    try {
      let result: T;
      try {
        result = syncResult(fn());
      } catch (error) {
        try {
          this.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
        } catch {
          // The connection is gone (and the transaction with it): the first error is the one to tell.
        }
        throw error;
      }
      if (depth > 0) {
        this.exec(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      }
      // A failed COMMIT (a serialization failure, the server gone) ends the transaction too: nothing to roll back.
      // One after a statement failed inside (an error `fn` caught) is a ROLLBACK: PostgreSQL says so by its tag only.
      if (this.command('COMMIT') === 'ROLLBACK') {
        throw new PostgresError({ name: 'PostgresError', code: '25P02', message: 'the transaction was rolled back, not committed: a statement in it failed (an error caught inside the transaction)' });
      }
      return result;
    } finally {
      this.depth = depth;
    }
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /**
   * Which server session this executor is on: `<backend pid>@<backend start, UTC>`, unique on the server over
   * time. A new one after each reconnection; called inside a transaction, the session the transaction runs on.
   */
  sessionId(): string {
    if (this.session === undefined) {
      const row = this.get<{ pid: number; started: string }>({
        sql: `SELECT pid, to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
        parameters: [],
      });
      this.session = `${row?.pid}@${row?.started}`;
    }
    return this.session;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: 'close', client: this.client });
    } catch {
      // The worker is gone or stuck: there is nothing left to close, and the failure that got it there was told.
    } finally {
      this.closed = true;
    }
  }
}
