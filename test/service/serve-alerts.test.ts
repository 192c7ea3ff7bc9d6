/**
 * Alerts from `ferry serve` on real storage: a datastore on a small tmpfs filled past free_low's threshold
 * raises it within one interval (free_low holds 0 s), the alert hook runs once, a value moving inside the
 * hysteresis band changes nothing, freeing the space clears it and the hook runs once more. Then SIGKILL:
 * the service killed while a hook runs, restarted, carries on with no alert lost or duplicated.
 * Mounting a tmpfs needs root (CAP_SYS_ADMIN), as the CI machines have.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { tmpDir, waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe, type ServeWorld } from '../helpers/serve.js';

const MB = 1024 * 1024;

/** A tmpfs of `mb` MB mounted on a fresh folder, unmounted when the test ends. */
function tmpfs(t: Test, mb: number): string {
  const dir = join(tmpDir(t, 'ferry-tmpfs-'), 'mnt');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`mounting a tmpfs failed (this test needs root: run the suite as root, as CI does): ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
  t.teardown(() => {
    execFileSync('umount', ['-l', dir]);
  });
  return dir;
}

/** Makes `file` `mb` MB of written (not sparse) data. */
function fill(file: string, mb: number): void {
  writeFileSync(file, Buffer.alloc(mb * MB, 1));
}

async function onTmpfs(w: ServeWorld, t: Test, name: string): Promise<{ id: number; mount: string }> {
  const mount = tmpfs(t, 64);
  const ds = await w.json(['datastore', 'create', name, '--ds-mad', 'probe', '--tm-mad', 'shared', '--base-path', mount, '--attr', 'MONITOR_INTERVAL=1']);
  return { id: ds.id as number, mount };
}

t.test('a tmpfs filled past free_low raises it within an interval, the hook runs once; inside the hysteresis nothing changes; freed: cleared', async (t) => {
  const w = serveWorld(t);
  const ds = await onTmpfs(w, t, 'small');
  const catalog = w.catalog();
  const served = await startServe(t, w);
  const firing = () => catalog.listAlerts({ state: 'firing', subject: { kind: 'datastore', id: String(ds.id) } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.same(firing(), [], 'an empty tmpfs raises nothing');

  // 64 MB: 55 MB used leaves 14 % free, under free_low's 20 % and over free_critical's 10 %.
  fill(join(ds.mount, 'big'), 55);
  const filledAt = Date.now();
  t.ok(await waitFor(() => firing().some((alert) => alert.rule === 'free_low'), 5000, 50), 'free_low raised');
  const took = Date.now() - filledAt;
  t.ok(took <= 2000 + 1000, `within one interval (1 s) plus the run and the hold (0 s): ${took} ms`);
  t.same(firing().map((alert) => alert.rule), ['free_low'], 'free_low only: not free_critical');
  const alert = firing()[0];
  t.equal(alert?.severity, 'warning');
  t.match(alert?.message ?? '', /datastore small has 1\d(\.\d)? % free, under 20 %/);
  t.ok(await waitFor(() => w.hookCalls().length === 1, 5000), 'the hook ran');

  // 51 MB used: 20.3 % free, above 20 % but under the hysteresis (22 %): still firing, nothing new.
  rmSync(join(ds.mount, 'big'));
  fill(join(ds.mount, 'big'), 51);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  t.same(firing().map((alert) => alert.id), [alert?.id], 'inside the hysteresis band: the same alert, still firing');
  rmSync(join(ds.mount, 'big'));
  fill(join(ds.mount, 'big'), 54);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  t.same(firing().map((alert) => alert.id), [alert?.id], 'back under: not raised again');
  t.equal(w.hookCalls().length, 1, 'the hook ran once for all of it');

  rmSync(join(ds.mount, 'big'));
  t.ok(await waitFor(() => firing().length === 0, 5000, 50), 'freed: cleared');
  t.ok(await waitFor(() => w.hookCalls().length === 2, 5000), 'the hook ran for the clear');
  const calls = w.hookCalls();
  t.same(calls.map((call) => [call.event, call.input.alert.rule, call.input.alert.id]), [['raised', 'free_low', alert?.id], ['cleared', 'free_low', alert?.id]]);
  t.equal(calls[1]?.input.alert.state, 'cleared');
  t.ok((calls[1]?.input.notice ?? 0) > (calls[0]?.input.notice ?? 0), 'notices numbered in order');
  t.equal(catalog.listAlerts({ rule: 'free_low' }).length, 1, 'one alert in all, raised and cleared');
  t.equal(await served.stop(), 0);
});

t.test('SIGKILL while a hook runs, then a restart: the hook runs again for that notice, no alert is lost or duplicated', async (t) => {
  const w = serveWorld(t);
  // The hook takes 2 s: the kill lands while it runs.
  const slowHook = join(w.remotes, 'hooks', 'alert', 'record');
  writeFileSync(slowHook, `#!/bin/sh\nset -eu\nline="$1 $(cat)"\nprintf '%s\\n' "$line" >> '${w.hooksLog}'\nsleep 2\n`);
  chmodSync(slowHook, 0o755);
  const ds = await onTmpfs(w, t, 'crashy');
  const catalog = w.catalog();
  const first = await startServe(t, w);
  fill(join(ds.mount, 'big'), 60);
  t.ok(await waitFor(() => w.hookCalls().length === 1, 8000, 50), 'the hook started for the raise');
  t.equal(await first.stop('SIGKILL'), null, 'killed');
  const killedIn = w.hookCalls()[0]?.input.notice;
  t.ok(catalog.listNotices().some((notice) => notice.id === killedIn), 'the notice whose hook was killed is not marked delivered');

  const second = await startServe(t, w);
  t.ok(await waitFor(() => catalog.listNotices().length === 0, 10_000, 100), 'the restarted service delivered it');
  const raised = w.hookCalls().filter((call) => call.event === 'raised');
  t.ok(raised.filter((call) => call.input.notice === killedIn).length >= 2, 'the hook ran again for the notice it was killed in (at least once), with the same notice id: the hook can tell a repeat');
  t.equal(new Set(raised.map((call) => call.input.notice)).size, 2, 'and once for the other raise (free_low and free_critical)');
  const alerts = catalog.listAlerts({ subject: { kind: 'datastore', id: String(ds.id) } });
  t.same(alerts.map((alert) => [alert.rule, alert.state]).sort(), [['free_critical', 'firing'], ['free_low', 'firing']], 'each alert once, still firing');

  rmSync(join(ds.mount, 'big'));
  t.ok(await waitFor(() => catalog.listAlerts({ state: 'firing', subject: { kind: 'datastore', id: String(ds.id) } }).length === 0, 8000, 100), 'freed: both cleared');
  t.ok(await waitFor(() => catalog.listNotices().length === 0, 15_000, 100), 'every notice delivered');
  t.same(
    catalog.listAlerts({ subject: { kind: 'datastore', id: String(ds.id) } }).map((alert) => [alert.rule, alert.state]).sort(),
    [['free_critical', 'cleared'], ['free_low', 'cleared']],
    'still one alert per rule: none duplicated across the crash',
  );
  t.equal(await second.stop(), 0);
});
