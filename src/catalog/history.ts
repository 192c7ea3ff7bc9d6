/**
 * Monitoring history (schema 9): each datastore attribute's samples, raw for a window (default 48 h) and as
 * hourly rollups (min, average, max; default 400 days). The monitor's state per datastore is monitor-state.ts.
 *
 * A series is one datastore's attribute (history_series). Recording a sample stores it raw; completed hours are
 * folded into the rollups (rollups.ts packs a day of hours in one row) by the recording calls that follow, a
 * bounded number of series each, behind a cursor (meta `history_folded`), so no monitor round pays for a whole
 * hour; a sample arriving behind the cursor joins its hour's rollup at once. Each hour is folded once. Raw
 * samples are keyed (hour, series, time) and rollup days (day, series): a monitor round over a thousand
 * datastores writes into the few pages of the current hour, not one page per series, and a series over a range
 * is one seek per hour (raw) or per day (rollups).
 *
 * A prune folds what is left, then moves the catalog's raw watermark (meta `history_raw_from`, a whole hour) to
 * the start of the raw window before it deletes the raw samples older than it: from the watermark on every raw sample is there, so
 * a series reads raw samples from it and rollups before it, with no hour counted twice and none missing (also
 * when a prune was interrupted). A sample older than the watermark (its hour's rollup is final) is ignored, as
 * is a second sample of a series at the same millisecond.
 */
import { FerryError } from '../errors.js';
import type { HistoryPoint, PruneResult, Retention, Sample, Trend } from '../model.js';
import type { Connection } from './connection.js';
import { arg, prepared, type Prepared } from './db/prepared.js';
import { DAY_MS, decodeDay, emptyDay, encodeDay, HOUR_MS, mergeIntoDay, type DayRollups, type HourRollup } from './rollups.js';
import { constraintBroken, guarded, type Row } from './values.js';

/** Raw samples are kept this long by default (48 h). */
export const RAW_WINDOW_MS = 48 * HOUR_MS;
/** Hourly rollups are kept this long by default (400 days). */
export const ROLLUP_WINDOW_MS = 400 * DAY_MS;
/** Rows a prune deletes in one transaction at most: other writers wait for one batch, never for the whole prune. */
export const PRUNE_BATCH = 5000;
/** The meta key of the raw watermark: raw samples are all kept from this time (ms, a whole hour) on. */
const RAW_FROM = 'history_raw_from';

export const iso = (ms: number): string => new Date(ms).toISOString();

export function checkTime(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new FerryError('E_USAGE', `${what} ${String(value)} is not a time in integer ms since the epoch`, { hint: 'pass Date.now()-style integers' });
}

