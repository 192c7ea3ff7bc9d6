/**
 * The bridge to the PostgreSQL worker thread, in real processes on the built modules (dist/: run
 * `node scripts/build.mjs` first): a CommonJS `node -e` script opens a PostgreSQL catalog (its first call used
 * to wait forever: synckit's ES build took the script's global __dirname for its own and its worker died
 * unheard), and a call the worker does not answer in time ends with E_CATALOG instead of blocking.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { MIGRATIONS } from '../../../src/catalog/schema.js';
import { tmpDir } from '../../helpers/fixtures.js';
import { startPostgres } from '../../helpers/postgres.js';

const dist = fileURLToPath(new URL('../../../dist/', import.meta.url));

/** Runs `node ...args` in a fresh folder; a child still running after `limitMs` is killed and counts as hung. */
async function node(t: Test, args: string[], env: NodeJS.ProcessEnv, limitMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string; hung: boolean }> {
  const child = spawn(process.execPath, args, { cwd: tmpDir(t), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  let hung = false;
  const guard = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, limitMs);
  const status = await new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  clearTimeout(guard);
  return { status, stdout, stderr, hung };
}

t.before(() => {
  if (!existsSync(join(dist, 'catalog/db/pg-worker.js'))) throw new Error(`${dist}catalog/db/pg-worker.js is missing: run node scripts/build.mjs before this test`);
});

t.test('a CommonJS script (node -e) opens a PostgreSQL catalog, from any working directory', async (t) => {
  const server = await startPostgres(t);
  const catalog = JSON.stringify(join(dist, 'catalog/catalog.js'));
  const script = `import(${catalog}).then(({ Catalog }) => { const c = Catalog.open(process.argv[1]); process.stdout.write(String(c.version)); c.close(); })`;
  const run = await node(t, ['-e', script, server.url], { PGPASSWORD: server.password, FERRY_HOME: tmpDir(t) });
  t.notOk(run.hung, 'it did not hang');
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stdout, String(MIGRATIONS.length), 'migrated and read back');
});

t.test('a call the worker does not answer within the bridge bound is E_CATALOG; the next call connects again', async (t) => {
  const server = await startPostgres(t);
  const executor = JSON.stringify(join(dist, 'catalog/db/postgres-executor.js'));
  const script = `
    import { PostgresExecutor, bridgeLimits } from ${executor};
    // Enough for the worker to start and connect (the bound covers that first call too), not for the sleep.
    bridgeLimits.callTimeoutMs = 3000;
    const ex = PostgresExecutor.open(process.argv[1], { name: 'the test catalog' });
    const said = {};
    try {
      ex.get({ sql: 'SELECT pg_sleep(10)', parameters: [] });
    } catch (error) {
      Object.assign(said, { code: error.code, message: error.message, hint: error.hint });
    }
    said.after = ex.get({ sql: 'SELECT 1 AS one', parameters: [] });
    ex.close();
    process.stdout.write(JSON.stringify(said));`;
  const run = await node(t, ['--input-type=module', '-e', script, server.url], { PGPASSWORD: server.password });
  t.notOk(run.hung, 'it did not hang');
  t.equal(run.status, 0, run.stderr);
  const said = JSON.parse(run.stdout) as Record<string, unknown>;
  t.equal(said.code, 'E_CATALOG');
  t.equal(said.message, "the catalog the test catalog: no answer within 3 s, from PostgreSQL or from ferry's thread that talks to it");
  t.match(said.hint, /next call connects again/);
  t.same(said.after, { one: 1 }, 'on a new connection');
});
