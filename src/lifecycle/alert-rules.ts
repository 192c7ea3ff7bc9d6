/**
 * Which alert rules watch a datastore: the built-in ones, then ferry.yaml's
 * `alerts:`, its drivers' driver.yaml `alerts:` (datastore driver, then TM),
 * then ferry.yaml's `datastores.<name>.alerts` (monitor/merge.ts), and the
 * monitor interval the missed-sample rule counts in.
 */
import type { FerryConfig } from '../config/config.js';
import { datastoreDrivers } from '../driver/datastore-drivers.js';
import type { Runner } from '../driver/runner.js';
import type { Datastore } from '../model.js';
import { datastoreRules } from '../monitor/merge.js';
import type { AlertingOptions } from './alerting.js';

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
      return { rules, ...(config.monitor?.interval !== undefined ? { intervalS: config.monitor.interval } : {}) };
    },
  };
}