function checkSample(sample: Sample): void {
  const { attribute, value } = sample;
  if (typeof attribute !== 'string' || attribute === '' || /[\u0000-\u001f\u007f-\u009f]/.test(attribute)) {
    throw new FerryError('E_USAGE', `a sample's attribute ${JSON.stringify(attribute)} is empty or holds a control character`, { hint: 'name attributes as the monitor reports them: used_mb, free_mb …' });
  }
  if (!Number.isSafeInteger(sample.datastoreId)) throw new FerryError('E_USAGE', `a sample's datastore id ${String(sample.datastoreId)} is not an integer`);
  checkTime(sample.at, `the ${attribute} sample's time`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new FerryError('E_USAGE', `the ${attribute} sample of datastore ${sample.datastoreId} is ${String(value)}, not a finite number`);
}

// Run per sample or per hour read by a monitor round or a chart: compiled once.
const datastoreIdOf = prepared((db) => db.selectFrom('datastores').select('id').where('id', '=', arg<number>(0)));
const seriesOf = prepared((db) => db.selectFrom('history_series').select('id').where('datastore_id', '=', arg<number>(0)).where('attribute', '=', arg<string>(1)));
const addSeries = prepared((db) => db.insertInto('history_series').values({ datastore_id: arg(0), attribute: arg(1) }).returning('id'));
const metaValue = prepared((db) => db.selectFrom('meta').select('value').where('key', '=', arg<string>(0)));
const putMeta = prepared((db) => db.insertInto('meta').values({ key: arg(0), value: arg(1) }).onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') }))));
const dayRow = prepared((db) => db.selectFrom('history_rollups').select('hours').where('day', '=', arg<number>(0)).where('series_id', '=', arg<number>(1)));
const insertDay = prepared((db) => db.insertInto('history_rollups').values({ hours: arg(0), day: arg(1), series_id: arg(2) }));
const updateDay = prepared((db) => db.updateTable('history_rollups').set({ hours: arg(0) }).where('day', '=', arg<number>(1)).where('series_id', '=', arg<number>(2)));
const insertSample = prepared((db) => db.insertInto('history_samples').values({ hour: arg<number>(0), series_id: arg<number>(1), at: arg<number>(2), value: arg<number>(3) }).onConflict((oc) => oc.doNothing()));
const hourGroups = prepared((db) =>
  db
    .selectFrom('history_samples')
    .select((eb) => ['series_id', eb.fn.min('value').as('min'), eb.fn.max('value').as('max'), eb.fn.sum('value').as('sum'), eb.fn.countAll().as('count')])
    .where('hour', '=', arg<number>(0))
    .where('series_id', '>=', arg<number>(1))
    .groupBy('series_id')
    .orderBy('series_id')
    .limit(arg<number>(2)),
);
const nextHour = prepared((db) => db.selectFrom('history_samples').select((eb) => eb.fn.min('hour').as('hour')).where('hour', '>', arg<number>(0)));
const rawRange = prepared((db) =>
  db.selectFrom('history_samples').select(['at', 'value']).where('hour', '=', arg<number>(0)).where('series_id', '=', arg<number>(1)).where('at', '>=', arg<number>(2)).where('at', '<=', arg<number>(3)).orderBy('at'),
);
/** PostgreSQL's: one query over the hours (a round trip each would cost more than its index range scan). */
const rawSpan = prepared((db) =>
  db.selectFrom('history_samples').select(['at', 'value']).where('hour', '>=', arg<number>(0)).where('hour', '<=', arg<number>(1)).where('series_id', '=', arg<number>(2)).where('at', '>=', arg<number>(3)).where('at', '<=', arg<number>(4)).orderBy('at'),
);
const lastRaw = prepared((db) =>
  db.selectFrom('history_samples').select(['at', 'value']).where('hour', '=', arg<number>(0)).where('series_id', '=', arg<number>(1)).where('at', '<=', arg<number>(2)).orderBy('at', 'desc').limit(1),
);

export function checkDatastore(c: Connection, id: number): void {
  if (datastoreIdOf.get(c.ex, id) === undefined) {
    throw new FerryError('E_NOT_FOUND', `no datastore ${id} in the catalog`, { hint: 'ferry datastore list' });
  }
}

function seriesId(c: Connection, datastoreId: number, attribute: string): number | undefined {
  const row = seriesOf.get(c.ex, datastoreId, attribute);
  return row === undefined ? undefined : Number(row.id);
}

/** The raw watermark (ms): every raw sample from it on is kept; 0 before the first prune. */
function rawFrom(c: Connection): number {
  const row = metaValue.get(c.ex, RAW_FROM);
  return row === undefined ? 0 : Number(row.value);
}

function readDay(c: Connection, series: number, day: number): DayRollups | undefined {
  const row = dayRow.get(c.ex, day, series);
  return row === undefined ? undefined : decodeDay(row.hours);
}

const rawPoint = (at: number, value: number): HistoryPoint => ({ kind: 'raw', at, value, min: value, max: value, count: 1 });
const hourPoint = (at: number, slot: HourRollup): HistoryPoint => ({ kind: 'hour', at, value: slot.sum / slot.count, min: slot.min, max: slot.max, count: slot.count });

/**
 * Records `samples` in one transaction, folding completed hours into the rollups as it goes; returns how many
 * were recorded (a duplicate, or a sample older than the raw watermark, is not). E_NOT_FOUND for an unknown datastore,
 * E_USAGE for a malformed sample: then nothing is recorded.
 */
export function recordSamples(c: Connection, samples: readonly Sample[]): number {
  for (const sample of samples) checkSample(sample);
  if (samples.length === 0) return 0;
  return guarded('recording history', () => {
    try {
      return record(c, samples);
    } catch (error) {
      // A series id remembered from before its datastore was deleted (here or by another ferry): forget them all, once.
      if (constraintBroken(error) !== 'foreignkey') throw error;
      knownSeries.delete(c);
      return record(c, samples);
    }
  });
}

/**
 * Series ids by datastore and attribute, per connection, as committed: a monitor round looks up a thousand. A
 * committed id is never given again (AUTOINCREMENT), so a stale one can only name a series deleted with its
 * datastore, which its samples' foreign key refuses.
 */
const knownSeries = new WeakMap<Connection, Map<string, number>>();

function record(c: Connection, samples: readonly Sample[]): number {
  let known = knownSeries.get(c);
  if (known === undefined) {
    known = new Map<string, number>();
    knownSeries.set(c, known);
  }
  const committed = known;
  // Ids read or made here are remembered once this transaction commits: inside a caller's (or a preview), which may
  // roll back and give the id again to another series, they are not.
  const nested = c.inTransaction;
  const found = new Map<string, number>();
  const series = { get: (key: string) => committed.get(key) ?? found.get(key), set: (key: string, id: number) => void found.set(key, id) };
  const recorded = c.transaction(() => {
    const from = rawFrom(c);
    const folded = foldCursor(c);
    const late = new DayRows(c);
    let recorded = 0;
    let newest = Number.NEGATIVE_INFINITY;
    for (const sample of samples) {
      if (sample.at < from) continue;
      const key = `${sample.datastoreId}\u0000${sample.attribute}`;
      let id = series.get(key);
      if (id === undefined) {
        id = seriesId(c, sample.datastoreId, sample.attribute);
        if (id === undefined) {
          checkDatastore(c, sample.datastoreId);
          id = Number(addSeries.run(c.ex, sample.datastoreId, sample.attribute).insertId);
        }
        series.set(key, id);
      }
      const hour = Math.floor(sample.at / HOUR_MS);
      if (insertSample.run(c.ex, hour, id, sample.at, sample.value).changes === 0) continue;
      recorded++;
      if (hour > newest) newest = hour;
      // Behind the fold cursor: its hour is in the rollups already, so the sample joins them now.
      if (folded !== undefined && (hour < folded.hour || (hour === folded.hour && id < folded.next))) late.add(id, hour, { min: sample.value, max: sample.value, sum: sample.value, count: 1 });
    }
    late.write();
    if (recorded > 0) fold(c, newest, Math.max(FOLD_MIN, Math.ceil(samples.length / 4)));
    return recorded;
  });
  if (!nested) for (const [key, id] of found) committed.set(key, id);
  return recorded;
}

/** Series a recordSamples call folds at least (when hours wait): a fourth of its samples if more, so folding keeps pace. */
const FOLD_MIN = 64;
/** The meta key of the fold cursor, `<hour> <series>`: every raw sample before that hour, and of that hour before that series, is in the rollups. */
const FOLDED = 'history_folded';

interface Cursor {
  hour: number;
  next: number;
}

function foldCursor(c: Connection): Cursor | undefined {
  const row = metaValue.get(c.ex, FOLDED);
  if (row === undefined) return undefined;
  const [hour, next] = String(row.value).split(' ').map(Number);
  return { hour: hour as number, next: next as number };
}

/** Day rows read, changed and written back once. */
class DayRows {
  private readonly rows = new Map<string, { series: number; day: number; hours: DayRollups; stored: boolean }>();

  constructor(private readonly c: Connection) {}

  add(series: number, hour: number, rollup: HourRollup): void {
    const day = Math.floor(hour / 24);
    const key = `${series}:${day}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      const stored = readDay(this.c, series, day);
      row = { series, day, hours: stored ?? emptyDay(), stored: stored !== undefined };
      this.rows.set(key, row);
    }
    mergeIntoDay(row.hours, hour - day * 24, rollup);
  }

  write(): void {
    if (this.rows.size === 0) return;
    for (const row of this.rows.values()) (row.stored ? updateDay : insertDay).run(this.c.ex, encodeDay(row.hours), row.day, row.series);
    this.rows.clear();
  }
}

/**
 * Folds raw samples of hours before `before` (an hour index) into the rollups, from the cursor on, series by
 * series, `budget` series at most; moves the cursor. True when every hour before `before` is folded.
 */
function fold(c: Connection, before: number, budget: number): boolean {
  let cursor = foldCursor(c);
  if (cursor === undefined) {
    const first = c.get(c.q.selectFrom('history_samples').select((eb) => eb.fn.min('hour').as('hour')))?.hour ?? null;
    cursor = { hour: first === null ? before : Math.min(Number(first), before), next: 0 };
  }
  if (cursor.hour >= before) {
    saveCursor(c, cursor);
    return true;
  }
  const days = new DayRows(c);
  let left = budget;
  while (cursor.hour < before && left > 0) {
    const rows: Array<{ series_id: number } & HourRollup> = hourGroups.all(c.ex, cursor.hour, cursor.next, left).map((row) => ({ series_id: Number(row.series_id), min: Number(row.min), max: Number(row.max), sum: Number(row.sum), count: Number(row.count) }));
    for (const row of rows) days.add(row.series_id, cursor.hour, row);
    left -= rows.length;
    if (rows.length > 0 && left === 0) {
      cursor = { hour: cursor.hour, next: (rows.at(-1) as { series_id: number }).series_id + 1 };
      // The hour may be done exactly: the next call finds no more of it and moves on.
    } else {
      const following: unknown = nextHour.get(c.ex, cursor.hour)?.hour ?? null;
      cursor = { hour: following === null ? before : Math.min(Number(following), before), next: 0 };
    }
  }
  days.write();
  saveCursor(c, cursor);
  return cursor.hour >= before;
}

function saveCursor(c: Connection, cursor: Cursor): void {
  putMeta.run(c.ex, FOLDED, `${cursor.hour} ${cursor.next}`);
}

/** The hourly rollups of `series` whose hour starts in [from, to], oldest first: one seek per day. */
function hours(c: Connection, series: number, from: number, to: number): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (let day = Math.floor(from / DAY_MS); day <= Math.floor(to / DAY_MS); day++) {
    const slots = readDay(c, series, day);
    if (slots === undefined) continue;
    slots.forEach((slot, hour) => {
      const at = day * DAY_MS + hour * HOUR_MS;
      if (slot !== undefined && at >= from && at <= to) points.push(hourPoint(at, slot));
    });
  }
  return points;
}

/** The raw samples of `series` with times in [from, to], oldest first: one seek per hour. */
function raw(c: Connection, series: number, from: number, to: number): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  if (c.dialect === 'postgres') {
    for (const row of rawSpan.all(c.ex, Math.floor(from / HOUR_MS), Math.floor(to / HOUR_MS), series, from, to)) points.push(rawPoint(row.at, row.value));
    return points;
  }
  for (let hour = Math.floor(from / HOUR_MS); hour <= Math.floor(to / HOUR_MS); hour++) {
    for (const row of rawRange.all(c.ex, hour, series, from, to)) points.push(rawPoint(row.at, row.value));
  }
  return points;
}

/**
 * The points of `datastoreId`'s `attribute` with times in [from, to] (ms), oldest first: raw samples from the
 * raw watermark on (the raw window), hourly rollups before. Empty for a series never recorded.
 */
export function series(c: Connection, datastoreId: number, attribute: string, from: number, to: number): HistoryPoint[] {
  const id = seriesId(c, datastoreId, attribute);
  if (id === undefined || to < from) return [];
  const cut = rawFrom(c);
  const points = from < cut ? hours(c, id, from, Math.min(to, cut - 1)) : [];
  if (to >= cut) points.push(...raw(c, id, Math.max(from, cut), to));
  return points;
}

/** The last point of `series` at or before `at`: its last raw sample from the watermark on, else its last rollup hour. */
function lastPoint(c: Connection, series: number, at = Number.MAX_SAFE_INTEGER): HistoryPoint | null {
  const cut = rawFrom(c);
  const bounds = c.get(c.q.selectFrom('history_samples').select((eb) => [eb.fn.min('hour').as('first'), eb.fn.max('hour').as('last')])) ?? { first: null, last: null };
  if (bounds.last !== null && at >= cut) {
    const lowest = Math.max(Number(bounds.first), Math.floor(cut / HOUR_MS));
    for (let hour = Math.min(Number(bounds.last), Math.floor(at / HOUR_MS)); hour >= lowest; hour--) {
      const row = lastRaw.get(c.ex, hour, series, at);
      if (row !== undefined) return rawPoint(row.at, row.value);
    }
  }
  const days = c.get(c.q.selectFrom('history_rollups').select((eb) => [eb.fn.min('day').as('first'), eb.fn.max('day').as('last')])) ?? { first: null, last: null };
  if (days.last === null) return null;
  const before = Math.min(at, cut === 0 ? at : cut - 1);
  for (let day = Math.min(Number(days.last), Math.floor(before / DAY_MS)); day >= Number(days.first); day--) {
    const slots = readDay(c, series, day);
    if (slots === undefined) continue;
    for (let hour = 23; hour >= 0; hour--) {
      const slot = slots[hour];
      const hourAt = day * DAY_MS + hour * HOUR_MS;
      if (slot !== undefined && hourAt <= before) return hourPoint(hourAt, slot);
    }
  }
  return null;
}

/** Each attribute of the datastore, with its newest point (its last raw sample, or its last hour once they are pruned). */
export function latest(c: Connection, datastoreId: number): Record<string, HistoryPoint> {
  const found: Record<string, HistoryPoint> = {};
  for (const row of c.all(c.q.selectFrom('history_series').select(['id', 'attribute']).where('datastore_id', '=', datastoreId).orderBy('attribute')) as Row[]) {
    const point = lastPoint(c, Number(row.id));
    if (point !== null) found[String(row.attribute)] = point;
  }
  return found;
}

/** The point of the series nearest `at`, within `tolerance` ms (an hour counts at its middle), or null. */
function nearest(c: Connection, datastoreId: number, attribute: string, at: number, tolerance: number): HistoryPoint | null {
  let best: HistoryPoint | null = null;
  let distance = Number.POSITIVE_INFINITY;
  for (const point of series(c, datastoreId, attribute, Math.max(0, at - tolerance - HOUR_MS), at + tolerance)) {
    const away = Math.abs((point.kind === 'hour' ? point.at + HOUR_MS / 2 : point.at) - at);
    if (away <= tolerance && away < distance) {
      best = point;
      distance = away;
    }
  }
  return best;
}

/**
 * `attribute` (default used_mb) now (its newest point at or before `now`), about a day and about a week before
 * `now`: the points nearest those times, raw or hourly, within an eighth of the span (3 h, 21 h), else null.
 */
export function trend(c: Connection, datastoreId: number, now: number, attribute = 'used_mb'): Trend {
  checkTime(now, 'now');
  const id = seriesId(c, datastoreId, attribute);
  if (id === undefined) return { attribute, now: null, dayAgo: null, weekAgo: null };
  return {
    attribute,
    now: lastPoint(c, id, now),
    dayAgo: nearest(c, datastoreId, attribute, now - DAY_MS, DAY_MS / 8),
    weekAgo: nearest(c, datastoreId, attribute, now - 7 * DAY_MS, (7 * DAY_MS) / 8),
  };
}

/**
 * Deletes raw samples older than the raw window (by whole hours: the watermark moves first) and rollup days
 * wholly older than the rollup window, in transactions of at most PRUNE_BATCH rows each (inside a caller's
 * transaction, all in it). A shorter window later prunes more; a longer one brings nothing back.
 */
export function prune(c: Connection, now: number, retention: Retention = {}): PruneResult {
  checkTime(now, 'now');
  const rawWindow = retention.rawWindowMs ?? RAW_WINDOW_MS;
  const rollupWindow = retention.rollupWindowMs ?? ROLLUP_WINDOW_MS;
  for (const [name, value] of [['rawWindowMs', rawWindow], ['rollupWindowMs', rollupWindow]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new FerryError('E_USAGE', `${name} ${String(value)} is not a duration in integer ms`);
  }
  const target = Math.max(rawFrom(c), Math.floor((now - rawWindow) / HOUR_MS) * HOUR_MS);
  // Every hour before the new watermark into the rollups first, in bounded batches too.
  while (!c.transaction(() => fold(c, target / HOUR_MS, PRUNE_BATCH)));
  const cut = c.transaction(() => {
    const next = Math.max(rawFrom(c), target);
    putMeta.run(c.ex, RAW_FROM, String(next));
    return next;
  });
  const batches = (statement: Prepared<unknown>, before: number): number => {
    let total = 0;
    for (;;) {
      const deleted = c.transaction(() => statement.run(c.ex, before, PRUNE_BATCH).changes);
      total += deleted;
      if (deleted < PRUNE_BATCH) return total;
    }
  };
  return {
    samples: batches(pruneSamples, cut / HOUR_MS),
    rollupDays: batches(pruneDays, Math.floor((now - rollupWindow) / DAY_MS)),
  };
}

/** A batch of the oldest samples before an hour (a row-value IN: SQLite 3.15+ and PostgreSQL). */
const pruneSamples = prepared((db) =>
  db
    .deleteFrom('history_samples')
    .where(({ eb, refTuple, selectFrom }) =>
      eb(refTuple('hour', 'series_id', 'at'), 'in', selectFrom('history_samples').select(['hour', 'series_id', 'at']).where('hour', '<', arg<number>(0)).orderBy('hour').orderBy('series_id').orderBy('at').limit(arg<number>(1)).$asTuple('hour', 'series_id', 'at')),
    ),
);
/** A batch of the oldest rollup days before a day. */
const pruneDays = prepared((db) =>
  db
    .deleteFrom('history_rollups')
    .where(({ eb, refTuple, selectFrom }) =>
      eb(refTuple('day', 'series_id'), 'in', selectFrom('history_rollups').select(['day', 'series_id']).where('day', '<', arg<number>(0)).orderBy('day').orderBy('series_id').limit(arg<number>(1)).$asTuple('day', 'series_id')),
    ),
);
