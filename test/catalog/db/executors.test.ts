/**
 * The synchronous executors on a real SQLite catalog file and a real PostgreSQL 15: the same Kysely-written
 * queries give the same rows on both, ids only grow, transactions roll back, errors keep their codes.
 */
import { isMainThread } from 'node:worker_threads';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { Executor } from '../../../src/catalog/db/executor.js';
import { all, get, q, run } from '../../../src/catalog/db/kysely.js';
import { PostgresError } from '../../../src/catalog/db/postgres-executor.js';
import { SqliteExecutor } from '../../../src/catalog/db/sqlite-executor.js';
import { fresh } from '../seed.js';
import { pgExecutor } from '../../helpers/pg-executor.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';

let server: TestPostgres;
t.before(async () => {
  server = await startPostgres(t);
});

/** A SQLite catalog made by the real Catalog (its migrations), and an executor on the file. */
function sqliteExecutor(t: Test): SqliteExecutor {
  const { path } = fresh(t, 'sqlite');
  const executor = SqliteExecutor.open(path);
  t.teardown(() => executor.close());
  return executor;
}

/** Both stores, each fresh at the current schema version. */
async function both(t: Test): Promise<Executor[]> {
  return [sqliteExecutor(t), await pgExecutor(t, server)];
}

const AT = '2025-01-02T03:04:05.678Z';

/** The next id of `table` from id_sequences, as the catalog's inserts take it (schema 4). */
function nextId(ex: Executor, table: 'datastores' | 'images' | 'vms' | 'alerts') {
  return q(ex.dialect).selectFrom('id_sequences').select(sql<number>`last + 1`.as('next')).where('name', '=', table);
}

