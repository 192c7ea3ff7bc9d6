/**
 * When a datastore fills at the rate it has been filling: the least-squares
 * slope of used space over a window of recent samples, run on to the latest
 * total. No answer (undefined) when it cannot be told or is not coming:
 * too few samples, too short a span, a slope not above zero, or a slope
 * smaller than its own noise (a plateau that only jitters). A single jump
 * (a large image copied in) counts as growth until it leaves the window.
 */

export interface CapacitySample {
  /** Milliseconds since the epoch. */
  at: number;
  usedMb: number;
  totalMb: number;
}

export interface ForecastOptions {
  /** Only samples this recent (ms before the latest) count; default 7 days. */
  windowMs?: number;
  /** Fewest samples in the window; default 3. */
  minSamples?: number;
  /** Shortest span the window's samples must cover (ms); default 1 hour. */
  minSpanMs?: number;
  /** The slope must exceed this many standard errors to be growth; default 2. */
  significance?: number;
}

export interface Forecast {
  /** MB per day, > 0. */
  slopeMbPerDay: number;
  /** Days from the latest sample until used reaches its total (0 when already full). */
  daysToFull: number;
  /** When it fills (ms since the epoch). */
  fullAt: number;
  /** Samples the estimate rests on. */
  samples: number;
}

const DAY_MS = 86_400_000;

export const FORECAST_DEFAULTS: Required<ForecastOptions> = { windowMs: 7 * DAY_MS, minSamples: 3, minSpanMs: 3_600_000, significance: 2 };

/** The estimate from `samples` (any order), or undefined when there is none to give. */
export function forecastFull(samples: readonly CapacitySample[], options: ForecastOptions = {}): Forecast | undefined {
  const { windowMs, minSamples, minSpanMs, significance } = { ...FORECAST_DEFAULTS, ...options };
  const usable = samples.filter((s) => Number.isFinite(s.at) && Number.isFinite(s.usedMb) && Number.isFinite(s.totalMb)).sort((a, b) => a.at - b.at);
  const last = usable[usable.length - 1];
  if (!last) return undefined;
  const window = usable.filter((s) => s.at >= last.at - windowMs);
  const first = window[0] as CapacitySample;
  if (window.length < Math.max(2, minSamples) || last.at - first.at < Math.max(1, minSpanMs)) return undefined;

  // Time in days from the first sample keeps the sums small and exact enough.
  const xs = window.map((s) => (s.at - first.at) / DAY_MS);
  const ys = window.map((s) => s.usedMb);
  const n = window.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - meanX;
    sxx += dx * dx;
    sxy += dx * ((ys[i] as number) - meanY);
  }
  if (sxx <= 0) return undefined;
  const slope = sxy / sxx;
  if (!(slope > 0)) return undefined;
  if (n > 2) {
    let residuals = 0;
    for (let i = 0; i < n; i++) residuals += ((ys[i] as number) - (meanY + slope * ((xs[i] as number) - meanX))) ** 2;
    const standardError = Math.sqrt(residuals / (n - 2) / sxx);
    if (slope <= significance * standardError) return undefined;
  }
  const remainingMb = Math.max(0, last.totalMb - last.usedMb);
  const daysToFull = remainingMb / slope;
  return { slopeMbPerDay: slope, daysToFull, fullAt: last.at + daysToFull * DAY_MS, samples: n };
}
