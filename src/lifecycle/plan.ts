/**
 * Plans: the driver actions each change runs, in order. VM plans follow the
 * spec's "An Example VM"; image and datastore plans are their one datastore
 * action. Pure: catalog records in, steps out, so --dry-run prints exactly
 * what a real run does. Every step records what it acts on (refs: the disk,
 * host:path, source, datastore), and an undo is built from those, never from
 * argument positions. A disk's steps use its image datastore's TM; volatile,
 * swap and context disks and the VM folder use the system datastore's.
 */
import { vmPath } from '../catalog/layout.js';
import { FerryError } from '../errors.js';
import type { Datastore, DatastorePatch, Image, NewDatastore, PlanStep, StepRefs, Vm, VmDisk } from '../model.js';
import type { SaveAsSource } from './image-plan.js';

export const VM_OPERATIONS = ['create', 'stop', 'resume', 'migrate', 'shutdown', 'terminate', 'disk-snapshot-create', 'disk-snapshot-revert', 'disk-snapshot-delete'] as const;
export type VmOperation = (typeof VM_OPERATIONS)[number];

/** What an operation acts on besides the VM: a migrate's destination, a disk and snapshot id; terminate --hard. */
export interface OperationArgs {
  target?: string;
  disk?: number;
  snapshot?: number;
  /** Terminate: go on past a failing step (journaled as skipped). */
  hard?: boolean;
}

/** An image as the operator asks for it. */
export interface NewImageInput {
  datastore: Datastore;
  name: string;
  path?: string;
  sizeMb?: number;
  fs?: string;
  format?: string;
  persistent?: boolean;
  type?: string;
  /** Go ahead when the image does not fit its datastore (capacity.ts); the override is journaled. */
  force?: boolean;
}

/** A VM as the operator asks for it (vm.yaml or flags). */
export interface NewVmInput {
  name: string;
  host: string;
  systemDs: string | number;
  disks: Array<{ kind: 'image'; image: string | number } | { kind: 'volatile'; sizeMb: number; format?: string } | { kind: 'swap'; sizeMb: number } | { kind: 'context'; files: string[] }>;
}

/** A disk saved as a new image: its name, datastore (default: the disk image's) and snapshot (default: its current state). */
export interface SaveAsInput {
  name: string;
  datastore?: string | number;
  snapshot?: number;
  /** Go ahead when the image does not fit its datastore (capacity.ts); the override is journaled. */
  force?: boolean;
}

export type RecoverMode = 'retry' | 'success' | 'failure';
export type ImageSnapshotOperation = 'revert' | 'delete' | 'flatten';

/** A VM operation; `input`: a VM not recorded yet (create), recorded when the plan runs. */
export interface VmPlan {
  kind: 'vm';
  operation: VmOperation;
  vm: Vm;
  args: OperationArgs;
  steps: PlanStep[];
  input?: NewVmInput;
}

/** Continuing a FAILED (or interrupted) VM operation. */
export interface RecoverPlan {
  kind: 'recover';
  mode: RecoverMode;
  vm: Vm;
  steps: PlanStep[];
}

/** An image action in its datastore; `image` is the image acted on (a new one as it would be recorded, id -1). */
export type ImagePlan = { kind: 'image'; datastore: Datastore; image: Partial<Image> & { id: number; name: string }; steps: PlanStep[]; dump?: string } & (
  | { operation: 'create'; input: NewImageInput }
  | { operation: 'clone'; original: Image; persistent?: boolean; force?: boolean }
  | { operation: 'delete' }
  | { operation: `snapshot-${ImageSnapshotOperation}`; snapshot: number }
);

/** A VM disk saved as a new image: mkfs names its SOURCE, the disk's TM copies it there (cpds). */
export interface SaveAsPlan {
  kind: 'saveas';
  vm: Vm;
  disk: VmDisk;
  datastore: Datastore;
  input: SaveAsInput;
  copy: SaveAsSource;
  steps: PlanStep[];
  sizeMb: number | null;
  format: string;
}