/** A day of writes and reads through Kysely; what each read gave, to compare across stores. */
function workload(ex: Executor): Record<string, unknown> {
  const db = q(ex.dialect);
  const seen: Record<string, unknown> = {};
  const insertDs = (name: string, type: 'IMAGE' | 'SYSTEM') =>
    run(ex, db.insertInto('datastores').values({ id: nextId(ex, 'datastores'), name, type, ds_mad: 'fs', tm_mad: 'shared', base_path: `/var/lib/one/datastores/${name}`, created_at: AT }));
  seen.dsInserts = [insertDs('images', 'IMAGE'), insertDs('system', 'SYSTEM')].map((result) => result.changes);
  run(ex, db.updateTable('datastores').set({ total_mb: 5_000_000_000, free_mb: 4_000_000_000, used_mb: 1, monitored_at: AT }).where('name', '=', 'images'));
  seen.datastores = all(ex, db.selectFrom('datastores').selectAll().orderBy('id'));

  // Image ids taken with UPDATE … RETURNING: the row lock serializes concurrent inserters on PostgreSQL.
  const takeImageId = () => get(ex, db.updateTable('id_sequences').set({ last: sql`last + 1` }).where('name', '=', 'images').returning('last'))?.last as number;
  const insertImage = (name: string, persistent: boolean) =>
    run(ex, db.insertInto('images').values({ id: takeImageId(), name, datastore_id: 1, size_mb: 2048, format: 'qcow2', persistent: persistent ? 1 : 0, state: 'LOCKED', created_at: AT, updated_at: AT }).returning('id'));
  const first = insertImage('alpine', false);
  const second = insertImage('debian', true);
  seen.imageInsertIds = [first.insertId, second.insertId];
  run(ex, db.updateTable('images').set({ state: 'READY', source: '/var/lib/one/datastores/1/abc', updated_at: AT }).where('id', '=', second.insertId as number));
  // Booleans bound as flags: where persistent = true finds the 1.
  seen.persistent = all(ex, db.selectFrom('images').select(['id', 'name']).where('persistent', '=', true as unknown as 1));
  seen.deleted = run(ex, db.deleteFrom('images').where('id', '=', second.insertId as number)).changes;
  const third = insertImage('ubuntu', false);
  seen.afterDelete = third.insertId;
  seen.images = all(ex, db.selectFrom('images').selectAll().orderBy('id'));
  seen.imageCount = get(ex, db.selectFrom('images').select((eb) => eb.fn.countAll<number>().as('n')));

  const entry = (step: number, ok: boolean) =>
    run(
      ex,
      db.insertInto('journal').values({ at: AT, subject: 'image:1', operation: 'create', step, kind: 'ds', driver: 'fs', action: 'cp', args: '["a"]', ok: ok ? 1 : 0, exit_code: ok ? 0 : 1, duration_ms: 12.5, message: null }).returning('id'),
    ).insertId;
  seen.journalIds = [entry(0, true), entry(1, false), entry(2, true)];
  seen.journal = all(ex, db.selectFrom('journal').selectAll().where('subject', '=', 'image:1').where('id', '>', 1).orderBy('id', 'desc').limit(10));
  seen.failed = all(ex, db.selectFrom('journal').select(['id', 'ok']).where('ok', '=', 0));

  const lock = (pid: number, operation: string) =>
    run(
      ex,
      db
        .insertInto('locks')
        .values({ subject: 'vm:7', owner_pid: pid, owner_host: 'fe1', owner_started: '123', operation, since: AT })
        .onConflict((oc) => oc.column('subject').doUpdateSet((eb) => ({ owner_pid: eb.ref('excluded.owner_pid'), operation: eb.ref('excluded.operation') }))),
    ).changes;
  seen.lockWrites = [lock(100, 'deploy'), lock(200, 'migrate')];
  seen.locks = all(ex, db.selectFrom('locks').selectAll());
  seen.unlocked = run(ex, db.deleteFrom('locks').where('subject', '=', 'vm:7').where('owner_pid', '=', 200)).changes;
  seen.locksAfter = all(ex, db.selectFrom('locks').selectAll());

  // A join, text ordering by code point ('Z' before 'a'), and a blob.
  run(ex, db.insertInto('datastores').values({ id: nextId(ex, 'datastores'), name: 'Zeta', type: 'FILE', tm_mad: 'shared', base_path: '/z', created_at: AT }));
  seen.byName = all(ex, db.selectFrom('datastores').select('name').orderBy('name'));
  seen.joined = all(ex, db.selectFrom('images').innerJoin('datastores', 'datastores.id', 'images.datastore_id').select(['images.name as image', 'datastores.name as datastore']).orderBy('images.id'));
  const series = run(ex, db.insertInto('history_series').values({ datastore_id: 1, attribute: 'free_mb' }).returning('id')).insertId as number;
  run(ex, db.insertInto('history_rollups').values({ day: 20000, series_id: series, hours: Buffer.from([0, 1, 2, 255]) }));
  seen.rollup = get(ex, db.selectFrom('history_rollups').selectAll());
  seen.sequences = all(ex, db.selectFrom('id_sequences').selectAll().orderBy('name'));
  return seen;
}

t.test('the same Kysely queries give the same rows on SQLite and PostgreSQL', async (t) => {
  t.ok(isMainThread, 'called from the main thread, synchronously');
  const [lite, pg] = (await both(t)) as [Executor, Executor];
  const fromLite = workload(lite);
  const fromPg = workload(pg);
  t.same(fromPg, fromLite, 'every result equal');
  t.strictSame(fromPg.datastores, fromLite.datastores, 'datastore rows strictly equal (numbers, not text, for bigint)');
  t.equal((fromPg.datastores as Array<{ total_mb: unknown }>)[0]?.total_mb, 5_000_000_000, 'a bigint past 2^32 comes back a number');
  t.ok(Buffer.isBuffer((fromPg.rollup as { hours: unknown }).hours), 'bytea comes back a Buffer, as a SQLite blob does');
  t.same(fromLite.imageInsertIds, [1, 2]);
  t.equal(fromLite.afterDelete, 3, 'a deleted image’s id is not given again');
  t.same(fromLite.journalIds, [1, 2, 3], 'journal ids grow');
  t.same(fromLite.lockWrites, [1, 1]);
  t.same(fromLite.byName, [{ name: 'Zeta' }, { name: 'images' }, { name: 'system' }], 'text sorts by code point');
});

