/**
 * The worker thread that holds the PostgreSQL connections (pg Clients) of postgres-executor.ts. The main thread
 * calls it synchronously through synckit (it sleeps on an Atomics wait while this thread runs the query), so
 * the catalog stays synchronous. One worker serves every executor of the process (synckit keeps one per file);
 * each executor has its own Client here, by number.
 *
 * Rows come back as SQLite's would: bigint (int8: ids, counts) as numbers (as text past 2^53, never rounded),
 * numeric as numbers, bytea as bytes. An error comes back as data (SQLSTATE code, message, constraint …), never
 * thrown, so the main thread rebuilds it whole. Loaded from dist/ (compiled, or bundled next to dist/bin/ferry.js)
 * and, in tests, from this .ts file.
 */
import pg from 'pg';
import { runAsWorker } from 'synckit';

export type PgRequest =
  | { op: 'open'; client: number; config: pg.ClientConfig }
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
  | { ok: false; error: PgWireError };

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

interface Held {
  client: pg.Client;
  /** Set once the connection failed (server gone, terminated): every call after says so. */
  broken?: Error;
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

function held(id: number): Held {
  const found = clients.get(id);
  if (found === undefined) throw new Error(`no PostgreSQL connection ${id} (closed)`);
  if (found.broken !== undefined) throw found.broken;
  return found;
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

async function serve(request: PgRequest): Promise<PgReply> {
  try {
    switch (request.op) {
      case 'open': {
        const client = new pg.Client(request.config);
        const connection: Held = { client, names: new Map() };
        // Without a listener a dropped connection would end this thread; it fails the calls that follow instead.
        client.on('error', (error) => {
          connection.broken = error;
        });
        try {
          await client.connect();
        } catch (error) {
          await client.end().catch(() => undefined);
          throw error;
        }
        clients.set(request.client, connection);
        return { ok: true, rows: [], rowCount: 0 };
      }
      case 'query': {
        const connection = held(request.client);
        const values = request.parameters.map((value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value));
        const name = nameOf(connection, request.sql);
        const result = await connection.client.query(name === undefined ? { text: request.sql, values } : { name, text: request.sql, values });
        const binary = result.fields.filter((field) => field.dataTypeID === BYTEA).map((field) => field.name);
        const reply: PgReply = { ok: true, rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? 0 };
        if (binary.length > 0) reply.binary = binary;
        return reply;
      }
      case 'exec': {
        // No parameters: the simple protocol, so a script of several statements runs whole.
        const results = (await held(request.client).client.query(request.sql)) as pg.QueryResult | pg.QueryResult[];
        // The last statement's tag: a COMMIT that PostgreSQL turned into a ROLLBACK says so.
        const last = Array.isArray(results) ? results[results.length - 1] : results;
        return { ok: true, rows: [], rowCount: 0, command: last?.command };
      }
      case 'close': {
        const connection = clients.get(request.client);
        clients.delete(request.client);
        if (connection !== undefined && connection.broken === undefined) await connection.client.end();
        return { ok: true, rows: [], rowCount: 0 };
      }
    }
  } catch (error) {
    return { ok: false, error: wireError(error) };
  }
}

runAsWorker(serve);
