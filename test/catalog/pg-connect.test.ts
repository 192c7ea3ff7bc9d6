/**
 * Connecting to a PostgreSQL catalog, against a real PostgreSQL 15: each
 * refusal names the catalog URL and never the password, wherever the text
 * goes (message, hint, cause, stack, inspect, JSON, the process's own output).
 */
import { createServer, type Socket } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { parsePostgresUrl } from '../../src/catalog/location.js';
import { findPassword } from '../../src/catalog/pgpass.js';
import { connectCheck, connectError } from '../../src/catalog/pg/connect.js';
import { FerryError } from '../../src/errors.js';
import { tmpDir } from '../helpers/fixtures.js';
import { startPostgres, timings } from '../helpers/postgres.js';

/** Every string the failure of `work` produces, with what the process wrote to stdout and stderr meanwhile. */
async function failureText(work: () => Promise<unknown>): Promise<{ error: FerryError; text: string }> {
  const written: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (originals[streams.indexOf(stream)] as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
  try {
    await work();
  } catch (error) {
    if (!(error instanceof FerryError)) throw error;
    const cause = error.cause as Error | undefined;
    const text = [error.message, error.hint ?? '', String(cause), cause?.stack ?? '', error.stack ?? '', inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error), ...written].join('\n');
    return { error, text };
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i] as typeof stream.write));
  }
  throw new Error('expected the connection to fail');
}

t.test('a real server: the right password, from PGPASSWORD or a pgpass file, connects', async (t) => {
  const server = await startPostgres(t);
  t.comment(`PostgreSQL start-up: initdb ${Math.round(timings.initdbMs ?? 0)} ms, pg_ctl start ${Math.round(timings.startMs ?? 0)} ms (shared: ${server.shared})`);
  const location = parsePostgresUrl(server.url, '--catalog');
  t.equal(location.url, server.url, 'the helper URL is canonical and password-free');
  t.notOk(server.url.includes(server.password));
  const check = await connectCheck(location, server.password);
  t.match(check.serverVersion, /^15\./);
  t.ok(check.ms < 5000, `connected in ${Math.round(check.ms)} ms`);

  const file = join(tmpDir(t), 'pgpass');
  writeFileSync(file, `127.0.0.1:${server.port}:*:${server.user}:${server.password.replace(/[:\\]/g, '\\$&')}\n`);
  chmodSync(file, 0o600);
  const found = findPassword(location, { PGPASSFILE: file });
  t.equal(found?.source, `${file} line 1`);
  t.match((await connectCheck(location, found?.password)).serverVersion, /^15\./, 'the pgpass password logs in');

  const other = await server.createDatabase();
  t.match((await connectCheck(parsePostgresUrl(other, '--catalog'), server.password)).serverVersion, /^15\./, 'createDatabase gives a database of its own');

  const wrong = 'not-the-Pa55word';
  const { error, text } = await failureText(() => connectCheck(location, wrong, { passwordSource: '$PGPASSWORD' }));
  t.equal(error.code, 'E_CATALOG');
  t.equal(error.message, `password authentication failed for user ${server.user} on postgres://${server.user}@127.0.0.1:${server.port}/${server.database}`);
  t.match(error.hint, /PGPASSWORD/);
  t.match(error.hint, /\.pgpass/);
  t.match(error.hint, 'this one came from $PGPASSWORD');
  t.equal((error.cause as { code?: string }).code, '28P01', 'the SQLSTATE kept in the cause');
  t.notOk(text.includes(wrong), 'the wrong password is nowhere');
  t.notOk(text.includes(server.password), 'nor the right one');

  const none = await failureText(() => connectCheck(location, undefined));
  t.equal(none.error.code, 'E_CATALOG');
  t.equal(none.error.message, `PostgreSQL asks a password for user ${server.user} on ${server.url}, and ferry has none`);
  t.match(none.error.hint, /PGPASSWORD/);

  const missing = parsePostgresUrl(`postgres://${server.user}@127.0.0.1:${server.port}/no_such_db`, 'ferry.yaml');
  const unknown = await failureText(() => connectCheck(missing, server.password));
  t.equal(unknown.error.code, 'E_CATALOG');
  t.equal(unknown.error.message, `the database no_such_db does not exist on ${missing.url}`);
  t.match(unknown.error.hint, `createdb -h 127.0.0.1 -p ${server.port} -U ${server.user} no_such_db`);
  t.notOk(unknown.text.includes(server.password));

  const stranger = parsePostgresUrl(`postgres://nobody@127.0.0.1:${server.port}/${server.database}`, '--catalog');
  const refused = await failureText(() => connectCheck(stranger, server.password));
  t.equal(refused.error.code, 'E_CATALOG');
  t.match(refused.error.message, `for user nobody on ${stranger.url}`, 'an unknown role is refused like a wrong password (the server does not tell them apart)');
  t.notOk(refused.text.includes(server.password));
});

