/**
 * The VMs list (filtered by `?state=`, 500 a page) and a VM's page: its live block, state and operation with
 * the plan's steps (done, current, to do), its disks with where each lives and its backing chain, and its
 * journal as a timeline.
 */
import type { Image, Vm, VmState } from '../model.js';
import { html, type Html } from './html.js';
import { facts, filterLinks, paged, queryChoice, refOf, when } from './images.js';
import { page } from './layout.js';
import { liveBlock } from './live-view.js';
import type { PageContext } from './routes.js';
import { subjectTimeline } from './timeline.js';
import { disksTable } from './vm-disks.js';

const VM_STATES: readonly VmState[] = ['PENDING', 'RUNNING', 'STOPPED', 'FAILED', 'DONE'];

/** `3/5` for the step under way (or failed) of the plan, or '-'. */
function stepOf(vm: Vm): string {
  if (vm.plan === null || vm.step === null || vm.plan.length === 0) return '-';
  return `${Math.min(vm.step + 1, vm.plan.length)}/${vm.plan.length}`;
}

function vmRow(vm: Vm, dsName: string): Html {
  return html`<tr data-vm="${vm.id}"><td><a href="/vms/${vm.id}">${vm.id}</a></td><td><a href="/vms/${vm.id}">${vm.name}</a></td><td>${vm.host}${vm.targetHost === null ? '' : html` → ${vm.targetHost}`}</td><td><a href="/datastores/${vm.systemDsId}">${dsName}</a></td><td class="state state-${vm.state}">${vm.state}</td><td>${vm.operation ?? '-'}</td><td>${stepOf(vm)}</td><td class="num">${vm.disks.length}</td><td>${when(vm.updatedAt)}</td></tr>`;
}

export function vmsPage(ctx: PageContext): string {
  const { catalog, query } = ctx;
  const stateFilter = queryChoice(query, 'state', VM_STATES);
  const names = new Map(catalog.listDatastores().map((ds) => [ds.id, ds.name]));
  const all = catalog.listVms();
  const perState = new Map<string, number>();
  for (const vm of all) perState.set(vm.state, (perState.get(vm.state) ?? 0) + 1);
  const kept = stateFilter === undefined ? all : all.filter((vm) => vm.state === stateFilter);
  const { rows, nav } = paged('/vms', query, kept);
  const filters = filterLinks('State', '/vms', query, 'state', all.length, VM_STATES.filter((state) => perState.has(state)).map((state) => ({ value: state, label: state, count: perState.get(state)! })));
  const table =
    kept.length === 0
      ? html`<p class="muted">${all.length === 0 ? 'No VMs in the catalog.' : 'No VM in this state.'}</p>`
      : html`${nav}<table class="vms">
<thead><tr><th>ID</th><th>Name</th><th>Host</th><th>System datastore</th><th>State</th><th>Operation</th><th>Step</th><th>Disks</th><th>Updated</th></tr></thead>
<tbody>${rows.map((vm) => vmRow(vm, names.get(vm.systemDsId) ?? `datastore ${vm.systemDsId}`))}</tbody>
</table>${nav}`;
  return page('VMs', '/vms', html`${filters}${table}`);
}

/** The plan's steps: those before the VM's step done, its step current (under way, or where it failed), the rest to do. */
function planList(vm: Vm): Html {
  if (vm.plan === null || vm.plan.length === 0) return html`<p class="muted">No operation under way.</p>`;
  const at = vm.step ?? 0;
  const failed = vm.state === 'FAILED';
  return html`<ol class="plan">${vm.plan.map((step, i) => {
    const status = i < at ? 'done' : i === at ? (failed ? 'current failed' : 'current') : 'todo';
    const label = i < at ? 'done' : i === at ? (failed ? 'failed here' : 'under way') : 'to do';
    return html`<li class="${status}" data-step="${i}"${i === at ? html` aria-current="step"` : ''}><span class="mark">${label}</span> <code>${step.kind} ${step.driver}/${step.action}</code> ${step.why}<br><span class="muted args">${step.args.join(' ')}</span></li>`;
  })}</ol>`;
}

export async function vmPage(ctx: PageContext): Promise<string> {
  const { catalog } = ctx;
  const vm = catalog.vm(refOf(ctx.params[0]!));
  const ds = catalog.findDatastore(vm.systemDsId);
  // Only the images its disks came from: one lookup each, not the whole list.
  const images = new Map<number, Image>();
  for (const disk of vm.disks) {
    if (disk.imageId === null || images.has(disk.imageId)) continue;
    const image = catalog.findImage(disk.imageId);
    if (image !== undefined) images.set(image.id, image);
  }
  const details = facts([
    ['ID', vm.id],
    ['State', html`<strong class="state state-${vm.state}">${vm.state}</strong>`],
    ['Host', vm.host],
    ['Target host', vm.targetHost ?? '-'],
    ['System datastore', html`<a href="/datastores/${vm.systemDsId}">${ds?.name ?? `datastore ${vm.systemDsId}`}</a>`],
    ['Operation', vm.operation ?? '-'],
    ['Step', stepOf(vm)],
    ['Previous state', vm.previousState ?? '-'],
    ['Created', when(vm.createdAt)],
    ['Updated', when(vm.updatedAt)],
  ]);
  // qemu-img first (it awaits): the rest of the page is read from the catalog after, as it is then.
  const disks = await disksTable(vm, catalog.findHost(vm.host), images);
  return page(
    `VM ${vm.name}`,
    '/vms',
    html`${liveBlock(vm)}
${vm.error === null ? '' : html`<p class="bad error">${vm.error}</p>`}${details}
<section><h2>Plan${vm.operation === null ? '' : html` of ${vm.operation}`}</h2>${planList(vm)}</section>
<section><h2>Disks</h2>${disks}</section>
<section><h2>Journal</h2>${subjectTimeline(catalog, `vm:${vm.id}`)}</section>`,
  );
}
