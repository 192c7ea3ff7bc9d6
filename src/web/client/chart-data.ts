/**
 * The capacity chart's data, from the history API's points (no DOM here): one x axis of seconds for used and
 * total, a break (null) where sampling stopped for a while, and the forecast's dashed line.
 */

/** A point of the history API: a sample, an hour's rollup, or (a long series, bounded) a bucket's average. */
export interface Point {
  kind: 'raw' | 'hour' | 'bucket';
  at: number;
  value: number;
  count: number;
}

export interface Forecast {
  /** MB a day. */
  growthMbPerDay: number;
  /** When it fills (ms). */
  fullAt: number;
}

export interface ChartData {
  /** x (s), used, total, forecast: uPlot's aligned columns. */
  columns: [number[], Array<number | null>, Array<number | null>, Array<number | null>];
  /** The x scale (s): the range asked, stretched to the fill date when the line is drawn. */
  xMin: number;
  xMax: number;
  /** The y scale's top: a little over the largest value. */
  yMax: number;
  /** 'line': the dashed line runs to the fill date; 'label': beyond the window's scale, told in words only; 'none'. */
  forecast: 'line' | 'label' | 'none';
  /** Hourly averages end here (ms) and raw samples follow; null when all are of one kind. */
  hourlyUntil: number | null;
}

const HOUR_MS = 3_600_000;

/** Where an average is drawn: the middle of its hour, or of its bucket (`bucketMs` long). */
const timeOf = (point: Point, bucketMs: number): number => (point.kind === 'hour' ? point.at + HOUR_MS / 2 : point.kind === 'bucket' ? point.at + bucketMs / 2 : point.at);

/** A gap longer than this (ms) between two points is drawn as a break: five usual steps, two hours at least. */
export function gapLimit(times: readonly number[]): number {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) steps.push(times[i]! - times[i - 1]!);
  steps.sort((a, b) => a - b);
  const median = steps.length === 0 ? 0 : steps[Math.floor(steps.length / 2)]!;
  return Math.max(5 * median, 2 * HOUR_MS + 1);
}

/** Each of `used`'s points with the total at its time: the last total point at or before it, else the first one. */
export function withTotals(used: readonly Point[], total: readonly Point[]): Array<{ point: Point; totalMb: number | null }> {
  let next = 0;
  let current: number | null = total[0]?.value ?? null;
  return used.map((point) => {
    while (next < total.length && total[next]!.at <= point.at) current = total[next++]!.value;
    return { point, totalMb: current };
  });
}

/**
 * The columns for `used` and `total` over [from, to] (ms): total at each used point is the last total at or before
 * it (else the first); the forecast runs from the last used point at `growthMbPerDay` to the total at `fullAt`
 * when that is within one more window's span after `to`. `bucketMs`: the API's bucket width when it bucketed.
 */
export function chartData(used: readonly Point[], total: readonly Point[], from: number, to: number, forecast: Forecast | null, bucketMs = 0): ChartData {
  const xs: number[] = [];
  const usedCol: Array<number | null> = [];
  const totalCol: Array<number | null> = [];
  const forecastCol: Array<number | null> = [];
  const times = used.map((point) => timeOf(point, bucketMs));
  const limit = gapLimit(times);
  const totals = withTotals(used, total);
  let yMax = 0;
  let hourlyUntil: number | null = null;
  used.forEach((point, i) => {
    const at = times[i]!;
    if (i > 0 && at - times[i - 1]! > limit) {
      xs.push((times[i - 1]! + at) / 2000);
      usedCol.push(null);
      totalCol.push(null);
      forecastCol.push(null);
    }
    const currentTotal = totals[i]!.totalMb;
    xs.push(at / 1000);
    usedCol.push(point.value);
    totalCol.push(currentTotal);
    forecastCol.push(null);
    yMax = Math.max(yMax, point.value, currentTotal ?? 0);
    if (point.kind === 'hour' && used[i + 1]?.kind === 'raw') hourlyUntil = point.at + HOUR_MS;
  });
  let xMax = to / 1000;
  let drawn: ChartData['forecast'] = 'none';
  const last = used.at(-1);
  const lastTotal = totals.at(-1)?.totalMb ?? null;
  if (forecast !== null && last !== undefined && lastTotal !== null) {
    drawn = 'label';
    if (forecast.fullAt <= to + (to - from) && forecast.fullAt > timeOf(last, bucketMs)) {
      drawn = 'line';
      forecastCol[forecastCol.length - 1] = last.value;
      xs.push(forecast.fullAt / 1000);
      usedCol.push(null);
      // The total runs on to meet the forecast.
      totalCol.push(lastTotal);
      forecastCol.push(lastTotal);
      xMax = Math.max(xMax, forecast.fullAt / 1000);
    }
  }
  return { columns: [xs, usedCol, totalCol, forecastCol], xMin: from / 1000, xMax, yMax: yMax > 0 ? yMax * 1.05 : 1, forecast: drawn, hourlyUntil };
}

/** The unit of the chart's y axis for values up to `maxMb`: MB, GiB or TiB (1024 MB a GiB), so its labels stay short. */
export function axisUnit(maxMb: number): { unit: string; mbPer: number } {
  if (maxMb >= 10 * 1024 * 1024) return { unit: 'TiB', mbPer: 1024 * 1024 };
  if (maxMb >= 10 * 1024) return { unit: 'GiB', mbPer: 1024 };
  return { unit: 'MB', mbPer: 1 };
}

/** A y-axis label: `value` MB in `unit`, with at most one decimal. */
export function axisLabel(valueMb: number, unit: { unit: string; mbPer: number }): string {
  const scaled = valueMb / unit.mbPer;
  return `${scaled.toLocaleString('en', { maximumFractionDigits: Number.isInteger(scaled) ? 0 : 1 })} ${unit.unit}`;
}

/** The chart's columns with every value column (all but the times) divided by `mbPer`: drawn in the axis's unit. */
export function inUnit(columns: ReadonlyArray<ReadonlyArray<number | null>>, mbPer: number): Array<Array<number | null>> {
  return columns.map((column, i) => (i === 0 || mbPer === 1 ? [...column] : column.map((value) => (value === null ? null : value / mbPer))));
}
