/**
 * What the service watches, as scheduler jobs: each datastore with a monitor, at its own interval (its
 * MONITOR_INTERVAL, else ferry.yaml's), and the sweep: the datastore list read again (datastores added or
 * removed by commands while the service runs), images' and VMs' failure states, missed samples, the hooks'
 * outbox, and the history's pruning.
 */
import { noticeOwner } from '../catalog/notices.js';
import type { CatalogStore } from '../catalog/store.js';
import type { FerryConfig } from '../config/config.js';
import { toFerryError } from '../errors.js';
import { monitorIntervalS, type Alerting } from '../lifecycle/alert-rules.js';
import { alertOnMonitor, DEFAULT_MONITOR_INTERVAL_S, type AlertingResult } from '../lifecycle/alerting.js';
import { alertOnRecords } from '../lifecycle/alerting-records.js';
import { monitor, perHostOf } from '../lifecycle/datastores.js';
import { refreshDiskSizes, refreshImageSizes } from '../lifecycle/sizes.js';
import type { LifecycleOptions } from '../lifecycle/journal.js';
import { monitorDriver } from '../lifecycle/plan.js';
import type { Logger } from '../log/logger.js';
import type { Datastore, MonitorState } from '../model.js';
import { DEFAULT_RULES } from '../monitor/defaults.js';
import { mergeRules } from '../monitor/merge.js';
import { deliverNotices } from './hooks.js';
import type { Job } from './scheduler.js';

/** Seconds between sweeps (at most; a datastore interval under it makes it shorter). */
export const SWEEP_INTERVAL_S = 30;
const HOUR_MS = 3_600_000;
/** Seconds between refreshes of a datastore's image or disk sizes, by default. */
export const DEFAULT_SIZES_S = 3600;

/** Whether `ds` has a monitor to run (monitorDriver remembers the route per kind of datastore). */
const hasMonitor = (ds: Datastore): boolean => monitorDriver(ds).driver !== null;

/** Delivered hook notices are kept this long (for `alert show`), then pruned. */
const NOTICES_KEPT_MS = 30 * 24 * HOUR_MS;

/** The datastores and their monitor health, as read once for a refresh and the sweep after it. */
interface Snapshot {
  datastores: Datastore[];
  health: Map<number, MonitorState>;
}

export interface WatchContext {
  catalog: CatalogStore;
  life: LifecycleOptions;
  alerting: Alerting;
  config: FerryConfig;
  logger: Logger;
}

/** The service's watching: jobs for the scheduler, rebuilt on each sweep and each reload. */
export class Watch {
  /** When this service began: a datastore's missed samples count once it has had one interval to run. */
  private readonly since = Date.now();
  private delivering: Promise<void> | undefined;
  private deliverAgain = false;
  private lastPrune = 0;
  /** When each datastore's sizes were last refreshed (ms). */
  private readonly sized = new Map<number, number>();
  private readonly owner = noticeOwner();
  private stopping = new AbortController();

  constructor(
    private context: WatchContext,
    private readonly setJobs: (jobs: Job[]) => void,
  ) {}

  /** ferry.yaml read again (SIGHUP): the next runs use the new rules, intervals and drivers. */
  reconfigure(context: WatchContext): void {
    this.context = context;
    this.refresh();
  }

  /** Stops hook deliveries (the scheduler stops the runs), and waits for the one under way. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.delivering;
  }

  /** The jobs for the datastores as the catalog has them now, and the sweep. */
  refresh(): Snapshot {
    const { catalog, config } = this.context;
    const jobs: Job[] = [];
    let shortest = SWEEP_INTERVAL_S;
    const snapshot: Snapshot = { datastores: catalog.listDatastores(), health: new Map(catalog.listMonitorStates().map((state) => [state.datastoreId, state])) };
    const { health } = snapshot;
    for (const ds of snapshot.datastores) {
      if (!hasMonitor(ds)) continue;
      let intervalS: number;
      try {
        intervalS = monitorIntervalS(config, ds);
      } catch (error) {
        this.context.logger.error({ datastore: ds.name }, toFerryError(error).message);
        continue;
      }
      shortest = Math.min(shortest, intervalS);
      const last = Date.parse(health.get(ds.id)?.lastSuccessAt ?? '');
      const job: Job = { key: `datastore:${ds.id}`, intervalMs: intervalS * 1000, run: (signal) => this.monitorOne(ds.id, intervalS, signal) };
      // Sampled within its interval already (a restart): its next sample is due one interval after the last one.
      if (Number.isFinite(last) && last + intervalS * 1000 > Date.now()) job.firstAt = last + intervalS * 1000;
      jobs.push(job);
    }
    jobs.push({ key: 'sweep', intervalMs: shortest * 1000, firstAt: Date.now(), run: () => this.sweep() });
    this.setJobs(jobs);
    return snapshot;
  }