/** A datastore recorded, changed or removed; `datastore` as it would be; its monitor (if any) must accept it. */
export type DatastorePlan = { kind: 'datastore'; datastore: Datastore; steps: PlanStep[] } & (
  | { operation: 'create'; input: NewDatastore }
  | { operation: 'update'; patch: DatastorePatch }
  | { operation: 'delete' }
);

export type Plan = VmPlan | RecoverPlan | ImagePlan | SaveAsPlan | DatastorePlan;

/** The TM action of each disk snapshot operation. */
const SNAPSHOT_ACTIONS = { 'disk-snapshot-create': 'snap_create', 'disk-snapshot-revert': 'snap_revert', 'disk-snapshot-delete': 'snap_delete' } as const;

/** What a plan needs from the catalog. */
export interface PlanContext {
  vm: Vm;
  systemDs: Datastore;
  /** The frontend's name in host:path arguments. */
  frontend: string;
  image(id: number): Image;
  datastore(id: number): Datastore;
}

/** The VM folder on the system datastore: <base>/<vm id>. */
export function vmFolder(ctx: PlanContext): string {
  return vmPath(ctx.systemDs.basePath, ctx.vm.id);
}

/** The TM driver and datastore id a disk's steps run with. */
function diskTm(ctx: PlanContext, disk: VmDisk): { tm: string; dsId: number; image?: Image } {
  if (disk.kind !== 'image' || disk.imageId === null) return { tm: ctx.systemDs.tmMad, dsId: ctx.systemDs.id };
  const image = ctx.image(disk.imageId);
  const ds = ctx.datastore(image.datastoreId);
  return { tm: ds.tmMad, dsId: ds.id, image };
}

/** A TM step; `refs` say what it acts on. */
export function step(action: string, driver: string, args: Array<string | number>, why: string, refs: StepRefs): PlanStep {
  return { kind: 'tm', action, driver, args: args.map(String), why, refs };
}

/** Where a VM's disks are: on its host, or on the frontend while it is stopped. */
export function diskHost(ctx: PlanContext): string {
  return ctx.vm.state === 'STOPPED' || (ctx.vm.state === 'FAILED' && ctx.vm.previousState === 'STOPPED') ? ctx.frontend : ctx.vm.host;
}

/** The one TM step of a disk snapshot operation (snap_create, snap_revert, snap_delete) on the disk where it is. */
function snapshotPlan(ctx: PlanContext, operation: keyof typeof SNAPSHOT_ACTIONS, args: OperationArgs): PlanStep[] {
  const disk = ctx.vm.disks.find((candidate) => candidate.diskId === args.disk);
  if (!disk || args.snapshot === undefined) throw new FerryError('E_USAGE', `${operation} needs a disk of VM ${ctx.vm.id} and a snapshot id`, { hint: `ferry vm show ${ctx.vm.id}` });
  const { tm, dsId } = diskTm(ctx, disk);
  const action = SNAPSHOT_ACTIONS[operation];
  const at = `${diskHost(ctx)}:${disk.target}`;
  return [step(action, tm, [at, args.snapshot, ctx.vm.id, dsId], `disk ${disk.diskId}: ${action.replace('snap_', '')} snapshot ${args.snapshot}`, { disk: disk.diskId, snapshot: args.snapshot, at, ds: dsId })];
}

