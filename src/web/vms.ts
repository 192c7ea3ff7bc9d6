/** The VMs list and a VM's page (stub, filled in by the images/VMs pages work). */
import { html } from './html.js';
import { page } from './layout.js';
import { liveBlock } from './live-view.js';
import type { PageContext } from './routes.js';

export function vmsPage(ctx: PageContext): string {
  return page('VMs', '/vms', html`<p>${ctx.catalog.listVms().length}</p>`);
}

export function vmPage(ctx: PageContext): string {
  const vm = ctx.catalog.vm(/^\d+$/.test(ctx.params[0]!) ? Number(ctx.params[0]) : ctx.params[0]!);
  return page(`VM ${vm.name}`, '/vms', html`${liveBlock(vm)}`);
}
