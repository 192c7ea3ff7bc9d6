/**
 * A synchronous executor of compiled queries, one per catalog store. Queries are written once with Kysely and
 * only compiled (kysely.ts); an executor runs the result on its store and returns plain rows that look the same
 * on both: numbers for integers (PostgreSQL's bigint included), 0/1 flags, text times, Buffers for blobs.
 * Synchronous so the catalog (CatalogStore) keeps its synchronous interface on either store.
 */

export type Dialect = 'sqlite' | 'postgres';

/** What a Kysely CompiledQuery has that an executor needs (a hand-written {sql, parameters} does too). */
export interface Query {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export interface RunResult {
  /** Rows inserted, updated or deleted (PostgreSQL's row count; SQLite's changes). */
  changes: number;
  /**
   * The id of what was inserted: the `id` of the first row a RETURNING clause gave (both stores), else for an
   * INSERT on SQLite its last rowid; undefined on PostgreSQL without `returning('id')`. Portable code returns it.
   */
  insertId?: number;
}

export interface Executor {
  readonly dialect: Dialect;
  /** Every row of `query`. */
  all<R = Record<string, unknown>>(query: Query): R[];
  /** The first row of `query`, or undefined. */
  get<R = Record<string, unknown>>(query: Query): R | undefined;
  /** Runs a write. */
  run(query: Query): RunResult;
  /** Runs a script of statements without parameters (a migration's DDL). */
  exec(sql: string): void;
  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it throws (the error is thrown
   * on). A call inside another joins it through a SAVEPOINT: its own failure rolls back its part only, and
   * nothing is committed until the outermost call returns. `fn` must be synchronous (a promise is refused).
   * SQLite takes the write lock at once (BEGIN IMMEDIATE); PostgreSQL runs at READ COMMITTED, so a
   * read-then-write that must not interleave with another process takes a row lock (FOR UPDATE) or an
   * advisory lock.
   */
  transaction<T>(fn: () => T): T;
  readonly inTransaction: boolean;
  close(): void;
}

/**
 * A parameter as both stores bind it: booleans as 1/0 (the flag columns), Dates as ISO-8601 text (the time
 * columns), undefined as NULL. bigint stays for SQLite (better-sqlite3 binds it exactly); postgres-executor.ts
 * sends it as text.
 */
export function bindable(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** A transaction function's result, refused when it is a promise: the work would run after the commit. */
export function syncResult<T>(result: T): T {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError('a catalog transaction must be synchronous: its function returned a promise');
  }
  return result;
}

/** The `id` of a RETURNING row, when it has one. */
export function returnedId(row: unknown): number | undefined {
  const id = (row as { id?: unknown } | undefined)?.id;
  return typeof id === 'number' ? id : typeof id === 'bigint' ? Number(id) : undefined;
}
