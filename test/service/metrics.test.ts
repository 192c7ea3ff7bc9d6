/** /metrics from a filled catalog: the figures, the journal tailed, no secret, and promtool's check. */
import t from 'tap';
import { createMetrics } from '../../src/service/metrics.js';
import { outcomeOf } from '../../src/service/metrics-journal.js';
import { promtoolCheck, samplesOf, valueOf } from '../helpers/prom.js';
import { action, SECRET_MARK, serviceWorld } from '../helpers/service-world.js';

const MB = 1048576;

t.test('the catalog\'s figures, states and alerts', async (t) => {
  const { catalog, ids } = serviceWorld(t);
  const metrics = createMetrics(catalog, { version: '9.9.9' });
  t.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  const text = await metrics.render();
  const images = { datastore_id: String(ids.images), datastore: 'images' };
  const system = { datastore_id: String(ids.system), datastore: 'system' };
  const spare = { datastore_id: String(ids.spare), datastore: 'spare' };
  t.equal(valueOf(text, 'ferry_datastore_total_bytes', images), 1000 * MB);
  t.equal(valueOf(text, 'ferry_datastore_used_bytes', images), 600 * MB);
  t.equal(valueOf(text, 'ferry_datastore_free_bytes', images), 400 * MB);
  t.equal(valueOf(text, 'ferry_datastore_total_bytes', system), 2048 * MB);
  t.equal(valueOf(text, 'ferry_datastore_total_bytes', spare), undefined, 'never monitored: no capacity series');
  const monitoredAt = Date.parse(catalog.datastore(ids.images).monitoredAt!) / 1000;
  t.equal(valueOf(text, 'ferry_datastore_last_sample_timestamp_seconds', images), monitoredAt);
  t.equal(valueOf(text, 'ferry_datastore_monitor_up', images), 1);
  t.equal(valueOf(text, 'ferry_datastore_monitor_up', system), 0, 'three failures: ERROR');
  t.equal(valueOf(text, 'ferry_datastore_monitor_up', spare), 1, 'never run: OK, as monitorState says');
  t.equal(valueOf(text, 'ferry_datastore_monitor_consecutive_failures', system), 3);
  t.equal(valueOf(text, 'ferry_datastore_monitor_consecutive_failures', images), 0);
  t.same(
    Object.fromEntries(samplesOf(text).filter((s) => s.name === 'ferry_images').map((s) => [s.labels.state, s.value])),
    { LOCKED: 1, READY: 1, USED: 0, ERROR: 1, DELETING: 0 },
    'images by state, every state',
  );
  t.same(
    Object.fromEntries(samplesOf(text).filter((s) => s.name === 'ferry_vms').map((s) => [s.labels.state, s.value])),
    { PENDING: 0, RUNNING: 1, STOPPED: 0, DONE: 0, FAILED: 1 },
    'VMs by state, every state',
  );
  t.same(
    Object.fromEntries(samplesOf(text).filter((s) => s.name === 'ferry_alerts_firing').map((s) => [s.labels.severity, s.value])),
    { critical: 1, major: 1, minor: 0, warning: 1, info: 0 },
    'firing alerts by severity (the cleared one not counted), every severity',
  );
  t.equal(valueOf(text, 'ferry_alerts_firing_by_rule', { rule: 'free_below_20', severity: 'warning' }), 1);
  t.equal(valueOf(text, 'ferry_alerts_firing_by_rule', { rule: 'free_below_10' }), undefined, 'a cleared alert\'s rule has no series');
  t.equal(valueOf(text, 'ferry_build_info', { version: '9.9.9' }), 1);
  t.equal(valueOf(text, 'ferry_monitor_failures_total', system), 0, 'every datastore has its failure counter, from 0');
  t.ok((valueOf(text, 'ferry_process_resident_memory_bytes') ?? 0) > 0);
  t.ok((valueOf(text, 'ferry_process_cpu_seconds_total') ?? 0) > 0);

  // A datastore removed: its series go with it.
  catalog.deleteDatastore(ids.spare);
  const after = await metrics.render();
  t.equal(valueOf(after, 'ferry_datastore_monitor_up', spare), undefined, 'a removed datastore has no gauge series');
});

