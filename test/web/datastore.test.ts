/**
 * A datastore's page in a real browser (Debian's Chromium) against a real `ferry serve` on a catalog a real
 * lifecycle filled, its monitor running every second, with a month of older samples recorded through the catalog
 * before serve starts (serve's first prune folds those older than 48 h into hourly rollups, as in a long-running
 * service): the facts without the secret, the trend, the chart drawing what the history API gave for each range
 * and switching ranges in place, the table of samples without JavaScript, images, VMs, alerts, a hostile name
 * shown as text, 404 and 400 pages.
 */
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Page, Response } from 'playwright-core';
import { runCli } from '../cli/helpers.js';
import { stage, vmYaml } from '../helpers/catalog-world.js';
import { launchBrowser, screenshot, watchedPage } from '../helpers/browser.js';
import { waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe, type ServeWorld } from '../helpers/serve.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const SECRET = 'S3CR3T-dspage-4b9e21';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

interface HistoryBody {
  ok: boolean;
  result: { from: string; to: string; points: Array<{ kind: string; at: number; value: number }> };
}

/**
 * datastore/fixed: the probe driver (fs) whose monitor reports the figures in markers/figures, so the trend and
 * the forecast do not hang on the test machine's disk.
 */
function fixedFigures(w: ServeWorld, usedMb: number, totalMb: number): void {
  const fixed = join(w.remotes, 'datastore', 'fixed');
  cpSync(join(w.remotes, 'datastore', 'probe'), fixed, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(w.markers, 'figures'), `USED_MB=${usedMb}\nTOTAL_MB=${totalMb}\nFREE_MB=${totalMb - usedMb}\n`);
  writeFileSync(join(fixed, 'monitor'), `#!/bin/sh\n# The figures the test set (test/web/datastore.test.ts).\nset -eu\ncat '${join(w.markers, 'figures')}'\n`);
  chmodSync(join(fixed, 'monitor'), 0o755);
}

/** The used_mb history response the page's script gets next. */
const usedResponse = (page: Page): Promise<Response> => page.waitForResponse((response) => response.url().includes('/history?') && response.url().includes('attribute=used_mb'));

/** Clicks the `range` preset (or loads the page) and waits for the chart drawn from it; the API's used points and the chart's figures. */
async function drawn(page: Page, range: string, go: () => Promise<unknown>): Promise<{ api: HistoryBody['result']; points: number; from: string; to: string }> {
  const responded = usedResponse(page);
  await go();
  const response = await responded;
  const asked = new URL(response.url()).searchParams.get('points');
  if (asked !== '2000') throw new Error(`the chart asked for ${asked} points, not at most 2000`);
  const api = ((await response.json()) as HistoryBody).result;
  await page.waitForSelector(`#capacity-chart[data-state="drawn"][data-range="${range}"][data-to="${api.to}"]`);
  const data = await page.evaluate(() => ({ ...(document.getElementById('capacity-chart') as HTMLElement).dataset }));
  return { api, points: Number(data.points), from: data.from ?? '', to: data.to ?? '' };
}

