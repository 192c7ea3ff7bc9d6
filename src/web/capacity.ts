/**
 * A datastore's capacity as a <meter> whose colours follow the free-space alert thresholds (green; amber from 80 %
 * used, under 20 % free; red from 90 %, under 10 % free) and its figures as text; "not monitored" without figures.
 */
import type { Datastore } from '../model.js';
import { html, type Html } from './html.js';

export function capacityMeter(ds: Datastore, figures: (ds: Datastore & { totalMb: number; usedMb: number }, freePct: number | null) => Html | string): Html {
  if (ds.totalMb === null || ds.usedMb === null || ds.totalMb <= 0) return html`<span class="muted">not monitored</span>`;
  const freePct = ds.freeMb === null ? null : Math.round((ds.freeMb / ds.totalMb) * 1000) / 10;
  return html`<meter min="0" max="${ds.totalMb}" value="${ds.usedMb}" low="${Math.round(ds.totalMb * 0.8)}" high="${Math.round(ds.totalMb * 0.9)}" optimum="0" title="${ds.usedMb} of ${ds.totalMb} MB used"></meter>
 <span>${figures({ ...ds, totalMb: ds.totalMb, usedMb: ds.usedMb }, freePct)}</span>`;
}
