/** Monitoring history (schema 9): samples, hourly rollups, the raw/rollup windows, pruning, trends, the monitor's state. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { PRUNE_BATCH, RAW_WINDOW_MS } from '../../src/catalog/history.js';
import { DAY_MS, decodeDay, emptyDay, encodeDay, HOUR_MS, type DayRollups } from '../../src/catalog/rollups.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { SecretBox } from '../../src/catalog/secrets.js';
import type { HistoryPoint, Sample } from '../../src/model.js';
import { thrown, tmpDir } from '../helpers/fixtures.js';
import { seeded, vmInput, rawStore } from './seed.js';

/** A UTC midnight, so hours and days are easy to read. */
const T0 = Date.UTC(2026, 0, 5);
const MIN = 60_000;

/** `attribute` of datastore `ds` every `step` ms from `from` (inclusive) to `to` (exclusive), valued by `value(at)`. */
function every(ds: number, attribute: string, from: number, to: number, step: number, value: (at: number) => number): Sample[] {
  const samples: Sample[] = [];
  for (let at = from; at < to; at += step) samples.push({ datastoreId: ds, attribute, at, value: value(at) });
  return samples;
}

const counted = (points: HistoryPoint[]): number => points.reduce((total, point) => total + point.count, 0);

t.test('a day of rollups packs and unpacks exactly: integers, floats, gaps, large values', async (t) => {
  const day: DayRollups = emptyDay();
  day[0] = { min: 1_000_000, max: 1_000_450, sum: 12_002_000, count: 12 };
  day[1] = { min: 999_990, max: 1_000_000, sum: 11_999_950, count: 12 };
  day[5] = { min: -7, max: 3, sum: -4, count: 2 };
  day[23] = { min: 2 ** 40, max: 2 ** 40 + 1, sum: 2 ** 41 + 1, count: 2 };
  const blob = encodeDay(day);
  t.same(decodeDay(blob), day, 'integers round-trip');
  t.ok(blob.length < 60, `compact: ${blob.length} bytes for 4 hours`);
  t.same(decodeDay(encodeDay(emptyDay())), emptyDay(), 'an empty day');

  const floats: DayRollups = emptyDay();
  floats[3] = { min: 0.1, max: 99.5, sum: 100.35, count: 3 };
  floats[4] = { min: 1, max: 1, sum: 1, count: 1 };
  t.same(decodeDay(encodeDay(floats)), floats, 'a fraction turns the day to floats, exactly');
  const huge: DayRollups = emptyDay();
  huge[2] = { min: 2 ** 60, max: 2 ** 61, sum: 3 * 2 ** 60, count: 2 };
  t.same(decodeDay(encodeDay(huge)), huge, 'integers past 2^50 as floats');
});

