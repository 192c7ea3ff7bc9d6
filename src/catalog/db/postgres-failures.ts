/**
 * What the PostgreSQL executor (postgres-executor.ts) says when a call fails: PostgreSQL's own error as a
 * PostgresError (SQLSTATE and details), and ferry's for the failures it handles, each a FerryError naming
 * the catalog by its password-free URL, what happened to the work, and what to do: a lock waited for too
 * long (E_BUSY), a statement past its time, a connection lost (in a transaction, or with an outcome unknown),
 * a server that did not come back, no answer at all (E_CATALOG). The password never gets into one.
 */
import type pg from 'pg';
import { FerryError } from '../../errors.js';
import type { PgWireError } from './pg-worker.js';

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

/** A statement that changes nothing, so running it again after its connection died is harmless. */
export function harmless(sql: string): boolean {
  return /^\s*(select|show|begin|start transaction)\b/i.test(sql);
}

/** A connection failure a restarting or unreachable server explains (and which waiting may end). */
export function passing(error: PgWireError): boolean {
  const code = error.code ?? '';
  return /^(57P03|53300|08\w{3}|E[A-Z]+)$/.test(code) || /terminated|timeout|closed|ECONNREFUSED/i.test(error.message);
}

/** What the statement of `sql` is, for a message: its first words, without its values (they are parameters). */
function shown(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

const seconds = (ms: number): string => `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

/** postgres://user@host:port/database from `settings`, without the password or options. */
export function nameOf(settings: pg.ClientConfig): string {
  if (settings.connectionString !== undefined) {
    try {
      const url = new URL(settings.connectionString);
      return `postgres://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}`;
    } catch {
      return 'postgres://(a connection string pg could not read)';
    }
  }
  const host = settings.host ?? 'localhost';
  const user = settings.user !== undefined ? `${encodeURIComponent(settings.user)}@` : '';
  return `postgres://${user}${host.includes(':') ? `[${host}]` : host}:${settings.port ?? 5432}/${encodeURIComponent(settings.database ?? '')}`;
}

/** Host and port of `settings`, for a hint. */
function whereOf(settings: pg.ClientConfig): { host: string; port: number } {
  if (settings.connectionString !== undefined) {
    try {
      const url = new URL(settings.connectionString);
      return { host: url.hostname || 'localhost', port: Number(url.port || 5432) };
    } catch {
      // Not a URL pg would take either: the fields, below.
    }
  }
  return { host: settings.host ?? 'localhost', port: settings.port ?? 5432 };
}

/** The bounds the messages quote. */
export interface Bounds {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  reconnectWithinMs: number;
}

/** The messages of one executor: its catalog's name, its settings (for host, port and the password to keep out), its bounds. */
export class Failures {
  constructor(
    private readonly name: string,
    private readonly settings: pg.ClientConfig,
    private readonly bounds: Bounds,
  ) {}

  /** `text` without the password (no server message holds it; this makes sure). */
  private scrub(text: string): string {
    const password = this.settings.password;
    return typeof password === 'string' && password !== '' ? text.split(password).join('***') : text;
  }

  private error(code: 'E_CATALOG' | 'E_BUSY', message: string, hint: string, cause: PgWireError): FerryError {
    return new FerryError(code, this.scrub(message), { hint: this.scrub(hint), cause: new PostgresError({ ...cause, message: this.scrub(cause.message) }) });
  }

  /** An error the statement got with the connection still there: lock and statement timeouts are ferry's own. */
  statement(wire: PgWireError, sql: string): Error {
    if (wire.code === '55P03') {
      return this.error(
        'E_BUSY',
        `the catalog ${this.name} is busy: a statement waited ${seconds(this.bounds.lockTimeoutMs)} for a lock another session holds, and gave up (${shown(sql)})`,
        'another ferry process (or a session on the database) holds the row or table; run the command again once it is done (pg_stat_activity shows who waits on whom)',
        wire,
      );
    }
    if (wire.code === '57014' && /statement timeout/i.test(wire.message)) {
      return this.error(
        'E_CATALOG',
        `the catalog ${this.name}: a statement ran past ${seconds(this.bounds.statementTimeoutMs)} and PostgreSQL cancelled it (${shown(sql)})`,
        'nothing of it was written; the server is overloaded or a table is very large: check it (pg_stat_activity), then run the command again',
        wire,
      );
    }
    return new PostgresError(wire);
  }

  /** The connection lost inside a transaction, before `sql` was sent or while it was out. */
  lostInTransaction(wire: PgWireError, lost: 'before' | 'sent', sql: string): FerryError {
    if (sql === 'COMMIT' && lost === 'sent') return this.unknownOutcome(wire, sql, 'the connection was lost while it committed');
    return this.error(
      'E_CATALOG',
      `the connection to the catalog ${this.name} was lost (${wire.message}): the transaction was rolled back, nothing of it was written`,
      `run the command again: ferry connects again, waiting up to ${seconds(this.bounds.reconnectWithinMs)} for the server`,
      wire,
    );
  }

  /** `sql` may have run (and committed) or not: the connection went while it was out. */
  unknownOutcome(wire: PgWireError, sql: string, how: string): FerryError {
    return this.error(
      'E_CATALOG',
      `the catalog ${this.name}: ${how} (${wire.message}), so whether ${sql === 'COMMIT' ? 'the transaction' : `the statement (${shown(sql)})`} was written is not known`,
      'look at the catalog (show the VM or image, its journal) before running the command again; the next command connects again',
      wire,
    );
  }

  /** Connecting again failed: for `reconnectWithinMs` (`waited`), or at once for a reason waiting does not mend. */
  notBack(cause: PgWireError, last: PgWireError, waited: boolean): FerryError {
    const { host, port } = whereOf(this.settings);
    return this.error(
      'E_CATALOG',
      `the connection to the catalog ${this.name} was lost (${cause.message}), and ${waited ? `PostgreSQL did not come back within ${seconds(this.bounds.reconnectWithinMs)}` : 'connecting again failed'}: ${last.message}`,
      waited ? `is the server running and listening on ${host}:${port}? (pg_isready -h ${host} -p ${port}); run the command again once it is` : 'check the catalog URL, the password and the database, then run the command again',
      last,
    );
  }

  /** The bridge to the worker failed: no answer within `timeoutMs` (while `sql` was out, if any), or the thread is dead. */
  bridge(error: unknown, timeoutMs: number, sql: string | undefined): FerryError {
    const wire = { name: 'Error', message: error instanceof Error ? error.message : String(error) };
    if (/timed-out/.test(wire.message)) {
      const what = sql === undefined || harmless(sql) ? '' : `; whether its statement (${shown(sql)}) was written is not known`;
      return this.error(
        'E_CATALOG',
        `the catalog ${this.name}: no answer within ${seconds(timeoutMs)}, from PostgreSQL or from ferry's thread that talks to it${what}`,
        'the connection is dropped and the next call connects again; check the network to the server (pg_isready), and report it if it happens again',
        wire,
      );
    }
    return this.error('E_CATALOG', `the catalog ${this.name}: ferry's PostgreSQL thread failed: ${wire.message}`, 'this process cannot reach the catalog any more: run the command again (build ferry again if it says a file is missing: npm run build)', wire);
  }
}
