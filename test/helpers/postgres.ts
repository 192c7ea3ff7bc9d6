/**
 * A real, throwaway PostgreSQL 15 for tests: initdb into a temp folder, a
 * free loopback port, scram-sha-256 for a test role, the unix socket inside
 * the folder, durability off for speed; pg_ctl starts and stops it, and the
 * folder goes on teardown. As root (the tests' usual case; postgres refuses to
 * run as root) the server runs as the `postgres` system user Debian's package
 * makes, through `runuser -u postgres --`.
 *
 * Shared mode: when the environment has FERRY_TEST_PG (a password-free
 * postgres:// URL) and PGPASSWORD, every test uses that server and only gets a
 * fresh database of its own (.ci/run can start one server for the suite).
 * `startPostgres(t, { own: true })` still starts a server of its own, for the
 * tests that stop or restart it.
 *
 * A missing PostgreSQL makes startPostgres reject with what to install: the
 * tests fail on it, never skip.
 *
 *     const pg = await startPostgres(t);
 *     const location = parsePostgresUrl(pg.url, '--catalog');
 *     await connectCheck(location, pg.password);
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server programs; FERRY_PG_BINDIR names another folder. */
export function pgBindir(): string {
  return process.env.FERRY_PG_BINDIR || '/usr/lib/postgresql/15/bin';
}
const INSTALL = 'apt-get install postgresql-15 postgresql-client-15 (scripts/setup.sh does, as root)';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  /** This test's own database (made for it, dropped on teardown in shared mode). */
  database: string;
  password: string;
  /** postgres://user@127.0.0.1:PORT/database: never with the password. */
  url: string;
  /** What a ferry process needs to log in: PGPASSWORD. */
  env: { PGPASSWORD: string };
  /** True when the server is FERRY_TEST_PG's, shared with other tests (stop and restart are refused). */
  shared: boolean;
  /** Makes another database on the same server and returns its URL (password-free). */
  createDatabase(name?: string): Promise<string>;
  /** pg_ctl stop -m fast (idempotent); the folder stays until teardown. */
  stop(): Promise<void>;
  /** Stops the server when it runs, and starts it again on the same port. */
  restart(): Promise<void>;
  /** The server's log so far (own server only), for failure messages. */
  log(): string;
}

/** Anything with tap's teardown hook. */
interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

export interface StartOptions {
  /** A server of this test's own even when FERRY_TEST_PG names a shared one. */
  own?: boolean;
}

/** How long the last own server took to start and to stop, in ms (for the suite's timing notes). */
export const timings: { initdbMs?: number; startMs?: number; stopMs?: number } = {};

/** A PostgreSQL for this test: FERRY_TEST_PG's with a fresh database, or a server of its own. */
export async function startPostgres(t: Teardownable, options: StartOptions = {}): Promise<TestPostgres> {
  const shared = process.env.FERRY_TEST_PG;
  if (shared && !options.own) return sharedPostgres(t, shared);
  return ownPostgres(t);
}

let counter = 0;

/** A database name no other test (or test process) uses. */
function freshName(): string {
  return `ferry_t${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
}

interface Server {
  host: string;
  port: number;
  user: string;
  password: string;
}

async function adminQuery(server: Server, sql: string): Promise<void> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres', ssl: false, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

function urlOf(server: Server, database: string): string {
  return `postgres://${encodeURIComponent(server.user)}@${server.host}:${server.port}/${database}`;
}

async function createDb(server: Server, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`test database names are lower-case identifiers: ${name}`);
  await adminQuery(server, `CREATE DATABASE ${name}`);
  return urlOf(server, name);
}

