/**
 * The PostgreSQL executor against a real PostgreSQL 15 of this test's own that restarts, stops, and ends its
 * sessions: a lost connection is taken up again outside a transaction (waiting for the server), fails a
 * transaction whole (nothing half-written), never runs again a statement that may have run, and every wait
 * is bounded (lock_timeout is E_BUSY, statement_timeout and an absent server E_CATALOG).
 */
import t, { type Test } from 'tap';
import { PostgresExecutor, type PostgresSessionOptions } from '../../../src/catalog/db/postgres-executor.js';
import { thrown } from '../../helpers/fixtures.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { comeBackLater, terminator } from './pg-outage.js';

let server: TestPostgres;
t.before(async () => {
  server = await startPostgres(t, { own: true });
});

/** An executor on a new database of `server` with a table `notes` (or on `database`, as it is), closed on teardown. */
async function open(t: Test, options: PostgresSessionOptions = {}, on?: { database?: string; applicationName?: string }): Promise<{ ex: PostgresExecutor; database: string }> {
  const database = on?.database ?? decodeURIComponent(new URL(await server.createDatabase()).pathname.slice(1));
  const settings = { host: server.host, port: server.port, user: server.user, database, password: server.password, application_name: on?.applicationName ?? 'ferry-test' };
  const ex = PostgresExecutor.open(settings, options);
  t.teardown(() => ex.close());
  if (on?.database === undefined) ex.exec('CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)');
  return { ex, database };
}

const note = (ex: PostgresExecutor, id: number, body = `note ${id}`) => ex.run({ sql: 'INSERT INTO notes (id, body) VALUES ($1, $2)', parameters: [id, body] });
const notes = (ex: PostgresExecutor) => ex.all<{ id: number }>({ sql: 'SELECT id FROM notes ORDER BY id', parameters: [] }).map((row) => row.id);
const setting = (ex: PostgresExecutor, name: string) => ex.get<Record<string, string>>({ sql: `SHOW ${name}`, parameters: [] })?.[name];

t.test('the session is bounded: lock_timeout 30 s and statement_timeout 5 min, again after a reconnection', async (t) => {
  const { ex } = await open(t);
  t.equal(setting(ex, 'lock_timeout'), '30s');
  t.equal(setting(ex, 'statement_timeout'), '5min');
  t.equal(setting(ex, 'application_name'), 'ferry-test');
  const before = ex.sessionId();
  t.match(before, /^\d+@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'sessionId: backend pid and start');
  t.equal(ex.sessionId(), before, 'the same while the connection lasts');

  await server.restart();
  t.same(notes(ex), [], 'the first call after a restart works');
  t.not(ex.sessionId(), before, 'on a new session');
  t.equal(setting(ex, 'lock_timeout'), '30s', 'the settings came back with it');
  t.equal(setting(ex, 'statement_timeout'), '5min');
  t.equal(setting(ex, 'application_name'), 'ferry-test');

  const { ex: short } = await open(t, { lockTimeoutMs: 1500, statementTimeoutMs: 60_000 });
  t.equal(setting(short, 'lock_timeout'), '1500ms');
  t.equal(setting(short, 'statement_timeout'), '1min');
  t.throws(() => PostgresExecutor.open({ host: server.host }, { statementTimeoutMs: 600_000 }), { name: 'RangeError', message: 'statementTimeoutMs must be a whole number of milliseconds from 1 to 300000, not 600000' });
});

t.test('the server down between calls: the next call waits for it and goes on', async (t) => {
  const { ex } = await open(t);
  note(ex, 1);
  const before = ex.sessionId();
  const outage = await comeBackLater(t, server, 1000);
  // This blocks the thread until the server is back (a shell starts it a second from now).
  note(ex, 2);
  t.same(notes(ex), [1, 2], 'the write waited for the server and was made once');
  t.not(ex.sessionId(), before, 'on a new session');
  await outage.settle();
  t.same(ex.transaction(() => (note(ex, 3), notes(ex))), [1, 2, 3], 'transactions work on');
});

