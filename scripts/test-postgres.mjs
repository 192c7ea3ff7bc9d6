#!/usr/bin/env node
// `npm test`'s second pass: the catalog, lifecycle and catalog-command tests again, on PostgreSQL. Starts ONE
// throwaway PostgreSQL 15 (initdb into a temp folder, scram, 127.0.0.1 on a free port, durability off), hands it
// to the tests (FERRY_TEST_PG, a password-free URL, with PGPASSWORD and FERRY_TEST_STORE=postgres: each test
// file makes fresh databases on it, test/helpers/test-store.ts), runs tap, and stops the server and removes the
// folder after, on failure and Ctrl-C too. Exits with tap's status.
//
//     node scripts/test-postgres.mjs                            # the pass npm test runs
//     node scripts/test-postgres.mjs test/lifecycle/vms.test.ts # just these, on PostgreSQL
//
// As root (postgres refuses to run as root) the server runs as the `postgres` system user through runuser, as
// test/helpers/postgres.ts does. FERRY_PG_BINDIR names another folder of PostgreSQL's server programs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The CLI tests that run the catalog commands end to end; they run on both stores. The other CLI tests either
 * do not open a catalog or look at the SQLite file itself (docs/testing.md keeps the list and the reasons).
 */
const CLI_TESTS = [
  'alert',
  'alert-config',
  'alert-hooks',
  'capacity',
  'crash',
  'crash-vm',
  'crash-vm-ops',
  'crash-vm-ops-move',
  'datastore',
  'datastore-trend',
  'host',
  'image',
  'json-envelope',
  'onecompat',
  'refusals',
  'sizes',
  'step-ticker',
  'vm',
  'vm-names',
  'vm-show',
  'vm-terminate',
].map((name) => `test/cli/${name}.test.ts`);
/**
 * Files of test/catalog and test/lifecycle that never make a catalog on the tests' store (URL parsing, pgpass,
 * process owners, plans as data, PostgreSQL connection errors on servers of their own): the first pass ran them,
 * and they would run the same here. test/catalog/db/ compares both stores in every pass: not again here either.
 */
const SAME_ON_BOTH = new Set(['test/catalog/location.test.ts', 'test/catalog/owner.test.ts', 'test/catalog/pgpass.test.ts', 'test/catalog/pg-connect.test.ts', 'test/lifecycle/plan.test.ts']);
const testsIn = (dir) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => `${dir}/${name}`)
    .filter((file) => !SAME_ON_BOTH.has(file));
const DEFAULT_TESTS = [...testsIn('test/catalog'), ...testsIn('test/lifecycle'), ...CLI_TESTS];

const bindir = process.env.FERRY_PG_BINDIR || '/usr/lib/postgresql/15/bin';
const INSTALL = 'apt-get install postgresql-15 postgresql-client-15 (scripts/setup.sh does, as root: npm test runs it)';
const say = (line) => console.error(`ferry: ${line}`);

function fail(message) {
  say(`the PostgreSQL pass cannot run: ${message}`);
  process.exit(1);
}

for (const program of ['initdb', 'pg_ctl', 'postgres']) {
  try {
    accessSync(join(bindir, program), constants.X_OK);
  } catch {
    fail(`PostgreSQL 15 is not installed (${join(bindir, program)} is missing): ${INSTALL}`);
  }
}