t.test('ids only grow: past deleted rows and past an id given explicitly', async (t) => {
  for (const ex of await both(t)) {
    const db = q(ex.dialect);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      run(ex, db.insertInto('datastores').values({ id: nextId(ex, 'datastores'), name: `ds${i}`, type: 'IMAGE', tm_mad: 'shared', base_path: '/x', created_at: AT }));
      const last = get(ex, db.selectFrom('datastores').select('id').orderBy('id', 'desc').limit(1))?.id as number;
      ids.push(last);
      run(ex, db.deleteFrom('datastores').where('id', '=', last));
    }
    t.same(ids, [1, 2, 3, 4, 5], `${ex.dialect}: each new datastore after the deleted one`);
    run(ex, db.insertInto('datastores').values({ id: 100, name: 'given', type: 'IMAGE', tm_mad: 'shared', base_path: '/x', created_at: AT }));
    run(ex, db.insertInto('datastores').values({ id: nextId(ex, 'datastores'), name: 'after', type: 'IMAGE', tm_mad: 'shared', base_path: '/x', created_at: AT }));
    t.same(all(ex, db.selectFrom('datastores').select('id').orderBy('id')), [{ id: 100 }, { id: 101 }], `${ex.dialect}: past an explicit id`);
    const journal: number[] = [];
    for (let i = 0; i < 3; i++) {
      journal.push(run(ex, db.insertInto('journal').values({ at: AT, subject: 'vm:1', operation: 'x', step: i, kind: 'tm', driver: 'd', action: 'a', args: '[]', ok: 1, exit_code: 0, duration_ms: 1, message: null }).returning('id')).insertId as number);
    }
    t.ok(journal.every((id, i) => i === 0 || id > (journal[i - 1] as number)), `${ex.dialect}: journal ids grow: ${journal.join(' ')}`);
  }
});

t.test('a transaction rolls back on throw; a nested one rolls back its own part only', async (t) => {
  for (const ex of await both(t)) {
    const db = q(ex.dialect);
    const host = (name: string) => run(ex, db.insertInto('hosts').values({ name, transport: 'local', created_at: AT }));
    const names = () => all(ex, db.selectFrom('hosts').select('name').orderBy('name')).map((row) => row.name);
    t.throws(
      () =>
        ex.transaction(() => {
          host('ghost');
          t.same(names(), ['ghost'], `${ex.dialect}: visible inside`);
          t.ok(ex.inTransaction);
          throw new Error('boom');
        }),
      /boom/,
      `${ex.dialect}: the error is thrown on`,
    );
    t.notOk(ex.inTransaction);
    t.same(names(), [], `${ex.dialect}: rolled back`);

    const result = ex.transaction(() => {
      host('outer');
      t.throws(() => ex.transaction(() => {
        host('inner');
        throw new Error('inner fails');
      }));
      ex.transaction(() => host('inner-ok'));
      return 'done';
    });
    t.equal(result, 'done', `${ex.dialect}: the value returned`);
    t.same(names(), ['inner-ok', 'outer'], `${ex.dialect}: the failed savepoint only is undone`);

    t.throws(() => ex.transaction(() => Promise.resolve(host('async'))), /synchronous/, `${ex.dialect}: an async function is refused`);
    t.same(names(), ['inner-ok', 'outer'], `${ex.dialect}: and its write rolled back`);
  }
});

