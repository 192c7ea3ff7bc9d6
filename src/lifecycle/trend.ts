/**
 * A datastore's trend for `datastore show`: its used MB now, about a day and
 * a week ago (from its history), and when it fills at the rate of the last
 * week (monitor/forecast.ts), with the health of its monitor.
 */
import type { CatalogTx } from '../catalog/store.js';
import type { Datastore, MonitorState } from '../model.js';
import { forecastFull } from '../monitor/forecast.js';

const DAY_MS = 86_400_000;

export interface DatastoreTrend {
  usedMbNow: number | null;
  usedMbDayAgo: number | null;
  usedMbWeekAgo: number | null;
  /** MB a day the usage grows by (least squares over the last week); null when it does not grow measurably. */
  growthMbPerDay: number | null;
  /** When it fills at that rate (ISO time), null when it does not grow. */
  fullAt: string | null;
  daysToFull: number | null;
}

export function datastoreTrend(catalog: Pick<CatalogTx, 'trend' | 'series'>, ds: Datastore, now = Date.now()): DatastoreTrend {
  const trend = catalog.trend(ds.id, now, 'used_mb');
  const used = catalog.series(ds.id, 'used_mb', now - 7 * DAY_MS, now);
  const totals = new Map(catalog.series(ds.id, 'total_mb', now - 7 * DAY_MS, now).map((point) => [point.at, point.value]));
  const samples = used.flatMap((point) => {
    const totalMb = totals.get(point.at) ?? ds.totalMb;
    return totalMb === null || totalMb === undefined ? [] : [{ at: point.at, usedMb: point.value, totalMb }];
  });
  const forecast = forecastFull(samples);
  return {
    usedMbNow: trend.now?.value ?? null,
    usedMbDayAgo: trend.dayAgo?.value ?? null,
    usedMbWeekAgo: trend.weekAgo?.value ?? null,
    growthMbPerDay: forecast ? round(forecast.slopeMbPerDay) : null,
    fullAt: forecast ? new Date(forecast.fullAt).toISOString() : null,
    daysToFull: forecast ? round(forecast.daysToFull) : null,
  };
}

/** The monitor's health as shown: OK or ERROR, and why. */
export function monitorHealth(state: MonitorState): { state: string; failures: number; lastError: string | null; lastSuccessAt: string | null } {
  return { state: state.state, failures: state.failures, lastError: state.lastError, lastSuccessAt: state.lastSuccessAt };
}

const round = (value: number): number => Math.round(value * 10) / 10;
