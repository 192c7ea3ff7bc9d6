/**
 * VM operations: a new VM checked and recorded, and create, stop, resume,
 * migrate, shutdown and disk snapshots checked against the VM's state and
 * planned (plan.ts). Running one records its plan and the next step on the
 * VM before the first driver action (vm-run.ts runs it), so a failure can
 * be recovered from (recover.ts).
 */
import type { CatalogTx } from '../catalog/store.js';
import { FerryError } from '../errors.js';
import type { NewVm, PlanStep, Vm, VmDisk } from '../model.js';
import { once, type LifecycleOptions } from './journal.js';
import { planFor, TRANSITIONS, type NewVmInput, type OperationArgs, type PlanContext, type VmOperation, type VmPlan } from './plan.js';
import { nextSnapshotId, snapshotIdsTried } from './snapshot-ids.js';
import { runFrom } from './vm-run.js';

/** `read`, calling through once per id and answering from memory after. */
function readOnce<T>(read: (id: number) => T): (id: number) => T {
  const known = new Map<number, T>();
  return (id) => {
    if (!known.has(id)) known.set(id, read(id));
    return known.get(id) as T;
  };
}

/** What a plan of `vm` reads from the catalog, through `tx`. */
export function planContext(life: LifecycleOptions, tx: CatalogTx, vm: Vm): PlanContext {
  // One plan asks for the same image and datastore once per disk and step: read each once.
  const datastore = readOnce((id) => tx.datastore(id));
  return { vm, systemDs: datastore(vm.systemDsId), frontend: life.frontend, image: readOnce((id) => tx.image(id)), datastore };
}

/** Disk `diskId` of a VM, refused when it has none or (for `what`: snapshots, saving) it is a swap or context disk. */
export function diskOf(vm: Vm, diskId: number | undefined, what: string): VmDisk {
  const disk = vm.disks.find((candidate) => candidate.diskId === diskId);
  if (!disk) {
    throw new FerryError('E_NOT_FOUND', `VM ${vm.id} has no disk ${diskId ?? '(none given)'} (it has: ${vm.disks.map((candidate) => candidate.diskId).join(', ')})`, { hint: `ferry vm show ${vm.id}` });
  }
  if (disk.kind === 'swap' || disk.kind === 'context') throw new FerryError('E_CONFLICT', `disk ${disk.diskId} of VM ${vm.id} is a ${disk.kind} disk; ${what}`, { hint: `ferry vm show ${vm.id}` });
  return disk;
}

/** Refuses a snapshot id the disk does not have. */
export function checkDiskSnapshot(vm: Vm, disk: VmDisk, snapshot: number | undefined): asserts snapshot is number {
  if (snapshot === undefined || !disk.snapshots.includes(snapshot)) {
    throw new FerryError('E_NOT_FOUND', `disk ${disk.diskId} of VM ${vm.id} has no snapshot ${snapshot ?? '(none given)'} (it has: ${disk.snapshots.join(', ') || 'none'})`, { hint: `ferry vm show ${vm.id}` });
  }
}

/** The steps an operation would run, checked against the VM's state; nothing runs. */
export function planSteps(life: LifecycleOptions, tx: CatalogTx, vm: Vm, operation: VmOperation, args: OperationArgs = {}): PlanStep[] {
  const target = args.target;
  // Terminate removes a VM whatever it was doing (its lock refuses one a live ferry still runs).
  if (vm.operation && vm.state !== 'FAILED' && operation !== 'terminate') {
    throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) has an interrupted ${vm.operation} at step ${(vm.step ?? 0) + 1} of ${vm.plan?.length ?? '?'} (ferry stopped while it ran)`, {
      hint: `ferry vm recover ${vm.id} --retry (finish it), --success or --failure`,
    });
  }
  const allowed = TRANSITIONS[operation].from;
  if (!allowed.includes(vm.state)) {
    const hint = vm.state === 'FAILED' ? `its ${vm.operation ?? 'last'} failed: ferry vm recover ${vm.id} --retry|--success|--failure` : `${operation} needs a VM in ${allowed.join(' or ')}`;
    throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state}; cannot ${operation} it`, { hint });
  }
  if (operation === 'migrate') {
    if (!target) throw new FerryError('E_USAGE', 'migrate needs a destination host', { hint: `ferry vm migrate ${vm.id} HOST` });
    tx.host(target);
    if (target === vm.host) throw new FerryError('E_CONFLICT', `VM ${vm.id} is already on ${target}`, { hint: 'pick another host: ferry host list' });
  }
  if (operation.startsWith('disk-snapshot-')) return planFor(operation, planContext(life, tx, vm), snapshotArgs(tx, vm, operation, args));
  return planFor(operation, planContext(life, tx, vm), args);
}

