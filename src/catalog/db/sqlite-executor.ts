/**
 * The executor on SQLite: better-sqlite3 runs compiled queries synchronously, each statement prepared once per
 * connection (keyed by its SQL text: preparing costs more than running most of them). Opening, pragmas and
 * migrations stay with connection.ts; this takes an open database.
 */
import Database from 'better-sqlite3';
import { bindable, returnedId, syncResult, type Executor, type Query, type RunResult } from './executor.js';

export class SqliteExecutor implements Executor {
  readonly dialect = 'sqlite' as const;

  /** Statements by their SQL. */
  private readonly statements = new Map<string, Database.Statement>();

  /** One transaction wrapper for every call (better-sqlite3 builds closures per db.transaction()); nested, a savepoint. */
  private readonly immediate: (fn: () => unknown) => unknown;

  constructor(readonly db: Database.Database) {
    this.immediate = db.transaction((fn: () => unknown) => syncResult(fn())).immediate;
  }

  /** An executor on the catalog file at `path`, already created and migrated (Connection.open does both). */
  static open(path: string): SqliteExecutor {
    const db = new Database(path, { fileMustExist: true });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    return new SqliteExecutor(db);
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  all<R = Record<string, unknown>>(query: Query): R[] {
    const statement = this.statement(query.sql);
    const parameters = query.parameters.map(bindable);
    // A statement without rows gives none, as on PostgreSQL (better-sqlite3 would refuse all() on it).
    if (!statement.reader) {
      statement.run(parameters);
      return [];
    }
    return statement.all(parameters) as R[];
  }

  get<R = Record<string, unknown>>(query: Query): R | undefined {
    const statement = this.statement(query.sql);
    const parameters = query.parameters.map(bindable);
    if (!statement.reader) {
      statement.run(parameters);
      return undefined;
    }
    return statement.get(parameters) as R | undefined;
  }

  run(query: Query): RunResult {
    const statement = this.statement(query.sql);
    const parameters = query.parameters.map(bindable);
    if (statement.reader) {
      // INSERT … RETURNING: the rows are the result; one per row changed.
      const rows = statement.all(parameters);
      const insertId = returnedId(rows[0]);
      return insertId === undefined ? { changes: rows.length } : { changes: rows.length, insertId };
    }
    const info = statement.run(parameters);
    const result: RunResult = { changes: info.changes };
    if (/^\s*insert\b/i.test(query.sql)) result.insertId = Number(info.lastInsertRowid);
    return result;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  transaction<T>(fn: () => T): T {
    return this.immediate(fn) as T;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
