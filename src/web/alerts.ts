/** The alerts page: firing and cleared, newest first, with what each affects. */
import type { ApiCatalog } from '../service/api.js';
import type { Alert } from '../model.js';
import { html } from './html.js';
import { page } from './layout.js';

const affects = (alert: Alert) => (alert.affects.length === 0 ? '-' : alert.affects.map((ref) => `${ref.kind} ${ref.id}`).join(', '));

export function alertsPage(catalog: ApiCatalog): string {
  const alerts = catalog.listAlerts().reverse();
  return page(
    'Alerts',
    '/alerts',
    alerts.length === 0
      ? html`<p class="muted">No alert has been raised.</p>`
      : html`<table class="alerts">
<thead><tr><th>ID</th><th>Severity</th><th>State</th><th>Rule</th><th>Subject</th><th>Message</th><th>Affects</th><th>Raised</th><th>Cleared</th></tr></thead>
<tbody>${alerts.map((alert) => html`<tr class="${alert.state}"><td>${alert.id}</td><td class="${alert.severity}">${alert.severity}</td><td>${alert.state}</td><td>${alert.rule}</td><td>${alert.subject.kind} ${alert.subject.id}</td><td>${alert.message}</td><td>${affects(alert)}</td><td>${alert.raisedAt}</td><td>${alert.clearedAt ?? '-'}</td></tr>`)}</tbody>
</table>`,
  );
}
