/**
 * A datastore's page: its facts (through shownDatastore: a secret's name, never its value), its monitor's health,
 * the trend and when it fills, a capacity chart over a chosen range (drawn by /assets/chart.js from the history
 * API; the range presets are plain links, and a table of the series is there without JavaScript), its images,
 * its alerts, and for a system datastore its VMs. An unknown datastore throws E_NOT_FOUND (the 404 page).
 */
import { datastoreTrend, type DatastoreTrend } from '../lifecycle/trend.js';
import { shownDatastore } from '../lifecycle/redact.js';
import type { Alert, Datastore, Image, MonitorState, Vm } from '../model.js';
import { evenlyPicked, RANGES, rangeOf, withTotals, type ChartRange } from './datastore-range.js';
import { html, type Html } from './html.js';
import { capacityMeter } from './capacity.js';
import { page } from './layout.js';
import type { PageContext } from './routes.js';

/** Rows of the no-JavaScript table of the series. */
const TABLE_ROWS = 24;

const mb = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : `${(Math.round(value * 10) / 10).toLocaleString('en')} MB`);

const capacity = (ds: Datastore): Html => capacityMeter(ds, (shown, freePct) => `${mb(shown.usedMb)} used, ${mb(shown.freeMb)} free of ${mb(shown.totalMb)}${freePct === null ? '' : ` (${freePct} % free)`}`);

function facts(ds: Datastore, state: MonitorState): Html {
  // Only what shownDatastore gives is printed: secrets come out as their names.
  const shown = shownDatastore(ds) as unknown as Datastore;
  const template = Object.entries(shown.template);
  const secrets = Object.keys(shown.secrets);
  return html`<dl class="facts">
<dt>ID</dt><dd data-fact="id">${shown.id}</dd>
<dt>Name</dt><dd data-fact="name">${shown.name}</dd>
<dt>Type</dt><dd data-fact="type">${shown.type}</dd>
<dt>Drivers</dt><dd data-fact="drivers">${shown.dsMad ?? '-'} / ${shown.tmMad}</dd>
<dt>Base path</dt><dd data-fact="base-path"><code>${shown.basePath}</code></dd>
<dt>Capacity</dt><dd data-fact="capacity">${capacity(shown)}</dd>
<dt>Monitored</dt><dd>${shown.monitoredAt ?? 'never'}</dd>
<dt>Monitor</dt><dd data-fact="monitor"><span class="${state.state === 'OK' ? 'ok' : 'bad'}">${state.state}</span>${state.failures > 0 ? ` · ${state.failures} failure${state.failures === 1 ? '' : 's'} in a row` : ''}${state.lastSuccessAt ? ` · last success ${state.lastSuccessAt}` : ''}</dd>
<dt>Last error</dt><dd data-fact="last-error">${state.lastError === null ? html`<span class="muted">none</span>` : html`<span class="bad">${state.lastError}</span>${state.lastFailureAt ? html` <span class="muted">(${state.lastFailureAt})</span>` : ''}`}</dd>
<dt>Attributes</dt><dd data-fact="template">${template.length === 0 ? html`<span class="muted">none</span>` : template.map(([name, value], i) => html`${i > 0 ? ', ' : ''}<code>${name}=${value}</code>`)}</dd>
<dt>Secret attributes</dt><dd data-fact="secrets">${secrets.length === 0 ? html`<span class="muted">none</span>` : html`${secrets.join(', ')} <span class="muted">(values hidden)</span>`}</dd>
</dl>`;
}

function change(now: number | null, before: number | null): string {
  if (now === null || before === null) return '';
  const delta = Math.round((now - before) * 10) / 10;
  return ` (${delta >= 0 ? '+' : ''}${delta.toLocaleString('en')} MB since)`;
}

/** When it fills, as a sentence: the same words the chart's script shows beside the chart. */
export function fullText(trend: DatastoreTrend): string {
  if (trend.fullAt === null || trend.daysToFull === null) return 'not growing measurably: no fill date';
  return trend.daysToFull <= 0 ? `full now (${trend.fullAt.slice(0, 10)})` : `full in ${trend.daysToFull} days (${trend.fullAt.slice(0, 10)})`;
}

function trendBlock(trend: DatastoreTrend): Html {
  return html`<dl class="facts trend">
<dt>Used now</dt><dd data-trend="now">${mb(trend.usedMbNow)}</dd>
<dt>A day ago</dt><dd data-trend="day">${mb(trend.usedMbDayAgo)}${change(trend.usedMbNow, trend.usedMbDayAgo)}</dd>
<dt>A week ago</dt><dd data-trend="week">${mb(trend.usedMbWeekAgo)}${change(trend.usedMbNow, trend.usedMbWeekAgo)}</dd>
<dt>Growth</dt><dd data-trend="growth">${trend.growthMbPerDay === null ? html`<span class="muted">none measurable over the last week</span>` : `${trend.growthMbPerDay.toLocaleString('en')} MB a day`}</dd>
<dt>Forecast</dt><dd data-trend="forecast" class="${trend.daysToFull !== null && trend.daysToFull < 30 ? 'bad' : ''}">${fullText(trend)}</dd>
</dl>`;
}