/**
 * Checks a disk snapshot operation's disk and snapshot id: a new snapshot
 * gets the next id (past the image's own for a cloned disk, whose file may
 * carry them, and past every id the disk ever had: snapshot-ids.ts); revert
 * and delete need one the disk has.
 */
function snapshotArgs(tx: CatalogTx, vm: Vm, operation: VmOperation, args: OperationArgs): OperationArgs {
  const disk = diskOf(vm, args.disk, 'snapshots are for image and volatile disks');
  if (operation === 'disk-snapshot-create') {
    const inherited = disk.mode === 'clone' && disk.imageId !== null ? tx.image(disk.imageId).snapshots : [];
    if (args.snapshot !== undefined && [...disk.snapshots, ...inherited].includes(args.snapshot)) {
      throw new FerryError('E_CONFLICT', `disk ${disk.diskId} of VM ${vm.id} already has a snapshot ${args.snapshot}`, { hint: 'leave out the id: ferry picks the next free one' });
    }
    const tried = args.snapshot === undefined ? (snapshotIdsTried(tx.journal(`vm:${vm.id}`)).get(disk.diskId) ?? []) : [];
    return { disk: disk.diskId, snapshot: args.snapshot ?? nextSnapshotId(disk.snapshots, inherited, tried) };
  }
  checkDiskSnapshot(vm, disk, args.snapshot);
  return { disk: disk.diskId, snapshot: args.snapshot };
}

/** The disk of a new VM from an image: usable, not being changed, and (persistent) not another VM's. */
function imageDisk(tx: CatalogTx, ref: string | number, diskId: number, claimed: Set<number>): NewVm['disks'][number] {
  const image = tx.image(ref);
  const ds = tx.datastore(image.datastoreId);
  if (ds.type !== 'IMAGE') throw new FerryError('E_CONFLICT', `image ${image.name} is in ${ds.type} datastore ${ds.name}; VM disks come from IMAGE datastores`, { hint: 'register the image in an IMAGE datastore' });
  if (image.state !== 'READY' && image.state !== 'USED') {
    throw new FerryError('E_CONFLICT', `image ${image.name} is ${image.state}${image.error ? ` (${image.error})` : ''}`, { hint: 'use a READY image: ferry image list' });
  }
  // Another ferry is changing the image (a snapshot revert or flatten, a clone): not while a VM takes it.
  const busy = tx.busy(`image:${image.id}`);
  if (busy) throw busy;
  if (image.persistent) {
    const users = tx.vmsUsingImage(image.id);
    if (users.length > 0 || claimed.has(image.id)) {
      throw new FerryError('E_CONFLICT', `persistent image ${image.name} is already in use by VM ${users[0] ?? 'being created'}`, { hint: 'a persistent image serves one VM at a time: shut that VM down, or clone the image' });
    }
    claimed.add(image.id);
  }
  // A linked disk is the image's own file, snapshots included.
  return { diskId, kind: 'image', imageId: image.id, mode: image.persistent ? 'ln' : 'clone', sizeMb: null, format: null, files: null, snapshots: image.persistent ? image.snapshots : [] };
}

/**
 * Checks a new VM against the catalog before anything runs: the host and
 * system datastore exist, every image is usable, and a persistent image is
 * not already another VM's. Returns the VM as the catalog stores it.
 */