t.test('the server gone for longer than the bound: E_CATALOG naming the URL, never the password; then on again', async (t) => {
  const { ex, database } = await open(t, { reconnectWithinMs: 1000 });
  note(ex, 1);
  await server.stop();
  const error = thrown(() => notes(ex));
  const url = `postgres://${server.user}@${server.host}:${server.port}/${database}`;
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, `the connection to the catalog ${url} was lost (`);
  t.match(error.message, /PostgreSQL did not come back within 1 s: .*(ECONNREFUSED|refused)/);
  t.match(error.hint, `pg_isready -h ${server.host} -p ${server.port}`);
  const text = [error.message, error.hint, String(error.cause), JSON.stringify(error), error.stack].join('\n');
  t.notOk(text.includes(server.password), 'no password anywhere');
  t.notOk(ex.inTransaction);
  t.throws(() => ex.transaction(() => note(ex, 2)), { code: 'E_CATALOG' }, 'the next call waits (and fails) again, BEGIN first');

  await server.restart();
  t.same(notes(ex), [1], 'back: the next call connects again; nothing of the failed transaction');
});

t.test('connecting again refused for a reason waiting does not mend: E_CATALOG at once, without the password', async (t) => {
  const { ex: admin, database } = await open(t);
  admin.exec("CREATE ROLE changing LOGIN PASSWORD 'first-Pa55'; GRANT ALL ON notes TO changing");
  const ex = PostgresExecutor.open({ host: server.host, port: server.port, user: 'changing', database, password: 'first-Pa55' });
  t.teardown(() => ex.close());
  t.same(notes(ex), []);
  admin.exec("ALTER ROLE changing PASSWORD 'second-Pa55'");
  admin.get({ sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'changing'", parameters: [] });
  const error = thrown(() => notes(ex));
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, /^the connection to the catalog postgres:\/\/changing@.* was lost \(.*\), and connecting again failed: password authentication failed for user "changing"$/);
  t.match(error.hint, /check the catalog URL, the password/);
  t.notOk([error.message, error.hint, String(error.cause), JSON.stringify(error)].join('\n').includes('first-Pa55'), 'no password');
});

t.test('the session terminated inside a transaction: E_CATALOG, rolled back whole, the next call reconnects', async (t) => {
  const { ex, database } = await open(t, {}, { applicationName: 'victim' });
  const { ex: other } = await open(t, {}, { database });
  const kill = () => other.get({ sql: "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'victim'", parameters: [] });

  note(ex, 1);
  const error = thrown(() =>
    ex.transaction(() => {
      note(ex, 2);
      t.same(kill(), { ended: true });
      note(ex, 3);
    }),
  );
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, /^the connection to the catalog postgres:\/\/.* was lost \(.*\): the transaction was rolled back, nothing of it was written$/);
  t.match(error.hint, /connects again/);
  t.notOk(ex.inTransaction);
  t.same(notes(other), [1], 'nothing of the transaction was written');
  t.same(notes(ex), [1], 'the next call reconnects and works');

  // The transaction's function catches the failure and goes on: every call after it fails too, COMMIT included.
  const ids: number[] = [];
  const swallowed = thrown(() =>
    ex.transaction(() => {
      note(ex, 4);
      kill();
      try {
        note(ex, 5);
      } catch {
        ids.push(5);
      }
      try {
        note(ex, 6);
      } catch {
        ids.push(6);
      }
      return 'done';
    }),
  );
  t.same(ids, [5, 6], 'each call after the loss failed, none ran on a new connection');
  t.equal(swallowed.code, 'E_CATALOG', 'and the transaction was not committed');
  t.match(swallowed.message, /rolled back/);
  t.same(notes(other), [1], 'nothing half-written');
});

