/**
 * VM storage plans: the TM actions each lifecycle event runs, in order, as the
 * spec's "An Example VM" lists them. Pure: catalog records in, steps out, so
 * --dry-run prints exactly what a real run does. A disk's steps use its image
 * datastore's TM; volatile, swap and context disks and the VM folder use the
 * system datastore's.
 */
import { FerryError } from '../errors.js';
import type { Datastore, Image, PlanStep, Vm, VmDisk } from '../model.js';
import { vmPath } from '../catalog/layout.js';

export const VM_OPERATIONS = ['create', 'stop', 'resume', 'migrate', 'shutdown', 'disk-snapshot-create', 'disk-snapshot-revert', 'disk-snapshot-delete'] as const;
export type VmOperation = (typeof VM_OPERATIONS)[number];

/** What an operation acts on besides the VM: a migrate's destination, a disk and snapshot id. */
export interface OperationArgs {
  target?: string;
  disk?: number;
  snapshot?: number;
}

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

function step(action: string, driver: string, args: Array<string | number>, why: string, refs?: PlanStep['refs']): PlanStep {
  return { kind: 'tm', action, driver, args: args.map(String), why, ...(refs ? { refs } : {}) };
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
  return [step(action, tm, [`${diskHost(ctx)}:${disk.target}`, args.snapshot, ctx.vm.id, dsId], `disk ${disk.diskId}: ${action.replace('snap_', '')} snapshot ${args.snapshot}`, { disk: disk.diskId, snapshot: args.snapshot })];
}

/** The steps that put the VM's disks on `host` (CREATE). */
function deploy(ctx: PlanContext, host: string): PlanStep[] {
  const vmId = ctx.vm.id;
  return ctx.vm.disks.map((disk) => {
    const where = `${host}:${disk.target}`;
    const { tm, dsId, image } = diskTm(ctx, disk);
    switch (disk.kind) {
      case 'image': {
        const source = image?.source;
        if (!image || !source) {
          throw new FerryError('E_CONFLICT', `disk ${disk.diskId}: image ${disk.imageId} has no SOURCE yet (state ${image?.state ?? 'unknown'})`, {
            hint: 'wait until the image is READY (ferry image show), or recreate it',
          });
        }
        const mode = disk.mode ?? (image.persistent ? 'ln' : 'clone');
        return step(mode, tm, [`${ctx.frontend}:${source}`, where, vmId, dsId], `disk ${disk.diskId}: ${mode === 'ln' ? 'link persistent' : 'clone'} image ${image.id} (${image.name})`);
      }
      case 'volatile':
        return step('mkimage', tm, [disk.sizeMb ?? 0, disk.format ?? 'raw', where, vmId, dsId], `disk ${disk.diskId}: volatile ${disk.sizeMb ?? 0} MB ${disk.format ?? 'raw'}`);
      case 'swap':
        return step('mkswap', tm, [disk.sizeMb ?? 0, where, vmId, dsId], `disk ${disk.diskId}: swap ${disk.sizeMb ?? 0} MB`);
      case 'context':
        return step('context', tm, [...(disk.files ?? []), where, vmId, dsId], `disk ${disk.diskId}: context`);
    }
  });
}

/** Every disk, then the VM folder, from one host to another (STOP, RESUME, MIGRATE). */
function move(ctx: PlanContext, from: string, to: string, what: string): PlanStep[] {
  const vmId = ctx.vm.id;
  const disks = ctx.vm.disks.map((disk) => {
    const { tm, dsId } = diskTm(ctx, disk);
    return step('mv', tm, [`${from}:${disk.target}`, `${to}:${disk.target}`, vmId, dsId], `disk ${disk.diskId}: ${what}`);
  });
  const folder = vmFolder(ctx);
  return [...disks, step('mv', ctx.systemDs.tmMad, [`${from}:${folder}`, `${to}:${folder}`, vmId, ctx.systemDs.id], `VM folder: ${what}`)];
}

/** Non-persistent disks deleted, persistent ones moved back to their image, then the VM folder deleted (SHUTDOWN). */
function teardown(ctx: PlanContext, host: string): PlanStep[] {
  const vmId = ctx.vm.id;
  const disks = ctx.vm.disks.map((disk) => {
    const { tm, dsId, image } = diskTm(ctx, disk);
    const where = `${host}:${disk.target}`;
    const persistent = disk.kind === 'image' && image && (disk.mode ?? (image.persistent ? 'ln' : 'clone')) === 'ln';
    if (persistent && image?.source) return step('mvds', tm, [where, image.source, vmId, dsId], `disk ${disk.diskId}: back to persistent image ${image.id} (${image.name})`);
    return step('delete', tm, [where, vmId, dsId], `disk ${disk.diskId}: delete`);
  });
  return [...disks, step('delete', ctx.systemDs.tmMad, [`${host}:${vmFolder(ctx)}`, vmId, ctx.systemDs.id], 'VM folder: delete')];
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
    case 'disk-snapshot-create':
    case 'disk-snapshot-revert':
    case 'disk-snapshot-delete':
      return snapshotPlan(ctx, operation, args);
  }
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
  'disk-snapshot-create': { from: ['RUNNING', 'STOPPED'], to: 'same' },
  'disk-snapshot-revert': { from: ['RUNNING', 'STOPPED'], to: 'same' },
  'disk-snapshot-delete': { from: ['RUNNING', 'STOPPED'], to: 'same' },
};
