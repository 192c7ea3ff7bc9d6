/** The images list and an image's page (stub, filled in by the images/VMs pages work). */
import { html } from './html.js';
import { page } from './layout.js';
import type { PageContext } from './routes.js';

export function imagesPage(ctx: PageContext): string {
  return page('Images', '/images', html`<p>${ctx.catalog.listImages().length}</p>`);
}

export function imagePage(ctx: PageContext): string {
  const image = ctx.catalog.image(/^\d+$/.test(ctx.params[0]!) ? Number(ctx.params[0]) : ctx.params[0]!);
  return page(`Image ${image.name}`, '/images', html`<p>${image.id}</p>`);
}
