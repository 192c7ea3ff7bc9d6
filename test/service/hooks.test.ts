/**
 * Alert hooks (service/hooks.ts): which files of <remotes>/hooks/alert are hooks; deliverNotices runs each
 * hook once per notice (JSON on stdin, the event as $1, FERRY_ALERT_* in the environment) through a real
 * Runner; a failing hook is retried later, then given up; a hanging one is killed with its process group;
 * two deliverers on one catalog run each notice's hooks once; no hooks: notices delivered all the same.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { noticeOwner } from '../../src/catalog/notices.js';
import { startedOf } from '../../src/catalog/owner.js';
import { Runner } from '../../src/driver/runner.js';
import { silentLogger } from '../../src/log/logger.js';
import type { NewAlert } from '../../src/model.js';
import { alertHooks, deliverNotices, HOOK_ATTEMPTS } from '../../src/service/hooks.js';
import { processAlive, tmpDir, waitFor } from '../helpers/fixtures.js';

const T0 = Date.UTC(2026, 0, 5);
const alertOn = (id: number, extra: Partial<NewAlert> = {}): NewAlert => ({ rule: 'free_low', subject: { kind: 'datastore', id }, severity: 'warning', message: `datastore ${id} is short of space`, at: T0, ...extra });

interface HookWorld {
  root: string;
  remotes: string;
  hooks: string;
  catalogPath: string;
  catalog: Catalog;
  runner: Runner;
  log: string;
  /** Writes an executable hook named `name` running `body` (sh). */
  hook(name: string, body: string, mode?: number): string;
  /** The calls the recording hooks logged: one JSON object each. */
  calls(): Array<{ hook: string; arg: string; event: string; id: string; notice: string; input: { notice: number; event: string; at: string; alert: Record<string, any> } }>;
}

/** A hook recording its name, $1, the FERRY_ALERT_* variables and its stdin as one JSON line. */
const RECORD = (log: string) => `input=$(cat)
printf '{"hook":"%s","arg":"%s","event":"%s","id":"%s","notice":"%s","input":%s}\\n' "$(basename "$0")" "$1" "$FERRY_ALERT_EVENT" "$FERRY_ALERT_ID" "$FERRY_ALERT_NOTICE" "$input" >> '${log}'
`;

function hookWorld(t: Test, withFolder = true): HookWorld {
  const root = tmpDir(t, 'ferry-hooks-');
  const remotes = join(root, 'remotes');
  const hooks = join(remotes, 'hooks', 'alert');
  mkdirSync(withFolder ? hooks : remotes, { recursive: true });
  const catalogPath = join(root, 'catalog.db');
  const catalog = Catalog.open(catalogPath);
  t.teardown(() => catalog.close());
  const log = join(root, 'calls.log');
  return {
    root,
    remotes,
    hooks,
    catalogPath,
    catalog,
    runner: new Runner({ remotes }),
    log,
    hook(name, body, mode = 0o755) {
      const file = join(hooks, name);
      writeFileSync(file, `#!/bin/sh\nset -eu\n${body}`);
      chmodSync(file, mode);
      return file;
    },
    calls() {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line));
    },
  };
}

const deliver = (w: HookWorld, extra: Partial<Parameters<typeof deliverNotices>[0]> = {}) =>
  deliverNotices({ catalog: w.catalog, runner: w.runner, logger: silentLogger, owner: noticeOwner(), timeoutSec: 10, ...extra });

