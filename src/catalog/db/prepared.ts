/**
 * Queries compiled once per dialect and run many times: for statements on hot paths (a journal record, a lock,
 * a sample per driver action), where compiling with Kysely on every call would cost more than SQLite running it.
 * The query is built with placeholders, `arg<T>(n)`, standing for the n-th value of each call; compiled on first
 * use per dialect, its parameters are then filled by position:
 *
 *   const lockRow = prepared((db) => db.selectFrom('locks').selectAll().where('subject', '=', arg<string>(0)));
 *   lockRow.get(executor, subject);
 *
 * A placeholder may only stand where Kysely takes a value (it becomes one bound parameter), never for a column,
 * a table or a list of values whose length changes: those change the SQL, so they are another prepared query.
 */
import type { Compilable, Kysely } from 'kysely';
import type { Dialect, Executor, Query, RunResult } from './executor.js';
import { q } from './kysely.js';
import type { Database } from './tables.js';

/** A placeholder's value, taken from a call's arguments by index. */
class Arg {
  constructor(readonly index: number) {}
}

/** A placeholder for the `index`-th argument of each call (typed as the value it stands for). */
export function arg<T>(index: number): T {
  return new Arg(index) as unknown as T;
}

interface Compiled {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** [position in parameters, argument index] of each placeholder. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

export class Prepared<R> {
  private readonly compiled: Partial<Record<Dialect, Compiled>> = {};

  constructor(private readonly build: (db: Kysely<Database>) => Compilable<R>) {}

  /** The query for `dialect` with `args` in its placeholders. */
  query(dialect: Dialect, args: readonly unknown[]): Query {
    const compiled = (this.compiled[dialect] ??= compile(this.build(q(dialect))));
    const parameters = compiled.parameters.slice();
    for (const [position, index] of compiled.slots) parameters[position] = args[index];
    return { sql: compiled.sql, parameters };
  }

  all(executor: Executor, ...args: unknown[]): R[] {
    return executor.all<R>(this.query(executor.dialect, args));
  }

  get(executor: Executor, ...args: unknown[]): R | undefined {
    return executor.get<R>(this.query(executor.dialect, args));
  }

  run(executor: Executor, ...args: unknown[]): RunResult {
    return executor.run(this.query(executor.dialect, args));
  }
}

function compile(query: Compilable<unknown>): Compiled {
  const { sql, parameters } = query.compile();
  const slots: Array<readonly [number, number]> = [];
  parameters.forEach((value, position) => {
    if (value instanceof Arg) slots.push([position, value.index]);
  });
  return { sql, parameters, slots };
}

/** A query compiled once per dialect; `arg<T>(n)` marks where each call's n-th argument goes. */
export function prepared<R>(build: (db: Kysely<Database>) => Compilable<R>): Prepared<R> {
  return new Prepared(build);
}
