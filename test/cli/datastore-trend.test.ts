/**
 * `datastore monitor` keeps history and health; `datastore show` shows the
 * trend (now, a day and a week ago, when it fills) and the monitor's health:
 * three failed monitors in a row are ERROR, the next success clears it.
 */
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { world } from '../helpers/catalog-world.js';

const DAY = 86_400_000;

t.test('monitor runs are history; show gives the trend and when it fills', async (t) => {
  const w = world(t);
  const base = join(w.root, 'ds');
  mkdirSync(base);
  const ds = await w.json(['datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', base]);
  await w.json(['datastore', 'monitor', 'images']);
  const catalog = w.catalog();
  const recorded = catalog.series(ds.id, 'used_mb', Date.now() - DAY, Date.now() + 1000);
  t.equal(recorded.length, 2, 'create and monitor each left a sample');
  t.ok(catalog.series(ds.id, 'total_mb', 0, Date.now() + 1000).length >= 2, 'total too');

  // A week of growth, 1,000 MB a day towards a 20,000 MB total, as a monitor every 6 hours would have seen it.
  const now = Date.now();
  const past = [];
  for (let at = now - 7 * DAY; at < now - 60_000; at += DAY / 4) {
    const used = 5000 + ((at - (now - 7 * DAY)) / DAY) * 1000;
    past.push({ datastoreId: ds.id, attribute: 'used_mb', at, value: used }, { datastoreId: ds.id, attribute: 'total_mb', at, value: 20_000 });
  }
  const other = w.catalog();
  other.recordSamples(past);
  const shown = await w.json(['datastore', 'show', 'images']);
  t.equal(shown.monitor.state, 'OK');
  t.ok(shown.trend.usedMbDayAgo > 10_500 && shown.trend.usedMbDayAgo < 11_500, `a day ago about 11,000 MB (${shown.trend.usedMbDayAgo})`);
  t.ok(shown.trend.usedMbWeekAgo >= 5000 && shown.trend.usedMbWeekAgo < 5600, `a week ago about 5,000 MB (${shown.trend.usedMbWeekAgo})`);
  t.ok(shown.trend.growthMbPerDay > 500, `growing (${shown.trend.growthMbPerDay} MB a day)`);
  t.match(shown.trend.fullAt, /^\d{4}-\d\d-\d\dT/);
  const text = await w.cli(['datastore', 'show', 'images']);
  t.match(text.stdout, /^ {2}used {7}now \d+ MB, a day ago \d+(\.\d+)? MB, a week ago \d+(\.\d+)? MB$/m);
  t.match(text.stdout, /^ {2}fills {6}\d{4}-\d\d-\d\d, in [\d.]+ days at [\d.]+ MB a day$/m);
});

t.test('three failed monitors in a row put the datastore in ERROR; the next success clears it', async (t) => {
  const w = world(t);
  const base = join(w.root, 'sys');
  mkdirSync(base);
  await w.json(['host', 'create', 'host01', '--local']);
  await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'flaky', '--base-path', base]);
  writeFileSync(join(w.markers, 'fail-monitor'), '');
  for (let run = 1; run <= 3; run++) {
    const failed = await w.cli(['datastore', 'monitor', 'system']);
    t.equal(failed.status, 1, `run ${run} fails`);
    const shown = await w.json(['datastore', 'show', 'system']);
    t.equal(shown.monitor.failures, run, `${run} in a row`);
    t.equal(shown.monitor.state, run < 3 ? 'OK' : 'ERROR', run < 3 ? 'still OK' : 'ERROR after three');
    t.match(shown.monitor.lastError, /injected failure in monitor/);
  }
  t.match((await w.cli(['datastore', 'show', 'system'])).stdout, /^ {2}monitor {4}ERROR, 3 failed in a row: .*injected failure in monitor/m);
  rmSync(join(w.markers, 'fail-monitor'));
  await w.json(['datastore', 'monitor', 'system']);
  const back = await w.json(['datastore', 'show', 'system']);
  t.equal(back.monitor.state, 'OK', 'cleared by a success');
  t.equal(back.monitor.failures, 0);
});
