/**
 * Alert notices (schema 10), the alert hooks' outbox, through the Catalog: a notice per alert raised or cleared
 * (none for a raise while firing), claims in order and per alert in sequence, a claim's lease, a claim of a
 * dead process taken over at once, delivery outcomes (delivered, retried, given up), pruning, and a catalog
 * migrated from schema 9 keeping its alerts.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { noticeOwner } from '../../src/catalog/notices.js';
import { startedOf } from '../../src/catalog/owner.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { SecretBox } from '../../src/catalog/secrets.js';
import type { NewAlert } from '../../src/model.js';
import { processAlive, tmpDir, waitFor } from '../helpers/fixtures.js';
import { fresh, waitExit } from './seed.js';

const T0 = Date.UTC(2026, 0, 5);
const LEASE = 60_000;
const alertOn = (id: number, extra: Partial<NewAlert> = {}): NewAlert => ({ rule: 'free_low', subject: { kind: 'datastore', id }, severity: 'warning', message: `datastore ${id} is short of space`, at: T0, ...extra });
/** Owners that are not this process: on another host (never judged from here), so alive as far as a claim goes. */
const ALICE = noticeOwner({ host: 'elsewhere.example', pid: 4242, started: 'boot:1' });
const BOB = noticeOwner({ host: 'otherwhere.example', pid: 4343, started: 'boot:2' });
const ids = (notices: Array<{ id: number }>): number[] => notices.map((notice) => notice.id);

t.test('raise adds one raised notice; a raise while firing adds none; clear adds a cleared one', async (t) => {
  const { catalog } = fresh(t);
  const { alert } = catalog.raiseAlert(alertOn(1));
  const raised = catalog.listNotices(alert.id);
  t.equal(raised.length, 1, 'one notice');
  t.match(raised[0], { alertId: alert.id, event: 'raised', at: new Date(T0).toISOString(), attempts: 0, deliveredAt: null, lastError: null });
  t.equal(catalog.raiseAlert(alertOn(1, { at: T0 + 1000, message: 'still' })).raised, false);
  t.equal(catalog.listNotices(alert.id).length, 1, 'raising again while firing: no notice');
  t.ok(catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 2000));
  const both = catalog.listNotices(alert.id);
  t.same(both.map((notice) => notice.event), ['raised', 'cleared']);
  t.equal(both[1]?.at, new Date(T0 + 2000).toISOString(), 'the clear at its time');
  t.ok((both[1]?.id ?? 0) > (both[0]?.id ?? 0), 'ids grow');
  t.equal(catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 3000), undefined, 'nothing firing to clear');
  t.equal(catalog.listNotices(alert.id).length, 2, 'clearing again: no notice');
  t.same(catalog.listNotices().map((notice) => notice.event), ['raised', 'cleared'], 'both undelivered');
  t.equal(catalog.listNotices(99).length, 0, 'an unknown alert has none');

  t.throws(() =>
    catalog.transaction((tx) => {
      tx.raiseAlert(alertOn(2));
      throw new Error('boom');
    }),
  );
  t.equal(catalog.listNotices().length, 2, 'a raise undone takes its notice with it');
});

t.test('claims: oldest first, at most `limit`, and an alert\'s cleared waits while its raised is undelivered', async (t) => {
  const { catalog } = fresh(t);
  const a = catalog.raiseAlert(alertOn(1)).alert;
  const b = catalog.raiseAlert(alertOn(2)).alert;
  catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 10);
  const c = catalog.raiseAlert(alertOn(3)).alert;
  const [aRaised, aCleared] = ids(catalog.listNotices(a.id)) as [number, number];
  const bRaised = ids(catalog.listNotices(b.id))[0] as number;
  const cRaised = ids(catalog.listNotices(c.id))[0] as number;

  const first = catalog.claimNotices(ALICE, T0, LEASE, 2);
  t.same(ids(first), [aRaised, bRaised], 'the two oldest');
  t.same(first.map((notice) => notice.attempts), [1, 1], 'a claim counts an attempt');
  const next = catalog.claimNotices(ALICE, T0, LEASE, 10);
  t.same(ids(next), [cRaised], "a's cleared waits behind a's raised, still claimed; c's raised does not");
  t.same(catalog.claimNotices(ALICE, T0, LEASE, 10), [], 'its own claims are not claimed again');

  t.equal(catalog.finishNotice(aRaised, ALICE, { ok: true, at: T0 + 20 }), true);
  const after = catalog.claimNotices(ALICE, T0 + 30, LEASE, 10);
  t.same(ids(after), [aCleared], 'once the raised is delivered, the cleared goes');
  t.equal(after[0]?.event, 'cleared');
  t.same(ids(catalog.listNotices()), [bRaised, aCleared, cRaised], 'the undelivered ones, oldest first');
  t.match(catalog.listNotices(a.id)[0], { deliveredAt: new Date(T0 + 20).toISOString(), lastError: null, attempts: 1 });
});

