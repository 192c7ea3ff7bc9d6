// A throwaway PostgreSQL 15 for scripts (benchmarks, demos): the recipe of test/helpers/postgres.ts without tap.
// initdb into a temp folder (as the `postgres` system user through `runuser -u postgres --` when this process is
// root: postgres refuses to run as root), a scram-sha-256 password for one role, loopback TCP on a free port, the
// unix socket inside the folder, durability off (fsync, synchronous_commit, full_page_writes). stop() stops it and
// removes the folder; so does this process's end, whatever ends it (an error, Ctrl-C, SIGTERM), by pg_ctl's
// immediate mode.
//
//     const pg = await startPgServer();
//     const env = { FERRY_CATALOG: pg.url, PGPASSWORD: pg.password };   // the password never goes in a URL or argv
//     ...
//     await pg.stop();
//
// FERRY_PG_BINDIR names another folder of server programs than Debian's /usr/lib/postgresql/15/bin.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const INSTALL = 'apt-get install postgresql-15 postgresql-client-15 (scripts/setup.sh does, as root)';

export const pgBindir = () => process.env.FERRY_PG_BINDIR || '/usr/lib/postgresql/15/bin';

/** The postgres system user's uid and gid when this process is root; undefined otherwise. */
function postgresUser() {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error(`running as root, and there is no postgres system user to run PostgreSQL as: ${INSTALL} makes it`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A loopback port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Servers still running, stopped by the process's end; the signal handlers are installed while there is one.
const live = new Set();
const onExit = () => {
  for (const server of live) server.kill();
};
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
// process.exit runs the 'exit' listeners: this module's (the servers) and the caller's (its own children).
const signalHandlers = Object.fromEntries(Object.entries(SIGNALS).map(([signal, status]) => [signal, () => process.exit(status)]));
function track(server) {
  if (live.size === 0) {
    process.on('exit', onExit);
    for (const [signal, handler] of Object.entries(signalHandlers)) process.on(signal, handler);
  }
  live.add(server);
}
function untrack(server) {
  live.delete(server);
  if (live.size > 0) return;
  process.off('exit', onExit);
  for (const [signal, handler] of Object.entries(signalHandlers)) process.off(signal, handler);
}

/**
 * Starts a server; resolves with { host, port, user, password, database, url, createDatabase(name), stop(), log() }.
 * `url` is postgres://user@127.0.0.1:PORT/database, without the password: give it in PGPASSWORD.
 * `settings`: more postgresql.conf lines (they override the defaults below).
 */
export async function startPgServer({ database = 'ferry', user = 'ferry_bench', settings = [] } = {}) {
  const bindir = pgBindir();
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    try {
      accessSync(join(bindir, program), constants.X_OK);
    } catch {
      throw new Error(`PostgreSQL 15 is not installed (${join(bindir, program)} is missing): ${INSTALL}`);
    }
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(database) || !/^[a-z_][a-z0-9_]*$/.test(user)) throw new Error(`database and role names are lower-case identifiers: got ${database}, ${user}`);
  const owner = postgresUser();
  // The socket path must stay under 107 bytes: a short folder right in the temp dir.
  const root = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const pwFile = join(root, 'pw');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(logFile, '');
  if (owner) for (const path of [root, pwFile, logFile]) chownSync(path, owner.uid, owner.gid);
  const ctl = (program, args) => (owner ? ['runuser', ['-u', 'postgres', '--', join(bindir, program), ...args]] : [join(bindir, program), args]);
  const as = (program, args) => run(...ctl(program, args), { encoding: 'utf8' });
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  let running = false;
  let port = 0;
  const server = {
    // Synchronous, for the process's end: no waiting for clients, the folder goes with it.
    kill() {
      if (running) spawnSync(...ctl('pg_ctl', ['stop', '-m', 'immediate', '-D', data]));
      running = false;
      rmSync(root, { recursive: true, force: true });
      untrack(server);
    },
  };
  track(server);
  try {
    await as('initdb', ['-D', data, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']).catch((error) => {
      throw new Error(`initdb failed: ${error.stderr ?? error}`);
    });
    rmSync(pwFile);
    writeFileSync(join(data, 'pg_hba.conf'), ['local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
    // Throwaway data: durability off, the socket in the folder, loopback TCP only.
    const conf = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${root}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 64MB',
      'max_connections = 200',
      "password_encryption = 'scram-sha-256'",
      'log_min_messages = warning',
      "log_line_prefix = '%m [%p] '",
      ...settings,
    ];
    writeFileSync(join(data, 'postgresql.auto.conf'), `${conf.join('\n')}\n`);
    if (owner) for (const file of ['pg_hba.conf', 'postgresql.auto.conf']) chownSync(join(data, file), owner.uid, owner.gid);
    // The free port may be taken between the probe and the bind: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await as('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', logFile, '-o', `-p ${port}`]);
        running = true;
        break;
      } catch (error) {
        const why = `pg_ctl start failed on port ${port}: ${error.stderr ?? error}\n${log()}`;
        if (attempt >= 3 || !/could not bind|Address already in use/i.test(why)) throw new Error(why);
      }
    }
    const admin = async (sql) => {
      const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres', ssl: false, connectionTimeoutMillis: 10_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query(sql);
      } finally {
        await client.end().catch(() => {});
      }
    };
    const urlOf = (name) => `postgres://${user}@127.0.0.1:${port}/${name}`;
    const createDatabase = async (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database names are lower-case identifiers: ${name}`);
      await admin(`CREATE DATABASE ${name}`);
      return urlOf(name);
    };
    await createDatabase(database);
    return Object.assign(server, {
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      url: urlOf(database),
      root,
      /** The postmaster's pid (its backends are its children). */
      pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
      createDatabase,
      log,
      /** pg_ctl stop -m fast, then the folder goes (idempotent). */
      async stop() {
        if (!live.has(server)) return;
        try {
          if (running) await as('pg_ctl', ['stop', '-w', '-t', '30', '-m', 'fast', '-D', data]);
          running = false;
        } finally {
          server.kill();
        }
      },
    });
  } catch (error) {
    server.kill();
    throw error;
  }
}
