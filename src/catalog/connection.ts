/**
 * The connection under the catalog: opening the SQLite file (0600, WAL) or the PostgreSQL database, migrating
 * it, and the executor (db/executor.ts) the row modules run their Kysely-built queries on, with the builder of
 * its dialect (`c.q`). Several ferry processes may share the catalog: on SQLite WAL lets them read while one
 * writes; on PostgreSQL the server does.
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Compilable, Kysely } from 'kysely';
import { sql } from 'kysely';
import { FerryError } from '../errors.js';
import type { Dialect, Executor, RunResult } from './db/executor.js';
import { q } from './db/kysely.js';
import { PostgresExecutor } from './db/postgres-executor.js';
import { migratePostgres, postgresVersion } from './db/postgres-schema.js';
import { SqliteExecutor } from './db/sqlite-executor.js';
import type { Database as Tables } from './db/tables.js';
import { MIGRATIONS, type Migration } from './schema.js';
import type { PostgresLocation } from './location.js';
import { clientConfig, connectError } from './pg/connect.js';
import { keyFileOf, SecretBox } from './secrets.js';
import type { Row } from './values.js';

export class Connection {
  /**
   * `path` names the catalog in messages: the SQLite file, or the password-free URL of the PostgreSQL
   * database. `db` is the SQLite handle (its pragmas and migrations); undefined on PostgreSQL.
   */
  private constructor(
    readonly path: string,
    ex: Executor,
    keyFile: string,
    private readonly db?: Database.Database,
  ) {
    // On SQLite the executor runs on this same handle: its statements and transactions are this connection's.
    this.ex = ex;
    this.q = q(this.ex.dialect);
    this.secrets = new SecretBox(keyFile);
  }

  /** Seals and opens datastore secrets with this catalog's key, kept outside the file. */
  readonly secrets: SecretBox;

  /** Runs the compiled queries of the row modules. */
  readonly ex: Executor;

  /** The query builder of this connection's dialect (compile only: run what it builds with all/get/run). */
  readonly q: Kysely<Tables>;
  /**
   * The queued operation this connection works for (a worker running it: queue/task.ts), whose locks are its own;
   * undefined: locks are this process's.
   */
  actingFor: number | undefined;

  get dialect(): Dialect {
    return this.ex.dialect;
  }

  /** Every row of `query`. */
  all<R>(query: Compilable<R>): R[] {
    return this.ex.all<R>(query.compile());
  }

  /** The first row of `query`, or undefined. */
  get<R>(query: Compilable<R>): R | undefined {
    return this.ex.get<R>(query.compile());
  }

  /** Runs the write `query`. */
  run(query: Compilable<unknown>): RunResult {
    return this.ex.run(query.compile());
  }

  /** Opens (creating and migrating as needed) the catalog file at `path`; `keyFile` seals its secrets (default: keyFileOf). */
  static open(path: string, keyFile = keyFileOf(path)): Connection {
    let db: Database.Database;
    try {
      if (!existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // Secrets live here: the file is the operator's only, from its first byte.
        closeSync(openSync(path, 'a', 0o600));
      }
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL: a commit survives a killed ferry whole (it is in the WAL file before the call
      // returns); only an OS crash or power loss can drop the last commits, which FULL would fsync at a
      // cost of 0.5 ms or more each, a fifth of a trivial driver action. See docs/performance.md, "The catalog and the orchestrator".
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 10000');
    } catch (error) {
      throw new FerryError('E_CATALOG', `cannot open the catalog ${path}: ${(error as Error).message}`, {
        hint: 'check the path (--catalog, $FERRY_HOME) and its permissions',
        cause: error,
      });
    }
    const connection = new Connection(path, new SqliteExecutor(db), keyFile, db);
    try {
      connection.migrate();
    } catch (error) {
      if (db.open) db.close();
      throw error;
    }
    return connection;
  }

  /**
   * Opens (migrating as needed) the PostgreSQL catalog at `location`, logged in with `password` (pgpass.ts
   * finds it; `passwordSource` names where, for a refusal's hint). The database must exist (ferry does not
   * create databases). `keyFile` seals its secrets: a file, or a function naming it by the catalog's id (read
   * once the schema is there; secrets.ts: pgKeyFileOf).
   */
  static openPostgres(location: PostgresLocation, password: string | undefined, keyFile: string | ((catalogId: string) => string), passwordSource?: string): Connection {
    let ex: PostgresExecutor;
    try {
      // Discrete fields (clientConfig's), never a connectionString beside a password: pg lets the URL's absent
      // password win. The password as data, not clientConfig's callback: the settings cross to the worker thread.
      const { password: _callback, ...settings } = clientConfig(location, password);
      ex = PostgresExecutor.open(password === undefined ? settings : { ...settings, password }, { name: location.url });
    } catch (error) {
      throw connectError(error, location, password, passwordSource);
    }
    try {
      migratePostgres(ex, location.url);
      const id = ex.get<{ value: string }>({ sql: `SELECT value FROM meta WHERE key = 'catalog_id'`, parameters: [] })?.value ?? '';
      return new Connection(location.url, ex, typeof keyFile === 'function' ? keyFile(id) : keyFile);
    } catch (error) {
      ex.close();
      throw error;
    }
  }

  close(): void {
    this.ex.close();
  }

  /** The schema version the catalog is at (SQLite's user_version; PostgreSQL's schema_migrations). */
  get version(): number {
    if (this.db === undefined) return postgresVersion(this.ex);
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  get inTransaction(): boolean {
    return this.ex.inTransaction;
  }

  /**
   * A record by id (a number, or all digits: names never are) or else by name. A VM's name may have been
   * used by VMs now DONE: it means the one not DONE, else the newest.
   */
  rowByRef(table: 'datastores' | 'images' | 'vms', ref: string | number): Row | undefined {
    const byId = typeof ref === 'number' || /^\d+$/.test(ref) ? this.get(this.q.selectFrom(table).selectAll().where('id', '=', Number(ref))) : undefined;
    if (byId) return byId as Row;
    const byName = this.q.selectFrom(table).selectAll().where('name', '=', String(ref));
    return (table === 'vms' ? this.get(byName.orderBy(sql`state = 'DONE'`).orderBy('id', 'desc').limit(1)) : this.get(byName)) as Row | undefined;
  }

  /** Runs `fn` in one write transaction (on SQLite taken at once, so two writers never deadlock on upgrade); nested, a savepoint. */
  transaction<T>(fn: () => T): T {
    return this.ex.transaction(fn);
  }

  /** Runs `fn` in a transaction that is always rolled back. */
  preview<T>(fn: () => T): T {
    const rollback = Symbol('rollback');
    let result: { value: T } | undefined;
    try {
      this.ex.transaction(() => {
        result = { value: fn() };
        throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    }
    return (result as { value: T }).value;
  }

  /** Migrates the SQLite file (PostgreSQL's migrations are postgres-schema.ts's, run by openPostgres). */
  private migrate(): void {
    const db = this.db as Database.Database;
    const at = this.version;
    if (at > MIGRATIONS.length) {
      db.close();
      throw new FerryError('E_CATALOG', `the catalog ${this.path} is at schema version ${at}, made by a newer ferry (this one knows ${MIGRATIONS.length})`, {
        hint: 'upgrade ferry, or point --catalog / $FERRY_HOME elsewhere',
      });
    }
    if (at === MIGRATIONS.length) return;
    // Off while migrating (it cannot change inside a transaction): rebuilding a table drops the old one, which
    // would otherwise delete the rows that refer to it. Each migration is checked before it commits.
    db.pragma('foreign_keys = OFF');
    try {
      for (let version = at; version < MIGRATIONS.length; version++) {
        db.transaction(() => {
          // Read again under the write lock: another ferry opening the catalog may have applied it meanwhile.
          if (this.version > version) return;
          const migration = MIGRATIONS[version] as Migration;
          if (typeof migration === 'string') db.exec(migration);
          else migration(db, this.secrets);
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new FerryError('E_CATALOG', `migrating the catalog ${this.path} to version ${version + 1} broke ${broken.length} reference(s)`, { hint: 'report it; the catalog is left at the version before' });
          db.pragma(`user_version = ${version + 1}`);
        }).immediate();
      }
    } finally {
      if (db.open) db.pragma('foreign_keys = ON');
    }
  }
}