t.test('samples are stored raw and rolled up by the hour at once: min, average, max, count', async (t) => {
  const { catalog, images } = seeded(t);
  // 10:00 to 11:55 every 5 minutes: 12 samples an hour.
  const samples = every(images.id, 'used_mb', T0 + 10 * HOUR_MS, T0 + 12 * HOUR_MS, 5 * MIN, (at) => 1000 + (at - T0 - 10 * HOUR_MS) / MIN);
  t.equal(catalog.recordSamples(samples), 24, 'all recorded');
  const raw = catalog.series(images.id, 'used_mb', T0, T0 + DAY_MS);
  t.equal(raw.length, 24, 'inside the raw window: the samples themselves');
  t.same(raw[0], { kind: 'raw', at: T0 + 10 * HOUR_MS, value: 1000, min: 1000, max: 1000, count: 1 });
  t.ok(raw.every((point, i) => i === 0 || point.at > (raw[i - 1] as HistoryPoint).at), 'oldest first');
  t.same(catalog.series(images.id, 'used_mb', T0 + 10 * HOUR_MS + 5 * MIN, T0 + 10 * HOUR_MS + 15 * MIN).map((p) => p.value), [1005, 1010, 1015], 'bounds inclusive');

  // Once the raw samples are pruned, the rollups answer.
  catalog.pruneHistory(T0 + 15 * HOUR_MS, { rawWindowMs: HOUR_MS });
  const hours = catalog.series(images.id, 'used_mb', T0, T0 + DAY_MS);
  t.same(hours, [
    { kind: 'hour', at: T0 + 10 * HOUR_MS, min: 1000, max: 1055, value: 1027.5, count: 12 },
    { kind: 'hour', at: T0 + 11 * HOUR_MS, min: 1060, max: 1115, value: 1087.5, count: 12 },
  ], 'hourly min, average (sum / count) and max');

  // Fractions, negative values, and a batch that lands in an hour already rolled up.
  const other = catalog.addDatastore({ name: 'other', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/9' });
  const B = T0 + DAY_MS;
  catalog.recordSamples([0.5, -2.25, 10].map((value, i) => ({ datastoreId: other.id, attribute: 'ratio', at: B + i * MIN, value })));
  catalog.recordSamples([{ datastoreId: other.id, attribute: 'ratio', at: B + 30 * MIN, value: 4 }]);
  catalog.pruneHistory(B + 5 * HOUR_MS, { rawWindowMs: HOUR_MS });
  t.same(catalog.series(other.id, 'ratio', B, B + HOUR_MS), [{ kind: 'hour', at: B, min: -2.25, max: 10, value: 12.25 / 4, count: 4 }], 'fractional values, batches added to one hour');
});

t.test('a series reads raw samples inside the raw window and hourly rollups beyond it, each sample counted once', async (t) => {
  const { catalog, images, system } = seeded(t);
  const now = T0 + 3 * DAY_MS + 20 * MIN;
  const step = 5 * MIN;
  const used = every(images.id, 'used_mb', T0, now, step, (at) => Math.floor((at - T0) / MIN));
  const free = every(images.id, 'free_mb', T0, now, step, () => 500);
  const elsewhere = every(system.id, 'used_mb', T0, now, step, () => 1);
  t.equal(catalog.recordSamples([...used, ...free, ...elsewhere]), used.length * 3);
  const pruned = catalog.pruneHistory(now);
  const cut = Math.floor((now - RAW_WINDOW_MS) / HOUR_MS) * HOUR_MS;
  t.equal(pruned.samples, 3 * ((cut - T0) / step), 'raw samples deleted by whole hours, older than 48 h');
  t.equal(pruned.rollupDays, 0, 'rollups kept');

  const points = catalog.series(images.id, 'used_mb', T0, now);
  const hourly = points.filter((point) => point.kind === 'hour');
  const raw = points.filter((point) => point.kind === 'raw');
  t.equal(hourly.length, (cut - T0) / HOUR_MS, 'one point an hour before the cut');
  t.equal((hourly.at(-1) as HistoryPoint).at, cut - HOUR_MS, 'the last hour ends at the cut');
  t.equal((raw[0] as HistoryPoint).at, cut, 'raw from the cut on');
  t.equal(raw.length, (now - cut) / step, 'every raw sample since');
  t.equal(points.length, hourly.length + raw.length);
  t.ok(points.every((point, i) => i === 0 || point.at > (points[i - 1] as HistoryPoint).at), 'merged oldest first');
  t.equal(counted(points), used.length, 'every sample counted once: none twice, none lost');
  t.same(hourly[1], { kind: 'hour', at: T0 + HOUR_MS, min: 60, max: 115, value: 87.5, count: 12 });

  // A range only in the rollups, only raw, and across the cut.
  t.equal(catalog.series(images.id, 'used_mb', T0, T0 + 5 * HOUR_MS).length, 6, 'old range: hours 0..5');
  t.ok(catalog.series(images.id, 'used_mb', now - HOUR_MS, now).every((point) => point.kind === 'raw'), 'recent range: raw');
  const across = catalog.series(images.id, 'used_mb', cut - 2 * HOUR_MS, cut + HOUR_MS - 1);
  t.same(across.map((point) => point.kind), ['hour', 'hour', ...new Array(12).fill('raw')], 'across the cut');
  t.same(catalog.series(images.id, 'nothing', T0, now), [], 'an attribute never recorded');
  t.same(catalog.series(images.id, 'used_mb', now, T0), [], 'an empty range');

  // A late sample for an hour whose raw samples are gone is ignored: its rollup is final.
  t.equal(catalog.recordSamples([{ datastoreId: images.id, attribute: 'used_mb', at: T0 + 2 * MIN, value: 1e9 }]), 0, 'too old: ignored');
  t.equal((catalog.series(images.id, 'used_mb', T0, T0)[0] as HistoryPoint).max, 55, 'the old hour unchanged');
});

t.test('completed hours fold into the rollups a bounded number of series a call; a late sample joins its folded hour', async (t) => {
  const { catalog } = seeded(t);
  const ids = Array.from({ length: 100 }, (_, i) => catalog.addDatastore({ name: `d${i}`, type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: `/ds/d${i}` }).id);
  const at = (hour: number, minute: number) => T0 + hour * HOUR_MS + minute * MIN;
  catalog.recordSamples(ids.map((id) => ({ datastoreId: id, attribute: 'used_mb', at: at(0, 0), value: 10 })));
  // A round in the next hour folds hour 0 of 64 series (a fourth of 100 is less than the minimum); the next, the rest.
  catalog.recordSamples(ids.map((id) => ({ datastoreId: id, attribute: 'used_mb', at: at(1, 0), value: 20 })));
  // Late samples of hour 0: of a series already folded, and of one not yet.
  catalog.recordSamples([{ datastoreId: ids[0] as number, attribute: 'used_mb', at: at(0, 30), value: 30 }, { datastoreId: ids[99] as number, attribute: 'used_mb', at: at(0, 30), value: 30 }]);
  catalog.recordSamples(ids.map((id) => ({ datastoreId: id, attribute: 'used_mb', at: at(1, 5), value: 20 })));
  catalog.recordSamples([{ datastoreId: ids[50] as number, attribute: 'used_mb', at: at(0, 45), value: 1 }]);
  catalog.pruneHistory(at(5, 0), { rawWindowMs: HOUR_MS });
  for (const [i, expected] of [[0, { min: 10, max: 30, count: 2, value: 20 }], [99, { min: 10, max: 30, count: 2, value: 20 }], [50, { min: 1, max: 10, count: 2, value: 5.5 }], [1, { min: 10, max: 10, count: 1 }]] as const) {
    t.match(catalog.series(ids[i] as number, 'used_mb', T0, T0), [{ kind: 'hour', ...expected }], `series ${i}: hour 0 has every sample once`);
  }
  t.match(catalog.series(ids[7] as number, 'used_mb', at(1, 0), at(1, 0)), [{ kind: 'hour', count: 2, value: 20 }], 'hour 1, folded by the prune');
});

t.test('a series made in a rolled-back transaction is not remembered: its id may go to another series', async (t) => {
  const { catalog, images, system } = seeded(t);
  catalog.preview((tx) => tx.recordSamples([{ datastoreId: images.id, attribute: 'used_mb', at: T0, value: 1 }]));
  t.equal(catalog.recordSamples([{ datastoreId: system.id, attribute: 'used_mb', at: T0, value: 2 }]), 1, 'the next series may take the same id');
  t.equal(catalog.recordSamples([{ datastoreId: images.id, attribute: 'used_mb', at: T0 + MIN, value: 3 }]), 1);
  t.same(catalog.series(system.id, 'used_mb', 0, T0 + DAY_MS).map((point) => point.value), [2], 'nothing of another datastore');
  t.same(catalog.series(images.id, 'used_mb', 0, T0 + DAY_MS).map((point) => point.value), [3]);
  // A datastore deleted after its series were remembered: its samples are refused, not misfiled.
  const scratch = catalog.addDatastore({ name: 'scratch', type: 'SYSTEM', tmMad: 'shared', basePath: '/tmp/s' });
  catalog.recordSamples([{ datastoreId: scratch.id, attribute: 'used_mb', at: T0, value: 1 }]);
  catalog.deleteDatastore(scratch.id);
  t.equal(thrown(() => catalog.recordSamples([{ datastoreId: scratch.id, attribute: 'used_mb', at: T0 + MIN, value: 1 }])).code, 'E_NOT_FOUND');
});

t.test('duplicates are ignored; a malformed sample or an unknown datastore records nothing', async (t) => {
  const { catalog, images } = seeded(t);
  const sample = { datastoreId: images.id, attribute: 'used_mb', at: T0, value: 1 };
  t.equal(catalog.recordSamples([sample, { ...sample, value: 2 }]), 1, 'a second sample at the same ms is ignored');
  t.equal(catalog.recordSamples([sample]), 0, 'also in a later batch');
  t.same(catalog.series(images.id, 'used_mb', T0, T0).map((point) => point.value), [1], 'the first kept');
  const next = { ...sample, at: T0 + MIN };
  t.equal(thrown(() => catalog.recordSamples([next, { ...sample, at: T0 + 2 * MIN, value: Number.NaN }])).code, 'E_USAGE', 'NaN refused');
  t.equal(thrown(() => catalog.recordSamples([{ ...next, at: 1.5 }])).code, 'E_USAGE', 'a fractional time refused');
  t.equal(thrown(() => catalog.recordSamples([{ ...next, attribute: 'a\nb' }])).code, 'E_USAGE', 'a control character refused');
  t.equal(thrown(() => catalog.recordSamples([next, { ...next, datastoreId: 999 }])).code, 'E_NOT_FOUND', 'an unknown datastore');
  t.equal(catalog.series(images.id, 'used_mb', T0, T0 + DAY_MS).length, 1, 'nothing of a refused batch recorded');
  t.equal(catalog.recordSamples([]), 0);
});

t.test('pruning: rollups past their window go by whole days, in bounded batches', async (t) => {
  const { catalog, images, system } = seeded(t);
  // Hourly samples over 10 days; keep rollups 3 days.
  t.equal(catalog.recordSamples(every(images.id, 'used_mb', T0, T0 + 10 * DAY_MS, HOUR_MS, () => 7)), 240);
  catalog.recordSamples([{ datastoreId: system.id, attribute: 'gone', at: T0, value: 1 }]);
  const now = T0 + 10 * DAY_MS + 12 * HOUR_MS;
  const result = catalog.pruneHistory(now, { rawWindowMs: 0, rollupWindowMs: 3 * DAY_MS });
  t.same(result, { samples: 241, rollupDays: 7 + 1 }, 'all raw, days 0..6 of one series and day 0 of the other');
  const left = catalog.series(images.id, 'used_mb', T0, now);
  t.equal((left[0] as HistoryPoint).at, T0 + 7 * DAY_MS, 'the first day kept is the first wholly inside the window');
  t.equal(left.length, 3 * 24);
  t.same(catalog.latestSamples(system.id), {}, 'nothing left of the other');
  t.same(catalog.pruneHistory(now, { rawWindowMs: 0, rollupWindowMs: 3 * DAY_MS }), { samples: 0, rollupDays: 0 }, 'a second prune finds nothing');

  // More rows than a batch: deleted in several transactions, all of them.
  const many = every(images.id, 'busy', now, now + 2 * DAY_MS, 10_000, () => 1);
  t.ok(many.length > PRUNE_BATCH * 2, `${many.length} samples, more than two batches of ${PRUNE_BATCH}`);
  t.equal(catalog.recordSamples(many), many.length);
  t.equal(catalog.recordSamples([{ datastoreId: images.id, attribute: 'busy', at: now - 1, value: 1 }]), 0, 'older than the raw watermark: ignored');
  t.equal(catalog.pruneHistory(now + 3 * DAY_MS, { rawWindowMs: 0 }).samples, many.length, 'every sample deleted');
  t.equal(counted(catalog.series(images.id, 'busy', 0, now + 3 * DAY_MS)), many.length, 'the rollups still count them all');
  catalog.pruneHistory(now, { rawWindowMs: 0 });
  t.equal(catalog.recordSamples([{ datastoreId: images.id, attribute: 'busy', at: now + 2 * DAY_MS, value: 1 }]), 0, 'a longer window or an older now moves no watermark back');
  t.equal(thrown(() => catalog.pruneHistory(now, { rawWindowMs: -1 })).code, 'E_USAGE');
});

t.test('trend: now, about a day and a week ago, from the rollups once the raw samples are pruned', async (t) => {
  const { catalog, images, system } = seeded(t);
  const now = T0 + 10 * DAY_MS + 7 * MIN;
  // Used grows 100 MB a day, sampled every 5 minutes for 10 days.
  catalog.recordSamples(every(images.id, 'used_mb', T0, now + 1, 5 * MIN, (at) => Math.round(((at - T0) / DAY_MS) * 100)));
  catalog.pruneHistory(now);
  const trend = catalog.trend(images.id, now);
  t.equal(trend.attribute, 'used_mb');
  t.match(trend.now, { kind: 'raw', at: now - 2 * MIN, value: 1000 }, 'now: the newest sample');
  t.match(trend.dayAgo, { kind: 'raw' }, 'a day ago is inside the raw window');
  t.ok(Math.abs((trend.dayAgo as HistoryPoint).at - (now - DAY_MS)) <= 150_000, 'the nearest sample');
  t.match(trend.weekAgo, { kind: 'hour', at: T0 + 3 * DAY_MS }, 'a week ago: the nearest hour, from the rollups');
  t.ok(Math.abs((trend.weekAgo as HistoryPoint).value - 300) < 3, `about 300 MB then (${(trend.weekAgo as HistoryPoint).value})`);
  t.same(catalog.trend(images.id, now, 'free_mb'), { attribute: 'free_mb', now: null, dayAgo: null, weekAgo: null }, 'no such series');

  // Two hours of history: no day-old or week-old figure is made up.
  catalog.recordSamples(every(system.id, 'used_mb', now - 2 * HOUR_MS, now, 5 * MIN, () => 5));
  t.match(catalog.trend(system.id, now), { now: { value: 5 }, dayAgo: null, weekAgo: null });
  // After the raw samples are all pruned, "now" is the last hour.
  catalog.pruneHistory(now + 3 * DAY_MS);
  t.match(catalog.trend(system.id, now + 3 * DAY_MS), { now: { kind: 'hour', at: T0 + 10 * DAY_MS, value: 5 } });
});

t.test('latestSamples: each attribute\'s newest point', async (t) => {
  const { catalog, images } = seeded(t);
  catalog.recordSamples([
    { datastoreId: images.id, attribute: 'used_mb', at: T0, value: 1 },
    { datastoreId: images.id, attribute: 'used_mb', at: T0 + MIN, value: 2 },
    { datastoreId: images.id, attribute: 'free_mb', at: T0, value: 9 },
  ]);
  t.same(catalog.latestSamples(images.id), {
    free_mb: { kind: 'raw', at: T0, value: 9, min: 9, max: 9, count: 1 },
    used_mb: { kind: 'raw', at: T0 + MIN, value: 2, min: 2, max: 2, count: 1 },
  });
  t.same(catalog.latestSamples(999), {});
});

t.test('the monitor state: failures in a row, ERROR at the third, OK again on the next success', async (t) => {
  const { catalog, images } = seeded(t);
  t.same(catalog.monitorState(images.id), { datastoreId: images.id, state: 'OK', failures: 0, lastError: null, lastFailureAt: null, lastSuccessAt: null }, 'OK before any run');
  t.match(catalog.recordMonitorSuccess(images.id, T0), { state: 'OK', failures: 0, changed: false, lastSuccessAt: new Date(T0).toISOString() });
  t.match(catalog.recordMonitorFailure(images.id, 'df: timeout', { at: T0 + 1 }), { state: 'OK', failures: 1, changed: false, lastError: 'df: timeout' });
  t.match(catalog.recordMonitorFailure(images.id, 'df: timeout', { at: T0 + 2 }), { state: 'OK', failures: 2, changed: false });
  t.match(catalog.recordMonitorFailure(images.id, 'no such file', { at: T0 + 3 }), { state: 'ERROR', failures: 3, changed: true, lastError: 'no such file', lastFailureAt: new Date(T0 + 3).toISOString() });
  t.match(catalog.recordMonitorFailure(images.id, 'again', { at: T0 + 4 }), { state: 'ERROR', failures: 4, changed: false }, 'stays in ERROR');
  t.match(catalog.recordMonitorSuccess(images.id, T0 + 5), { state: 'OK', failures: 0, changed: true, lastError: 'again', lastSuccessAt: new Date(T0 + 5).toISOString() }, 'cleared by a success; the last error kept');
  t.match(catalog.recordMonitorFailure(images.id, 'x', { errorAfter: 1 }), { state: 'ERROR', failures: 1, changed: true }, 'errorAfter');
  t.same(catalog.listMonitorStates().map((state) => state.datastoreId), [images.id]);
  t.equal(thrown(() => catalog.recordMonitorSuccess(999)).code, 'E_NOT_FOUND');
  t.equal(thrown(() => catalog.monitorState(999)).code, 'E_NOT_FOUND');
  // Inside a transaction that fails, nothing is kept.
  t.throws(() => catalog.transaction((tx) => {
    tx.recordMonitorSuccess(images.id);
    throw new Error('boom');
  }));
  t.equal(catalog.monitorState(images.id).state, 'ERROR', 'rolled back');
});

t.test('a datastore\'s history and monitor state go with it; its alerts stay', async (t) => {
  const { catalog } = seeded(t);
  const scratch = catalog.addDatastore({ name: 'scratch', type: 'SYSTEM', tmMad: 'shared', basePath: '/tmp/s' });
  catalog.recordSamples(every(scratch.id, 'used_mb', T0, T0 + DAY_MS, HOUR_MS, () => 1));
  catalog.recordMonitorFailure(scratch.id, 'x');
  catalog.raiseAlert({ rule: 'monitor-failing', subject: { kind: 'datastore', id: scratch.id }, severity: 'major', message: 'x' });
  catalog.deleteDatastore(scratch.id);
  const raw = rawStore(t, catalog.path);
  for (const table of ['history_series', 'history_samples', 'history_rollups', 'monitor_state']) {
    t.equal(Number((raw.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n), 0, `${table} emptied`);
  }
  t.equal(catalog.listAlerts({ subject: { kind: 'datastore', id: scratch.id } }).length, 1, 'the alert is history too');
});

t.test('a catalog at schema 8 (made by migrations 1..8, as ferry did before 9) migrates and keeps its data', async (t) => {
  const dir = tmpDir(t, 'ferry-catalog-');
  const path = join(dir, 'catalog.db');
  const raw = new Database(path);
  const secrets = new SecretBox(`${path}.key`);
  for (const migration of MIGRATIONS.slice(0, 8)) {
    if (typeof migration === 'string') raw.exec(migration);
    else migration(raw, secrets);
  }
  raw.pragma('user_version = 8');
  const catalogId = (raw.prepare("SELECT value FROM meta WHERE key = 'catalog_id'").get() as { value: string }).value;
  const at = '2026-11-22T00:00:00.000Z';
  raw.prepare("INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, secrets, total_mb, free_mb, used_mb, monitored_at, created_at) VALUES (1, 'images', 'IMAGE', 'fs', 'shared', '/ds/1', ?, 100, 60, 40, ?, ?)")
    .run(JSON.stringify(secrets.seal({ TOKEN: 's3cret' })), at, at);
  raw.prepare("INSERT INTO datastores (id, name, type, tm_mad, base_path, created_at) VALUES (2, 'system', 'SYSTEM', 'shared', '/ds/0', ?)").run(at);
  raw.prepare("INSERT INTO hosts (name, transport, created_at) VALUES ('node1', 'local', ?)").run(at);
  raw.prepare("INSERT INTO images (id, name, datastore_id, state, created_at, updated_at) VALUES (3, 'tty', 1, 'READY', ?, ?)").run(at, at);
  raw.prepare("INSERT INTO journal (at, subject, operation, kind, driver, action, args, ok) VALUES (?, 'image:3', 'create', 'datastore', 'fs', 'cp', '[]', 1)").run(at);
  raw.close();

  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, MIGRATIONS.length, "migrated to the newest schema");
  t.equal(catalog.identity(), catalogId, 'identity kept');
  t.match(catalog.datastore('images'), { id: 1, totalMb: 100, freeMb: 60, usedMb: 40, secrets: { TOKEN: 's3cret' } }, 'datastore, figures and secret kept');
  t.match(catalog.image(3), { name: 'tty', state: 'READY' });
  t.equal(catalog.journal('image:3').length, 1);
  t.ok(catalog.findHost('node1'));
  t.equal(catalog.addImage({ name: 'next', datastoreId: 1 }).id, 4, 'ids carry on');
  t.equal(catalog.addVm(vmInput('vm', 2, 3), '/ds/0').id, 1);
  t.equal(catalog.recordSamples([{ datastoreId: 1, attribute: 'used_mb', at: T0, value: 40 }]), 1, 'history works');
  t.equal(catalog.raiseAlert({ rule: 'r', subject: { kind: 'datastore', id: 1 }, severity: 'info', message: 'm' }).alert.id, 1, 'alerts work');
});