/** The steps that put the VM's disks on `host` (CREATE). */
function deploy(ctx: PlanContext, host: string): PlanStep[] {
  const vmId = ctx.vm.id;
  return ctx.vm.disks.map((disk) => {
    const at = `${host}:${disk.target}`;
    const { tm, dsId, image } = diskTm(ctx, disk);
    const refs = { disk: disk.diskId, at, ds: dsId };
    switch (disk.kind) {
      case 'image': {
        const source = image?.source;
        if (!image || !source) {
          throw new FerryError('E_CONFLICT', `disk ${disk.diskId}: image ${disk.imageId} has no SOURCE yet (state ${image?.state ?? 'unknown'})`, {
            hint: 'wait until the image is READY (ferry image show), or recreate it',
          });
        }
        const mode = disk.mode ?? (image.persistent ? 'ln' : 'clone');
        const from = `${ctx.frontend}:${source}`;
        const why = `disk ${disk.diskId}: ${mode === 'ln' ? 'link persistent' : 'clone'} image ${image.id} (${image.name})`;
        return step(mode, tm, [from, at, vmId, dsId], why, { ...refs, from, ...(mode === 'ln' ? { source } : {}) });
      }
      case 'volatile':
        return step('mkimage', tm, [disk.sizeMb ?? 0, disk.format ?? 'raw', at, vmId, dsId], `disk ${disk.diskId}: volatile ${disk.sizeMb ?? 0} MB ${disk.format ?? 'raw'}`, refs);
      case 'swap':
        return step('mkswap', tm, [disk.sizeMb ?? 0, at, vmId, dsId], `disk ${disk.diskId}: swap ${disk.sizeMb ?? 0} MB`, refs);
      case 'context':
        return step('context', tm, [...(disk.files ?? []), at, vmId, dsId], `disk ${disk.diskId}: context`, refs);
    }
  });
}

/** Every disk, then the VM folder, from one host to another (STOP, RESUME, MIGRATE). */
function move(ctx: PlanContext, from: string, to: string, what: string): PlanStep[] {
  const vmId = ctx.vm.id;
  const mv = (path: string, driver: string, dsId: number, why: string, disk?: number): PlanStep =>
    step('mv', driver, [`${from}:${path}`, `${to}:${path}`, vmId, dsId], why, { ...(disk !== undefined ? { disk } : {}), from: `${from}:${path}`, at: `${to}:${path}`, ds: dsId });
  const disks = ctx.vm.disks.map((disk) => {
    const { tm, dsId } = diskTm(ctx, disk);
    return mv(disk.target, tm, dsId, `disk ${disk.diskId}: ${what}`, disk.diskId);
  });
  return [...disks, mv(vmFolder(ctx), ctx.systemDs.tmMad, ctx.systemDs.id, `VM folder: ${what}`)];
}

/** The step that deletes the VM folder on `host`. */
function deleteFolder(ctx: PlanContext, host: string, why: string): PlanStep {
  const at = `${host}:${vmFolder(ctx)}`;
  return step('delete', ctx.systemDs.tmMad, [at, ctx.vm.id, ctx.systemDs.id], why, { at, ds: ctx.systemDs.id });
}

/** Non-persistent disks deleted, persistent ones moved back to their image, then the VM folder deleted (SHUTDOWN). */
function teardown(ctx: PlanContext, host: string): PlanStep[] {
  const vmId = ctx.vm.id;
  const disks = ctx.vm.disks.map((disk) => {
    const { tm, dsId, image } = diskTm(ctx, disk);
    const at = `${host}:${disk.target}`;
    const persistent = disk.kind === 'image' && image && (disk.mode ?? (image.persistent ? 'ln' : 'clone')) === 'ln';
    if (persistent && image?.source) {
      return step('mvds', tm, [at, image.source, vmId, dsId], `disk ${disk.diskId}: back to persistent image ${image.id} (${image.name})`, { disk: disk.diskId, at, source: image.source, ds: dsId });
    }
    return step('delete', tm, [at, vmId, dsId], `disk ${disk.diskId}: delete`, { disk: disk.diskId, at, ds: dsId });
  });
  return [...disks, deleteFolder(ctx, host, 'VM folder: delete')];
}

/**
 * What removes a VM from whatever state it is in (TERMINATE, OpenNebula's
 * `onevm terminate` / `recover --delete`): an idle VM's disks torn down
 * where they are (persistent ones back with mvds, others deleted, then the
 * folder); a never deployed (PENDING) VM's folder deleted, in case a create
 * left one; a failed or interrupted operation first finished (shutdown) or
 * undone (its rollback), so every disk is in one place, then torn down there.
 */