t.test('a restarted server answers again; a stopped one is "cannot reach", without the password', async (t) => {
  const server = await startPostgres(t, { own: true });
  const location = parsePostgresUrl(server.url, '--catalog');
  await server.restart();
  t.comment(`PostgreSQL restart: pg_ctl stop ${Math.round(timings.stopMs ?? 0)} ms, start ${Math.round(timings.startMs ?? 0)} ms`);
  t.match((await connectCheck(location, server.password)).serverVersion, /^15\./, 'up again after restart()');
  await server.stop();
  t.comment(`PostgreSQL stop: ${Math.round(timings.stopMs ?? 0)} ms`);
  const started = performance.now();
  const { error, text } = await failureText(() => connectCheck(location, server.password));
  t.equal(error.code, 'E_CATALOG');
  t.equal(error.exitStatus, 2);
  t.equal(error.message, `cannot reach PostgreSQL at ${server.url}: connection refused`);
  t.match(error.hint, `pg_isready -h 127.0.0.1 -p ${server.port}`);
  t.ok(performance.now() - started < 2000, 'refused at once, not after the timeout');
  t.notOk(text.includes(server.password));
  await server.stop(); // idempotent
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

t.test('a closed port, a server that never answers, an unknown host', async (t) => {
  const secret = 'never-Sh0wn-pw';
  const port = await closedPort();
  const closed = parsePostgresUrl(`postgres://ferry@127.0.0.1:${port}/cat`, '--catalog');
  const refused = await failureText(() => connectCheck(closed, secret));
  t.equal(refused.error.message, `cannot reach PostgreSQL at postgres://ferry@127.0.0.1:${port}/cat: connection refused`);
  t.notOk(refused.text.includes(secret));

  // Accepts the connection and says nothing: only the connect timeout ends the wait.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as { port: number }).port;
  const mute = parsePostgresUrl(`postgres://ferry@127.0.0.1:${silentPort}/cat?connect_timeout=1`, '--catalog');
  const started = performance.now();
  const timedOut = await failureText(() => connectCheck(mute, secret));
  const waited = performance.now() - started;
  t.equal(timedOut.error.code, 'E_CATALOG');
  t.equal(timedOut.error.message, `cannot reach PostgreSQL at ${mute.url}: no answer within 1 s`);
  t.ok(waited >= 900 && waited < 4000, `gave up after the connect timeout (${Math.round(waited)} ms)`);
  t.notOk(timedOut.text.includes(secret));

  const nowhere = parsePostgresUrl('postgres://ferry@no-such-host.invalid/cat?connect_timeout=3', '--catalog');
  const unknown = await failureText(() => connectCheck(nowhere, secret));
  t.equal(unknown.error.code, 'E_CATALOG');
  t.match(unknown.error.message, /^cannot reach PostgreSQL at postgres:\/\/ferry@no-such-host\.invalid:5432\/cat\?connect_timeout=3: (the host no-such-host\.invalid is not known|no answer within 3 s)$/);
  t.notOk(unknown.text.includes(secret));
});

t.test('the helper shares a server named by FERRY_TEST_PG, with a fresh database per test', async (t) => {
  const server = await startPostgres(t, { own: true });
  const saved = { FERRY_TEST_PG: process.env.FERRY_TEST_PG, PGPASSWORD: process.env.PGPASSWORD };
  process.env.FERRY_TEST_PG = `postgres://${server.user}@127.0.0.1:${server.port}/postgres`;
  process.env.PGPASSWORD = server.password;
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  let sharedUrl = '';
  await t.test('a test on the shared server', async (t) => {
    const shared = await startPostgres(t);
    t.equal(shared.shared, true);
    t.equal(shared.port, server.port, 'the same server');
    t.not(shared.database, server.database, 'a database of its own');
    sharedUrl = shared.url;
    t.match((await connectCheck(parsePostgresUrl(shared.url, '--catalog'), shared.password)).serverVersion, /^15\./);
    await t.rejects(shared.stop(), /needs a PostgreSQL of the test's own/);
  });
  const gone = await failureText(() => connectCheck(parsePostgresUrl(sharedUrl, '--catalog'), server.password));
  t.match(gone.error.message, /does not exist/, "the test's database is dropped when it ends");
});

t.test('without PostgreSQL 15 the helper fails the test, naming the package to install', async (t) => {
  const saved = process.env.FERRY_PG_BINDIR;
  process.env.FERRY_PG_BINDIR = join(tmpDir(t), 'no-postgres');
  t.teardown(() => {
    if (saved === undefined) delete process.env.FERRY_PG_BINDIR;
    else process.env.FERRY_PG_BINDIR = saved;
  });
  await t.rejects(startPostgres(t, { own: true }), /PostgreSQL 15 is not installed .*: apt-get install postgresql-15/);
});

t.test("an error that is already ferry's (the executor's thread failed) is passed on as it is", async (t) => {
  const location = parsePostgresUrl('postgres://u@127.0.0.1:5432/db', '--catalog');
  const own = new FerryError('E_CATALOG', "the catalog postgres://u@127.0.0.1:5432/db: no answer within 360 s, from PostgreSQL or from ferry's thread that talks to it", { hint: 'check the network' });
  t.equal(connectError(own, location, 'pw'), own);
  t.match(connectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), location, 'pw').message, /connection refused/, 'any other is worded as before');
});
