/**
 * The executor on PostgreSQL, synchronous: a pg Client lives in a worker thread (pg-worker.ts) and each call
 * blocks this thread on an Atomics wait until the worker has the answer (synckit's createSyncFn). A round trip
 * on loopback costs a fraction of a millisecond, so the catalog keeps its synchronous interface on PostgreSQL.
 *
 * Nothing else may run on this thread while a call waits: a query that waits for a lock held by another
 * executor of this same process never returns (give the connection a lock_timeout or statement_timeout).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createSyncFn, type SynckitOptions } from 'synckit';
import { bindable, returnedId, syncResult, type Executor, type Query, type RunResult } from './executor.js';
import type { PgReply, PgRequest, PgWireError } from './pg-worker.js';

/** An error PostgreSQL (or the connection to it) gave: `code` is the SQLSTATE (23505 a unique violation …). */
export class PostgresError extends Error {
  override readonly name = 'PostgresError';
  readonly code: string | undefined;
  readonly severity: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;

  constructor(wire: PgWireError) {
    super(wire.message);
    this.code = wire.code;
    this.severity = wire.severity;
    this.detail = wire.detail;
    this.hint = wire.hint;
    this.constraint = wire.constraint;
    this.table = wire.table;
    this.column = wire.column;
  }
}

/**
 * The worker's file: next to this module, compiled (dist/catalog/db/pg-worker.js), bundled (dist/bin/pg-worker.js,
 * next to the bundle's chunks: scripts/build.mjs makes it an entry point of its own), or its source when this
 * module runs from src/ (the tests), loaded by the same TypeScript loader that runs this one.
 */
function worker(): SynckitOptions & { path: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = join(here, 'pg-worker.js');
  if (existsSync(compiled)) return { path: compiled, execArgv: [] };
  const source = join(here, 'pg-worker.ts');
  // synckit knows TypeScript runners by name only and refuses a .ts worker without one; 'bun' is the runner for
  // which it adds nothing, so the worker gets this process's own loader flags (tap's --import) and loads the .ts.
  if (existsSync(source)) return { path: source, execArgv: process.execArgv, tsRunner: 'bun' };
  throw new Error(`the PostgreSQL worker is missing: no pg-worker.js in ${here} (build ferry again: npm run build)`);
}

type Call = (request: PgRequest) => PgReply;
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

export class PostgresExecutor implements Executor {
  readonly dialect = 'postgres' as const;
  private depth = 0;
  private closed = false;

  private constructor(
    private readonly bridge: Call,
    private readonly client: number,
  ) {}

  /**
   * Connects to PostgreSQL: a connection string (postgres://user@host:port/db) or pg's client settings (plain
   * data only: they cross to the worker). Without a password in them, pg takes PGPASSWORD or the PGPASSFILE.
   */
  static open(config: string | pg.ClientConfig): PostgresExecutor {
    const settings: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : config;
    const executor = new PostgresExecutor(bridge(), ++clients);
    executor.send({ op: 'open', client: executor.client, config: { keepAlive: true, ...settings } });
    return executor;
  }

  private send(request: PgRequest): Extract<PgReply, { ok: true }> {
    if (this.closed) throw new Error('this PostgreSQL catalog connection is closed');
    const reply = this.bridge(request);
    if (!reply.ok) throw new PostgresError(reply.error);
    // Bytes cross the thread as Uint8Array: Buffers again, as better-sqlite3 gives blobs.
    for (const column of reply.binary ?? []) {
      for (const row of reply.rows) {
        const value = row[column];
        if (value instanceof Uint8Array) row[column] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
    }
    return reply;
  }

  private query(query: Query): Extract<PgReply, { ok: true }> {
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
    this.depth = depth + 1;
    let result: T;
    try {
      result = syncResult(fn());
    } catch (error) {
      this.depth = depth;
      try {
        this.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
      } catch {
        // The connection is gone (or the transaction with it): the first error is the one to tell.
      }
      throw error;
    }
    this.depth = depth;
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
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  close(): void {
    if (this.closed) return;
    this.send({ op: 'close', client: this.client });
    this.closed = true;
  }
}