t.test('a unique violation is an error with its code: SQLSTATE 23505 on PostgreSQL', async (t) => {
  const [lite, pg] = (await both(t)) as [Executor, Executor];
  const insert = (ex: Executor) => run(ex, q(ex.dialect).insertInto('datastores').values({ id: nextId(ex, 'datastores'), name: 'dup', type: 'IMAGE', tm_mad: 'shared', base_path: '/x', created_at: AT }));
  insert(lite);
  insert(pg);
  t.throws(() => insert(lite), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  let error: unknown;
  try {
    insert(pg);
  } catch (caught) {
    error = caught;
  }
  t.type(error, PostgresError);
  t.match(error, { code: '23505', constraint: 'datastores_name_key', table: 'datastores', message: /duplicate key value violates unique constraint "datastores_name_key"/ });
  t.match((error as Error).stack, /executors\.test\.ts/, 'the stack is the caller’s');
  t.throws(() => pg.all({ sql: 'SELECT * FROM nowhere', parameters: [] }), { code: '42P01' }, 'an unknown table: 42P01');
  t.throws(() => run(pg, q('postgres').insertInto('images').values({ id: 9, name: 'orphan', datastore_id: 42, state: 'READY', created_at: AT, updated_at: AT })), { code: '23503' }, 'a missing reference: 23503');
  run(pg, q('postgres').insertInto('images').values({ id: 9, name: 'checked', datastore_id: 1, state: 'READY', created_at: AT, updated_at: AT }));
  t.throws(() => run(pg, q('postgres').updateTable('images').set({ state: 'BOGUS' as 'READY' }).where('id', '=', 9)), { code: '23514', constraint: 'images_state_check' }, 'a CHECK: 23514');
});

t.test('PostgreSQL: a transaction whose failed statement was caught is not committed', async (t) => {
  const pg = await pgExecutor(t, server);
  const db = q('postgres');
  t.throws(
    () =>
      pg.transaction(() => {
        run(pg, db.insertInto('hosts').values({ name: 'kept?', transport: 'local', created_at: AT }));
        try {
          pg.all({ sql: 'SELECT * FROM nowhere', parameters: [] });
        } catch {
          // Swallowed: PostgreSQL has aborted the transaction all the same.
        }
      }),
    { code: '25P02' },
  );
  t.same(all(pg, db.selectFrom('hosts').select('name')), [], 'nothing committed');
  t.notOk(pg.inTransaction);
  t.same(all(pg, db.selectFrom('hosts').select('name')), [], 'and the connection works on');
});

t.test('parameters: booleans, Dates, bigints and undefined bind the same on both', async (t) => {
  for (const ex of await both(t)) {
    const row = ex.get({ sql: ex.dialect === 'sqlite' ? 'SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e' : 'SELECT $1::int AS a, $2::int AS b, $3::text AS c, $4::bigint AS d, $5::text AS e', parameters: [true, false, new Date(AT), 9_007_199_254_740_991n, undefined] });
    t.same(row, { a: 1, b: 0, c: AT, d: 9_007_199_254_740_991, e: null }, ex.dialect);
  }
  const pg = await pgExecutor(t, server);
  t.same(pg.get({ sql: 'SELECT $1::bigint AS big, 1.5::numeric AS n, 2::smallint AS s', parameters: [2n ** 60n] }), { big: String(2n ** 60n), n: 1.5, s: 2 }, 'past 2^53 a bigint stays exact, as text');
});

t.test('compile-only Kysely: the right SQL per dialect, no connection', async (t) => {
  const query = (dialect: 'sqlite' | 'postgres') => q(dialect).selectFrom('images').selectAll().where('id', '=', 3).compile();
  t.equal(query('sqlite').sql, 'select * from "images" where "id" = ?');
  t.equal(query('postgres').sql, 'select * from "images" where "id" = $1');
  t.same(query('postgres').parameters, [3]);
  await t.rejects(q('sqlite').selectFrom('images').selectAll().execute(), /compiles only/, 'executing through Kysely is refused: executors run queries');
});

t.test('PostgreSQL: a connection the server ended is taken up again by the next call; the others go on', async (t) => {
  const victim = await pgExecutor(t, server);
  const other = await pgExecutor(t, server);
  const session = victim.sessionId();
  const pid = victim.get<{ pid: number }>({ sql: 'SELECT pg_backend_pid() AS pid', parameters: [] })?.pid;
  t.equal(session.split('@')[0], String(pid), 'sessionId begins with the backend pid');
  t.same(other.get({ sql: 'SELECT pg_terminate_backend($1) AS ended', parameters: [pid] }), { ended: true });
  t.same(victim.get({ sql: 'SELECT 1 AS one', parameters: [] }), { one: 1 }, 'the next call connects again and runs');
  t.not(victim.sessionId(), session, 'on a new session');
  t.same(other.get({ sql: 'SELECT 1 AS one', parameters: [] }), { one: 1 }, 'the worker serves the other connections');
});