t.test('alertHooks: the executable regular files of hooks/alert, by name, inside remotes only', async (t) => {
  const w = hookWorld(t);
  const b = w.hook('b-page', 'exit 0\n');
  const a = w.hook('a-mail', 'exit 0\n');
  w.hook('.hidden', 'exit 0\n');
  w.hook('a-mail~', 'exit 0\n');
  w.hook('notes', 'exit 0\n', 0o644);
  mkdirSync(join(w.hooks, 'folder'), { mode: 0o755 });
  // A link to an executable inside remotes is followed (to its real path); one leading out of remotes is not.
  mkdirSync(join(w.remotes, 'lib'));
  const inside = join(w.remotes, 'lib', 'shared-hook');
  writeFileSync(inside, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  symlinkSync('../../lib/shared-hook', join(w.hooks, 'c-linked'));
  const outside = join(w.root, 'outside-hook');
  writeFileSync(outside, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  symlinkSync(outside, join(w.hooks, 'd-escape'));
  symlinkSync(join(w.root, 'missing'), join(w.hooks, 'e-dangling'));
  const real = (path: string) => realpathSync(path);
  t.same(alertHooks(w.remotes), [real(a), real(b), real(inside)], 'a-mail, b-page, and the link inside remotes');
  t.same(alertHooks(`${w.remotes}/`), alertHooks(w.remotes), 'a trailing slash is the same folder');
  t.same(alertHooks(join(w.root, 'no-such-remotes')), [], 'no remotes: none');
  const bare = hookWorld(t, false);
  t.same(alertHooks(bare.remotes), [], 'no hooks/alert folder: none');
  // A remotes folder reached through a link: the hooks inside its real path count.
  symlinkSync(w.remotes, join(w.root, 'remotes-link'));
  t.same(alertHooks(join(w.root, 'remotes-link')), [real(a), real(b), real(inside)], 'remotes through a link');
});

t.test('deliverNotices runs every hook once per notice, with the notice as JSON on stdin, the event as $1 and FERRY_ALERT_*', async (t) => {
  const w = hookWorld(t);
  w.hook('a-first', RECORD(w.log));
  w.hook('b-second', RECORD(w.log));
  const first = w.catalog.raiseAlert(alertOn(1, { affects: [{ kind: 'image', id: 3 }] })).alert;
  w.catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 1000);
  const second = w.catalog.raiseAlert(alertOn(2, { rule: 'free_critical', severity: 'critical' })).alert;
  const notices = w.catalog.listNotices();
  t.equal(notices.length, 3);

  t.same(await deliver(w), { delivered: 3, failed: 0 });
  const calls = w.calls();
  t.equal(calls.length, 6, 'two hooks x three notices');
  // One claim takes both raises; the clear of the first alert waits behind its raise, for the next claim.
  const order = [notices[0], notices[2], notices[1]] as typeof notices;
  t.same(
    calls.map((call) => [call.hook, call.arg, Number(call.notice)]),
    order.flatMap((notice) => [['a-first', notice.event, notice.id], ['b-second', notice.event, notice.id]]),
    'each notice once per hook, hooks by name, an alert\'s clear after its raise',
  );
  for (const call of calls) {
    if (call.event !== call.arg || call.id !== String(call.input.alert.id) || call.notice !== String(call.input.notice) || call.input.event !== call.arg) {
      t.fail(`the arguments, environment and stdin disagree: ${JSON.stringify(call)}`);
    }
  }
  const [raisedCall, , otherCall, , clearedCall] = calls;
  t.match(raisedCall?.input, {
    notice: notices[0]?.id,
    event: 'raised',
    at: new Date(T0).toISOString(),
    alert: { id: first.id, rule: 'free_low', severity: 'warning', subject: { kind: 'datastore', id: '1' }, affects: [{ kind: 'image', id: '3' }], message: 'datastore 1 is short of space' },
  });
  t.match(clearedCall?.input, { event: 'cleared', at: new Date(T0 + 1000).toISOString(), alert: { id: first.id, state: 'cleared' } }, 'the alert as it is now');
  t.match(otherCall?.input, { event: 'raised', alert: { id: second.id, rule: 'free_critical', severity: 'critical', state: 'firing' } });
  t.same(w.catalog.listNotices(), [], 'all delivered');
  t.match(w.catalog.listNotices(first.id), [{ attempts: 1, lastError: null, deliveredAt: /^\d{4}-/ }, { attempts: 1, lastError: null, deliveredAt: /^\d{4}-/ }]);

  t.same(await deliver(w), { delivered: 0, failed: 0 }, 'a second delivery: nothing to do');
  t.equal(w.calls().length, 6, 'no hook ran again');
});

t.test('a failing hook: the notice is retried later, then given up after HOOK_ATTEMPTS attempts', async (t) => {
  const w = hookWorld(t);
  const count = join(w.root, 'count');
  w.hook('a-record', RECORD(w.log));
  w.hook('b-fail', `echo x >> '${count}'\necho 'pager unreachable' >&2\nexit 3\n`);
  const { alert } = w.catalog.raiseAlert(alertOn(1));
  const raw = new Database(w.catalogPath);
  t.teardown(() => raw.close());
  const claimedUntil = () => (raw.prepare('SELECT claimed_until AS until FROM alert_notices WHERE alert_id = ?').get(alert.id) as { until: number }).until;
  const runs = () => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0);

  const before = Date.now();
  t.same(await deliver(w), { delivered: 0, failed: 1 });
  t.match(w.catalog.listNotices(alert.id), [{ attempts: 1, deliveredAt: null, lastError: 'hook b-fail exited 3: pager unreachable' }], 'failed, its error kept');
  t.ok(claimedUntil() >= before + 30_000 && claimedUntil() <= Date.now() + 30_000, 'retried in 30 s');
  t.equal(w.calls().length, 1, 'the other hook still ran');
  t.same(await deliver(w), { delivered: 0, failed: 0 }, 'not retried at once');
  t.equal(runs(), 1);

  for (let attempt = 2; attempt <= HOOK_ATTEMPTS; attempt++) {
    // Time passes: the retry is due.
    raw.prepare('UPDATE alert_notices SET claimed_until = ? WHERE alert_id = ?').run(Date.now() - 1, alert.id);
    const start = Date.now();
    t.same(await deliver(w), { delivered: 0, failed: 1 }, `attempt ${attempt} fails`);
    const notice = w.catalog.listNotices(alert.id)[0];
    t.equal(notice?.attempts, attempt);
    if (attempt < HOOK_ATTEMPTS) {
      t.equal(notice?.deliveredAt, null, `attempt ${attempt}: retried later`);
      const delay = 30_000 * 4 ** (attempt - 1);
      t.ok(claimedUntil() >= start + delay && claimedUntil() <= Date.now() + delay, `attempt ${attempt}: the next in ${delay / 1000} s`);
    } else {
      t.match(notice, { deliveredAt: /^\d{4}-/, lastError: 'hook b-fail exited 3: pager unreachable' }, `given up after ${HOOK_ATTEMPTS} attempts, its error kept`);
    }
  }
  t.equal(runs(), HOOK_ATTEMPTS, `the failing hook ran ${HOOK_ATTEMPTS} times`);
  raw.prepare('UPDATE alert_notices SET claimed_until = 0').run();
  t.same(await deliver(w), { delivered: 0, failed: 0 }, 'a given-up notice is not tried again');
  t.equal(runs(), HOOK_ATTEMPTS);
  w.catalog.clearAlert('free_low', { kind: 'datastore', id: 1 });
  w.hook('b-fail', 'exit 0\n');
  t.same(await deliver(w), { delivered: 1, failed: 0 }, 'the clear after it goes out');
  t.same(w.calls().map((call) => call.arg).at(-1), 'cleared');
});