t.test('a claim excludes others until its lease ends; then another takes it and the first one\'s finish is refused', async (t) => {
  const { catalog } = fresh(t);
  const { alert } = catalog.raiseAlert(alertOn(1));
  const id = ids(catalog.listNotices(alert.id))[0] as number;
  t.same(ids(catalog.claimNotices(ALICE, T0, 1000, 10)), [id], 'alice claims it for 1 s');
  t.same(catalog.claimNotices(BOB, T0 + 500, 1000, 10), [], 'bob gets nothing while the lease runs');
  t.same(catalog.claimNotices(BOB, T0 + 999, 1000, 10), [], 'nor a millisecond before it ends');
  const taken = catalog.claimNotices(BOB, T0 + 1000, 1000, 10);
  t.same(ids(taken), [id], 'bob takes it when the lease ends (alice hangs)');
  t.equal(taken[0]?.attempts, 2, 'a second attempt');
  t.equal(catalog.finishNotice(id, ALICE, { ok: false, error: 'late' }), false, "alice's late outcome is refused");
  t.equal(catalog.listNotices(alert.id)[0]?.lastError, null, 'and not recorded');
  t.equal(catalog.finishNotice(id, BOB, { ok: true }), true, "bob's is kept");
  t.equal(catalog.finishNotice(id, BOB, { ok: true }), false, 'finishing twice: refused');
  t.same(catalog.listNotices(), [], 'delivered');
  t.same(catalog.claimNotices(ALICE, T0 + 10_000, 1000, 10), [], 'a delivered notice is never claimed again');
});

t.test('finishNotice: delivered; failed with a retry time; given up after the last attempt', async (t) => {
  const { catalog } = fresh(t);
  const { alert } = catalog.raiseAlert(alertOn(1));
  catalog.clearAlert('free_low', { kind: 'datastore', id: 1 }, T0 + 5);
  const [raised, cleared] = ids(catalog.listNotices(alert.id)) as [number, number];

  t.same(ids(catalog.claimNotices(ALICE, T0, LEASE, 10)), [raised]);
  t.equal(catalog.finishNotice(raised, ALICE, { ok: false, error: 'hook record exited 3', retryAtMs: T0 + 30_000 }), true);
  t.match(catalog.listNotices(alert.id)[0], { attempts: 1, deliveredAt: null, lastError: 'hook record exited 3' }, 'failed: its error kept, undelivered');
  t.same(catalog.claimNotices(ALICE, T0 + 29_999, LEASE, 10), [], 'not before its retry time, by the one that failed it');
  t.same(catalog.claimNotices(BOB, T0 + 29_999, LEASE, 10), [], 'nor by anyone else');
  const retried = catalog.claimNotices(BOB, T0 + 30_000, LEASE, 10);
  t.same(ids(retried), [raised], 'the raised again at its retry time; the cleared still waits behind it');
  t.match(retried[0], { attempts: 2, lastError: null });

  t.equal(catalog.finishNotice(raised, BOB, { ok: false, error: 'hook record exited 3 again', at: T0 + 31_000 }), true, 'failed with no retry: given up');
  t.match(catalog.listNotices(alert.id)[0], { attempts: 2, deliveredAt: new Date(T0 + 31_000).toISOString(), lastError: 'hook record exited 3 again' }, 'given up: done, its error kept');
  const next = catalog.claimNotices(BOB, T0 + 31_000, LEASE, 10);
  t.same(ids(next), [cleared], 'a given-up raised no longer holds back the cleared');
  t.equal(catalog.finishNotice(cleared, BOB, { ok: true, at: T0 + 32_000 }), true);
  t.match(catalog.listNotices(alert.id)[1], { event: 'cleared', attempts: 1, deliveredAt: new Date(T0 + 32_000).toISOString(), lastError: null });
  t.same(catalog.listNotices(), [], 'nothing pending');
});