/** The postgres system user's uid and gid when we are root (postgres will not run as root), else undefined. */
function postgresUser() {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) fail(`running as root, and there is no postgres system user to run PostgreSQL as: ${INSTALL} makes it`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const owner = postgresUser();
const as = (program, args, options = {}) =>
  owner ? execFileSync('runuser', ['-u', 'postgres', '--', join(bindir, program), ...args], { encoding: 'utf8', stdio: 'pipe', ...options }) : execFileSync(join(bindir, program), args, { encoding: 'utf8', stdio: 'pipe', ...options });

/** A loopback port nothing listens on right now. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

// The socket path must stay under 107 bytes: a short folder right in the temp dir.
const folder = mkdtempSync(join(tmpdir(), 'ferry-pgpass-'));
const data = join(folder, 'data');
const logFile = join(folder, 'server.log');
let running = false;
let cleaned = false;

/** Stops the server and removes the folder; once, whatever ended the pass. */
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  if (running) {
    const args = ['stop', '-w', '-t', '30', '-m', 'fast', '-D', data];
    const stopped = owner ? spawnSync('runuser', ['-u', 'postgres', '--', join(bindir, 'pg_ctl'), ...args]) : spawnSync(join(bindir, 'pg_ctl'), args);
    if (stopped.status !== 0) say(`pg_ctl stop failed: ${String(stopped.stderr).trim()}`);
    running = false;
  }
  rmSync(folder, { recursive: true, force: true });
}
process.on('exit', cleanUp);

let tap;
// Ctrl-C reaches tap too (one process group); a signal to this process alone is passed on. Either way tap ends,
// and its exit (below) cleans up and exits.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (tap && tap.exitCode === null) tap.kill(signal);
    else {
      cleanUp();
      process.exit(130);
    }
  });
}

const started = performance.now();
const password = randomBytes(18).toString('hex');
const user = 'ferry_test';
const pwFile = join(folder, 'pw');
writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
writeFileSync(logFile, '');
if (owner) for (const path of [folder, pwFile, logFile]) chownSync(path, owner.uid, owner.gid);
try {
  as('initdb', ['-D', data, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
} catch (error) {
  fail(`initdb failed: ${error.stderr ?? error.message}`);
} finally {
  rmSync(pwFile, { force: true });
}
writeFileSync(join(data, 'pg_hba.conf'), 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n');
// Throwaway data: durability off; connections for two tap jobs, each with catalogs and ferry processes.
const settings = [
  "listen_addresses = '127.0.0.1'",
  `unix_socket_directories = '${folder}'`,
  'fsync = off',
  'synchronous_commit = off',
  'full_page_writes = off',
  'shared_buffers = 64MB',
  'max_connections = 200',
  "password_encryption = 'scram-sha-256'",
  'log_min_messages = warning',
  "log_line_prefix = '%m [%p] '",
];
writeFileSync(join(data, 'postgresql.auto.conf'), `${settings.join('\n')}\n`);
if (owner) for (const file of ['pg_hba.conf', 'postgresql.auto.conf']) chownSync(join(data, file), owner.uid, owner.gid);

// The free port may be taken between the probe and the bind: try a few.
let port;
for (let attempt = 1; ; attempt++) {
  port = await freePort();
  try {
    as('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', `-p ${port}`]);
    running = true;
    break;
  } catch (error) {
    const log = readFileSync(logFile, 'utf8');
    if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
    fail(`pg_ctl start failed on port ${port}: ${error.stderr ?? error.message}\n${log}`);
  }
}

const files = process.argv.slice(2);
const tests = files.length > 0 ? files : DEFAULT_TESTS;
console.error(`\n=== ferry: the PostgreSQL pass: ${tests.length} test files on PostgreSQL 15 (FERRY_TEST_STORE=postgres, 127.0.0.1:${port}) ===\n`);
const env = { ...process.env, FERRY_TEST_STORE: 'postgres', FERRY_TEST_PG: `postgres://${user}@127.0.0.1:${port}/postgres`, PGPASSWORD: password };
tap = spawn(process.execPath, [join(root, 'node_modules/tap/dist/esm/run.mjs'), ...tests], { cwd: root, env, stdio: 'inherit' });
tap.on('exit', (code, signal) => {
  const seconds = Math.round((performance.now() - started) / 1000);
  const status = code ?? (signal ? 130 : 1);
  cleanUp();
  say(status === 0 ? `the PostgreSQL pass passed (${seconds} s)` : `the PostgreSQL pass FAILED (tap exit ${code ?? signal}, ${seconds} s)`);
  process.exit(status);
});