t.test('a hook that hangs is killed at its timeout with its process group; the next notice still goes out', async (t) => {
  const w = hookWorld(t);
  const pids = join(w.root, 'pids');
  w.hook('hang', `echo $$ > '${pids}.hook'\nsleep 300 &\necho $! > '${pids}.sleep'\nwait\n`);
  w.catalog.raiseAlert(alertOn(1));
  const start = Date.now();
  const report = await deliver(w, { timeoutSec: 1 });
  const took = Date.now() - start;
  t.same(report, { delivered: 0, failed: 1 });
  t.ok(took >= 950 && took < 8000, `killed at its 1 s timeout (${took} ms)`);
  t.match(w.catalog.listNotices(1)[0], { lastError: 'hook hang timed out after 1 s and was killed', deliveredAt: null });
  const hookPid = Number(readFileSync(`${pids}.hook`, 'utf8'));
  const sleepPid = Number(readFileSync(`${pids}.sleep`, 'utf8'));
  t.ok(await waitFor(() => !processAlive(hookPid), 3000), 'the hook is gone');
  t.ok(await waitFor(() => !processAlive(sleepPid), 3000), 'its grandchild sleep is gone too');
});

t.test('two deliverers at once on one catalog (two connections) run each notice\'s hooks exactly once, in order per alert', async (t) => {
  const w = hookWorld(t);
  w.hook('record', `sleep 0.05\n${RECORD(w.log)}`);
  for (const ds of [1, 2, 3, 4, 5]) w.catalog.raiseAlert(alertOn(ds));
  w.catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 1);
  w.catalog.clearAlert('free_low', { kind: 'datastore', id: 3 }, T0 + 1);
  const expected = w.catalog.listNotices();
  t.equal(expected.length, 7);
  const other = Catalog.open(w.catalogPath);
  t.teardown(() => other.close());
  // The second deliverer: another live process on this host as far as its claims go.
  const peer = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void peer.kill('SIGKILL'));
  t.ok(await waitFor(() => startedOf(peer.pid as number) !== undefined));
  const peerOwner = noticeOwner({ host: hostname(), pid: peer.pid as number, started: startedOf(peer.pid as number) as string });

  const [mine, theirs] = await Promise.all([
    deliver(w, { batch: 1 }),
    deliverNotices({ catalog: other, runner: new Runner({ remotes: w.remotes }), logger: silentLogger, owner: peerOwner, timeoutSec: 10, batch: 1 }),
  ]);
  t.equal(mine.failed + theirs.failed, 0);
  t.equal(mine.delivered + theirs.delivered, 7, 'seven notices delivered between them');
  t.ok(mine.delivered > 0 && theirs.delivered > 0, `both delivered some (${mine.delivered} and ${theirs.delivered})`);
  const calls = w.calls();
  t.same(calls.map((call) => Number(call.notice)).sort((a, b) => a - b), expected.map((notice) => notice.id), 'each notice\'s hook ran exactly once');
  for (const id of ['1', '3']) {
    t.same(calls.filter((call) => call.id === id).map((call) => call.arg), ['raised', 'cleared'], `alert ${id}: raised, then cleared`);
  }
  t.same(w.catalog.listNotices(), [], 'none left');
});

t.test('no hooks folder: the notices are marked delivered without running anything', async (t) => {
  const w = hookWorld(t, false);
  w.catalog.raiseAlert(alertOn(1));
  w.catalog.clearAlert('free_low', { kind: 'datastore', id: 1 });
  w.catalog.raiseAlert(alertOn(2));
  t.same(await deliver(w), { delivered: 3, failed: 0 });
  t.same(w.catalog.listNotices(), [], 'nothing pending');
  t.match(w.catalog.listNotices(1), [{ event: 'raised', deliveredAt: /^\d{4}-/, lastError: null }, { event: 'cleared', deliveredAt: /^\d{4}-/, lastError: null }]);
  t.same(await deliver(w), { delivered: 0, failed: 0 });
});

t.test('an aborted delivery stops before the next notice and leaves it pending', async (t) => {
  const w = hookWorld(t);
  w.hook('record', RECORD(w.log));
  w.catalog.raiseAlert(alertOn(1));
  const controller = new AbortController();
  controller.abort();
  t.same(await deliver(w, { signal: controller.signal }), { delivered: 0, failed: 0 });
  t.equal(w.calls().length, 0, 'no hook ran');
  t.equal(w.catalog.listNotices().length, 1, 'still pending');
});