t.test('a statement out when its session ends: a write is not run again (outcome unknown), a read is', async (t) => {
  const { ex, database } = await open(t);
  // A trigger that waits for an advisory lock: the statement is out, and waits, when the terminator ends it.
  ex.exec(`CREATE FUNCTION wait_for_lock() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$;
    CREATE TRIGGER waits BEFORE INSERT ON notes FOR EACH ROW WHEN (NEW.body = 'wait') EXECUTE FUNCTION wait_for_lock()`);

  let killer = await terminator(t, server, database, 4242);
  const write = thrown(() => note(ex, 1, 'wait'));
  await killer.done;
  t.equal(write.code, 'E_CATALOG');
  t.match(write.message, /its connection was lost \(.*\), so whether the statement \(insert into notes .*\) was written is not known/i);
  t.match(write.hint, /look at the catalog/);
  t.same(notes(ex), [], 'the next call reconnects; the insert was not run again');

  const session = ex.sessionId();
  killer = await terminator(t, server, database, 4242);
  t.same(ex.get({ sql: 'SELECT 1 AS one FROM pg_advisory_xact_lock(4242)', parameters: [] }), { one: 1 }, 'a read ended the same way is run again');
  await killer.done;
  t.not(ex.sessionId(), session, 'on a new connection');

  // Deferred to COMMIT: the connection lost while committing.
  ex.exec(`CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.body = 'commit') EXECUTE FUNCTION wait_for_lock()`);
  killer = await terminator(t, server, database, 4242);
  const commit = thrown(() => ex.transaction(() => note(ex, 2, 'commit')));
  await killer.done;
  t.equal(commit.code, 'E_CATALOG');
  t.match(commit.message, /the connection was lost while it committed \(.*\), so whether the transaction was written is not known/);
  t.notOk(ex.inTransaction);
  t.same(notes(ex), [], 'the next call works (the server did roll it back)');
});

t.test('a row lock held past lock_timeout: E_BUSY naming the statement that waited', async (t) => {
  const { ex: holder, database } = await open(t);
  const { ex: waiter } = await open(t, { lockTimeoutMs: 300 }, { database });
  note(holder, 1);
  holder.transaction(() => {
    holder.run({ sql: 'UPDATE notes SET body = $1 WHERE id = 1', parameters: ['held'] });
    // The same process, the same thread: without lock_timeout this call would never return.
    const busy = thrown(() => waiter.run({ sql: 'UPDATE notes SET body = $1 WHERE id = 1', parameters: ['waited'] }));
    t.equal(busy.code, 'E_BUSY');
    t.match(busy.message, /is busy: a statement waited 0\.3 s for a lock another session holds, and gave up \(UPDATE notes SET body = \$1 WHERE id = 1\)/);
    t.match(busy.hint, /pg_stat_activity/);
    t.match(busy.cause, { code: '55P03' });
  });
  t.same(waiter.get({ sql: 'SELECT body FROM notes', parameters: [] }), { body: 'held' }, 'the waiter works on');
  t.throws(() => waiter.transaction(() => holder.transaction(() => {
    holder.run({ sql: 'UPDATE notes SET body = $1 WHERE id = 1', parameters: ['again'] });
    waiter.run({ sql: 'UPDATE notes SET body = $1 WHERE id = 1', parameters: ['waited'] });
  })), { code: 'E_BUSY' }, 'inside a transaction too, rolled back');
  t.notOk(waiter.inTransaction);
});

t.test('a statement past statement_timeout: E_CATALOG, cancelled', async (t) => {
  const { ex } = await open(t, { statementTimeoutMs: 200 });
  const error = thrown(() => ex.get({ sql: 'SELECT pg_sleep(5)', parameters: [] }));
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, /a statement ran past 0\.2 s and PostgreSQL cancelled it \(SELECT pg_sleep\(5\)\)/);
  t.same(notes(ex), [], 'the connection works on');
});

t.test('inputs: a wrong figure is refused naming it', async (t) => {
  t.throws(() => PostgresExecutor.open({ host: server.host }, { lockTimeoutMs: 0 }), { name: 'RangeError', message: 'lockTimeoutMs must be a whole number of milliseconds, at least 1, not 0' });
  t.throws(() => PostgresExecutor.open({ host: server.host }, { reconnectWithinMs: 1.5 }), { message: 'reconnectWithinMs must be a whole number of milliseconds, at least 1, not 1.5' });
});
