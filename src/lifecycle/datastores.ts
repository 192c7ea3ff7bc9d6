/**
 * Datastores: monitored (capacity stored), and created, changed or removed
 * by plan. A datastore's own monitor must accept it: when it refuses, the
 * change is undone here (a new record removed, an old one restored), so
 * nothing wrong stays recorded.
 */
import type { CatalogTx } from '../catalog/store.js';
import type { MonitorResult } from '../contract/parsers.js';
import { FerryError, toFerryError } from '../errors.js';
import type { Datastore, DatastorePatch, NewDatastore, Sample } from '../model.js';
import { alertOnMonitor, ATTRIBUTE_KEY, numberOf, type AlertingResult } from './alerting.js';
import { checkBasePath } from './base-path.js';
import { datastoreDrivers } from '../driver/datastore-drivers.js';
import { datastoreAction, type JournalPolicy, type LifecycleOptions } from './journal.js';
import { checkOwner, removeMarker, writeMarker } from './owner-marker.js';
import { datastorePlan, monitorDriver, monitorStep, type DatastorePlan } from './plan.js';

/** How one monitor run goes: see monitor(). */
export interface MonitorOptions {
  /** The service's periodic runs journal failures only: their successes are the history's samples. */
  journal?: JournalPolicy;
  timeoutSec?: number;
  signal?: AbortSignal;
  /** A system datastore kept per host (its TM not `shared`): measured on each of these hosts (perHostOf()). */
  hosts?: readonly string[];
  /** Told what the run's alert rules raised and cleared. */
  onAlerts?: (result: AlertingResult) => void;
}

/**
 * Runs the datastore's monitor (a system datastore's TM monitor) and stores
 * the figures: the latest on the datastore, and a sample of each in its
 * history (used, free, total, and every other numeric KEY=VALUE it printed).
 * A failed run counts towards the datastore's ERROR state (three in a row),
 * which the next success clears. Each run, either way, is then evaluated by
 * the datastore's alert rules (alerting.ts): alerts raised or cleared.
 */