function terminate(ctx: PlanContext): PlanStep[] {
  const vm = ctx.vm;
  const operation = vm.operation;
  if (!operation || !vm.plan) {
    if (vm.state === 'PENDING') return [deleteFolder(ctx, vm.host, 'VM folder: delete (not deployed)')];
    return teardown(ctx, diskHost(ctx));
  }
  const rest = vm.plan.slice(vm.step ?? 0);
  // Where the disks were before the operation, and are again once it is undone.
  const home = vm.previousState === 'STOPPED' ? ctx.frontend : vm.host;
  if (operation === 'shutdown' || operation === 'terminate' || operation === 'create-rollback') return rest;
  if (operation.endsWith('-rollback')) return [...rest, ...teardown(ctx, home)];
  if (operation.startsWith('disk-snapshot-')) return teardown(ctx, home);
  let undo: PlanStep[];
  try {
    undo = rollbackPlan(ctx);
  } catch {
    // Recorded by an older ferry, without what each step made: every disk torn down at home (deleting what is
    // not there succeeds; --hard goes past the rest).
    return teardown(ctx, home);
  }
  return [...undo, ...(operation === 'create' ? [] : teardown(ctx, home))];
}

/** The plan of one operation; `args.target` is the destination host of a migrate. */
export function planFor(operation: VmOperation, ctx: PlanContext, args: OperationArgs = {}): PlanStep[] {
  const host = ctx.vm.host;
  const target = args.target;
  switch (operation) {
    case 'create':
      return deploy(ctx, host);
    case 'stop':
      return move(ctx, host, ctx.frontend, `${host} -> ${ctx.frontend} (stop)`);
    case 'resume':
      return move(ctx, ctx.frontend, host, `${ctx.frontend} -> ${host} (resume)`);
    case 'migrate':
      if (!target) throw new FerryError('E_USAGE', 'migrate needs a destination host', { hint: 'ferry vm migrate VM HOST' });
      return move(ctx, host, target, `${host} -> ${target} (migrate)`);
    case 'shutdown':
      return teardown(ctx, host);
    case 'terminate':
      return terminate(ctx);
    case 'disk-snapshot-create':
    case 'disk-snapshot-revert':
    case 'disk-snapshot-delete':
      return snapshotPlan(ctx, operation, args);
  }
}

/**
 * The steps that undo what a failed operation did, last first: a disk made
 * is deleted (a linked one moved back to its image's SOURCE), a move goes
 * back the other way, a snapshot taken is deleted; after a create, the VM
 * folder goes too. An interrupted operation's step in flight is undone as
 * well (it may have finished before the kill). Each undo is built from the
 * step's refs.
 */
export function rollbackPlan(ctx: PlanContext): PlanStep[] {
  const vm = ctx.vm;
  const operation = (vm.operation ?? '').replace(/-rollback$/, '');
  if (vm.operation?.endsWith('-rollback')) {
    throw new FerryError('E_CONFLICT', `VM ${vm.id}'s rollback of ${operation} failed itself`, { hint: `retry it: ferry vm recover ${vm.id} --retry, or mark it: --success` });
  }
  if (operation === 'shutdown' || operation === 'terminate') {
    throw new FerryError('E_CONFLICT', `VM ${vm.id}'s ${operation} cannot be rolled back: the disks it deleted are gone`, { hint: `ferry vm recover ${vm.id} --retry (finish it) or --success` });
  }
  const done = (vm.plan ?? []).slice(0, vm.step ?? 0);
  const undo = [...done, ...inFlight(vm)].reverse().map((planStep) => undoStep(vm, operation, planStep));
  if (operation === 'create') undo.push(deleteFolder(ctx, vm.host, 'undo: VM folder'));
  return undo;
}

