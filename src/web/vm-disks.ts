/**
 * A VM's disks on its page: what each is made from and where it lives (disk.target on the VM's host, as the
 * front-end sees it on a shared or local datastore, as src/lifecycle/sizes.ts measures it), and the backing
 * chain qemu-img reads of each disk file visible from here, the disks read in parallel (a few qemu-img at a
 * time, backing.ts). qemu-img starts only within about 4 s of the page's start; a disk past that says it was not
 * read (the cache answers next time).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import type { Host, Image, Vm, VmDisk } from '../model.js';
import { backingChains, formatBytes, type BackingChains, type Inspection, type Layer } from './backing.js';
import { html, type Html } from './html.js';
import { mb } from './images.js';

/** How long one page may spend running qemu-img. */
const PAGE_BUDGET_MS = 4000;

function layers(chain: readonly Layer[], path: string): Html {
  return html`<ol class="chain">${chain.map((layer, i) => html`<li data-layer="${i}"><code>${layer.filename}</code>${i === 0 && layer.filename === path ? html` <span class="muted">(this disk)</span>` : ''} <span class="format">${layer.format}</span> <span class="muted">virtual ${formatBytes(layer.virtualSize)}, allocated ${formatBytes(layer.actualSize)}</span></li>`)}</ol>`;
}

function chainOf(inspection: Inspection, path: string, where: string): Html {
  switch (inspection.kind) {
    case 'chain':
      return layers(inspection.layers, path);
    case 'invisible':
      return html`<span class="muted invisible">${where}</span>`;
    case 'skipped':
      return html`<span class="muted">not read: this page's time for qemu-img was spent (reload)</span>`;
    case 'error':
      return html`<span class="bad">${inspection.error}</span>`;
  }
}

/** Where a link disk (ln) points, when it is one here. */
function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

function imageCell(disk: VmDisk, images: ReadonlyMap<number, Image>): Html | string {
  if (disk.imageId === null) return '-';
  const image = images.get(disk.imageId);
  return image === undefined ? `image ${disk.imageId} (deleted)` : html`<a href="/images/${image.id}">${image.name}</a>`;
}

/** The disks table of `vm` on `host` (its record: a local one is this machine); `images` by id (to name and link each disk's image without a query per disk). */
export async function disksTable(vm: Vm, host: Host | undefined, images: ReadonlyMap<number, Image>, chains: BackingChains = backingChains): Promise<Html> {
  if (vm.disks.length === 0) return html`<p class="muted">No disks.</p>`;
  const deadline = Date.now() + PAGE_BUDGET_MS;
  const inspections = await Promise.all(vm.disks.map((disk) => chains.inspect(disk.target, { deadline })));
  const where = vm.state === 'DONE' ? 'deleted with the VM' : host?.transport === 'local' ? `${vm.host} is this machine: no file there` : `on host ${vm.host}, not visible from this machine`;
  return html`<table class="disks">
<thead><tr><th>Disk</th><th>Kind</th><th>Image</th><th>Mode</th><th>Format</th><th>Size</th><th>Where</th><th>Backing chain</th></tr></thead>
<tbody>${vm.disks.map((disk, i) => {
    const inspection = inspections[i]!;
    const format = disk.format ?? (inspection.kind === 'chain' ? inspection.layers[0]!.format : null);
    const link = inspection.kind === 'invisible' ? undefined : linkTarget(disk.target);
    return html`<tr data-disk="${disk.diskId}"><td>${disk.diskId}</td><td>${disk.kind}</td><td>${imageCell(disk, images)}</td><td>${disk.mode ?? '-'}</td><td>${format ?? '-'}</td><td class="num">${mb(disk.sizeMb)}</td><td class="where"><span class="host">${vm.host}</span>:<code class="path">${disk.target}</code>${link === undefined ? '' : html`<br><span class="muted">link to <code>${link}</code></span>`}${disk.files === null || disk.files.length === 0 ? '' : html`<br><span class="muted">files: ${disk.files.join(', ')}</span>`}</td><td>${chainOf(inspection, disk.target, where)}</td></tr>`;
  })}</tbody>
</table>`;
}
