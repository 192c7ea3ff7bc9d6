/**
 * /metrics: the catalog in Prometheus' text format (prom-client), on a registry of its own (never prom-client's
 * global one, which a library loading ferry may use). Names start `ferry_`; a datastore's series carry its id
 * and name (`datastore_id`, `datastore`). At each scrape the gauges are set from the catalog as it is then
 * (a datastore removed since the last scrape loses its series) and the journal is tailed into the action
 * histogram and the monitor-failure counter (metrics-journal.ts).
 *
 * Never a secret: no datastore attribute's value is exported at all (neither template nor secret), only names,
 * ids, drivers, states and figures.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CatalogStore } from '../catalog/store.js';
import { ALERT_SEVERITIES, type AlertSeverity, type Datastore, type ImageState, type VmState } from '../model.js';
import { ACTION_BUCKETS, JournalTail } from './metrics-journal.js';
import { ferryVersion } from './version.js';

/** What the metrics read of the catalog. */
export type MetricsCatalog = Pick<CatalogStore, 'listDatastores' | 'listMonitorStates' | 'listImages' | 'listVms' | 'listAlerts' | 'journalPage'>;

export interface MetricsOptions {
  /** The process' own figures (CPU seconds, resident memory, heap, start time), prefixed `ferry_process_`; default true. */
  processMetrics?: boolean;
  /** ferry_build_info's version label; default package.json's. */
  version?: string;
}

export interface ServiceMetrics {
  /** The text of a scrape, the catalog read now. */
  render(): Promise<string>;
  /** The Content-Type of `render`'s text. */
  readonly contentType: string;
  /** The registry, for a caller to add its own (the service's monitor loop, say). */
  readonly registry: Registry;
}

const MB = 1048576;
const DATASTORE = ['datastore_id', 'datastore'] as const;
// Records, not lists, so a state added to the model is a compile error here until it is counted.
const IMAGE_STATES: Record<ImageState, true> = { LOCKED: true, READY: true, USED: true, ERROR: true, DELETING: true };
const VM_STATES: Record<VmState, true> = { PENDING: true, RUNNING: true, STOPPED: true, DONE: true, FAILED: true };

const labelsOf = (ds: Datastore) => ({ datastore_id: String(ds.id), datastore: ds.name });

