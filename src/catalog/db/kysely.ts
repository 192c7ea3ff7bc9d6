/**
 * Kysely for compiling only: a query is written once with its builder and compiled per dialect
 * (`q(executor.dialect).selectFrom('images').selectAll().where('id', '=', 3).compile()` gives {sql, parameters}),
 * and a synchronous executor (executor.ts) runs it. No connection: the driver is Kysely's DummyDriver (its
 * "compile-only" set-up), made to refuse: .execute() on these fails by design; compile and hand it to an executor.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Compilable,
  type Dialect as KyselyDialect,
} from 'kysely';
import type { Dialect, Executor, RunResult } from './executor.js';
import type { Database } from './tables.js';

/** Kysely's DummyDriver, refusing to run: its .execute() would quietly give no rows, hiding a query never run. */
class CompileOnlyDriver extends DummyDriver {
  override acquireConnection(): Promise<never> {
    return Promise.reject(new Error('the catalog\'s Kysely compiles only: run query.compile() on an executor (executor.ts)'));
  }
}

function compileOnly(dialect: Dialect): KyselyDialect {
  return dialect === 'sqlite'
    ? { createAdapter: () => new SqliteAdapter(), createDriver: () => new CompileOnlyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() }
    : { createAdapter: () => new PostgresAdapter(), createDriver: () => new CompileOnlyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() };
}

/** The compile-only builders, made once each: a builder holds no state between queries. */
const builders: Record<Dialect, Kysely<Database>> = {
  sqlite: new Kysely<Database>({ dialect: compileOnly('sqlite') }),
  postgres: new Kysely<Database>({ dialect: compileOnly('postgres') }),
};

/** The query builder of `dialect` (of an executor: q(executor.dialect)). */
export function q(dialect: Dialect): Kysely<Database> {
  return builders[dialect];
}

/** Compiles `query` and returns its rows on `executor`: all(ex, q(ex.dialect).selectFrom('vms').selectAll()). */
export function all<R>(executor: Executor, query: Compilable<R>): R[] {
  return executor.all<R>(query.compile());
}

/** Compiles `query` and returns its first row on `executor`, or undefined. */
export function get<R>(executor: Executor, query: Compilable<R>): R | undefined {
  return executor.get<R>(query.compile());
}

/** Compiles and runs the write `query` on `executor`. */
export function run(executor: Executor, query: Compilable<unknown>): RunResult {
  return executor.run(query.compile());
}