async function sharedPostgres(t: Teardownable, url: string): Promise<TestPostgres> {
  const password = process.env.PGPASSWORD;
  if (!password) throw new Error('FERRY_TEST_PG names a shared PostgreSQL but PGPASSWORD is not set: export the password of its test role in PGPASSWORD');
  const match = /^postgres(?:ql)?:\/\/([^:@/]+)@([^:/]+):(\d+)(?:\/.*)?$/.exec(url);
  if (!match) throw new Error(`FERRY_TEST_PG must look like postgres://user@127.0.0.1:PORT/postgres (no password): got ${url.replace(/:[^:@/]*@/, '@')}`);
  const server: Server = { user: decodeURIComponent(match[1] as string), host: match[2] as string, port: Number(match[3]), password };
  const made: string[] = [];
  const createDatabase = async (name = freshName()): Promise<string> => {
    const dbUrl = await createDb(server, name);
    made.push(name);
    return dbUrl;
  };
  const database = freshName();
  await createDatabase(database);
  t.teardown(async () => {
    for (const name of made) await adminQuery(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  });
  const refuse = (what: string) => async (): Promise<void> => {
    throw new Error(`${what} needs a PostgreSQL of the test's own: startPostgres(t, { own: true })`);
  };
  return {
    ...server,
    database,
    url: urlOf(server, database),
    env: { PGPASSWORD: password },
    shared: true,
    createDatabase,
    stop: refuse('stop()'),
    restart: refuse('restart()'),
    log: () => '',
  };
}

/** The postgres system user's uid and gid, when this process is root (postgres will not run as root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error(`running as root, and there is no postgres system user to run PostgreSQL as: ${INSTALL} makes it`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function missingProgram(bindir: string): string | undefined {
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    try {
      accessSync(join(bindir, program), constants.X_OK);
    } catch {
      return `PostgreSQL 15 is not installed (${join(bindir, program)} is missing): ${INSTALL}`;
    }
  }
  return undefined;
}

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function ownPostgres(t: Teardownable): Promise<TestPostgres> {
  const bindir = pgBindir();
  const missing = missingProgram(bindir);
  if (missing) throw new Error(missing);
  const owner = postgresUser();
  // The socket path must stay under 107 bytes: a short folder right in the temp dir.
  const root = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const pwFile = join(root, 'pw');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const user = 'ferry_test';
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(logFile, '');
  if (owner) for (const path of [root, pwFile, logFile]) chownSync(path, owner.uid, owner.gid);
  const as = (program: string, args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', join(bindir, program), ...args], { encoding: 'utf8' }) : run(join(bindir, program), args, { encoding: 'utf8' });
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  let running = false;
  let port = 0;
  const ctlStart = async (): Promise<void> => {
    const started = performance.now();
    try {
      await as('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', logFile, '-o', `-p ${port}`]);
    } catch (error) {
      throw new Error(`pg_ctl start failed on port ${port}: ${(error as { stderr?: string }).stderr ?? String(error)}\n${readLog()}`);
    }
    running = true;
    timings.startMs = performance.now() - started;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    const started = performance.now();
    await as('pg_ctl', ['stop', '-w', '-t', '30', '-m', 'fast', '-D', data]);
    running = false;
    timings.stopMs = performance.now() - started;
  };
  // A test process that dies without its teardown must not leave a postgres behind.
  const onExit = (): void => {
    if (!running) return;
    const args = ['stop', '-m', 'immediate', '-D', data];
    if (owner) spawnSync('runuser', ['-u', 'postgres', '--', join(bindir, 'pg_ctl'), ...args]);
    else spawnSync(join(bindir, 'pg_ctl'), args);
  };
  process.once('exit', onExit);
  t.teardown(async () => {
    process.off('exit', onExit);
    try {
      await stop();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  try {
    const initStarted = performance.now();
    await as('initdb', ['-D', data, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
    timings.initdbMs = performance.now() - initStarted;
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  rmSync(pwFile);
  writeFileSync(join(data, 'pg_hba.conf'), ['local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
  // Throwaway data: durability off, small memory, the socket in the folder, loopback TCP only.
  const settings = [
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${root}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'shared_buffers = 32MB',
    'max_connections = 100',
    "password_encryption = 'scram-sha-256'",
    'log_min_messages = warning',
    "log_line_prefix = '%m [%p] '",
  ];
  writeFileSync(join(data, 'postgresql.auto.conf'), `${settings.join('\n')}\n`);
  if (owner) for (const file of ['pg_hba.conf', 'postgresql.auto.conf']) chownSync(join(data, file), owner.uid, owner.gid);

  // The free port may be taken between the probe and the bind: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await ctlStart();
      break;
    } catch (error) {
      if (attempt >= 3 || !/could not bind|Address already in use/i.test(String(error))) throw error;
    }
  }
  const server: Server = { host: '127.0.0.1', port, user, password };
  const database = 'ferry';
  await createDb(server, database);
  return {
    ...server,
    database,
    url: urlOf(server, database),
    env: { PGPASSWORD: password },
    shared: false,
    createDatabase: (name = freshName()) => createDb(server, name),
    stop,
    async restart() {
      await stop();
      await ctlStart();
    },
    log: readLog,
  };
}
