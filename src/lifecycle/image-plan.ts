/**
 * Plans of one datastore action each: an image's create (cp or mkfs), clone,
 * delete and snapshot actions, a datastore's monitor check, and the two
 * steps of a disk save-as. Pure, like the VM plans in plan.ts.
 */
import { resolveRoute } from '../contract/lookup.js';
import { datastoreDump } from '../dump/from-catalog.js';
import type { Datastore, DatastorePatch, Image, NewDatastore, NewImage, PlanStep, StepRefs, VmDisk } from '../model.js';
import { diskHost, step, type DatastorePlan, type ImagePlan, type ImageSnapshotOperation, type NewImageInput, type PlanContext, type SaveAsInput } from './plan.js';


/** A datastore action on image `imageId` (-1: one not recorded yet); `why` is what it does, shown with --dry-run. */
export function imageStep(ds: Datastore, action: string, imageId: number, why: string, refs: StepRefs = {}): PlanStep {
  const all = { ...(imageId >= 0 ? { image: imageId } : {}), ...refs };
  return { kind: 'datastore', action, driver: ds.dsMad ?? '', args: [String(imageId)], why, ...(Object.keys(all).length > 0 ? { refs: all } : {}) };
}

/**
 * Which driver monitors a datastore: a SYSTEM datastore's TM (tm/<TM_MAD>/monitor),
 * any other its datastore driver. The one place this is decided.
 */
export function monitorDriver(ds: Datastore): { kind: 'tm' | 'datastore'; driver: string | null } {
  // The route depends on these three fields only; a service asks for every datastore on every run.
  const key = `${ds.type}\u0000${ds.dsMad ?? ''}\u0000${ds.tmMad}`;
  let route = monitorRoutes.get(key);
  if (route === undefined) {
    // The contract's route decides, on the dump the monitor gets (a SYSTEM datastore's DS_MAD is "-").
    const target = resolveRoute('datastore', 'monitor', datastoreDump(ds));
    route = { kind: target.kind, driver: target.kind === 'datastore' && ds.dsMad === null ? null : target.driver };
    if (monitorRoutes.size > 1000) monitorRoutes.clear();
    monitorRoutes.set(key, route);
  }
  return route;
}

const monitorRoutes = new Map<string, { kind: 'tm' | 'datastore'; driver: string | null }>();

/** The monitor action of a datastore (run as a datastore action; the runner finds a SYSTEM datastore's TM monitor). */
export function monitorStep(ds: Datastore): PlanStep {
  return { kind: 'datastore', action: 'monitor', driver: monitorDriver(ds).driver ?? '', args: [String(ds.id)], why: 'monitor' };
}

/** A datastore created (`check`: its monitor must accept it), changed (its monitor must accept the change) or removed (no driver runs). */
export function datastorePlan(ds: Datastore, change: { operation: 'create'; input: NewDatastore; check: boolean } | { operation: 'update'; patch: DatastorePatch } | { operation: 'delete' }): DatastorePlan {
  const steps = change.operation === 'delete' || (change.operation === 'create' && !change.check) ? [] : [monitorStep(ds)];
  if (change.operation === 'create') return { kind: 'datastore', operation: 'create', input: change.input, datastore: ds, steps };
  return { kind: 'datastore', datastore: ds, steps, ...change };
}

/** The record of a new image, as the operator asked for it. */
export function newImageRecord(input: NewImageInput): NewImage {
  const { datastore, path, sizeMb, fs, format, persistent, type } = input;
  return { name: input.name, datastoreId: datastore.id, ...defined({ path, sizeMb, fs, format, persistent, type }) };
}

/** The fields of `values` that are set. */
function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** A new image: cp from a path or URL, or mkfs of an empty one; with the dump its driver gets (id -1 until recorded). */
export function imageCreatePlan(input: NewImageInput, action: 'cp' | 'mkfs'): ImagePlan {
  const image = { id: -1, ...newImageRecord(input), persistent: Boolean(input.persistent) };
  const step = imageStep(input.datastore, action, -1, input.path ?? `${input.sizeMb} MB ${input.fs ?? 'raw'}`);
  return { kind: 'image', operation: 'create', input, datastore: input.datastore, image, steps: [step], dump: datastoreDump(input.datastore, image).xml };
}