t.test('a claim by a process that is gone is taken over at once; a live other process keeps its claim', async (t) => {
  const { catalog } = fresh(t);
  const first = catalog.raiseAlert(alertOn(1)).alert;
  const second = catalog.raiseAlert(alertOn(2)).alert;
  const [firstId] = ids(catalog.listNotices(first.id));
  const [secondId] = ids(catalog.listNotices(second.id));

  // A real process that ran on this host and has ended.
  const done = spawn('true', [], { stdio: 'ignore' });
  const donePid = done.pid as number;
  const doneStarted = startedOf(donePid) ?? 'boot:1';
  t.equal(await waitExit(done), 0);
  t.ok(await waitFor(() => !processAlive(donePid)), 'it is gone');
  const dead = noticeOwner({ host: hostname(), pid: donePid, started: doneStarted });
  // A real process that still runs on this host.
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void sleeper.kill('SIGKILL'));
  const sleeperPid = sleeper.pid as number;
  t.ok(await waitFor(() => startedOf(sleeperPid) !== undefined), 'the sleeper runs');
  const live = noticeOwner({ host: hostname(), pid: sleeperPid, started: startedOf(sleeperPid) as string });

  // Claimed in this order, as the dead one's claim is free to take as soon as it is made.
  t.same(ids(catalog.claimNotices(live, T0, LEASE, 1)), [firstId], 'the live process claims the first');
  t.same(ids(catalog.claimNotices(dead, T0, LEASE, 1)), [secondId], 'the dead process had claimed the second');
  const mine = noticeOwner();
  const taken = catalog.claimNotices(mine, T0 + 1, LEASE, 10);
  t.same(ids(taken), [secondId], "the dead process's claim is taken over long before its lease ends; the live one's is not");
  t.equal(taken[0]?.attempts, 2);
  t.equal(catalog.finishNotice(secondId as number, mine, { ok: true }), true);
  t.equal(catalog.finishNotice(secondId as number, dead, { ok: true }), false, 'the dead owner no longer holds it');

  // The same pid with another start time is another process (a reused pid): its claim is as good as gone.
  const reused = noticeOwner({ host: hostname(), pid: sleeperPid, started: 'another-boot:1' });
  t.same(catalog.claimNotices(reused, T0 + 2, LEASE, 10), [], 'a lookalike of the live owner does not take its claim');
  sleeper.kill('SIGKILL');
  await waitExit(sleeper);
  t.ok(await waitFor(() => startedOf(sleeperPid) === undefined), 'the sleeper is gone');
  t.same(ids(catalog.claimNotices(mine, T0 + 3, LEASE, 10)), [firstId], 'once it died, its claim is taken over too');
});

t.test('pruneNotices deletes delivered notices delivered before the given time, and nothing pending', async (t) => {
  const { catalog } = fresh(t);
  for (const ds of [1, 2, 3]) catalog.raiseAlert(alertOn(ds));
  const [one, two, three] = ids(catalog.listNotices()) as [number, number, number];
  catalog.claimNotices(ALICE, T0, LEASE, 10);
  catalog.finishNotice(one, ALICE, { ok: true, at: T0 + 1000 });
  catalog.finishNotice(two, ALICE, { ok: false, error: 'given up', at: T0 + 5000 });
  t.equal(catalog.pruneNotices(T0 + 1000), 0, 'none delivered before T0 + 1 s');
  t.equal(catalog.pruneNotices(T0 + 1001), 1, 'the first');
  t.equal(catalog.listNotices(1).length, 0, 'gone');
  t.equal(catalog.pruneNotices(T0 + 86_400_000), 1, 'the given-up one too, later');
  t.same(ids(catalog.listNotices()), [three], 'the pending one stays');
  t.equal(catalog.pruneNotices(Date.UTC(2100, 0, 1)), 0, 'never a pending one');
  t.equal(catalog.raiseAlert(alertOn(4)).alert.id, 4);
  t.ok((ids(catalog.listNotices(4))[0] as number) > three, 'notice ids keep growing past pruned ones');
});

