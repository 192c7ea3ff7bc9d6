/** A datastore's page (stub, filled in by the datastore-page work): its capacity chart, forecast, images and alerts. */
import { html } from './html.js';
import { page } from './layout.js';
import type { PageContext } from './routes.js';

export function datastorePage(ctx: PageContext): string {
  const ds = ctx.catalog.datastore(/^\d+$/.test(ctx.params[0]!) ? Number(ctx.params[0]) : ctx.params[0]!);
  return page(`Datastore ${ds.name}`, '/', html`<p>${ds.id}</p>`);
}