function chart(ctx: PageContext, ds: Datastore, trend: DatastoreTrend, range: ChartRange): Html {
  const to = ctx.now;
  const from = to - range.ms;
  const rows = withTotals(ctx.catalog.series(ds.id, 'used_mb', from, to), ctx.catalog.series(ds.id, 'total_mb', from, to));
  const shown = evenlyPicked(rows, TABLE_ROWS);
  const links = RANGES.map(
    (r) => html`<a href="?range=${r.key}" data-range="${r.key}" data-span-ms="${r.ms}"${r.key === range.key ? html` aria-current="true"` : ''}>${r.label}</a>`,
  );
  return html`<section class="capacity-history"><h2>Capacity over time</h2>
<nav class="ranges" aria-label="Chart range">${links}</nav>
<div id="capacity-chart" class="chart" data-datastore="${ds.id}" data-range="${range.key}" data-span-ms="${range.ms}" data-growth-mb-per-day="${trend.growthMbPerDay ?? ''}" data-full-at="${trend.fullAt ?? ''}" data-full-text="${fullText(trend)}"></div>
<p id="chart-status" class="muted chart-status" aria-live="polite"><noscript>The chart needs JavaScript: the table below lists the samples.</noscript></p>
<details class="samples"><summary>Samples of the last ${range.label}: <span id="samples-count">${shown.length} of ${rows.length}</span> shown</summary>
<table class="samples"><thead><tr><th>Time</th><th>Used</th><th>Total</th><th>Kind</th></tr></thead>
<tbody id="samples-rows">${shown.map(({ point, totalMb }) => html`<tr><td>${new Date(point.at).toISOString()}</td><td>${mb(point.value)}</td><td>${mb(totalMb)}</td><td>${point.kind === 'hour' ? `hourly average of ${point.count}` : 'sample'}</td></tr>`)}</tbody></table>
${rows.length === 0 ? html`<p class="muted">No samples in this range.</p>` : ''}
</details>
</section>`;
}

function imagesTable(images: readonly Image[]): Html {
  if (images.length === 0) return html`<p class="muted">No images on this datastore.</p>`;
  return html`<table class="images">
<thead><tr><th>ID</th><th>Name</th><th>State</th><th>Format</th><th>Size</th></tr></thead>
<tbody>${images.map((image) => html`<tr data-image="${image.id}"><td><a href="/images/${image.id}">${image.id}</a></td><td>${image.name}</td><td class="${image.state === 'ERROR' ? 'bad' : ''}">${image.state}</td><td>${image.format ?? '-'}</td><td>${mb(image.sizeMb)}</td></tr>`)}</tbody>
</table>`;
}

function vmsTable(vms: readonly Vm[]): Html {
  if (vms.length === 0) return html`<p class="muted">No VMs on this system datastore.</p>`;
  return html`<table class="vms">
<thead><tr><th>ID</th><th>Name</th><th>Host</th><th>State</th></tr></thead>
<tbody>${vms.map((vm) => html`<tr data-vm="${vm.id}"><td><a href="/vms/${vm.id}">${vm.id}</a></td><td>${vm.name}</td><td>${vm.host}</td><td class="${vm.state === 'FAILED' ? 'bad' : ''}">${vm.state}</td></tr>`)}</tbody>
</table>`;
}

function alertsTable(alerts: readonly Alert[]): Html {
  if (alerts.length === 0) return html`<p class="muted">No alert has been raised for this datastore.</p>`;
  return html`<table class="alerts">
<thead><tr><th>ID</th><th>Severity</th><th>State</th><th>Rule</th><th>Message</th><th>Raised</th><th>Cleared</th></tr></thead>
<tbody>${alerts.map((alert) => html`<tr class="${alert.state}" data-alert="${alert.id}"><td><a href="/alerts">${alert.id}</a></td><td class="${alert.severity}">${alert.severity}</td><td>${alert.state}</td><td>${alert.rule}</td><td>${alert.message}</td><td>${alert.raisedAt}</td><td>${alert.clearedAt ?? '-'}</td></tr>`)}</tbody>
</table>`;
}

export function datastorePage(ctx: PageContext): string {
  const ref = ctx.params[0]!;
  const ds = ctx.catalog.datastore(/^\d+$/.test(ref) ? Number(ref) : ref);
  const range = rangeOf(ctx.query);
  const trend = datastoreTrend(ctx.catalog, ds, ctx.now);
  const id = String(ds.id);
  const mine = (subject: { kind: string; id: string }) => subject.kind === 'datastore' && subject.id === id;
  // Firing first, then the newest.
  const alerts = ctx.catalog
    .listAlerts()
    .filter((alert) => mine(alert.subject) || alert.affects.some(mine))
    .sort((a, b) => (a.state === b.state ? b.id - a.id : a.state === 'firing' ? -1 : 1));
  const images = ctx.catalog.listImages().filter((image) => image.datastoreId === ds.id);
  return page(
    `Datastore ${ds.name}`,
    '/',
    html`<section class="datastore"><h2>Facts</h2>${facts(ds, ctx.catalog.monitorState(ds.id))}</section>
<section><h2>Trend</h2>${trendBlock(trend)}</section>
${chart(ctx, ds, trend, range)}
${ds.type === 'SYSTEM' ? html`<section><h2>VMs</h2>${vmsTable(ctx.catalog.listVms().filter((vm) => vm.systemDsId === ds.id))}</section>` : ''}
<section><h2>Images</h2>${imagesTable(images)}</section>
<section><h2>Alerts</h2>${alertsTable(alerts)}</section>`,
    { stylesheets: ['/assets/uplot.css'], scripts: ['/assets/chart.js'] },
  );
}