/** A copy of `original` in its datastore (clone); the copy is persistent as asked, else as the original. */
export function imageClonePlan(original: Image & { source: string }, ds: Datastore, input: { name: string; persistent?: boolean; force?: boolean }): Extract<ImagePlan, { operation: 'clone' }> {
  const image = { id: -1, name: input.name, datastoreId: ds.id, path: original.source, persistent: input.persistent ?? original.persistent, clonedFrom: original.id };
  const step = imageStep(ds, 'clone', -1, `${original.source} -> new image ${input.name}`, { from: original.source });
  return { kind: 'image', operation: 'clone', original, ...defined({ persistent: input.persistent, force: input.force }), datastore: ds, image, steps: [step] };
}

/** An image removed: rm of its SOURCE (no step when it has none, or its datastore no driver), then its record. */
export function imageDeletePlan(image: Image, ds: Datastore): ImagePlan {
  const steps = image.source && ds.dsMad ? [imageStep(ds, 'rm', image.id, image.source, { source: image.source })] : [];
  return { kind: 'image', operation: 'delete', datastore: ds, image, steps };
}

/** An image snapshot reverted, deleted or flattened (snap_revert, snap_delete, snap_flatten). */
export function imageSnapshotPlan(image: Image, ds: Datastore, operation: ImageSnapshotOperation, snapshot: number): ImagePlan {
  const step = imageStep(ds, `snap_${operation}`, image.id, `${image.source} snapshot ${snapshot}`, { snapshot });
  return { kind: 'image', operation: `snapshot-${operation}`, snapshot, datastore: ds, image, steps: [step] };
}

/** Where a disk save-as copies from and with what: the disk at host:path, its own TM, the new image's datastore. */
export interface SaveAsSource {
  vmId: number;
  disk: VmDisk;
  /** host:path of the disk where it rests. */
  from: string;
  /** The disk's own TM: its image datastore's, or the system datastore's for a volatile disk. */
  tm: string;
  into: Datastore;
}

/** What a disk save-as copies: the disk where it rests (its host, or the frontend while the VM is stopped). */
export function saveAsSource(ctx: PlanContext, disk: VmDisk, into: Datastore): SaveAsSource {
  const tm = disk.imageId !== null ? ctx.datastore(ctx.image(disk.imageId).datastoreId).tmMad : ctx.systemDs.tmMad;
  return { vmId: ctx.vm.id, disk, from: `${diskHost(ctx)}:${disk.target}`, tm, into };
}

/**
 * The steps of a disk save-as: mkfs (FSTYPE save_as: the driver names a new
 * SOURCE, the convention oned uses for save-as), then cpds of the disk into
 * that SOURCE. `source`: the SOURCE once mkfs named it; before, a
 * placeholder. `imageId`: the new image's, -1 before it is recorded.
 */
export function saveAsSteps(copy: SaveAsSource, input: SaveAsInput, imageId: number, source?: string): [PlanStep, PlanStep] {
  const { disk, into } = copy;
  const mkfs = imageStep(into, 'mkfs', imageId, `datastore ${into.name} names the new SOURCE`);
  if (imageId < 0) mkfs.args = [`(image ${input.name}, FSTYPE save_as)`];
  const snapshot = input.snapshot ?? -1;
  const why = `disk ${disk.diskId}: save ${snapshot >= 0 ? `snapshot ${snapshot}` : 'its current state'} as image ${input.name}`;
  const cpds = step('cpds', copy.tm, [copy.from, source ?? '(new SOURCE)', snapshot, copy.vmId, into.id], why, { disk: disk.diskId, from: copy.from, ds: into.id, ...(source !== undefined ? { source } : {}) });
  return [mkfs, cpds];
}