/** A count of every key of `all`, 0 for those none of `values` has. */
function countBy<K extends string>(all: Record<K, true>, values: readonly K[]): Map<K, number> {
  const counts = new Map<K, number>(Object.keys(all).map((key) => [key as K, 0]));
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export function createMetrics(catalog: MetricsCatalog, options: MetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });

  const total = gauge('ferry_datastore_total_bytes', 'The datastore\'s capacity, as its monitor last reported it.', DATASTORE);
  const used = gauge('ferry_datastore_used_bytes', 'Bytes used on the datastore, as its monitor last reported it.', DATASTORE);
  const free = gauge('ferry_datastore_free_bytes', 'Bytes free on the datastore, as its monitor last reported it.', DATASTORE);
  const lastSample = gauge('ferry_datastore_last_sample_timestamp_seconds', 'When the datastore\'s monitor last reported its figures (Unix time).', DATASTORE);
  const up = gauge('ferry_datastore_monitor_up', '1 while the datastore\'s monitor is OK, 0 once failures in a row put it in ERROR.', DATASTORE);
  const failures = gauge('ferry_datastore_monitor_consecutive_failures', 'Failed monitor runs of the datastore in a row (0 after a success).', DATASTORE);
  const images = gauge('ferry_images', 'Images in the catalog, by state.', ['state']);
  const vms = gauge('ferry_vms', 'VMs in the catalog, by state.', ['state']);
  const firing = gauge('ferry_alerts_firing', 'Alerts firing, by severity.', ['severity']);
  const firingByRule = gauge('ferry_alerts_firing_by_rule', 'Alerts firing, by rule and severity.', ['rule', 'severity']);
  gauge('ferry_build_info', 'ferry\'s version (always 1).', ['version']).set({ version: options.version ?? ferryVersion() }, 1);
  const datastoreGauges = [total, used, free, lastSample, up, failures];

  const monitorFailures = new Counter({ name: 'ferry_monitor_failures_total', help: 'Failed monitor runs of the datastore, as journaled by any ferry process on the catalog.', labelNames: DATASTORE, registers });
  const tail = new JournalTail(catalog, {
    monitorFailures,
    actionDuration: new Histogram({
      name: 'ferry_driver_action_duration_seconds',
      help: 'How long driver actions ran, by kind (datastore, tm), driver, action and outcome (ok, failed, timeout), as journaled by any ferry process on the catalog.',
      labelNames: ['kind', 'driver', 'action', 'outcome'],
      buckets: ACTION_BUCKETS,
      registers,
    }),
  });
  if (options.processMetrics !== false) processGauges(registry);

  /** Sets every gauge from the catalog as it is now, and counts what the journal got since the last scrape. */
  function scrape(): void {
    const datastores = catalog.listDatastores();
    const states = new Map(catalog.listMonitorStates().map((state) => [state.datastoreId, state]));
    for (const metric of datastoreGauges) metric.reset();
    for (const ds of datastores) {
      const labels = labelsOf(ds);
      if (ds.totalMb !== null) total.set(labels, ds.totalMb * MB);
      if (ds.usedMb !== null) used.set(labels, ds.usedMb * MB);
      if (ds.freeMb !== null) free.set(labels, ds.freeMb * MB);
      if (ds.monitoredAt !== null) lastSample.set(labels, Date.parse(ds.monitoredAt) / 1000);
      // A datastore never monitored is OK with no failures, as the catalog's monitorState says.
      const state = states.get(ds.id);
      up.set(labels, state?.state === 'ERROR' ? 0 : 1);
      failures.set(labels, state?.failures ?? 0);
    }
    for (const [state, count] of countBy(IMAGE_STATES, catalog.listImages().map((image) => image.state))) images.set({ state }, count);
    for (const [state, count] of countBy(VM_STATES, catalog.listVms().map((vm) => vm.state))) vms.set({ state }, count);
    const alerts = catalog.listAlerts({ state: 'firing' });
    const bySeverity = Object.fromEntries(ALERT_SEVERITIES.map((severity) => [severity, true])) as Record<AlertSeverity, true>;
    for (const [severity, count] of countBy(bySeverity, alerts.map((alert) => alert.severity))) firing.set({ severity }, count);
    firingByRule.reset();
    for (const alert of alerts) firingByRule.inc({ rule: alert.rule, severity: alert.severity });
    tail.catchUp(new Map(datastores.map((ds) => [ds.id, ds.name])));
    // Every datastore has its failure counter, at 0 until one fails: a rate() over it starts from the first scrape.
    for (const ds of datastores) monitorFailures.inc(labelsOf(ds), 0);
  }

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      scrape();
      return registry.metrics();
    },
  };
}

/**
 * The process' own figures. prom-client's default metrics are not used: three of their gauges end in `_total`,
 * which `promtool check metrics` reports, and their event-loop monitor runs whether scraped or not.
 */
function processGauges(registry: Registry): void {
  const registers = [registry];
  new Counter({
    name: 'ferry_process_cpu_seconds_total',
    help: 'CPU time this ferry process used (user and system), in seconds.',
    registers,
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({ name: 'ferry_process_resident_memory_bytes', help: 'Resident memory of this ferry process.', registers, collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'ferry_process_heap_used_bytes', help: 'JavaScript heap in use by this ferry process.', registers, collect() { this.set(process.memoryUsage().heapUsed); } });
  const started = Date.now() / 1000 - process.uptime();
  new Gauge({ name: 'ferry_process_start_time_seconds', help: 'When this ferry process started (Unix time).', registers }).set(Math.round(started));
}
