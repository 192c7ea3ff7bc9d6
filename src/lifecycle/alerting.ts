/**
 * Alerts from a datastore's monitor runs (issue 15): after each run of
 * `monitor()`, successful or failed, the datastore's alert rules (the
 * built-in ones merged with configuration: alert-rules.ts) are evaluated on what the run
 * tells: the KEYs it printed and the attributes ferry derives (FREE_PCT,
 * LIMIT_USED_PCT, DAYS_TO_FULL, MONITOR_FAILURES, SAMPLE_AGE_INTERVALS,
 * STATE). The evaluator's states, the alerts raised (with what they affect)
 * and those cleared are written in one transaction, so a run interrupted
 * half-way leaves no alert without its state, nor a state without its alert.
 */
import type { MonitorResult } from '../contract/parsers.js';
import type { CatalogStore, CatalogTx } from '../catalog/store.js';
import type { Alert, AlertSubjectRef, Datastore } from '../model.js';
import { observe, stateKey, type AlertStates } from '../monitor/alerts.js';
import { DEFAULT_RULES } from '../monitor/defaults.js';
import type { AlertEvent, AlertState, Subject } from '../monitor/evaluate.js';
import { impactOf } from '../monitor/impact.js';
import type { AlertRule, AttributeValue } from '../monitor/rules.js';
import { datastoreTrend } from './trend.js';

/** The monitor interval SAMPLE_AGE_INTERVALS counts in when ferry.yaml's `monitor: {interval}` gives none (seconds). */
export const DEFAULT_MONITOR_INTERVAL_S = 300;

export interface MonitorRun {
  /** The run's time (ms); for a success, the time of its samples. */
  at: number;
  /** A successful run's figures; absent for a failed run. */
  figures?: MonitorResult;
}

export interface AlertingOptions {
  rules?: readonly AlertRule[];
  intervalS?: number;
  /** The datastore as the caller just read it (a successful run's: its figures are the run's), to spare reading it again. */
  datastore?: Datastore;
  /** Forecasts kept between runs (a service's): DAYS_TO_FULL read from a week of history at most every FORECAST_TTL_MS. */
  forecasts?: ForecastCache;
}

/** Datastore id -> when its forecast was computed (ms) and the days to full it gave. */
export type ForecastCache = Map<number, { at: number; daysToFull: number | null }>;
/** How long a cached forecast stands: the rate of a week changes little in ten minutes. */
export const FORECAST_TTL_MS = 600_000;

