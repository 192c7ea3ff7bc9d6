/** Estimated time until full, from synthetic series (issue 15). */
import t from 'tap';
import { forecastFull, type CapacitySample } from '../../src/monitor/forecast.js';
import { prng } from '../helpers/intervals.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);

/** Hourly samples over `days`, used = f(hour index). */
function series(days: number, used: (i: number) => number, totalMb = 100_000): CapacitySample[] {
  return Array.from({ length: days * 24 + 1 }, (_, i) => ({ at: T0 + i * HOUR, usedMb: used(i), totalMb }));
}


t.test('linear growth: the exact rate and date', async (t) => {
  // 1,000 MB a day from 50,000 of 100,000 over 3 days: 47,000 left at 1,000 a day.
  const f = forecastFull(series(3, (i) => 50_000 + (1000 / 24) * i));
  t.ok(f);
  t.ok(Math.abs((f?.slopeMbPerDay ?? 0) - 1000) < 1e-6);
  t.ok(Math.abs((f?.daysToFull ?? 0) - 47) < 1e-6);
  t.equal(f?.fullAt, T0 + 3 * DAY + 47 * DAY);
  t.equal(f?.samples, 73);
  t.same(forecastFull([...series(3, (i) => 50_000 + (1000 / 24) * i)].reverse()), f, 'order of samples does not matter');
});

t.test('noisy growth: within 10 %, over 50 seeded series', async (t) => {
  let off = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const random = prng(seed);
    const f = forecastFull(series(7, (i) => 20_000 + (2000 / 24) * i + (random() - 0.5) * 1500));
    // Truth: 2,000 MB a day; at the end 100,000 - (20,000 + 14,000) = 66,000 left, 33 days (noise moves the last sample a little).
    if (!f || Math.abs(f.slopeMbPerDay - 2000) > 200 || Math.abs(f.daysToFull - 33) > 3.3) off++;
  }
  t.equal(off, 0);
});

t.test('no answer: shrinking, plateau, noisy plateau, too few, too short', async (t) => {
  t.equal(forecastFull(series(3, (i) => 80_000 - 10 * i)), undefined, 'shrinking');
  t.equal(forecastFull(series(3, () => 40_000)), undefined, 'plateau');
  let growth = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const random = prng(seed * 31);
    if (forecastFull(series(3, () => 40_000 + (random() - 0.5) * 500))) growth++;
  }
  t.ok(growth <= 5, `a jittering plateau is growth in at most a few of 50 series (${growth})`);
  t.equal(forecastFull(series(3, (i) => i * 100).slice(0, 2)), undefined, 'two samples');
  t.equal(forecastFull([]), undefined, 'none');
  const quick = [0, 1, 2, 3].map((i) => ({ at: T0 + i * 60_000, usedMb: 100 * i, totalMb: 1000 }));
  t.equal(forecastFull(quick), undefined, 'four samples in three minutes are too short a span');
  t.ok(forecastFull(quick, { minSpanMs: 60_000 }), '...unless told otherwise');
  t.equal(forecastFull([{ at: T0, usedMb: 1, totalMb: 9 }, { at: T0, usedMb: 2, totalMb: 9 }, { at: T0, usedMb: 3, totalMb: 9 }], { minSpanMs: 0 }), undefined, 'all at one time');
});

t.test('a single jump is growth until it leaves the window', async (t) => {
  // Flat at 30,000 for 3 days, then 10,000 more at once, then flat for 2 days.
  const jump = series(5, (i) => (i < 72 ? 30_000 : 40_000));
  const f = forecastFull(jump);
  t.ok(f && f.slopeMbPerDay > 0 && Number.isFinite(f.daysToFull), 'inside the window it reads as growth');
  t.equal(forecastFull(jump, { windowMs: 1.5 * DAY }), undefined, 'a window after the jump sees a plateau');
});

t.test('already full, a total that changed, the window', async (t) => {
  const full = series(1, (i) => 99_000 + 100 * i);
  t.equal(forecastFull(full)?.daysToFull, 0, 'past the total: 0 days');
  const grown = series(2, (i) => 10_000 + 100 * i).map((s, i) => (i === 48 ? { ...s, totalMb: 200_000 } : s));
  t.ok(Math.abs((forecastFull(grown)?.daysToFull ?? 0) - (200_000 - 14_800) / 2400) < 1e-6, 'the latest total counts');
  // Growth long ago, a plateau lately: the default week-long window sees the plateau only.
  const old = series(20, (i) => Math.min(50_000, 1000 * i));
  t.equal(forecastFull(old), undefined);
  t.ok(forecastFull(old, { windowMs: 30 * DAY }), 'a wider window reaches back to the growth');
});
