/**
 * Which alert rules watch a datastore: the built-in ones, then ferry.yaml's
 * `alerts:`, its drivers' driver.yaml `alerts:` (datastore driver, then TM),
 * then ferry.yaml's `datastores.<name>.alerts` (monitor/merge.ts), and the
 * monitor interval the missed-sample rule counts in.
 */
import type { FerryConfig } from '../config/config.js';
import { FerryError } from '../errors.js';
import { datastoreDrivers } from '../driver/datastore-drivers.js';
import type { Runner } from '../driver/runner.js';
import type { Datastore } from '../model.js';
import { datastoreRules } from '../monitor/merge.js';
import type { AlertRule } from '../monitor/rules.js';
import { DEFAULT_MONITOR_INTERVAL_S, type AlertingOptions, type ForecastCache } from './alerting.js';

export interface Alerting {
  /** The rules and interval for `ds`; E_CONFIG naming the list when the rules do not merge. */
  optionsFor(ds: Datastore): Promise<AlertingOptions>;
}

export function alertingFrom(config: Pick<FerryConfig, 'alerts' | 'datastores' | 'monitor'>, runner: Runner): Alerting {
  // Kept for as long as this configuration is: a service's runs reuse each datastore's forecast for a while.
  const forecasts: ForecastCache = new Map();
  // The merged rules per datastore, while its drivers' manifests are the same objects (the runner reloads a changed driver.yaml).
  const merged = new Map<string, { manifests: readonly unknown[]; rules: AlertRule[] }>();
  return {
    async optionsFor(ds) {
      const found = await datastoreDrivers(runner, ds);
      const key = `${ds.name}\u0000${ds.dsMad ?? ''}\u0000${ds.tmMad}`;
      const cached = merged.get(key);
      let rules: AlertRule[];
      if (cached && cached.manifests.length === found.length && cached.manifests.every((manifest, i) => manifest === found[i]?.manifest)) rules = cached.rules;
      else {
        const drivers = found.map(({ kind, name, manifest }) => ({ kind, name, ...(manifest.alerts ? { alerts: manifest.alerts } : {}) }));
        const own = config.datastores?.[ds.name]?.alerts;
        rules = datastoreRules({ ...(config.alerts ? { global: config.alerts } : {}), drivers, datastore: { name: ds.name, ...(own ? { alerts: own } : {}) } });
        merged.set(key, { manifests: found.map((driver) => driver.manifest), rules });
      }
      return { rules, intervalS: monitorIntervalS(config, ds), forecasts };
    },
  };
}

/** Seconds between `ds`'s monitor runs: its template's MONITOR_INTERVAL, else ferry.yaml's `monitor: {interval}`, else 300. */
export function monitorIntervalS(config: Pick<FerryConfig, 'monitor'>, ds: Datastore): number {
  const given = ds.template.MONITOR_INTERVAL;
  if (given !== undefined) {
    const own = Number(given);
    if (given.trim() !== '' && Number.isFinite(own) && own >= 1) return own;
    throw new FerryError('E_CONFIG', `datastore ${ds.name}'s MONITOR_INTERVAL ${JSON.stringify(given)} is not a number of seconds, 1 or more`, {
      hint: `ferry datastore update ${ds.name} --attr MONITOR_INTERVAL=300`,
    });
  }
  return config.monitor?.interval ?? DEFAULT_MONITOR_INTERVAL_S;
}