export interface AlertingResult {
  events: AlertEvent[];
  /** The alerts raised by this run (new ones only) and those it cleared. */
  raised: Alert[];
  cleared: Alert[];
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** A monitor KEY the rules and the history take (a KEY=VALUE line's key). */
export const ATTRIBUTE_KEY = /^[A-Z][A-Z0-9_]*$/;

/** A monitor value as a number, when it is one. */
export function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/**
 * The attributes one run gives the rules: on a success, every KEY the
 * monitor printed and the figures; on a failure, only what is still known
 * (the last USED_MB for LIMIT_USED_PCT, the forecast from history, the
 * failures in a row).
 */
export function datastoreAttributes(tx: CatalogTx, ds: Datastore, run: MonitorRun, intervalS = DEFAULT_MONITOR_INTERVAL_S, needed?: ReadonlySet<string>, forecasts?: ForecastCache): Record<string, AttributeValue | undefined> {
  const values: Record<string, AttributeValue | undefined> = {};
  const health = tx.monitorState(ds.id);
  const figures = run.figures;
  if (figures) {
    for (const [key, value] of Object.entries(figures.attributes ?? {})) if (ATTRIBUTE_KEY.test(key)) values[key] = numberOf(value) ?? value;
    values.USED_MB = figures.usedMb;
    values.FREE_MB = figures.freeMb;
    values.TOTAL_MB = figures.totalMb;
    if (figures.totalMb > 0) values.FREE_PCT = round((figures.freeMb / figures.totalMb) * 100);
  }
  const limit = numberOf(ds.template.LIMIT_MB);
  const used = figures?.usedMb ?? ds.usedMb;
  if (limit !== undefined && limit > 0 && used !== null && used !== undefined) values.LIMIT_USED_PCT = round((used / limit) * 100);
  // The forecast reads a week of history: only when a rule asks for it.
  if (needed === undefined || needed.has('DAYS_TO_FULL')) {
    const cached = forecasts?.get(ds.id);
    let daysToFull: number | null;
    if (cached !== undefined && run.at >= cached.at && run.at - cached.at < FORECAST_TTL_MS) daysToFull = cached.daysToFull;
    else {
      daysToFull = datastoreTrend(tx, ds, run.at).daysToFull;
      forecasts?.set(ds.id, { at: run.at, daysToFull });
    }
    if (daysToFull !== null) values.DAYS_TO_FULL = daysToFull;
  }
  values.MONITOR_FAILURES = health.failures;
  values.STATE = health.state;
  // A success is a sample now; a failure is as old as the last success (or, never monitored, as the datastore).
  const since = figures ? run.at : Date.parse(health.lastSuccessAt ?? ds.monitoredAt ?? ds.createdAt);
  values.SAMPLE_AGE_INTERVALS = Number.isFinite(since) ? round(Math.max(0, run.at - since) / 1000 / intervalS) : 0;
  return values;
}

/** The numeric value an alert records, if the attribute's value is one. */
function alertValue(value: AttributeValue | undefined): number | null {
  if (value === undefined) return null;
  const number = typeof value === 'number' ? value : numberOf(value);
  return number !== undefined && Number.isFinite(number) ? number : null;
}

/** What an alert about `ds` affects: its images, the VMs with a disk on it or running from it, and their hosts. */
function affectsOf(tx: CatalogTx, ds: Datastore): AlertSubjectRef[] {
  const view = {
    images: tx.listImages().map((image) => ({ id: image.id, datastoreId: image.datastoreId })),
    vms: tx.listVms().filter((vm) => vm.state !== 'DONE').map((vm) => ({ id: vm.id, host: vm.host, systemDatastoreId: vm.systemDsId, disks: vm.disks.map((disk) => ({ imageId: disk.imageId })) })),
  };
  const impact = impactOf({ kind: 'datastore', id: ds.id }, view);
  return [
    ...impact.images.map((id) => ({ kind: 'image', id })),
    ...impact.vms.map((id) => ({ kind: 'vm', id })),
    ...impact.hosts.map((id) => ({ kind: 'host', id })),
  ];
}

/** A stored evaluator state that reads as one (anything else starts afresh). */
function isState(value: unknown): value is AlertState {
  return typeof value === 'object' && value !== null && typeof (value as AlertState).rule === 'string' && typeof (value as AlertState).active === 'boolean';
}

/**
 * Evaluates `ds`'s datastore rules on one monitor run and, in one
 * transaction, stores the evaluator's new states and raises or clears the
 * alerts. A raise while the alert fires already changes nothing (the
 * catalog keeps one firing alert per rule and datastore).
 */
export function alertOnMonitor(catalog: CatalogStore, datastoreId: number, run: MonitorRun, options: AlertingOptions = {}): AlertingResult {
  const rules = (options.rules ?? DEFAULT_RULES).filter((rule) => rule.enabled && rule.subject === 'datastore');
  return catalog.transaction((tx) => {
    const ds = options.datastore?.id === datastoreId ? options.datastore : tx.datastore(datastoreId);
    const subject: Subject = { kind: 'datastore', id: ds.id, name: ds.name };
    // One read for the datastore's states; only a rule in a condition (held, or raised) keeps one.
    const names = new Set(rules.map((rule) => rule.name));
    const states: AlertStates = {};
    for (const stored of tx.listEvaluatorStates(undefined, subject)) {
      if (names.has(stored.rule) && isState(stored.state)) states[stateKey(stored.rule, subject)] = stored.state;
    }
    const values = datastoreAttributes(tx, ds, run, options.intervalS, new Set(rules.map((rule) => rule.attribute)), options.forecasts);
    const result = observe(rules, states, { subject, at: run.at, values });
    for (const rule of rules) {
      const key = stateKey(rule.name, subject);
      const state = result.states[key];
      if (state === undefined) continue;
      if (state.active || state.pendingSince !== undefined) tx.putEvaluatorState(rule.name, subject, state, run.at);
      else if (states[key] !== undefined) tx.putEvaluatorState(rule.name, subject, undefined);
    }
    const raised: Alert[] = [];
    const cleared: Alert[] = [];
    let affects: AlertSubjectRef[] | undefined;
    for (const event of result.events) {
      if (event.type === 'raised') {
        affects ??= affectsOf(tx, ds);
        const made = tx.raiseAlert({ rule: event.rule, subject, severity: event.severity, message: event.message, value: alertValue(event.value), affects, at: event.at });
        if (made.raised) raised.push(made.alert);
      } else {
        const gone = tx.clearAlert(event.rule, subject, event.at);
        if (gone !== undefined) cleared.push(gone);
      }
    }
    return { events: result.events, raised, cleared };
  });
}
