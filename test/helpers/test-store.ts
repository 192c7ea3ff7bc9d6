/**
 * The store the catalog, lifecycle and CLI tests run on: SQLite files, or with FERRY_TEST_STORE=postgres a
 * fresh PostgreSQL database per catalog, on one server for the test process (test/helpers/postgres.ts: the
 * FERRY_TEST_PG server when set, else one of this process's own). Under SQLite nothing starts.
 *
 *     const url = freshDatabase(t);          // a new database, dropped on t's teardown
 *     const where = catalogAt(sqlitePath);   // the path itself, or the one database standing for it
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import tap from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { PostgresExecutor } from '../../src/catalog/db/postgres-executor.js';
import { startPostgres, type TestPostgres } from './postgres.js';

/** Which store the tests run on: FERRY_TEST_STORE=postgres, else SQLite. */
export const STORE: 'sqlite' | 'postgres' = process.env.FERRY_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** The test process's PostgreSQL, and a connection to its own database for CREATE and DROP DATABASE. */
export interface StoreServer {
  pg: TestPostgres;
  admin: PostgresExecutor;
}

/** This process's server under FERRY_TEST_STORE=postgres; undefined on SQLite. */
export let storeServer: StoreServer | undefined;

/** Databases made without a test to drop them (catalogAt's): dropped when the test process ends. */
const leftForTheEnd: string[] = [];

if (STORE === 'postgres') {
  const pg = await startPostgres(tap);
  const admin = PostgresExecutor.open({ host: pg.host, port: pg.port, user: pg.user, database: pg.database, password: pg.password });
  storeServer = { pg, admin };
  // Registered after startPostgres's own teardown, so it runs first: a stopped server cannot drop anything.
  tap.teardown(() => {
    for (const name of leftForTheEnd) dropDatabase(name);
    admin.close();
  });
  // A catalog reopened by its URL finds the password as ferry does ($PGPASSWORD); so do the ferry processes.
  process.env.PGPASSWORD = pg.password;
}

function server(): StoreServer {
  if (storeServer === undefined) throw new Error('test bug: a PostgreSQL database asked for while FERRY_TEST_STORE is not postgres');
  return storeServer;
}

