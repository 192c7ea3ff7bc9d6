/**
 * The alerts page: those firing, then those cleared (the newest 200), each with its subject and what it affects
 * linked to their pages (a host has none: its name is shown).
 */
import type { ApiCatalog } from '../service/api.js';
import type { Alert, AlertSubject } from '../model.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';

const CLEARED_SHOWN = 200;
/** Affected subjects named per alert; the rest are counted. */
const AFFECTS_SHOWN = 20;

const PAGE_OF: Record<string, string> = { datastore: '/datastores/', image: '/images/', vm: '/vms/' };

/** A subject as a link to its page, or as text when it has none. */
export function subjectLink(ref: AlertSubject): Html {
  const base = PAGE_OF[ref.kind];
  return base === undefined ? html`${ref.kind} ${ref.id}` : html`<a href="${base}${encodeURIComponent(String(ref.id))}">${ref.kind} ${ref.id}</a>`;
}

function affects(alert: Alert): Html {
  if (alert.affects.length === 0) return html`-`;
  const shown = alert.affects.slice(0, AFFECTS_SHOWN).map((ref, i) => html`${i > 0 ? ', ' : ''}${subjectLink(ref)}`);
  const more = alert.affects.length - AFFECTS_SHOWN;
  return html`${shown}${more > 0 ? html` <span class="muted">and ${more} more</span>` : ''}`;
}

function table(alerts: readonly Alert[]): Html {
  return html`<table class="alerts">
<thead><tr><th>ID</th><th>Severity</th><th>State</th><th>Rule</th><th>Subject</th><th>Message</th><th>Affects</th><th>Raised</th><th>Cleared</th></tr></thead>
<tbody>${alerts.map((alert) => html`<tr class="${alert.state}" id="alert-${alert.id}"><td>${alert.id}</td><td class="${alert.severity}">${alert.severity}</td><td>${alert.state}${alert.ackedAt ? html` <span class="muted">(acknowledged${alert.ackedBy ? ` by ${alert.ackedBy}` : ""})</span>` : ''}</td><td>${alert.rule}</td><td>${subjectLink(alert.subject)}</td><td>${alert.message}</td><td>${affects(alert)}</td><td>${alert.raisedAt}</td><td>${alert.clearedAt ?? '-'}</td></tr>`)}</tbody>
</table>`;
}

export function alertsPage(catalog: ApiCatalog): string {
  const alerts = catalog.listAlerts().reverse();
  const firing = alerts.filter((alert) => alert.state === 'firing');
  const cleared = alerts.filter((alert) => alert.state !== 'firing');
  if (alerts.length === 0) return page('Alerts', '/alerts', html`<p class="muted">No alert has been raised.</p>`);
  return page(
    'Alerts',
    '/alerts',
    html`<section><h2>Firing (${firing.length})</h2>${firing.length === 0 ? html`<p class="muted">None.</p>` : table(firing)}</section>
<section><h2>Cleared (${cleared.length})</h2>${cleared.length === 0 ? html`<p class="muted">None.</p>` : table(cleared.slice(0, CLEARED_SHOWN))}${cleared.length > CLEARED_SHOWN ? html`<p class="muted">The newest ${CLEARED_SHOWN} shown; all of them: <code>ferry alert list --all</code> or <a href="/api/v1/alerts">the API</a>.</p>` : ''}</section>`,
  );
}