function checkVm(life: LifecycleOptions, tx: CatalogTx, input: NewVmInput): NewVm {
  const systemDs = tx.datastore(input.systemDs);
  if (systemDs.type !== 'SYSTEM') {
    throw new FerryError('E_CONFLICT', `datastore ${systemDs.name} is an ${systemDs.type} datastore, not a SYSTEM one`, {
      hint: `pick a SYSTEM datastore for --system-ds (${tx.listDatastores().filter((ds) => ds.type === 'SYSTEM').map((ds) => ds.name).join(', ') || 'create one with --type SYSTEM'})`,
    });
  }
  tx.host(input.host);
  if (input.host === life.frontend) {
    throw new FerryError('E_CONFLICT', `${input.host} is the frontend, where stopped VMs are kept; deploy on a host`, { hint: 'ferry host list' });
  }
  const claimed = new Set<number>();
  const disks = input.disks.map((disk, diskId): NewVm['disks'][number] => {
    if (disk.kind === 'image') return imageDisk(tx, disk.image, diskId, claimed);
    if (disk.kind === 'context') return { diskId, kind: 'context', imageId: null, mode: null, sizeMb: null, format: null, files: disk.files };
    return { diskId, kind: disk.kind, imageId: null, mode: null, sizeMb: disk.sizeMb, format: disk.kind === 'volatile' ? (disk.format ?? 'raw') : null, files: null };
  });
  return { name: input.name, host: input.host, systemDsId: systemDs.id, disks };
}

/** Records a new VM (PENDING), checked (queue/submit.ts records one this way before queuing its create). */
export function recordVm(life: LifecycleOptions, tx: CatalogTx, input: NewVmInput): Vm {
  const checked = checkVm(life, tx, input);
  return tx.addVm(checked, tx.datastore(checked.systemDsId).basePath);
}

/** The plan of an operation on a recorded VM. */
export function planVm(life: LifecycleOptions, ref: string | number, operation: VmOperation, args: OperationArgs = {}): VmPlan {
  return life.catalog.transaction((tx) => {
    const vm = tx.vm(ref);
    // Another ferry running an operation on it: busy, not "interrupted".
    const busy = tx.busy(`vm:${vm.id}`);
    if (busy) throw busy;
    return { kind: 'vm', operation, vm, args, steps: planSteps(life, tx, vm, operation, args) };
  });
}

/** The plan of a new VM as it would run (its id is the next free one). */
export function planNewVm(life: LifecycleOptions, input: NewVmInput): VmPlan {
  // Recorded and planned in a transaction that is rolled back: refused exactly as a real create would be (a name taken
  // included), with the id it would get.
  return life.catalog.preview((tx) => {
    const vm = recordVm(life, tx, input);
    return { kind: 'vm', operation: 'create', vm, args: {}, steps: planSteps(life, tx, vm, 'create'), input };
  });
}

/** Runs a VM plan: a new VM is recorded first; the operation is planned again under the VM's lock. */
export function runVmPlan(life: LifecycleOptions, plan: VmPlan): Promise<Vm> {
  if (plan.input) return createVm(life, plan.input);
  return operate(life, plan.vm.id, plan.operation, plan.args);
}

/** Runs an operation on a VM: plan, record, run each step, reach the next state. */
export async function operate(life: LifecycleOptions, ref: string | number | ((tx: CatalogTx) => Vm), operation: VmOperation, args: OperationArgs = {}): Promise<Vm> {
  // Read, lock, plan and record the start in one (immediate) transaction: no other ferry writes in between, a
  // refusal leaves no lock behind, and it is one commit. `ref` may record the VM first (a new VM).
  const { id, unlock, steps } = life.catalog.transaction((tx) => {
    const current = typeof ref === 'function' ? ref(tx) : tx.vm(ref);
    const unlock = tx.lock(`vm:${current.id}`, operation);
    const steps = planSteps(life, tx, current, operation, args);
    tx.updateVm(current.id, { operation, plan: steps, step: 0, previousState: current.state, targetHost: args.target ?? null, error: null }, current);
    return { id: current.id, unlock, steps };
  });
  try {
    return await runFrom(life, id, 0, steps, operation, once(unlock), { hard: args.hard === true });
  } finally {
    // Always, even when a release inside a transaction was rolled back with it: the DELETE is idempotent.
    unlock();
  }
}

/** Records a new VM (PENDING) and deploys it. */
export function createVm(life: LifecycleOptions, input: NewVmInput): Promise<Vm> {
  // Recorded in the same transaction that plans and starts its create: a refused VM leaves no record.
  return operate(life, (tx) => recordVm(life, tx, input), 'create');
}
