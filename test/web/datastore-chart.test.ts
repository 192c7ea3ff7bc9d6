/** The datastore page's pure parts: the range presets, the rows picked for the table, the chart's columns and forecast. */
import t from 'tap';
import { axisLabel, axisUnit, chartData, inUnit, gapLimit, withTotals, type Point } from '../../src/web/client/chart-data.js';
import { DEFAULT_RANGE, evenlyPicked, rangeOf } from '../../src/web/datastore-range.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const raw = (at: number, value: number): Point => ({ kind: 'raw', at, value, count: 1 });
const hour = (at: number, value: number): Point => ({ kind: 'hour', at, value, count: 12 });

t.test('ranges: the presets, 24 h by default, another value refused', async (t) => {
  t.equal(rangeOf(new URLSearchParams('')), DEFAULT_RANGE);
  t.equal(DEFAULT_RANGE.key, '24h');
  t.same(['1h', '24h', '7d', '30d', '1y'].map((key) => rangeOf(new URLSearchParams({ range: key })).ms), [HOUR, DAY, 7 * DAY, 30 * DAY, 365 * DAY]);
  t.throws(() => rangeOf(new URLSearchParams('range=2w')), { code: 'E_USAGE', message: /range "2w"/ });
});

t.test('evenly picked: all when few, else spread with both ends', async (t) => {
  t.same(evenlyPicked([1, 2, 3], 24), [1, 2, 3]);
  const many = Array.from({ length: 100 }, (_, i) => i);
  const picked = evenlyPicked(many, 24);
  t.equal(picked.length, 24);
  t.equal(picked[0], 0);
  t.equal(picked.at(-1), 99);
  t.ok(picked.every((value, i) => i === 0 || value > picked[i - 1]!), 'in order, none twice');
});

t.test('totals: the last one at or before each used point, else the first', async (t) => {
  const used = [raw(10, 1), raw(20, 2), raw(30, 3)];
  t.same(withTotals(used, [raw(15, 100), raw(30, 200)]).map((row) => row.totalMb), [100, 100, 200]);
  t.same(withTotals(used, []).map((row) => row.totalMb), [null, null, null]);
});

t.test('chart columns: seconds, hours at their middle, a break at a long gap', async (t) => {
  const to = 100 * DAY;
  const from = to - 7 * DAY;
  const used = [hour(from, 10), hour(from + HOUR, 11), hour(from + 2 * HOUR, 12), raw(to - 2 * HOUR, 20), raw(to - HOUR, 21)];
  const data = chartData(used, [hour(from, 100), raw(to - 2 * HOUR, 100)], from, to, null);
  const [xs, usedCol, totalCol, forecastCol] = data.columns;
  t.equal(xs[0], (from + HOUR / 2) / 1000, 'an hour drawn at its middle, in seconds');
  t.equal(usedCol.filter((v) => v === null).length, 1, 'one break: days without a sample');
  t.equal(xs.length, used.length + 1);
  t.same(totalCol.filter((v) => v !== null), [100, 100, 100, 100, 100]);
  t.ok(forecastCol.every((v) => v === null));
  t.equal(data.forecast, 'none');
  t.equal(data.hourlyUntil, from + 3 * HOUR, 'hourly until the end of the last hour');
  t.same([data.xMin, data.xMax], [from / 1000, to / 1000], 'the range asked');
  t.ok(data.yMax > 100 && data.yMax <= 110, 'a little over the largest value');
  t.equal(gapLimit([0, 1000, 2000]), 2 * HOUR + 1, 'two hours at least');
  t.equal(gapLimit([0, 3 * HOUR, 6 * HOUR]), 15 * HOUR, 'five usual steps');
});

t.test('the forecast: a line to the fill date within one more span, else told only', async (t) => {
  const to = 100 * DAY;
  const used = [raw(to - 2 * HOUR, 50), raw(to - HOUR, 60)];
  const total = [raw(to - 2 * HOUR, 100)];
  const near = chartData(used, total, to - DAY, to, { growthMbPerDay: 40, fullAt: to + DAY / 2 });
  t.equal(near.forecast, 'line');
  const [xs, usedCol, totalCol, forecastCol] = near.columns;
  t.same(forecastCol, [null, 60, 100], 'from the last used point to the total');
  t.equal(xs.at(-1), (to + DAY / 2) / 1000);
  t.equal(usedCol.at(-1), null);
  t.equal(totalCol.at(-1), 100, 'the total runs on to meet it');
  t.equal(near.xMax, (to + DAY / 2) / 1000, 'the scale stretched to the fill date');
  const far = chartData(used, total, to - DAY, to, { growthMbPerDay: 1, fullAt: to + 3 * DAY });
  t.equal(far.forecast, 'label');
  t.equal(far.columns[0].length, 2, 'no point added');
  t.equal(far.xMax, to / 1000);
  t.equal(chartData([], [], to - DAY, to, { growthMbPerDay: 1, fullAt: to + HOUR }).forecast, 'none', 'nothing to draw from');
});

t.test("buckets (a long series the API bounded): drawn at their middle, a gap between them still a break", async (t) => {
  const BUCKET = 48_000;
  const bucket = (at: number, value: number): Point => ({ kind: 'bucket', at, value, count: 48 });
  const from = 10 * DAY;
  const used = [bucket(from, 1), bucket(from + BUCKET, 2), bucket(from + 2 * BUCKET, 3), bucket(from + 3 * HOUR, 4), bucket(from + 3 * HOUR + BUCKET, 5)];
  const data = chartData(used, [raw(from, 10)], from, from + 4 * HOUR, null, BUCKET);
  const [xs, usedCol] = data.columns;
  t.same(usedCol, [1, 2, 3, null, 4, 5], 'a break where no bucket was filled for hours');
  t.equal(xs[0], (from + BUCKET / 2) / 1000, "a bucket's average at the middle of its bucket");
  t.equal(xs.at(-1), (from + 3 * HOUR + 1.5 * BUCKET) / 1000);
  t.equal(data.hourlyUntil, null, 'no hourly/sample boundary to tell');
});

t.test('y axis: MB, GiB or TiB by the largest value, short labels', async (t) => {
  t.same(axisUnit(8000), { unit: 'MB', mbPer: 1 });
  t.same(axisUnit(2_048_000), { unit: 'GiB', mbPer: 1024 });
  t.same(axisUnit(20 * 1024 * 1024), { unit: 'TiB', mbPer: 1024 * 1024 });
  t.equal(axisLabel(2000, axisUnit(8000)), '2,000 MB');
  t.equal(axisLabel(1_536_000, axisUnit(2_048_000)), '1,500 GiB');
  t.equal(axisLabel(1536, axisUnit(20_000)), '1.5 GiB');
  t.equal(axisLabel(0, axisUnit(20 * 1024 * 1024)), '0 TiB');
});

t.test('columns in the axis unit: times kept, values divided, gaps kept', async (t) => {
  t.same(inUnit([[1, 2], [2048, null], [4096, 1024]], 1024), [[1, 2], [2, null], [4, 1]]);
  t.same(inUnit([[1], [5]], 1), [[1], [5]]);
});
