/**
 * The worker thread that holds the PostgreSQL connections (pg Clients) of postgres-executor.ts. The main thread
 * calls it synchronously through synckit (it sleeps on an Atomics wait while this thread runs the query), so
 * the catalog stays synchronous. One worker serves every executor of the process (synckit keeps one per file);
 * each executor has its own Client here, by number. Requests are served concurrently (one executor's slow
 * statement does not hold up another's).
 *
 * Rows come back as SQLite's would: bigint (int8: ids, counts) as numbers (as text past 2^53, never rounded),
 * numeric as numbers, bytea as bytes. An error comes back as data (SQLSTATE code, message, constraint …), never
 * thrown, so the main thread rebuilds it whole; when the connection is gone the reply says whether the
 * statement was sent on it (`lost`), for the main thread decides what may be tried again. This thread never
 * reconnects on its own: `connect` does, when the main thread asks. Loaded from dist/ (compiled, or bundled
 * next to dist/bin/ferry.js) and, in tests, from this .ts file.
 */
import pg from 'pg';
import { runAsWorker } from 'synckit';

export type PgRequest =
  | { op: 'open'; client: number; config: pg.ClientConfig }
  /** A new connection with the settings `open` had, replacing a lost one; one attempt, of at most `timeoutMs`. */
  | { op: 'connect'; client: number; timeoutMs: number }
  | { op: 'query'; client: number; sql: string; parameters: unknown[] }
  | { op: 'exec'; client: number; sql: string }
  | { op: 'close'; client: number };

/** An error's fields worth carrying: SQLSTATE `code` and PostgreSQL's details, or a socket error's code. */
export interface PgWireError {
  message: string;
  name: string;
  code?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  constraint?: string;
  table?: string;
  column?: string;
  schema?: string;
  where?: string;
  position?: string;
}

export type PgReply =
  | { ok: true; rows: Record<string, unknown>[]; rowCount: number; binary?: string[]; command?: string }
  /**
   * `lost`: the connection is gone. 'before': it was found gone before the statement was sent, so the
   * statement did not run; 'sent': it went while the statement was out, so it may have run.
   */
  | { ok: false; error: PgWireError; lost?: 'before' | 'sent' };

const INT8 = 20;
const NUMERIC = 1700;
const BYTEA = 17;

pg.types.setTypeParser(INT8, (text: string) => {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
});
pg.types.setTypeParser(NUMERIC, (text: string) => Number(text));

/** Statements prepared by name on a connection, at most this many (beyond, parsed each time). */
const NAMED_MAX = 1000;
/** How long closing may wait for the server's goodbye before the socket is just dropped. */
const CLOSE_WAIT_MS = 2000;

interface Held {
  /** The settings of `open`, for every reconnection: the session settings come back with them. */
  config: pg.ClientConfig;
  client: pg.Client;
  /** Set once the connection failed (server gone, terminated): calls say so until `connect` replaces it. */
  broken?: Error;
  /** Statement names by text; pg prepares a name again on a new connection by itself. */
  names: Map<string, string>;
}

const clients = new Map<number, Held>();

const WIRE_FIELDS = ['code', 'severity', 'detail', 'hint', 'constraint', 'table', 'column', 'schema', 'where', 'position'] as const;

function wireError(error: unknown): PgWireError {
  const source = (error ?? {}) as Record<string, unknown>;
  const wire: PgWireError = {
    message: error instanceof Error ? error.message : String(error),
    name: error instanceof Error ? error.name : 'Error',
  };
  for (const field of WIRE_FIELDS) {
    const value = source[field];
    if (typeof value === 'string' && value !== '') wire[field] = value;
  }
  return wire;
}

/**
 * Whether `error` ended the connection: a FATAL from the server (terminated, shutting down), a connection
 * exception (SQLSTATE class 08), a socket error (ECONNRESET …), pg's own "terminated".
 */
function endsConnection(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (typeof code === 'string' && (code.startsWith('08') || /^57P0[1-5]$/.test(code) || /^E[A-Z]+$/.test(code))) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|not queryable/i.test(message);
}

/** Ends `client` without waiting long (a dead server never answers the goodbye); never fails. */
async function end(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.end(), new Promise((done) => (timer = setTimeout(done, CLOSE_WAIT_MS)))]);
  } catch {
    // Already ended, or the socket failed on the way out: ended all the same.
  } finally {
    clearTimeout(timer);
  }
}