  /** One monitor run of datastore `id` (read afresh: it may have changed or gone since it was scheduled). */
  private async monitorOne(id: number, intervalS: number, signal: AbortSignal): Promise<void> {
    const { catalog, config, logger } = this.context;
    const ds = catalog.findDatastore(id);
    if (ds === undefined) return;
    const timeoutSec = config.monitor?.timeout ?? Math.min(intervalS, 300);
    let announced = 0;
    const onAlerts = (result: AlertingResult): void => {
      announced += result.raised.length + result.cleared.length;
    };
    try {
      await monitor(this.context.life, ds, { journal: 'failures', timeoutSec, signal, onAlerts });
    } catch (error) {
      if (!signal.aborted) logger.warn({ datastore: ds.name }, `monitor of datastore ${ds.name} failed: ${toFerryError(error).message}`);
    }
    if (!signal.aborted) await this.sizes(ds, timeoutSec, signal);
    // The hooks at once for what this run raised or cleared; the sweep catches the rest (retries, other processes').
    if (announced > 0) this.deliver();
  }

  /** Image sizes (an image datastore's) or VM disk sizes (a system datastore's), every `monitor.sizes` seconds per datastore. */
  private async sizes(ds: Datastore, timeoutSec: number, signal: AbortSignal): Promise<void> {
    const { life, config, logger } = this.context;
    const now = Date.now();
    if (now - (this.sized.get(ds.id) ?? 0) < (config.monitor?.sizes ?? DEFAULT_SIZES_S) * 1000) return;
    this.sized.set(ds.id, now);
    try {
      const report = ds.type === 'SYSTEM' ? ((await perHostOf(life, ds)).length === 0 ? refreshDiskSizes(life, ds) : undefined) : await refreshImageSizes(life, ds, { timeoutSec, signal });
      if (report?.error) logger.warn({ datastore: ds.name, failed: report.failed }, `sizes on datastore ${ds.name}: ${report.failed} could not be measured: ${report.error}`);
    } catch (error) {
      if (!signal.aborted) logger.warn({ datastore: ds.name }, `sizes on datastore ${ds.name}: ${toFerryError(error).message}`);
    }
  }

  /** The catalog read again, records' and missed samples' alerts, the outbox, the history pruned hourly. */
  private async sweep(): Promise<void> {
    const { catalog, logger, config } = this.context;
    const { datastores, health } = this.refresh();
    const now = Date.now();
    try {
      alertOnRecords(catalog, now, mergeRules(config.alerts ? [{ source: 'ferry.yaml alerts', entries: config.alerts }] : []));
      const missing = new Set(catalog.listAlerts({ state: 'firing', subject: { kind: 'datastore' } }).map((alert) => alert.subject.id));
      for (const ds of datastores) {
        // Sampled within its interval and nothing firing: no missed-sample rule can hold (their bounds are in intervals, 1 or more).
        const last = Date.parse(health.get(ds.id)?.lastSuccessAt ?? '');
        if (Number.isFinite(last) && now - last < this.intervalOf(ds) * 1000 && !missing.has(String(ds.id))) continue;
        await this.missedSamples(ds, now);
      }
      if (now - this.lastPrune >= HOUR_MS) {
        this.lastPrune = now;
        const retention = {
          ...(config.history?.raw_hours !== undefined ? { rawWindowMs: config.history.raw_hours * HOUR_MS } : {}),
          ...(config.history?.rollup_days !== undefined ? { rollupWindowMs: config.history.rollup_days * 24 * HOUR_MS } : {}),
        };
        catalog.pruneHistory(now, retention);
        catalog.pruneNotices(now - NOTICES_KEPT_MS);
      }
    } catch (error) {
      logger.error({}, `sweep failed: ${toFerryError(error).message}`);
    }
    this.deliver();
  }

  /** `ds`'s monitor interval in seconds (300 when its MONITOR_INTERVAL does not read). */
  private intervalOf(ds: Datastore): number {
    try {
      return monitorIntervalS(this.context.config, ds);
    } catch {
      return DEFAULT_MONITOR_INTERVAL_S;
    }
  }

  /** The missed-sample rule alone, between runs: a datastore whose monitor hangs or is never run still raises it. */
  private async missedSamples(ds: Datastore, at: number): Promise<void> {
    if (!hasMonitor(ds)) return;
    // A service just started has not had the time to sample: what it missed while it was down counts from its first interval.
    if (at - this.since < this.intervalOf(ds) * 1000) return;
    const options = await this.context.alerting.optionsFor(ds);
    const rules = (options.rules ?? DEFAULT_RULES).filter((rule) => rule.attribute === 'SAMPLE_AGE_INTERVALS');
    if (rules.length === 0) return;
    const result = alertOnMonitor(this.context.catalog, ds.id, { at }, { ...options, rules });
    this.context.logger.debug({ datastore: ds.name, events: result.events.length }, `missed samples of ${ds.name} checked`);
  }

  /** Runs the alert hooks for what is waiting in the outbox; one delivery at a time, again if asked meanwhile. */
  deliver(): void {
    if (this.delivering) {
      this.deliverAgain = true;
      return;
    }
    this.delivering = (async () => {
      do {
        this.deliverAgain = false;
        const { catalog, life, logger, config } = this.context;
        try {
          await deliverNotices({ catalog, runner: life.runner, logger, owner: this.owner, signal: this.stopping.signal, ...(config.hooks?.timeout !== undefined ? { timeoutSec: config.hooks.timeout } : {}) });
        } catch (error) {
          logger.error({}, `alert hooks: ${toFerryError(error).message}`);
        }
      } while (this.deliverAgain && !this.stopping.signal.aborted);
    })().finally(() => {
      this.delivering = undefined;
    });
  }
}