function dropDatabase(name: string): void {
  try {
    server().admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch {
    // The server may already be going away at the very end; its folder goes with it.
  }
}

/** The password-free URL of database `name` on this process's server. */
export function databaseUrl(name: string): string {
  const { pg } = server();
  return `postgres://${encodeURIComponent(pg.user)}@${pg.host}:${pg.port}/${name}`;
}

/** A new, empty database on this process's server (PostgreSQL only): its URL; dropped on `t`'s teardown, else at the end. */
export function freshDatabase(t?: { teardown(fn: () => void): void }): string {
  const name = `ferry_c${process.pid}_${randomBytes(4).toString('hex')}`;
  server().admin.exec(`CREATE DATABASE ${name}`);
  if (t) t.teardown(() => dropDatabase(name));
  else leftForTheEnd.push(name);
  return databaseUrl(name);
}

const standIns = new Map<string, string>();

/**
 * Where a test's catalog at the SQLite file `path` is: the path itself on SQLite; on PostgreSQL one fresh
 * database per path, the same for every call, so the CLI runs and the test's own Catalog.open of one
 * world all meet in one catalog. Dropped when the test process ends.
 */
export function catalogAt(path: string): string {
  if (STORE === 'sqlite') return path;
  let url = standIns.get(path);
  if (url === undefined) {
    url = freshDatabase();
    standIns.set(path, url);
  }
  return url;
}

/** What a ferry process needs to reach this process's server: PGPASSWORD (empty on SQLite). */
export function storeEnv(): Record<string, string> {
  // The commands run their operations themselves, as on SQLite: the queue and its workers have tests of their own.
  return storeServer === undefined ? {} : { PGPASSWORD: storeServer.pg.password, FERRY_QUEUE: 'off' };
}

/** Why a test is skipped on PostgreSQL: it is about SQLite's file, pragmas or plans, which PostgreSQL has not. */
export const sqliteOnly = (what: string): { skip: string | false } => ({ skip: STORE === 'postgres' ? `SQLite only: ${what}` : false });

/** Why a test is skipped on SQLite: it is the PostgreSQL counterpart of a sqliteOnly test. */
export const postgresOnly = (what: string): { skip: string | false } => ({ skip: STORE === 'sqlite' ? `PostgreSQL only (FERRY_TEST_STORE=postgres): ${what}` : false });

/**
 * A fresh catalog for a test, kept with `dir`: the SQLite file dir/catalog.db, or a fresh database whose key
 * file goes in `dir` (as $FERRY_HOME), never in the user's home. Closed (and dropped) on `t`'s teardown.
 */
export function openTestCatalog(t: { teardown(fn: () => void): void }, dir: string): Catalog {
  const catalog = STORE === 'postgres' ? Catalog.open(freshDatabase(t), undefined, { ...process.env, FERRY_HOME: dir }) : Catalog.open(join(dir, 'catalog.db'));
  t.teardown(() => catalog.close());
  return catalog;
}

/** A statement on the raw store, as better-sqlite3's look: `?` placeholders (made $n on PostgreSQL). */
export interface RawStatement {
  run(...parameters: unknown[]): { changes: number };
  get(...parameters: unknown[]): Record<string, unknown> | undefined;
  all(...parameters: unknown[]): Record<string, unknown>[];
}

/** The catalog's store under it, for tests that look or write behind the catalog's back; closed on teardown. */
export interface RawStore {
  prepare(sql: string): RawStatement;
  /** Runs a script of statements without parameters (DDL). */
  exec(sql: string): void;
  close(): void;
}

/** A second connection to the catalog at `path` (a file, or fresh()'s URL), bypassing the catalog. */
export function rawStore(t: { teardown(fn: () => void): void }, path: string): RawStore {
  let store: RawStore;
  if (storeServer !== undefined) {
    const { pg } = storeServer;
    const ex = PostgresExecutor.open({ host: pg.host, port: pg.port, user: pg.user, database: new URL(path).pathname.slice(1), password: pg.password });
    const numbered = (sql: string): string => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    store = {
      prepare: (sql) => ({
        run: (...parameters) => ({ changes: ex.run({ sql: numbered(sql), parameters }).changes }),
        get: (...parameters) => ex.get({ sql: numbered(sql), parameters }),
        all: (...parameters) => ex.all({ sql: numbered(sql), parameters }),
      }),
      exec: (sql) => ex.exec(sql),
      // After the database was dropped (fresh()'s teardown may run first) the connection is gone: nothing to close.
      close: () => {
        try {
          ex.close();
        } catch {}
      },
    };
  } else {
    const db = new Database(path);
    store = {
      prepare: (sql) => {
        const statement = db.prepare(sql);
        return {
          run: (...parameters) => ({ changes: statement.run(...parameters).changes }),
          get: (...parameters) => statement.get(...parameters) as Record<string, unknown> | undefined,
          all: (...parameters) => statement.all(...parameters) as Record<string, unknown>[],
        };
      },
      exec: (sql) => void db.exec(sql),
      close: () => db.close(),
    };
  }
  let open = true;
  t.teardown(() => {
    if (open) store.close();
    open = false;
  });
  return {
    prepare: (sql) => store.prepare(sql),
    exec: (sql) => store.exec(sql),
    close: () => {
      if (open) store.close();
      open = false;
    },
  };
}

/** A copy of the database at `url` (CREATE DATABASE … TEMPLATE: nothing may be connected to it), dropped on teardown. */
export function copyDatabase(t: { teardown(fn: () => void): void }, url: string): string {
  const name = `ferry_c${process.pid}_${randomBytes(4).toString('hex')}`;
  server().admin.exec(`CREATE DATABASE ${name} TEMPLATE ${new URL(url).pathname.slice(1)}`);
  t.teardown(() => dropDatabase(name));
  return databaseUrl(name);
}
