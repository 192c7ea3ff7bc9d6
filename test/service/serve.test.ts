/**
 * `ferry serve` as a real process on a real catalog, with datastore/probe (the bundled fs, its monitor failing
 * or hanging on demand) and an alert hook that records its calls (test/helpers/serve.ts): a hung monitor is
 * killed while the others keep their schedule, three failures put a datastore in ERROR and the next success
 * clears it, a datastore whose monitor hangs raises no_sample, SIGTERM leaves no process and frees the
 * catalog, a second service is refused, SIGHUP reloads the rules.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processAlive, tmpDir, waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe, type ServeWorld } from '../helpers/serve.js';
import { binPath, runCli } from '../cli/helpers.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { stage, vmYaml } from '../helpers/catalog-world.js';

async function datastore(w: ServeWorld, name: string, attrs: string[] = ['MONITOR_INTERVAL=1']): Promise<{ id: number; basePath: string }> {
  const base = tmpDir(t, `ferry-serve-${name}-`);
  const ds = await w.json(['datastore', 'create', name, '--ds-mad', 'probe', '--tm-mad', 'shared', '--base-path', base, ...attrs.flatMap((attr) => ['--attr', attr])]);
  return { id: ds.id as number, basePath: base };
}

const pidIn = (file: string): number | undefined => (existsSync(file) && /^\d+\s*$/.test(readFileSync(file, 'utf8')) ? Number(readFileSync(file, 'utf8')) : undefined);

t.test('a hung monitor is killed at its timeout, the others keep their schedule; three failures: ERROR, then cleared by a success', async (t) => {
  const w = serveWorld(t);
  w.config('monitor: {timeout: 1}\n');
  const hung = await datastore(w, 'hung');
  const fine = await datastore(w, 'fine');
  writeFileSync(join(w.markers, `hang-monitor-${hung.id}`), '');
  const catalog = w.catalog();
  const served = await startServe(t, w);
  const since = Date.now();
  t.ok(await waitFor(() => catalog.monitorState(hung.id).state === 'ERROR', 10_000, 100), 'the hung datastore is in ERROR after three timed-out runs');
  const spent = (Date.now() - since) / 1000;
  const samples = catalog.series(fine.id, 'used_mb', since, Date.now()).length;
  t.ok(samples >= Math.floor(spent) - 1, `the other datastore kept its 1 s schedule: ${samples} samples in ${spent.toFixed(1)} s`);
  const firstHung = pidIn(join(w.markers, `hung-${hung.id}.pid`));
  t.ok(firstHung !== undefined, 'the hung monitor ran');
  t.ok(await waitFor(() => !processAlive(firstHung as number), 3000), 'the hung monitor script was killed');
  const failing = catalog.listAlerts({ state: 'firing', rule: 'monitor_failing' });
  t.equal(failing.length, 1, 'one monitor_failing alert');
  t.same(failing[0]?.subject, { kind: 'datastore', id: String(hung.id) });
  t.match(catalog.monitorState(hung.id).lastError ?? '', /timed out|killed/, 'the failure says it timed out');
  t.ok(await waitFor(() => w.hookCalls().some((call) => call.input.alert.rule === 'monitor_failing'), 5000), 'the hook ran for it');

  rmSync(join(w.markers, `hang-monitor-${hung.id}`));
  t.ok(await waitFor(() => catalog.monitorState(hung.id).state === 'OK', 5000, 100), 'the next success puts it back OK');
  t.ok(await waitFor(() => catalog.listAlerts({ state: 'firing', rule: 'monitor_failing' }).length === 0, 3000), 'and clears the alert');
  t.ok(await waitFor(() => w.hookCalls().filter((call) => call.input.alert.rule === 'monitor_failing').length === 2, 5000), 'the hook ran for the clear');
  const calls = w.hookCalls().filter((call) => call.input.alert.rule === 'monitor_failing');
  t.same(calls.map((call) => call.event), ['raised', 'cleared'], 'the hook ran once per event, in order');
  t.equal(calls[0]?.input.alert.id, calls[1]?.input.alert.id, 'both about the same alert');
  t.equal(await served.stop('SIGTERM'), 0, 'SIGTERM: exit 0');
});

t.test('SIGTERM during a monitor run leaves no process, and frees the catalog for the next service', async (t) => {
  const w = serveWorld(t);
  w.config('monitor: {timeout: 60}\n');
  const hung = await datastore(w, 'hung');
  writeFileSync(join(w.markers, `hang-monitor-${hung.id}`), '');
  const served = await startServe(t, w);
  const pidFile = join(w.markers, `hung-${hung.id}.pid`);
  t.ok(await waitFor(() => pidIn(pidFile) !== undefined, 5000), 'a monitor is running');
  const script = pidIn(pidFile) as number;
  t.ok(processAlive(script));
  t.equal(await served.stop('SIGTERM'), 0, 'exit 0');
  t.notOk(processAlive(script), 'the running monitor script is gone with the service');
  t.match(served.stderr(), /ferry serve: stopping/);
  t.equal(w.catalog().monitorState(hung.id).failures, 0, 'a run stopped by the shutdown is not counted as a failure');
  rmSync(join(w.markers, `hang-monitor-${hung.id}`));
  const again = await startServe(t, w);
  t.pass('a new service starts on the same catalog');
  t.equal(await again.stop('SIGINT'), 0);
});

t.test('one service per catalog: a second is refused, exit 75, naming the first', async (t) => {
  const w = serveWorld(t);
  await datastore(w, 'one');
  const served = await startServe(t, w);
  const second = spawnSync(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'serve', '--listen', '127.0.0.1:0'], {
    cwd: w.root,
    env: { ...process.env, FERRY_HOME: w.home },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(second.status, 75, 'busy');
  t.match(second.stderr, new RegExp(`ferry serve already runs on the catalog .*process ${served.child.pid}`));
  t.match(second.stderr, /hint: one service per catalog/);
  t.equal(await served.stop(), 0);
});

t.test('a datastore whose monitor hangs raises no_sample after three intervals, between runs', async (t) => {
  const w = serveWorld(t);
  w.config('monitor: {timeout: 60}\n');
  const quiet = await datastore(w, 'quiet');
  const catalog = w.catalog();
  const served = await startServe(t, w);
  t.ok(await waitFor(() => catalog.series(quiet.id, 'used_mb', Date.now() - 1500, Date.now()).length > 0, 5000), 'sampled while its monitor works');
  writeFileSync(join(w.markers, `hang-monitor-${quiet.id}`), '');
  t.ok(await waitFor(() => catalog.listAlerts({ state: 'firing', rule: 'no_sample' }).length === 1, 10_000, 100), 'no_sample raised while the run hangs');
  t.equal(catalog.monitorState(quiet.id).failures, 0, 'no run has failed: it hangs');
  rmSync(join(w.markers, `hang-monitor-${quiet.id}`));
  t.equal(await served.stop(), 0);
});

t.test('SIGHUP reloads ferry.yaml: new rules apply from the next run; a broken ferry.yaml is refused and the old one kept', async (t) => {
  const w = serveWorld(t);
  const ds = await datastore(w, 'watched');
  const catalog = w.catalog();
  const served = await startServe(t, w);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.equal(catalog.listAlerts({ state: 'firing', rule: 'used_any' }).length, 0, 'no such rule yet');
  w.config('alerts:\n  - name: used_any\n    attribute: TOTAL_MB\n    condition: {upper: 0}\n    severity: info\n');
  served.child.kill('SIGHUP');
  t.ok(await waitFor(() => catalog.listAlerts({ state: 'firing', rule: 'used_any' }).length === 1, 5000, 100), 'the new rule raised its alert');
  t.match(served.stderr(), /configuration reloaded/);
  writeFileSync(join(w.root, 'ferry.yaml'), 'monitor: {interval: -1}\n');
  served.child.kill('SIGHUP');
  t.ok(await waitFor(() => /reload refused/.test(served.stderr()), 5000), 'a broken ferry.yaml is refused');
  const before = catalog.series(ds.id, 'used_mb', Date.now() - 60_000, Date.now()).length;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.ok(catalog.series(ds.id, 'used_mb', Date.now() - 60_000, Date.now()).length > before, 'and the service keeps monitoring');
  t.equal(served.child.exitCode, null, 'still running');
  t.equal(await served.stop(), 0);
});

t.test('sizes: an image whose file grew, and a VM disk written to, are measured again every monitor.sizes seconds', async (t) => {
  const w = serveWorld(t);
  w.config('monitor: {sizes: 1, interval: 1}\n');
  await stage(t, w, 'shared');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const catalog = w.catalog();
  const base = catalog.image('base');
  const disk0 = catalog.vm(vm.id).disks[0];
  t.ok(disk0 !== undefined && disk0.target !== '');
  const served = await startServe(t, w);
  // The qcow2 image is resized to 48 MB (stat reports the virtual size); the VM's first disk (a full copy with the shared TM) gets 5 MB written.
  execFileSync('qemu-img', ['resize', '-q', base.source as string, '48M']);
  execFileSync('dd', ['if=/dev/urandom', `of=${disk0?.target}`, 'bs=1M', 'count=5', 'conv=notrunc', 'status=none']);
  t.ok(await waitFor(() => catalog.image('base').sizeMb === 48, 8000, 100), `the image's size measured again (${base.sizeMb} MB -> ${catalog.image('base').sizeMb} MB)`);
  t.ok(await waitFor(() => (catalog.vm(vm.id).disks[0]?.sizeMb ?? 0) >= 5, 8000, 100), `the VM disk's size measured (${catalog.vm(vm.id).disks[0]?.sizeMb} MB)`);
  t.same(catalog.journal(`image:${base.id}`).filter((entry) => entry.action === 'stat'), [], 'successful stats are not journaled: they are the size');
  t.equal(await served.stop(), 0);
});

t.test('ferry serve serves /metrics and the API; no secret in either; off loopback it needs a token from a 0600 file', async (t) => {
  const w = serveWorld(t);
  const secret = 'S3CR3T-serve-7d1f0c';
  const base = tmpDir(t, 'ferry-serve-secret-');
  const created = await runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, '--json', 'datastore', 'create', 'vault', '--ds-mad', 'probe', '--tm-mad', 'shared', '--base-path', base, '--secret', 'API_KEY', '--attr', 'MONITOR_INTERVAL=1'], { env: { FERRY_HOME: w.home, API_KEY: secret }, cwd: w.root });
  t.equal(created.status, 0, created.stderr);
  const served = await startServe(t, w, ['--listen', '127.0.0.1:0'], { API_KEY: secret });
  t.ok(served.url?.startsWith('http://127.0.0.1:'), `listening on ${served.url}`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  t.match(metrics, /ferry_datastore_total_bytes\{datastore_id="\d+",datastore="vault"\} \d+/, 'the datastore in /metrics');
  const bodies = [metrics];
  for (const path of ['/api/v1/datastores', '/api/v1/datastores/vault', '/api/v1/datastores/vault/history?attribute=used_mb', '/api/v1/journal', '/api/v1/alerts', '/api/v1/health']) {
    const response = await fetch(`${served.url}${path}`);
    t.equal(response.status, 200, `GET ${path}`);
    bodies.push(await response.text());
  }
  t.match(bodies[2], /"API_KEY"/, 'the secret is named');
  for (const body of bodies) t.notOk(body.includes(secret), 'and its value is nowhere');
  t.notOk(served.stderr().includes(secret), 'nor in the log');
  t.equal(await served.stop(), 0);

  const refused = spawnSync(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'serve', '--listen', '0.0.0.0:0'], { cwd: w.root, env: { ...process.env, FERRY_HOME: w.home }, encoding: 'utf8', timeout: 20_000 });
  t.equal(refused.status, 2, 'off loopback without a token: refused');
  t.match(refused.stderr, /token/);
  const tokenFile = join(w.root, 'token');
  writeFileSync(tokenFile, 'tok-9b2e4f\n', { mode: 0o644 });
  const loose = spawnSync(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'serve', '--listen', '0.0.0.0:0', '--token-file', tokenFile], { cwd: w.root, env: { ...process.env, FERRY_HOME: w.home }, encoding: 'utf8', timeout: 20_000 });
  t.equal(loose.status, 2, 'a token file others can read: refused');
  t.match(loose.stderr, /chmod 600/);
  chmodSync(tokenFile, 0o600);
  const open = await startServe(t, w, ['--listen', '0.0.0.0:0', '--token-file', tokenFile]);
  const port = new URL(open.url ?? 'http://x').port;
  t.equal((await fetch(`http://127.0.0.1:${port}/api/v1/datastores`)).status, 401, 'no token: 401');
  t.equal((await fetch(`http://127.0.0.1:${port}/api/v1/datastores`, { headers: { authorization: 'Bearer tok-9b2e4f' } })).status, 200, 'the token: 200');
  t.notOk(open.stderr().includes('tok-9b2e4f'), 'the token is never logged');
  t.equal(await open.stop(), 0);
});
