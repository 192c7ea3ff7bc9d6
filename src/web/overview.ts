/**
 * The overview page: every datastore with its capacity (a <meter> whose colours follow the free-space alert
 * thresholds: green, then amber under 20 % free, red under 10 %), the alerts firing, VMs by state, and the
 * last failed driver actions. Server-rendered: it works without JavaScript.
 */
import type { ApiCatalog } from '../service/api.js';
import type { Datastore, JournalEntry, MonitorState } from '../model.js';
import { html, type Html } from './html.js';
import { capacityMeter } from './capacity.js';
import { page } from './layout.js';

const VM_STATES = ['PENDING', 'RUNNING', 'STOPPED', 'FAILED', 'DONE'] as const;

const capacity = (ds: Datastore): Html => capacityMeter(ds, (shown, freePct) => `${shown.usedMb.toLocaleString('en')} / ${shown.totalMb.toLocaleString('en')} MB${freePct === null ? '' : `, ${freePct} % free`}`);

/**
 * Rows per <tbody>: the stylesheet lets the browser skip the layout of a body off the screen (content-visibility),
 * so a first paint of 1,000 datastores lays out a screenful of rows, not all of them (docs/performance.md).
 */
const ROWS_PER_BODY = 50;

function datastoreRow(ds: Datastore, health: ReadonlyMap<number, MonitorState>, firing: ReadonlyMap<string, number>): Html {
  const state = health.get(ds.id)?.state ?? 'OK';
  const alerts = firing.get(String(ds.id)) ?? 0;
  return html`<tr data-datastore="${ds.id}"><td>${ds.id}</td><td><a href="/datastores/${ds.id}">${ds.name}</a></td><td>${ds.type}</td><td>${ds.dsMad ?? '-'} / ${ds.tmMad}</td><td>${capacity(ds)}</td><td class="${state === 'OK' ? 'ok' : 'bad'}">${state}</td><td>${alerts > 0 ? html`<a href="/alerts">${alerts} firing</a>` : '-'}</td></tr>`;
}

function datastoreRows(datastores: readonly Datastore[], health: ReadonlyMap<number, MonitorState>, firing: ReadonlyMap<string, number>): Html {
  if (datastores.length === 0) return html`<p class="muted">No datastores in the catalog.</p>`;
  const bodies: Html[] = [];
  for (let at = 0; at < datastores.length; at += ROWS_PER_BODY) {
    bodies.push(html`<tbody>${datastores.slice(at, at + ROWS_PER_BODY).map((ds) => datastoreRow(ds, health, firing))}</tbody>`);
  }
  return html`<table class="datastores">
<thead><tr><th>ID</th><th>Name</th><th>Type</th><th>Drivers</th><th>Capacity</th><th>Monitor</th><th>Alerts</th></tr></thead>
${bodies}
</table>`;
}

function failures(entries: readonly JournalEntry[]): Html {
  if (entries.length === 0) return html`<p class="muted">No failed driver action in the journal's last entries.</p>`;
  return html`<table class="failures">
<thead><tr><th>When</th><th>Subject</th><th>Action</th><th>Exit</th><th>Message</th></tr></thead>
<tbody>${entries.map((entry) => html`<tr><td>${entry.at}</td><td>${entry.subject}</td><td>${entry.kind} ${entry.driver}/${entry.action}</td><td>${entry.exitCode ?? '-'}</td><td>${entry.message ?? ''}</td></tr>`)}</tbody>
</table>`;
}

/** How many failed actions are shown, and among how many of the journal's last entries. */
const FAILURES_SHOWN = 10;
const FAILURES_WITHIN = 500;
const JOURNAL_PAGE = 100;

/** The newest failed entries among the journal's last FAILURES_WITHIN, read a page at a time: a journal with failures in it stops after its first page. */
function lastFailures(catalog: ApiCatalog): JournalEntry[] {
  const failed: JournalEntry[] = [];
  let beforeId: number | undefined;
  for (let read = 0; read < FAILURES_WITHIN && failed.length < FAILURES_SHOWN; ) {
    const limit = Math.min(JOURNAL_PAGE, FAILURES_WITHIN - read);
    const entries = catalog.journalPage(beforeId === undefined ? { limit } : { limit, beforeId });
    for (const entry of entries) if (!entry.ok) failed.push(entry);
    read += entries.length;
    const last = entries.at(-1);
    if (entries.length < limit || last === undefined) break;
    beforeId = last.id;
  }
  return failed.slice(0, FAILURES_SHOWN);
}

export function overviewPage(catalog: ApiCatalog): string {
  const datastores = catalog.listDatastores();
  const health = new Map(catalog.listMonitorStates().map((state) => [state.datastoreId, state]));
  const alerts = catalog.listAlerts({ state: 'firing' });
  const firing = new Map<string, number>();
  for (const alert of alerts) if (alert.subject.kind === 'datastore') firing.set(alert.subject.id, (firing.get(alert.subject.id) ?? 0) + 1);
  const vms = catalog.listVms();
  const byState = VM_STATES.map((state) => ({ state, count: vms.filter((vm) => vm.state === state).length }));
  const failed = lastFailures(catalog);
  return page(
    'Overview',
    '/',
    html`<section><h2>Datastores</h2>${datastoreRows(datastores, health, firing)}</section>
<section><h2>Alerts firing</h2>${alerts.length === 0 ? html`<p class="muted">None.</p>` : html`<ul class="alerts">${alerts.map((alert) => html`<li class="${alert.severity}"><strong>${alert.severity}</strong> <a href="/alerts#alert-${alert.id}">${alert.message}</a></li>`)}</ul>`}</section>
<section><h2>VMs by state</h2><ul class="counts">${byState.map(({ state, count }) => html`<li><span>${state}</span> <strong data-state="${state}">${count}</strong></li>`)}</ul></section>
<section><h2>Last failed actions</h2>${failures(failed)}</section>`,
  );
}
