/**
 * The datastore page's chart ranges (`?range=1h|24h|7d|30d|1y`, 24 h by default) and the no-JavaScript table of
 * a series: a few points picked evenly over the range.
 */
import { FerryError } from '../errors.js';
import type { HistoryPoint } from '../model.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ChartRange {
  key: string;
  label: string;
  ms: number;
}

export const RANGES: readonly ChartRange[] = [
  { key: '1h', label: '1 hour', ms: HOUR_MS },
  { key: '24h', label: '24 hours', ms: DAY_MS },
  { key: '7d', label: '7 days', ms: 7 * DAY_MS },
  { key: '30d', label: '30 days', ms: 30 * DAY_MS },
  { key: '1y', label: '1 year', ms: 365 * DAY_MS },
];

export const DEFAULT_RANGE = RANGES[1]!;

/** The range the query asks for (`range`), the default without one; E_USAGE (a 400 page) for another value. */
export function rangeOf(query: URLSearchParams): ChartRange {
  const key = query.get('range');
  if (key === null || key === '') return DEFAULT_RANGE;
  const range = RANGES.find((r) => r.key === key);
  if (range === undefined) throw new FerryError('E_USAGE', `range ${JSON.stringify(key.slice(0, 40))} is not one the chart knows`, { hint: `use one of ${RANGES.map((r) => r.key).join(', ')}` });
  return range;
}

/** At most `count` of `points`, evenly spread, the first and the last always among them. */
export function evenlyPicked<T>(points: readonly T[], count: number): T[] {
  if (points.length <= count) return [...points];
  if (count <= 1) return points.slice(-1);
  const picked: T[] = [];
  for (let i = 0; i < count; i++) picked.push(points[Math.round((i * (points.length - 1)) / (count - 1))]!);
  return picked;
}

/** Each of `used`'s points with the total at its time (the last total point at or before it, else the first one). */
export function withTotals(used: readonly HistoryPoint[], totals: readonly HistoryPoint[]): Array<{ point: HistoryPoint; totalMb: number | null }> {
  let next = 0;
  let current: number | null = totals[0]?.value ?? null;
  return used.map((point) => {
    while (next < totals.length && totals[next]!.at <= point.at) current = totals[next++]!.value;
    return { point, totalMb: current };
  });
}
