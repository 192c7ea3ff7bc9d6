/**
 * A history answer of bounded size: a series with more points than a client asked for (a 1 s monitor over the
 * 48 h raw window is ~170k points) comes back as even buckets of whole seconds, each its points' min, average
 * (weighted by sample count, so an hourly rollup weighs as the samples it stands for) and max, at the bucket's
 * start. Buckets are aligned on multiples of their width since the epoch, so the same range asked a little later
 * buckets the same samples the same way; an empty bucket gives no point (a gap stays a gap).
 */
import type { HistoryPoint } from '../model.js';

/** Points a history answer has unless asked for another bound. */
export const HISTORY_POINTS_DEFAULT = 2000;
/** The most a request may ask for. */
export const HISTORY_POINTS_MAX = 10_000;

/** A bucket of points: `at` its start (ms), `count` the samples it stands for. */
export interface BucketPoint {
  kind: 'bucket';
  at: number;
  value: number;
  min: number;
  max: number;
  count: number;
}

export interface BoundedSeries {
  points: HistoryPoint[] | BucketPoint[];
  /** The buckets' width in seconds; null when `points` are the series' own. */
  bucketSeconds: number | null;
}

/** The bucket width (ms, whole seconds) for [from, to] in at most `max` (≥ 2) epoch-aligned buckets. */
export function bucketWidth(from: number, to: number, max: number): number {
  // floor(to/w) - floor(from/w) < (to - from)/w + 1 <= max: at most max - 1 boundaries inside, so at most max buckets.
  return Math.max(1000, Math.ceil((to - from + 1) / (max - 1) / 1000) * 1000);
}

/** `points` (oldest first, within [from, to]) as they are when at most `max`, else in buckets. */
export function boundedSeries(points: readonly HistoryPoint[], from: number, to: number, max: number): BoundedSeries {
  if (points.length <= max) return { points: [...points], bucketSeconds: null };
  // An hour's rollup starts at its hour, which may be before `from`.
  const width = bucketWidth(Math.min(from, points[0]!.at), Math.max(to, points.at(-1)!.at), max);
  const buckets: BucketPoint[] = [];
  let current: BucketPoint | undefined;
  let weighted = 0;
  const close = (): void => {
    if (current === undefined) return;
    current.value = weighted / current.count;
    buckets.push(current);
  };
  for (const point of points) {
    const start = Math.floor(point.at / width) * width;
    // A rollup or sample of count 0 never happens; counted as 1 so it still weighs.
    const count = Math.max(1, point.count);
    if (current === undefined || current.at !== start) {
      close();
      current = { kind: 'bucket', at: start, value: 0, min: point.min, max: point.max, count: 0 };
      weighted = 0;
    }
    current.min = Math.min(current.min, point.min);
    current.max = Math.max(current.max, point.max);
    current.count += count;
    weighted += point.value * count;
  }
  close();
  return { points: buckets, bucketSeconds: width / 1000 };
}
