/**
 * The images list and an image's page. The list reads the catalog once (images, datastores) and renders one
 * page of 500 rows (`?page=N`), filtered by `?datastore=ID` and `?state=STATE` (links with counts above the
 * table), so 10,000 images make a page of a few hundred kB, not megabytes. The helpers for paging and filter
 * links are shared with the VMs list.
 */
import { FerryError } from '../errors.js';
import type { Image, ImageState } from '../model.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';
import type { PageContext } from './routes.js';
import { shownTime, subjectTimeline } from './timeline.js';

export const PAGE_SIZE = 500;
const IMAGE_STATES: readonly ImageState[] = ['LOCKED', 'READY', 'USED', 'ERROR', 'DELETING'];

/** `ref` as the catalog takes it: a number when all digits, else a name. */
export const refOf = (ref: string): string | number => (/^\d+$/.test(ref) ? Number(ref) : ref);

export const mb = (sizeMb: number | null): string => (sizeMb === null ? '-' : `${sizeMb.toLocaleString('en')} MB`);

export const when = (iso: string): Html => html`<time datetime="${iso}">${shownTime(iso)}</time>`;

/** The URL of `path` with `query` changed by `set` (a null value removes the parameter; the page goes back to 1). */
export function hrefWith(path: string, query: URLSearchParams, set: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  if (!('page' in set)) next.delete('page');
  for (const [key, value] of Object.entries(set)) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** `?name=` as one of `allowed`, or undefined; anything else is a 400. */
export function queryChoice<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new FerryError('E_USAGE', `?${name}=${value} is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** `?name=` as an integer of at least `min`, or undefined; anything else is a 400. */
export function queryInteger(query: URLSearchParams, name: string, min: number): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min) throw new FerryError('E_USAGE', `?${name}=${value} is not an integer of at least ${min}`);
  return Number(value);
}

/** A row of filter links: "All (n)" then each choice with its count; the current one marked. */
export function filterLinks(label: string, path: string, query: URLSearchParams, name: string, total: number, choices: ReadonlyArray<{ value: string; label: string; count: number }>): Html {
  const current = query.get(name) ?? '';
  const link = (value: string, text: string, count: number) => html`<a href="${hrefWith(path, query, { [name]: value === '' ? null : value })}"${value === current ? html` aria-current="true"` : ''}>${text} <span class="muted">${count}</span></a>`;
  return html`<p class="filters" data-filter="${name}"><span>${label}</span> ${link('', 'all', total)}${choices.map((choice) => html` ${link(choice.value, choice.label, choice.count)}`)}</p>`;
}

/** The rows of page `?page=` of `items`, and its links (none when one page holds them all). */
export function paged<T>(path: string, query: URLSearchParams, items: readonly T[]): { rows: readonly T[]; nav: Html } {
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const current = queryInteger(query, 'page', 1) ?? 1;
  if (current > pages) throw new FerryError('E_USAGE', `?page=${current}: there ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}`);
  const from = (current - 1) * PAGE_SIZE;
  const rows = items.slice(from, from + PAGE_SIZE);
  if (pages === 1) return { rows, nav: html`` };
  const to = (n: number, text: string) => (n === current || n < 1 || n > pages ? html`<span class="muted">${text}</span>` : html`<a href="${hrefWith(path, query, { page: String(n) })}" data-page="${n}">${text}</a>`);
  return {
    rows,
    nav: html`<nav class="pager" aria-label="pages">${to(1, '« first')} ${to(current - 1, '‹ previous')} <span>page ${current} of ${pages}, rows ${from + 1}–${from + rows.length} of ${items.length}</span> ${to(current + 1, 'next ›')} ${to(pages, 'last »')}</nav>`,
  };
}

function imageRow(image: Image, datastoreName: string): Html {
  return html`<tr data-image="${image.id}"><td><a href="/images/${image.id}">${image.id}</a></td><td><a href="/images/${image.id}">${image.name}</a></td><td><a href="/datastores/${image.datastoreId}">${datastoreName}</a></td><td class="state state-${image.state}">${image.state}</td><td>${image.type}</td><td>${image.format ?? '-'}</td><td class="num">${mb(image.sizeMb)}</td><td>${image.persistent ? 'yes' : 'no'}</td><td class="num">${image.snapshots.length}</td><td>${when(image.updatedAt)}</td></tr>`;
}

export function imagesPage(ctx: PageContext): string {
  const { catalog, query } = ctx;
  const dsFilter = queryInteger(query, 'datastore', 0);
  const stateFilter = queryChoice(query, 'state', IMAGE_STATES);
  const names = new Map(catalog.listDatastores().map((ds) => [ds.id, ds.name]));
  const all = catalog.listImages();
  // One pass: the counts for the filter links (each over the other filter) and the rows kept.
  const perDatastore = new Map<number, number>();
  const perState = new Map<string, number>();
  const kept: Image[] = [];
  for (const image of all) {
    const dsOk = dsFilter === undefined || image.datastoreId === dsFilter;
    const stateOk = stateFilter === undefined || image.state === stateFilter;
    if (stateOk) perDatastore.set(image.datastoreId, (perDatastore.get(image.datastoreId) ?? 0) + 1);
    if (dsOk) perState.set(image.state, (perState.get(image.state) ?? 0) + 1);
    if (dsOk && stateOk) kept.push(image);
  }
  const { rows, nav } = paged('/images', query, kept);
  const dsName = (id: number) => names.get(id) ?? `datastore ${id}`;
  const filters = html`${filterLinks('Datastore', '/images', query, 'datastore', [...perDatastore.values()].reduce((a, b) => a + b, 0), [...perDatastore.keys()].sort((a, b) => a - b).map((id) => ({ value: String(id), label: dsName(id), count: perDatastore.get(id)! })))}
${filterLinks('State', '/images', query, 'state', [...perState.values()].reduce((a, b) => a + b, 0), IMAGE_STATES.filter((state) => perState.has(state)).map((state) => ({ value: state, label: state, count: perState.get(state)! })))}`;
  const table =
    kept.length === 0
      ? html`<p class="muted">${all.length === 0 ? 'No images in the catalog.' : 'No image matches these filters.'}</p>`
      : html`${nav}<table class="images">
<thead><tr><th>ID</th><th>Name</th><th>Datastore</th><th>State</th><th>Type</th><th>Format</th><th>Size</th><th>Persistent</th><th>Snapshots</th><th>Updated</th></tr></thead>
<tbody>${rows.map((image) => imageRow(image, dsName(image.datastoreId)))}</tbody>
</table>${nav}`;
  return page('Images', '/images', html`${filters}${table}`);
}

/** A definition list of `[term, value]` pairs. */
export function facts(pairs: ReadonlyArray<readonly [string, Html | string | number]>): Html {
  return html`<dl class="facts">${pairs.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>`;
}

export function imagePage(ctx: PageContext): string {
  const { catalog } = ctx;
  const image = catalog.image(refOf(ctx.params[0]!));
  const ds = catalog.findDatastore(image.datastoreId);
  const original = image.clonedFrom === null ? undefined : catalog.findImage(image.clonedFrom);
  const users = catalog.vmsUsingImage(image.id).flatMap((id) => catalog.findVm(id) ?? []);
  const clones = catalog.listImages().filter((other) => other.clonedFrom === image.id);
  const link = (id: number, name: string) => html`<a href="/images/${id}">${name}</a>`;
  const details = facts([
    ['ID', image.id],
    ['State', html`<strong class="state state-${image.state}">${image.state}</strong>`],
    ['Datastore', html`<a href="/datastores/${image.datastoreId}">${ds?.name ?? `datastore ${image.datastoreId}`}</a>`],
    ['Size', mb(image.sizeMb)],
    ['Format', image.format ?? '-'],
    ['Filesystem', image.fs ?? '-'],
    ['Type', image.type],
    ['Persistent', image.persistent ? 'yes' : 'no'],
    ['Source', image.source === null ? '-' : html`<code>${image.source}</code>`],
    ['Made from', image.path === null ? '-' : html`<code>${image.path}</code>`],
    ['Cloned from', image.clonedFrom === null ? '-' : original === undefined ? `image ${image.clonedFrom} (deleted)` : link(original.id, original.name)],
    ['Clones', clones.length === 0 ? '-' : html`${clones.map((clone, i) => html`${i > 0 ? ', ' : ''}${link(clone.id, clone.name)}`)}`],
    ['Snapshots', image.snapshots.length === 0 ? '-' : image.snapshots.join(', ')],
    ['Created', when(image.createdAt)],
    ['Updated', when(image.updatedAt)],
  ]);
  const vms =
    users.length === 0
      ? html`<p class="muted">No VM uses it.</p>`
      : html`<table class="image-vms"><thead><tr><th>VM</th><th>State</th><th>Host</th><th>Disks</th></tr></thead>
<tbody>${users.map((vm) => html`<tr data-vm="${vm.id}"><td><a href="/vms/${vm.id}">${vm.id} ${vm.name}</a></td><td class="state state-${vm.state}">${vm.state}</td><td>${vm.host}</td><td>${vm.disks
          .filter((disk) => disk.imageId === image.id)
          .map((disk, i) => html`${i > 0 ? ', ' : ''}disk ${disk.diskId} (${disk.mode ?? disk.kind})`)}</td></tr>`)}</tbody></table>`;
  return page(
    `Image ${image.name}`,
    '/images',
    html`${image.error === null ? '' : html`<p class="bad error">${image.error}</p>`}${details}
<section><h2>VMs using it</h2>${vms}</section>
<section><h2>Journal</h2>${subjectTimeline(catalog, `image:${image.id}`)}</section>`,
  );
}