t.test('the journal, tailed: actions of any process since the metrics were made, counted once', async (t) => {
  const { catalog, ids } = serviceWorld(t);
  catalog.record(action(`datastore:${ids.system}`, 'tm', 'ssh', 'monitor', 100, 'failed'));
  const metrics = createMetrics(catalog, { processMetrics: false });
  const system = { datastore_id: String(ids.system), datastore: 'system' };
  let text = await metrics.render();
  t.equal(valueOf(text, 'ferry_monitor_failures_total', system), 0, 'history before the start is not counted');
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', { driver: 'ssh', action: 'monitor', outcome: 'failed' }), undefined);

  catalog.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 40));
  catalog.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 60));
  catalog.record(action(`datastore:${ids.system}`, 'tm', 'ssh', 'monitor', 2000, 'failed'));
  catalog.record(action(`datastore:${ids.system}`, 'tm', 'ssh', 'monitor', 30_000, 'timeout'));
  catalog.record(action('vm:1', 'tm', 'shared', 'clone', 1500));
  catalog.record(action('vm:1', 'tm', 'shared', 'clone', null, 'failed'));
  catalog.record(action('datastore:999', 'datastore', 'fs', 'monitor', 10, 'failed'));
  text = await metrics.render();
  const fsMonitor = { kind: 'datastore', driver: 'fs', action: 'monitor', outcome: 'ok' };
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', fsMonitor), 2);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_sum', fsMonitor), 0.1);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_bucket', { ...fsMonitor, le: '0.05' }), 1);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_bucket', { ...fsMonitor, le: '0.1' }), 2);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_bucket', { ...fsMonitor, le: '+Inf' }), 2);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_bucket', { ...fsMonitor, le: '3600' }), 2, 'buckets up to an hour');
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', { kind: 'tm', driver: 'ssh', action: 'monitor', outcome: 'failed' }), 1);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', { kind: 'tm', driver: 'ssh', action: 'monitor', outcome: 'timeout' }), 1);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', { kind: 'tm', driver: 'shared', action: 'clone', outcome: 'ok' }), 1);
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', { driver: 'shared', action: 'clone', outcome: 'failed' }), undefined, 'no duration: not observed');
  t.equal(valueOf(text, 'ferry_monitor_failures_total', system), 2, 'a failure and a timeout');
  t.equal(valueOf(text, 'ferry_monitor_failures_total', { datastore_id: String(ids.images) }), 0);
  t.equal(valueOf(text, 'ferry_monitor_failures_total', { datastore_id: '999' }), undefined, 'an unknown datastore is not a series');

  text = await metrics.render();
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', fsMonitor), 2, 'a second scrape counts nothing twice');
  t.equal(valueOf(text, 'ferry_monitor_failures_total', system), 2);

  // A backlog larger than a page is read in pages.
  catalog.transaction((tx) => {
    for (let i = 0; i < 2500; i++) tx.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 5));
  });
  text = await metrics.render();
  t.equal(valueOf(text, 'ferry_driver_action_duration_seconds_count', fsMonitor), 2502);
});

t.test('outcomeOf', async (t) => {
  t.equal(outcomeOf({ ok: true, message: null }), 'ok');
  t.equal(outcomeOf({ ok: false, message: 'exited with status 1' }), 'failed');
  t.equal(outcomeOf({ ok: false, message: null }), 'failed');
  t.equal(outcomeOf({ ok: false, message: 'tm ssh/monitor timed out after 30 s: waiting' }), 'timeout');
});

t.test('no secret, no template value; promtool finds nothing', async (t) => {
  const { catalog, ids } = serviceWorld(t);
  const metrics = createMetrics(catalog);
  catalog.record(action(`datastore:${ids.images}`, 'datastore', 'fs', 'monitor', 40));
  catalog.record(action(`datastore:${ids.system}`, 'tm', 'ssh', 'monitor', 30_000, 'timeout'));
  const text = await metrics.render();
  t.notOk(text.includes(SECRET_MARK), 'no secret value');
  t.notOk(/API_KEY|PASSWORD|LIMIT_MB/.test(text), 'no attribute at all');
  const check = promtoolCheck(text);
  t.equal(check.status, 0, `promtool check metrics: ${check.output}`);
  t.equal(check.output.trim(), '', 'no lint finding');
  for (const sample of samplesOf(text)) t.ok(sample.name.startsWith('ferry_'), `${sample.name} is ferry_`);
});
