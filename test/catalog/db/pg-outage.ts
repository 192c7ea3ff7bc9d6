/**
 * Outages of a test's own PostgreSQL (startPostgres(t, { own: true })) that a blocked thread can live through.
 * A synchronous catalog call blocks this test's thread while it waits for the server, so whatever ends the
 * outage must run in another process: `comeBackLater` starts the server again from a shell, and
 * `terminator` kills the session that waits on an advisory lock it holds (the moment a statement is out).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import pg from 'pg';
import { pgBindir, type TestPostgres } from '../../helpers/postgres.js';

/** Runs `sql` on `server`'s own database with a client of its own. */
export async function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(server: TestPostgres, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database, ssl: false });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The exit of `child`: its status, and its stderr for a failure message. */
function exited(child: ChildProcess): Promise<{ status: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((done) => child.once('close', (status) => done({ status, stderr })));
}

/** pg_ctl as the server's owner (the postgres user when the tests run as root), argv only. */
function pgCtl(args: string[]): string[] {
  const ctl = join(pgBindir(), 'pg_ctl');
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ctl, ...args] : [ctl, ...args];
}

/**
 * Stops `server` now, and starts it again from a shell `afterMs` later, whatever this thread is doing then.
 * `settle()` waits for that start and hands the server back to the helper (stopped and started by it again),
 * so its teardown stops it.
 */
export async function comeBackLater(t: Test, server: TestPostgres, afterMs: number): Promise<{ settle: () => Promise<void> }> {
  if (server.shared) throw new Error('comeBackLater needs a PostgreSQL of the test\'s own: startPostgres(t, { own: true })');
  const [{ data_directory: data }] = (await adminQuery<{ data_directory: string }>(server, 'SHOW data_directory')) as [{ data_directory: string }];
  const log = join(dirname(data), 'server.log');
  await server.stop();
  const start = pgCtl(['start', '-w', '-t', '30', '-D', data, '-l', log, '-o', `-p ${server.port}`]);
  const child = spawn('sh', ['-c', `sleep ${afterMs / 1000}; exec "$@"`, 'sh', ...start], { stdio: ['ignore', 'ignore', 'pipe'] });
  const started = exited(child);
  let settled = false;
  const settle = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    const { status, stderr } = await started;
    if (status !== 0) throw new Error(`starting PostgreSQL again failed (${status}): ${stderr}\n${server.log()}`);
    const [file, ...args] = pgCtl(['stop', '-w', '-t', '30', '-m', 'fast', '-D', data]) as [string, ...string[]];
    const stop = await exited(spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    if (stop.status !== 0) throw new Error(`stopping PostgreSQL failed (${stop.status}): ${stop.stderr}`);
    // The helper took it for stopped all along: its own start makes it the helper's to stop on teardown.
    await server.restart();
  };
  t.teardown(settle);
  return { settle };
}

const require = createRequire(import.meta.url);

/**
 * A process that holds advisory lock `key` on `database` and, once `victims` sessions wait for it, terminates
 * them (pg_terminate_backend) and lets go. `ready` settles when it holds the lock; `done` when it has ended.
 */
export async function terminator(t: Test, server: TestPostgres, database: string, key: number, victims = 1): Promise<{ done: Promise<void> }> {
  const script = `
    const pg = require(${JSON.stringify(require.resolve('pg'))});
    const client = new pg.Client({ host: ${JSON.stringify(server.host)}, port: ${server.port}, user: ${JSON.stringify(server.user)}, database: ${JSON.stringify(database)}, password: process.env.PGPASSWORD, ssl: false });
    (async () => {
      await client.connect();
      await client.query('SELECT pg_advisory_lock($1)', [${key}]);
      process.stdout.write('locked\\n');
      let ended = 0;
      while (ended < ${victims}) {
        const { rows } = await client.query("SELECT pg_terminate_backend(pid) AS ended FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [${key}]);
        ended += rows.filter((row) => row.ended).length;
        await new Promise((done) => setTimeout(done, 20));
      }
      await client.end();
    })().catch((error) => { console.error(error); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGPASSWORD: server.password } });
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const ended = exited(child);
  await new Promise<void>((ready, fail) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      if (out.includes('locked')) ready();
    });
    void ended.then(({ status, stderr }) => fail(new Error(`the terminator ended (${status}) before it held the lock: ${stderr}`)));
  });
  return {
    done: ended.then(({ status, stderr }) => {
      if (status !== 0) throw new Error(`the terminator failed (${status}): ${stderr}`);
    }),
  };
}