t.test('a datastore page: facts without secrets, trend, a chart per range, images, VMs, alerts, escaped names', async (t) => {
  t.setTimeout(120_000);
  const w = serveWorld(t);
  await stage(t, w, 'shared');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const base = join(w.root, 'ds', 'watched');
  mkdirSync(base, { recursive: true });
  fixedFigures(w, 8000, 10_000);
  const created = await runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, '--json', 'datastore', 'create', HOSTILE, '--ds-mad', 'fixed', '--tm-mad', 'shared', '--base-path', base, '--secret', 'API_KEY', '--attr', 'MONITOR_INTERVAL=1'], { env: { FERRY_HOME: w.home, API_KEY: SECRET }, cwd: w.root });
  t.equal(created.status, 0, created.stderr);
  const id = (JSON.parse(created.stdout) as { result: { id: number } }).result.id;
  const hostileImage = await w.json(['image', 'create', '--datastore', String(id), '--size', '1', '--name', `${HOSTILE} disk`]);
  await w.json(['image', 'create', '--datastore', String(id), '--size', '2', '--name', 'plain']);
  mkdirSync(join(w.root, 'ds', 'broken'));
  const broken = await w.json(['datastore', 'create', 'broken', '--ds-mad', 'probe', '--tm-mad', 'shared', '--base-path', join(w.root, 'ds', 'broken'), '--attr', 'MONITOR_INTERVAL=1']);

  // A month of history before now, every 30 minutes, growing to today's figure (about 133 MB a day, full in 15 days): what a long-running serve would have kept.
  const catalog = w.catalog();
  const ds = catalog.datastore(id);
  t.match(ds, { usedMb: 8000, totalMb: 10_000 }, 'the figures its monitor reports');
  const start = Date.now();
  const samples = [];
  for (let at = start - 30 * DAY_MS; at < start - 10 * 60_000; at += 30 * 60_000) {
    const used = Math.round(8000 - (4000 * (start - at)) / (30 * DAY_MS));
    samples.push({ datastoreId: id, attribute: 'used_mb', at, value: used }, { datastoreId: id, attribute: 'total_mb', at, value: 10_000 }, { datastoreId: id, attribute: 'free_mb', at, value: 10_000 - used });
  }
  t.equal(catalog.recordSamples(samples), samples.length, 'a month of samples recorded');
  writeFileSync(join(w.markers, `fail-monitor-${broken.id}`), 'disk on fire');

  const served = await startServe(t, w, ['--listen', '127.0.0.1:0'], { API_KEY: SECRET });
  const origin = served.url as string;
  t.ok(await waitFor(() => catalog.monitorState(broken.id).state === 'ERROR' && catalog.series(id, 'used_mb', start, Date.now()).length >= 3, 15_000, 100), 'the broken datastore in ERROR, the watched one sampled by serve');

  const browser = await launchBrowser(t);
  const { page, errors, requests } = await watchedPage(browser);

  // The overview links to the page.
  await page.goto(`${origin}/`);
  await Promise.all([page.waitForURL(`${origin}/datastores/${id}`), page.click(`table.datastores a[href="/datastores/${id}"]`)]);
  await page.waitForSelector('#capacity-chart[data-state="drawn"]');

  const first = await drawn(page, '24h', async () => {
    const response = await page.goto(`${origin}/datastores/${id}`);
    t.equal(response?.status(), 200);
    const body = (await response?.text()) ?? '';
    t.notOk(body.includes(SECRET), 'the secret\'s value is nowhere in the page');
    t.notOk(/<script>window|<img src=x/.test(body), 'the hostile name is escaped in the HTML');
  });
  t.equal(await page.textContent('h1'), `Datastore ${HOSTILE}`, 'the hostile name shown as text, whole');
  t.equal(await page.textContent('[data-fact="name"]'), HOSTILE);
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'nothing in it ran');
  t.equal(await page.locator('main img, main script, main link').count(), 0, 'no element made of it');
  t.equal(await page.locator('head link[rel="stylesheet"][href="/assets/uplot.css"]').count(), 1, "uPlot's stylesheet in the head");
  t.equal(await page.locator('head script[src="/assets/chart.js"][defer]').count(), 1, 'the chart script in the head, deferred');
  t.match(await page.textContent('[data-fact="secrets"]'), /API_KEY \(values hidden\)/, 'the secret named, its value hidden');
  t.match(await page.textContent('[data-fact="drivers"]'), 'fixed / shared');
  t.match(await page.textContent('[data-fact="template"]'), 'MONITOR_INTERVAL=1');
  t.equal(await page.locator('[data-fact="capacity"] meter').count(), 1, 'a capacity meter');
  t.match(await page.textContent('[data-fact="capacity"]'), '8,000 MB used, 2,000 MB free of 10,000 MB (20 % free)');
  t.equal(await page.textContent('[data-fact="monitor"] span'), 'OK');

  // The trend, as text from the server.
  t.equal(await page.textContent('[data-trend="now"]'), '8,000 MB', 'used now');
  t.match(await page.textContent('[data-trend="day"]'), /MB \([+-][\d,.]+ MB since\)/, 'a day ago, and the growth since');
  t.match(await page.textContent('[data-trend="week"]'), /MB \([+-][\d,.]+ MB since\)/, 'a week ago');
  t.match(await page.textContent('[data-trend="growth"]'), /^1[23]\d(\.\d)? MB a day$/, 'growth per day: about 133 MB');
  t.match(await page.textContent('[data-trend="forecast"]'), /^full in 1[45](\.\d)? days \(\d{4}-\d\d-\d\d\)$/, 'full in about 15 days');

  // The chart: what the API gave for the last 24 h.
  t.equal(first.points, first.api.points.length, `the chart holds the ${first.api.points.length} points the API returned for 24 h`);
  t.ok(first.api.points.length >= 48, 'a day of older samples and serve\'s own');
  t.equal(Date.parse(first.to) - Date.parse(first.from), DAY_MS, 'over 24 h');
  t.ok(await page.locator('#capacity-chart .uplot canvas').isVisible(), 'uPlot drew on its canvas');
  t.equal(await page.getAttribute('nav.ranges a[aria-current="true"]', 'data-range'), '24h', 'the default preset marked');
  t.match(await page.textContent('#chart-status'), new RegExp(`^${first.points} points`), 'the count said beside the chart');
  t.equal(await page.getAttribute('#capacity-chart', 'data-forecast'), 'label', 'a fill date 15 days on is beyond a 24 h chart\'s scale');
  t.match(await page.textContent('#chart-status'), /full in 1[45](\.\d)? days \(.*\) \(beyond this range\)/, 'so told beside it');
  t.equal(await page.locator('.u-legend .u-series').count(), 3, 'time, used and total in the legend');

  // Presets switch in place: a marker on window survives (no reload), the address follows.
  await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
  const week = await drawn(page, '7d', () => page.click('nav.ranges a[data-range="7d"]'));
  t.equal(week.points, week.api.points.length, `7 days: the chart holds the ${week.api.points.length} points the API returned`);
  t.ok(week.api.points.some((p) => p.kind === 'hour') && week.api.points.some((p) => p.kind === 'raw'), 'hourly rollups before the raw window, samples after');
  t.ok(week.points > first.points, 'more points than the last 24 h');
  t.equal(Date.parse(week.to) - Date.parse(week.from), 7 * DAY_MS, 'over 7 days');
  t.equal(new URL(page.url()).search, '?range=7d', 'the address updated');
  t.equal(await page.getAttribute('nav.ranges a[aria-current="true"]', 'data-range'), '7d', 'the preset marked');
  t.match(await page.textContent('#chart-status'), /hourly averages before/, 'the rollups said');
  await screenshot(page, 'datastore-7d');
  const month = await drawn(page, '30d', () => page.click('nav.ranges a[data-range="30d"]'));
  t.equal(month.points, month.api.points.length, '30 days: the API\'s count');
  t.ok(month.points > week.points, 'more than 7 days');
  t.equal(await page.getAttribute('#capacity-chart', 'data-forecast'), 'line', '30 days: the fill date within the scale, the forecast drawn to it');
  t.equal(await page.locator('.u-legend .u-series').count(), 4, 'the forecast in the legend');
  await screenshot(page, 'datastore');
  const year = await drawn(page, '1y', () => page.click('nav.ranges a[data-range="1y"]'));
  t.equal(year.points, year.api.points.length, '1 year: the API\'s count');
  t.ok(year.points >= month.points, 'as many as the month (nothing older), and serve\'s newer ones');
  const hour = await drawn(page, '1h', () => page.click('nav.ranges a[data-range="1h"]'));
  t.equal(hour.points, hour.api.points.length, '1 hour: the API\'s count');
  t.ok(hour.points < first.points, 'fewer than 24 h');
  t.equal(await page.locator('#samples-rows tr').count(), Math.min(24, hour.points), 'the table follows the range');
  t.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true, 'no page load in between');
  t.equal(new URL(page.url()).search, '?range=1h');

  // Its images, as the catalog has them, linked; the hostile image name as text.
  const images = catalog.listImages().filter((image) => image.datastoreId === id);
  const rows = await page.locator('table.images tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('a')?.getAttribute('href'), tr.children[1]?.textContent]));
  t.same(rows, images.map((image) => [`/images/${image.id}`, image.name]), 'the images of the catalog, each linked');
  t.ok(images.some((image) => image.id === hostileImage.id), 'the hostile image among them');
  t.equal(await page.locator('table.images img').count(), 0);

  // A range in the address is drawn from the start; the server marks it.
  const loaded = await drawn(page, '30d', () => page.goto(`${origin}/datastores/${id}?range=30d`));
  t.equal(loaded.points, loaded.api.points.length);
  t.equal(await page.getAttribute('nav.ranges a[aria-current="true"]', 'data-range'), '30d');

  // The system datastore lists its VM; the broken one its error and its alert, then the alert cleared.
  await page.goto(`${origin}/datastores/system`);
  t.same(await page.locator('table.vms a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))), [`/vms/${vm.id}`], 'the VM on the system datastore, linked');
  await page.goto(`${origin}/datastores/${broken.id}`);
  t.equal(await page.textContent('[data-fact="monitor"] span'), 'ERROR');
  t.match(await page.textContent('[data-fact="last-error"]'), /disk on fire/, 'the last error');
  const alertIds = (state: string) => page.locator(`table.alerts tbody tr.${state}`).evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-alert'))));
  const ofBroken = (state: 'firing' | 'cleared') => catalog.listAlerts({ state, subject: { kind: 'datastore', id: broken.id } }).map((alert) => alert.id).sort((a, b) => b - a);
  const firing = await alertIds('firing');
  t.ok(firing.length > 0, 'its alerts firing');
  t.same(firing, ofBroken('firing'), 'the ones the catalog has firing');
  t.equal(await page.getAttribute('table.alerts tbody tr.firing a', 'href'), '/alerts', 'linked to the alerts page');
  rmSync(join(w.markers, `fail-monitor-${broken.id}`));
  t.ok(await waitFor(() => ofBroken('firing').length === 0, 10_000, 100), 'its alerts cleared once the monitor works');
  await page.reload();
  const cleared = await alertIds('cleared');
  t.ok(cleared.length >= firing.length, 'shown cleared');
  t.same(cleared, ofBroken('cleared'), 'as the catalog has them');
  t.equal(await page.textContent('[data-fact="monitor"] span'), 'OK');
  t.same(errors, [], 'no console error');

  // Not found, a bad range.
  t.equal((await page.goto(`${origin}/datastores/9999`))?.status(), 404, 'an unknown id: 404');
  t.equal(await page.textContent('h1'), 'Not found');
  t.equal((await page.goto(`${origin}/datastores/nothing-here`))?.status(), 404, 'an unknown name: 404');
  t.equal((await page.goto(`${origin}/datastores/${id}?range=2w`))?.status(), 400, 'an unknown range: 400');

  t.same(requests.filter((url) => !url.startsWith(`${origin}/`) && url !== 'about:blank'), [], `every request went to ${origin}`);
  t.ok(requests.some((url) => url.endsWith('/assets/chart.js')), 'the chart script came from ferry');

  // Without JavaScript: the presets are links, the samples a table.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const still = await context.newPage();
  await still.goto(`${origin}/datastores/${id}?range=7d`);
  t.equal(await still.getAttribute('nav.ranges a[aria-current="true"]', 'data-range'), '7d', 'the chosen preset marked by the server');
  t.equal(await still.locator('table.samples tbody tr').count(), 24, '24 samples picked evenly over 7 days');
  t.match(await still.textContent('table.samples tbody'), /hourly average of 2/, 'rollups told as such');
  await still.click('nav.ranges a[data-range="24h"]');
  t.equal(new URL(still.url()).search, '?range=24h', 'a preset is a plain link');
  t.match(await still.textContent('details.samples summary'), /last 24 hours/);
  await context.close();
  t.equal(await served.stop(), 0);
});
