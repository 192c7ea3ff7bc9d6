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
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPgServer } from './lib/pg-server.mjs';

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
const SAME_ON_BOTH = new Set(['test/catalog/location.test.ts', 'test/catalog/owner.test.ts', 'test/catalog/pgpass.test.ts', 'test/catalog/pg-connect.test.ts', 'test/lifecycle/plan.test.ts', 'test/lifecycle/pg-restart.test.ts']);
const testsIn = (dir) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => `${dir}/${name}`)
    .filter((file) => !SAME_ON_BOTH.has(file));
const DEFAULT_TESTS = [...testsIn('test/catalog'), ...testsIn('test/lifecycle'), ...CLI_TESTS];

const say = (line) => console.error(`ferry: ${line}`);

const started = performance.now();
let pg;
try {
  // One server for the pass (scripts/lib/pg-server.mjs: stopped and removed when this process ends, however).
  pg = await startPgServer({ user: 'ferry_test', database: 'ferry_pass' });
} catch (error) {
  say(`the PostgreSQL pass cannot run: ${error.message}`);
  process.exit(1);
}
let tap;
// Whatever ends this process ends the tap run it started (Ctrl-C reaches tap by itself: one process group).
process.on('exit', () => {
  if (tap && tap.exitCode === null) tap.kill('SIGTERM');
});
const { port, user, password } = pg;

const files = process.argv.slice(2);
const tests = files.length > 0 ? files : DEFAULT_TESTS;
console.error(`\n=== ferry: the PostgreSQL pass: ${tests.length} test files on PostgreSQL 15 (FERRY_TEST_STORE=postgres, 127.0.0.1:${port}) ===\n`);
const env = { ...process.env, FERRY_TEST_STORE: 'postgres', FERRY_TEST_PG: `postgres://${user}@127.0.0.1:${port}/postgres`, PGPASSWORD: password };
tap = spawn(process.execPath, [join(root, 'node_modules/tap/dist/esm/run.mjs'), ...tests], { cwd: root, env, stdio: 'inherit' });
tap.on('exit', async (code, signal) => {
  const seconds = Math.round((performance.now() - started) / 1000);
  const status = code ?? (signal ? 130 : 1);
  await pg.stop();
  say(status === 0 ? `the PostgreSQL pass passed (${seconds} s)` : `the PostgreSQL pass FAILED (tap exit ${code ?? signal}, ${seconds} s)`);
  process.exit(status);
});
