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
import { DEFAULT_MONITOR_INTERVAL_S, type AlertingOptions } from './alerting.js';

export interface Alerting {
  /** The rules and interval for `ds`; E_CONFIG naming the list when the rules do not merge. */
  optionsFor(ds: Datastore): Promise<AlertingOptions>;
}

export function alertingFrom(config: Pick<FerryConfig, 'alerts' | 'datastores' | 'monitor'>, runner: Runner): Alerting {
  return {
    async optionsFor(ds) {
      const drivers = (await datastoreDrivers(runner, ds)).map(({ kind, name, manifest }) => ({ kind, name, ...(manifest.alerts ? { alerts: manifest.alerts } : {}) }));
      const own = config.datastores?.[ds.name]?.alerts;
      const rules = datastoreRules({ ...(config.alerts ? { global: config.alerts } : {}), drivers, datastore: { name: ds.name, ...(own ? { alerts: own } : {}) } });
      return { rules, intervalS: monitorIntervalS(config, ds) };
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
