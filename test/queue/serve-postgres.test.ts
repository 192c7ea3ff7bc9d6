/**
 * `ferry serve` keeps working on a PostgreSQL catalog (issue 17): it watches the datastores, serves the API,
 * /metrics and the dashboard from the database the workers write, and stays one per catalog.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { binBuilt, binMissingMessage, binPath, cleanEnv } from '../cli/helpers.js';
import { seededQueueWorld, until } from './world.js';

t.setTimeout(240_000);
t.before(() => {
  if (!binBuilt()) throw new Error(binMissingMessage);
});

t.test('ferry serve on a PostgreSQL catalog: the API, /metrics and the pages show what the workers did', async (t) => {
  const w = await seededQueueWorld(t);
  w.startWorker();
  const created = await w.ferry(['vm', 'create', '--name', 'vm1', '--host', 'host01', '--system-ds', 'system', '--disk', 'deb']);
  t.equal(created.status, 0, created.stderr);
  const serve = spawn(process.execPath, [binPath, 'serve', '--listen', '127.0.0.1:0'], { cwd: w.dir, env: cleanEnv(w.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  serve.stderr?.on('data', (chunk) => (log += String(chunk)));
  const exited = new Promise<number | null>((done) => serve.once('exit', (code) => done(code)));
  t.teardown(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
  });
  await until('serve to listen', () => /listening on http:\/\/127\.0\.0\.1:\d+/.test(log));
  t.match(log, `of ${w.pg.url}`, 'names the catalog by its URL');
  t.notMatch(log, w.pg.password, 'never its password');
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1] as string;
  const datastores = (await (await fetch(`${base}/api/v1/datastores`)).json()) as { result: Array<{ name: string }> };
  t.same(datastores.result.map((ds) => ds.name).sort(), ['images', 'slowimages', 'system']);
  const vms = (await (await fetch(`${base}/api/v1/vms`)).json()) as { result: Array<{ name: string; state: string }> };
  t.match(vms.result, [{ name: 'vm1', state: 'RUNNING' }]);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /ferry_vms\{state="RUNNING"\} 1/);
  const page = await (await fetch(`${base}/vms/1`)).text();
  t.match(page, 'vm1');
  t.match(page, 'tm slow/clone', 'its journal, written by the worker');
  // One service per catalog, on PostgreSQL too.
  const second = spawn(process.execPath, [binPath, 'serve', '--listen', '127.0.0.1:0'], { cwd: join(w.dir), env: cleanEnv(w.env), stdio: ['ignore', 'ignore', 'pipe'] });
  let secondLog = '';
  second.stderr?.on('data', (chunk) => (secondLog += String(chunk)));
  const code = await new Promise<number | null>((done) => second.once('exit', (status) => done(status)));
  t.equal(code, 75, `a second service is refused: ${secondLog}`);
  serve.kill('SIGTERM');
  t.equal(await exited, 0);
});