/** A connected Client for `held`; its failures are noted on `held` once it is `held.client`. */
async function connected(held: Partial<Held>, config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // Without a listener a dropped connection would end this thread; it fails the calls that follow instead.
  const broke = (error: Error): void => {
    if (held.client === client) held.broken ??= error;
  };
  client.on('error', broke);
  client.on('end', () => broke(new Error('Connection terminated')));
  try {
    await client.connect();
  } catch (error) {
    void end(client);
    throw error;
  }
  return client;
}

/** The name a statement is prepared under on its connection, once it is known there. */
function nameOf(connection: Held, sql: string): string | undefined {
  let name = connection.names.get(sql);
  if (name === undefined && connection.names.size < NAMED_MAX) {
    name = `ferry_${connection.names.size + 1}`;
    connection.names.set(sql, name);
  }
  return name;
}

function found(id: number): Held {
  const held = clients.get(id);
  if (held === undefined) throw new Error(`no PostgreSQL connection ${id} (closed)`);
  return held;
}

/** A statement's failure on `client`: one that ended the connection marks it broken and says so. */
function failed(held: Held, client: pg.Client, error: unknown): PgReply {
  if (held.broken === undefined && !endsConnection(error)) return { ok: false, error: wireError(error) };
  held.broken ??= error as Error;
  // Nothing more is sent on it: `connect` makes a new one.
  void end(client);
  return { ok: false, error: wireError(error), lost: 'sent' };
}

/** The reply for a connection already known to be gone: the statement was not sent. */
const gone = (held: Held): PgReply => ({ ok: false, error: wireError(held.broken), lost: 'before' });

async function serve(request: PgRequest): Promise<PgReply> {
  try {
    switch (request.op) {
      case 'open': {
        const held: Partial<Held> = { config: request.config, names: new Map() };
        held.client = await connected(held, request.config);
        clients.set(request.client, held as Held);
        return { ok: true, rows: [], rowCount: 0 };
      }
      case 'connect': {
        const held = found(request.client);
        const old = held.client;
        held.broken ??= new Error('Connection replaced');
        void end(old);
        const timeout = Math.min(held.config.connectionTimeoutMillis || request.timeoutMs, request.timeoutMs);
        const client = await connected(held, { ...held.config, connectionTimeoutMillis: Math.max(1, Math.round(timeout)) });
        if (clients.get(request.client) !== held) {
          void end(client);
          throw new Error(`no PostgreSQL connection ${request.client} (closed)`);
        }
        // The listeners compare with `held.client`: from here on this client's failures are the connection's.
        held.client = client;
        delete held.broken;
        return { ok: true, rows: [], rowCount: 0 };
      }
      case 'query': {
        // The hot path: no closure, no extra await.
        const held = found(request.client);
        if (held.broken !== undefined) return gone(held);
        const client = held.client;
        try {
          const values = request.parameters.map((value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value));
          const name = nameOf(held, request.sql);
          const result = await client.query(name === undefined ? { text: request.sql, values } : { name, text: request.sql, values });
          const binary = result.fields.filter((field) => field.dataTypeID === BYTEA).map((field) => field.name);
          const reply: PgReply = { ok: true, rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? 0 };
          if (binary.length > 0) reply.binary = binary;
          return reply;
        } catch (error) {
          return failed(held, client, error);
        }
      }
      case 'exec': {
        const held = found(request.client);
        if (held.broken !== undefined) return gone(held);
        const client = held.client;
        try {
          // No parameters: the simple protocol, so a script of several statements runs whole.
          const results = (await client.query(request.sql)) as pg.QueryResult | pg.QueryResult[];
          // The last statement's tag: a COMMIT that PostgreSQL turned into a ROLLBACK says so.
          const last = Array.isArray(results) ? results[results.length - 1] : results;
          return { ok: true, rows: [], rowCount: 0, command: last?.command };
        } catch (error) {
          return failed(held, client, error);
        }
      }
      case 'close': {
        const held = clients.get(request.client);
        clients.delete(request.client);
        if (held !== undefined) await end(held.client);
        return { ok: true, rows: [], rowCount: 0 };
      }
    }
  } catch (error) {
    return { ok: false, error: wireError(error) };
  }
}

runAsWorker(serve);
