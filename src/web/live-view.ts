/** The live block of a VM's page (stub, filled in by the live-updates work): state and step in flight, updated over server-sent events by /assets/live.js. */
import type { Vm } from '../model.js';
import { html, type Html } from './html.js';

export function liveBlock(vm: Vm): Html {
  return html`<section class="live" data-vm="${vm.id}"><h2>Now</h2><p>State <strong data-live="state">${vm.state}</strong></p></section>`;
}