export async function monitor(life: LifecycleOptions, ds: Datastore, options: MonitorOptions = {}): Promise<MonitorResult> {
  if (monitorDriver(ds).driver === null) {
    throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a ${ds.type} datastore with no datastore driver (ds_mad) to monitor it`, { hint: `give it one: ferry datastore update ${ds.name} --ds-mad NAME` });
  }
  // The rules first: rules that do not merge (a bad alerts: list) are the operator's to fix before anything runs.
  const alerting = (await life.alerting?.optionsFor(ds)) ?? {};
  let figures: MonitorResult;
  let perHost: HostFigures[] = [];
  try {
    const hosts = options.hosts ?? (await perHostOf(life, ds));
    if (hosts.length > 0) {
      const { measured, failed } = await monitorHosts(life, ds, hosts, options);
      perHost = measured;
      figures = tightest(measured, failed);
    } else figures = await monitorOnce(life, ds, options);
  } catch (error) {
    // Stopped by ferry itself (the service shutting down): not the datastore's failure.
    if (stoppedByFerry(life, options)) throw error;
    const failedAt = Date.now();
    life.catalog.recordMonitorFailure(ds.id, toFerryError(error).message, { at: failedAt });
    try {
      // Evaluated first: an optional call skips its argument when there is no listener.
      const alerts = alertOnMonitor(life.catalog, ds.id, { at: failedAt }, alerting);
      options.onAlerts?.(alerts);
    } catch {
      // The monitor's own failure is the one to report; the next run evaluates the rules again.
    }
    throw error;
  }
  const at = Date.now();
  // One transaction for the run: the figures, their samples, the health and the alerts they raise or clear.
  const alerts = life.catalog.transaction((tx) => {
    tx.setMonitor(ds.id, figures);
    tx.recordSamples([...samplesOf(ds.id, figures, at), ...perHost.flatMap(({ host, figures }) => hostSamples(ds.id, host, figures, at))]);
    tx.recordMonitorSuccess(ds.id, at);
    return alertOnMonitor(life.catalog, ds.id, { at, figures }, { ...alerting, datastore: ds });
  });
  options.onAlerts?.(alerts);
  return figures;
}

/** Whether the run was stopped by ferry's own signal (the command interrupted, the service stopping). */
const stoppedByFerry = (life: LifecycleOptions, options: MonitorOptions): boolean => options.signal?.aborted === true || life.signal?.aborted === true;

/** One monitor run's figures, checked: used + free may not exceed the total. */
async function monitorOnce(life: LifecycleOptions, ds: Datastore, options: MonitorOptions, host?: string): Promise<MonitorResult> {
  const { journal, timeoutSec, signal } = options;
  const result = await datastoreAction(life, ds, monitorStep(ds), {
    ...(journal !== undefined ? { journal } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(host !== undefined ? { extra: { MONITOR_HOST: host } } : {}),
  });
  const figures = result.result as MonitorResult;
  if (figures.usedMb + figures.freeMb > figures.totalMb * 1.01 + 1) {
    throw new FerryError('E_MALFORMED_OUTPUT', `datastore ${ds.name} monitor${host !== undefined ? ` on ${host}` : ''} says used ${figures.usedMb} + free ${figures.freeMb} MB > total ${figures.totalMb} MB`, {
      hint: `fix the ${result.driver} driver's monitor, or the datastore's BASE_PATH`,
    });
  }
  return figures;
}

/**
 * The hosts a system datastore is measured on, one by one: every host in the catalog when its TM keeps a copy
 * per host (its driver.yaml does not claim `shared`: the ssh TM); none (measured once) otherwise.
 */
export async function perHostOf(life: LifecycleOptions, ds: Datastore): Promise<string[]> {
  if (ds.type !== 'SYSTEM') return [];
  const tm = (await datastoreDrivers(life.runner, ds)).find((driver) => driver.kind === 'tm');
  if (!tm || tm.manifest.capabilities === undefined || tm.manifest.capabilities.includes('shared')) return [];
  return life.catalog.listHosts().map((host) => host.name);
}

interface HostFigures {
  host: string;
  figures: MonitorResult;
}

/**
 * A per-host system datastore measured on each host, one after the other. A host that fails (down, its disk
 * gone) is left out and named in MONITOR_FAILED_HOSTS; every host failing fails the run with the first's error.
 */
async function monitorHosts(life: LifecycleOptions, ds: Datastore, hosts: readonly string[], options: MonitorOptions): Promise<{ measured: HostFigures[]; failed: string[] }> {
  const measured: HostFigures[] = [];
  const failed: string[] = [];
  let first: unknown;
  for (const host of hosts) {
    try {
      measured.push({ host, figures: await monitorOnce(life, ds, options, host) });
    } catch (error) {
      if (stoppedByFerry(life, options)) throw error;
      first ??= error;
      failed.push(host);
    }
  }
  if (measured.length === 0) throw first;
  return { measured, failed };
}

/** The datastore's figures are its tightest host's (the least free): where the next VM may not fit. */
function tightest(perHost: readonly HostFigures[], failed: readonly string[]): MonitorResult {
  const least = perHost.reduce((a, b) => (b.figures.freeMb < a.figures.freeMb ? b : a));
  return { ...least.figures, attributes: { ...least.figures.attributes, MONITOR_HOST: least.host, ...(failed.length > 0 ? { MONITOR_FAILED_HOSTS: failed.join(' ') } : {}) } };
}

/** A host's figures as history samples: `used_mb@host01` and so on. */
function hostSamples(datastoreId: number, host: string, figures: MonitorResult, at: number): Sample[] {
  return [
    { datastoreId, attribute: `used_mb@${host}`, at, value: figures.usedMb },
    { datastoreId, attribute: `free_mb@${host}`, at, value: figures.freeMb },
    { datastoreId, attribute: `total_mb@${host}`, at, value: figures.totalMb },
  ];
}

/** A monitor run's figures as history samples: used, free and total MB, and the other numeric attributes it printed. */
function samplesOf(datastoreId: number, figures: MonitorResult, at: number): Sample[] {
  const samples: Sample[] = [
    { datastoreId, attribute: 'used_mb', at, value: figures.usedMb },
    { datastoreId, attribute: 'free_mb', at, value: figures.freeMb },
    { datastoreId, attribute: 'total_mb', at, value: figures.totalMb },
  ];
  for (const [key, value] of Object.entries(figures.attributes ?? {})) {
    const number = numberOf(value);
    if (ATTRIBUTE_KEY.test(key) && number !== undefined) samples.push({ datastoreId, attribute: key.toLowerCase(), at, value: number });
  }
  return samples;
}

/** The plan of a new datastore (checked by recording it in a transaction rolled back); `check`: its monitor runs first. */
export function planDatastoreCreate(life: LifecycleOptions, input: NewDatastore, check: boolean): DatastorePlan {
  checkBasePath(input.name, input.basePath);
  checkOwner(life.catalog, input.name, input.basePath);
  return datastorePlan(life.catalog.preview((tx) => tx.addDatastore(input)), { operation: 'create', input, check });
}

/** The plan of a datastore change: the datastore as it would be, and its monitor. */
export function planDatastoreUpdate(life: LifecycleOptions, id: number, patch: DatastorePatch): DatastorePlan {
  if (patch.basePath !== undefined) checkBasePath(life.catalog.datastore(id).name, patch.basePath);
  return datastorePlan(life.catalog.preview((tx) => tx.updateDatastore(id, patch)), { operation: 'update', patch });
}

/** The plan of a datastore's removal from the catalog (no driver runs; its files stay, but for its owner marker). */
export function planDatastoreDelete(life: LifecycleOptions, ref: string | number): DatastorePlan {
  const ds = life.catalog.datastore(ref);
  life.catalog.preview((tx) => tx.deleteDatastore(ds.id));
  return datastorePlan(ds, { operation: 'delete' });
}

/** Runs a datastore plan; the datastore as it is after (a deleted one: as it was). */
export async function runDatastorePlan(life: LifecycleOptions, plan: DatastorePlan): Promise<Datastore> {
  const check = plan.steps.length > 0;
  switch (plan.operation) {
    case 'create': {
      const ds = life.catalog.transaction((tx) => tx.addDatastore(plan.input));
      // Refused: unreachable or misconfigured, with the driver's reason; nothing stays behind.
      if (check) await checkedBy(life, ds, () => life.catalog.deleteDatastore(ds.id));
      writeMarker(life.catalog, ds);
      return life.catalog.datastore(ds.id);
    }
    case 'update': {
      const { before, after } = life.catalog.transaction((tx) => ({ before: tx.datastore(plan.datastore.id), after: tx.updateDatastore(plan.datastore.id, plan.patch) }));
      if (check) await checkedBy(life, after, () => life.catalog.updateDatastore(before.id, before));
      return life.catalog.datastore(before.id);
    }
    case 'delete':
      life.catalog.transaction((tx) => {
        tx.deleteDatastore(plan.datastore.id);
        retireAlerts(tx, plan.datastore.id);
      });
      removeMarker(life.catalog, plan.datastore);
      return plan.datastore;
  }
}

/** A removed datastore's alerts end with it: the firing ones are cleared, its rules' states forgotten (its id is never reused). */
function retireAlerts(tx: CatalogTx, datastoreId: number): void {
  const subject = { kind: 'datastore', id: String(datastoreId) };
  for (const alert of tx.listAlerts({ state: 'firing', subject })) tx.clearAlert(alert.rule, subject);
  for (const state of tx.listEvaluatorStates(undefined, subject)) tx.putEvaluatorState(state.rule, subject, undefined);
}

/** Runs `ds`'s monitor; when it refuses, `undo` puts the catalog back and the refusal is thrown. */
async function checkedBy(life: LifecycleOptions, ds: Datastore, undo: () => void): Promise<void> {
  try {
    await monitor(life, ds);
  } catch (error) {
    undo();
    throw error;
  }
}