t.test('a catalog at schema 9 migrates to 10, keeps its alerts, and a clear of an old alert is announced', async (t) => {
  const dir = tmpDir(t, 'ferry-catalog-');
  const path = join(dir, 'catalog.db');
  const raw = new Database(path);
  const secrets = new SecretBox(`${path}.key`);
  for (const migration of MIGRATIONS.slice(0, 9)) {
    if (typeof migration === 'string') raw.exec(migration);
    else migration(raw, secrets);
  }
  raw.pragma('user_version = 9');
  const at = '2026-11-22T00:00:00.000Z';
  raw.prepare("INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, created_at) VALUES (1, 'images', 'IMAGE', 'fs', 'shared', '/ds/1', ?)").run(at);
  const insert = raw.prepare("INSERT INTO alerts (id, rule, subject_kind, subject_id, severity, state, value, message, affects, raised_at, cleared_at) VALUES (?, ?, 'datastore', '1', ?, ?, ?, ?, ?, ?, ?)");
  insert.run(1, 'free_low', 'warning', 'cleared', 15, 'free 15 %', '[]', at, at);
  insert.run(2, 'free_critical', 'critical', 'firing', 5, 'free 5 %', '[{"kind":"image","id":"3"}]', at, null);
  raw.prepare("INSERT INTO alert_rule_state (rule, subject_kind, subject_id, state, updated_at) VALUES ('free_critical', 'datastore', '1', '{\"active\":true}', ?)").run(at);
  raw.close();

  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, MIGRATIONS.length, 'the latest');
  t.match(catalog.listAlerts(), [
    { id: 1, rule: 'free_low', state: 'cleared', value: 15 },
    { id: 2, rule: 'free_critical', state: 'firing', severity: 'critical', value: 5, affects: [{ kind: 'image', id: '3' }] },
  ], 'both alerts kept');
  t.same(catalog.evaluatorState('free_critical', { kind: 'datastore', id: 1 }), { active: true }, 'the evaluator state kept');
  t.same(catalog.listNotices(), [], 'no notices for what was raised before');
  t.equal(catalog.raiseAlert(alertOn(1, { rule: 'free_critical' })).raised, false, 'the old firing alert is still the firing one');
  t.same(catalog.listNotices(), []);
  t.ok(catalog.clearAlert('free_critical', { kind: 'datastore', id: 1 }, T0));
  const claimed = catalog.claimNotices(ALICE, T0, LEASE, 10);
  t.match(claimed, [{ alertId: 2, event: 'cleared', attempts: 1 }], 'its clear is announced at once (no older notice holds it back)');
  t.equal(catalog.raiseAlert(alertOn(1, { rule: 'monitor_failing' })).alert.id, 3, 'alert ids carry on');
  t.equal(catalog.listNotices(3).length, 1, 'a new raise has its notice');
});

t.test('notices waiting for a retry or held by others do not hide the claimable ones behind them', async (t) => {
  const { catalog } = fresh(t);
  for (let ds = 1; ds <= 30; ds++) catalog.raiseAlert(alertOn(ds));
  const failing = catalog.claimNotices(ALICE, T0, LEASE, 20);
  t.equal(failing.length, 20);
  for (const notice of failing) catalog.finishNotice(notice.id, ALICE, { ok: false, error: 'hook exited 3', retryAtMs: T0 + 3_600_000 });
  t.equal(catalog.claimNotices(BOB, T0, LEASE, 10).length, 10, 'bob holds ten more');
  const fresh1 = catalog.raiseAlert(alertOn(31)).alert;
  const fresh2 = catalog.raiseAlert(alertOn(32)).alert;
  const claimed = catalog.claimNotices(ALICE, T0 + 1, LEASE, 2);
  t.same(claimed.map((notice) => notice.alertId), [fresh1.id, fresh2.id], 'the two free notices, past thirty that wait');
});