/** Actions whose undo also succeeds when the action never ran (deleting what is not there, moving back what never moved). */
const UNDO_IF_NEVER_RAN = new Set(['snap_create', 'mv', 'ln', 'clone', 'mkimage', 'mkswap', 'context']);

/**
 * The step an interrupted operation's ferry was running when it stopped (a VM
 * not FAILED: nothing journaled the step's end), when its undo is safe
 * either way: it may have made its disk or snapshot before the kill.
 */
function inFlight(vm: Vm): PlanStep[] {
  const current = vm.state === 'FAILED' ? undefined : vm.plan?.[vm.step ?? 0];
  return current && UNDO_IF_NEVER_RAN.has(current.action) ? [current] : [];
}

/** The step that undoes `planStep`, from what it records of itself. */
function undoStep(vm: Vm, operation: string, planStep: PlanStep): PlanStep {
  const refs = planStep.refs ?? {};
  const { at, ds } = refs;
  if (at === undefined || ds === undefined || (planStep.action === 'mv' && refs.from === undefined)) {
    throw new FerryError('E_CONFLICT', `VM ${vm.id}'s ${operation} was recorded by an older ferry, without what each step made: its undo cannot be worked out`, {
      hint: `ferry vm recover ${vm.id} --retry (finish it) or --success`,
    });
  }
  const undo = (action: string, args: Array<string | number>, undoRefs: StepRefs = refs): PlanStep => ({ ...planStep, action, args: args.map(String), why: `undo: ${planStep.why}`, refs: undoRefs });
  switch (planStep.action) {
    case 'snap_create':
      return undo('snap_delete', [at, refs.snapshot ?? -1, vm.id, ds]);
    case 'mv':
      return undo('mv', [at, refs.from as string, vm.id, ds], { ...refs, from: at, at: refs.from as string });
    case 'ln':
    case 'clone':
    case 'mkimage':
    case 'mkswap':
    case 'context': {
      // What the disk was made from is gone with it; a linked disk goes back to its image's SOURCE.
      const made = { ...(refs.disk !== undefined ? { disk: refs.disk } : {}), at, ds };
      if (planStep.action === 'ln' && refs.source !== undefined) return undo('mvds', [at, refs.source, vm.id, ds], { ...made, source: refs.source });
      return undo('delete', [at, vm.id, ds], made);
    }
  }
  throw new FerryError('E_CONFLICT', `VM ${vm.id}'s ${operation} ran and cannot be undone`, { hint: `ferry vm recover ${vm.id} --success` });
}

/** A step as a transfer-file line (`ferry tm transfer` runs these). */
export function transferLine(planStep: PlanStep): string {
  return [planStep.action.toUpperCase(), planStep.driver, ...planStep.args].join(' ');
}

/** The state a VM must be in for an operation, and the one it reaches ('same': the state it had). */
export const TRANSITIONS: Record<VmOperation, { from: readonly string[]; to: 'RUNNING' | 'STOPPED' | 'DONE' | 'same' }> = {
  create: { from: ['PENDING'], to: 'RUNNING' },
  stop: { from: ['RUNNING'], to: 'STOPPED' },
  resume: { from: ['STOPPED'], to: 'RUNNING' },
  migrate: { from: ['RUNNING'], to: 'RUNNING' },
  shutdown: { from: ['RUNNING'], to: 'DONE' },
  terminate: { from: ['PENDING', 'RUNNING', 'STOPPED', 'FAILED'], to: 'DONE' },
  'disk-snapshot-create': { from: ['RUNNING', 'STOPPED'], to: 'same' },
  'disk-snapshot-revert': { from: ['RUNNING', 'STOPPED'], to: 'same' },
  'disk-snapshot-delete': { from: ['RUNNING', 'STOPPED'], to: 'same' },
};

// Image, datastore and save-as plans: one datastore action each (their own module, re-exported here).
export * from './image-plan.js';
