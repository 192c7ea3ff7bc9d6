/** VM rows: VMs, their disks, and the operation under way (its plan and next step). */
import { FerryError } from '../errors.js';
import type { DiskKind, NewVm, Vm, VmDisk, VmPatch, VmState } from '../model.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';
import { host } from './hosts.js';
import { diskPath } from './layout.js';
import { allocateId, checkName, guarded, json, now, num, str, type Row } from './values.js';

function diskOf(row: Row): VmDisk {
  return {
    diskId: Number(row.disk_id),
    kind: row.kind as DiskKind,
    imageId: num(row.image_id),
    mode: (row.mode as 'clone' | 'ln' | null) ?? null,
    sizeMb: num(row.size_mb),
    format: str(row.format),
    files: json(row.files, null),
    target: String(row.target),
    snapshots: json(row.snapshots, []),
  };
}

function vmOf(row: Row, disks: VmDisk[]): Vm {
  return {
    id: Number(row.id),
    name: String(row.name),
    host: String(row.host),
    systemDsId: Number(row.system_ds_id),
    state: row.state as VmState,
    operation: str(row.operation),
    plan: json(row.plan, null),
    step: num(row.step),
    previousState: (row.previous_state as VmState | null) ?? null,
    targetHost: str(row.target_host),
    error: str(row.error),
    disks,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

/** Adds a VM in PENDING with its disks at <system base>/<vm id>/disk.<i>. */
export function addVm(c: Connection, input: NewVm, systemBase: string): Vm {
  checkName(input.name, 'VM');
  host(c, input.host);
  return guarded(`VM ${input.name}`, () => c.transaction(() => insertVm(c, input, systemBase)));
}

function insertVm(c: Connection, input: NewVm, systemBase: string): Vm {
  // A DONE VM's name is free again, as in OpenNebula.
  if (c.get(c.q.selectFrom('vms').select('id').where('name', '=', input.name).where('state', '!=', 'DONE'))) {
    throw new FerryError('E_CONFLICT', `a VM named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name, or terminate that VM first (ferry vm terminate)' });
  }
  const at = now();
  const id = allocateId(c, 'vms');
  c.run(c.q.insertInto('vms').values({ id, name: input.name, host: input.host, system_ds_id: input.systemDsId, state: 'PENDING', created_at: at, updated_at: at }));
  for (const disk of input.disks) {
    insertDisk.run(c.ex, id, disk.diskId, disk.kind, disk.imageId, disk.mode, disk.sizeMb, disk.format, disk.files ? JSON.stringify(disk.files) : null, diskPath(systemBase, id, disk.diskId), JSON.stringify(disk.snapshots ?? []));
  }
  return vm(c, id);
}

// The statements of a VM's operation, run at each of its steps: compiled once.
const insertDisk = prepared((db) =>
  db.insertInto('vm_disks').values({ vm_id: arg(0), disk_id: arg(1), kind: arg(2), image_id: arg(3), mode: arg(4), size_mb: arg(5), format: arg(6), files: arg(7), target: arg(8), snapshots: arg(9) }),
);
const disksOf = prepared((db) => db.selectFrom('vm_disks').selectAll().where('vm_id', '=', arg<number>(0)).orderBy('disk_id'));
const writeVm = prepared((db) =>
  db
    .updateTable('vms')
    .set({ host: arg(0), state: arg(1), operation: arg(2), plan: arg(3), step: arg(4), previous_state: arg(5), target_host: arg(6), error: arg(7), updated_at: arg(8) })
    .where('id', '=', arg<number>(9)),
);
const writeStep = prepared((db) => db.updateTable('vms').set({ step: arg(0), updated_at: arg(1) }).where('id', '=', arg<number>(2)));
const writeDiskSize = prepared((db) => db.updateTable('vm_disks').set({ size_mb: arg(0) }).where('vm_id', '=', arg<number>(1)).where('disk_id', '=', arg<number>(2)));
const writeDiskSnapshots = prepared((db) => db.updateTable('vm_disks').set({ snapshots: arg(0) }).where('vm_id', '=', arg<number>(1)).where('disk_id', '=', arg<number>(2)));

/** Every VM with its disks, in two queries whatever their number (the dashboard lists thousands). */
export function listVms(c: Connection): Vm[] {
  const disks = new Map<number, VmDisk[]>();
  for (const row of c.all(c.q.selectFrom('vm_disks').selectAll().orderBy('vm_id').orderBy('disk_id')) as Row[]) {
    const id = Number(row.vm_id);
    let list = disks.get(id);
    if (list === undefined) disks.set(id, (list = []));
    list.push(diskOf(row));
  }
  return (c.all(c.q.selectFrom('vms').selectAll().orderBy('id')) as Row[]).map((row) => vmOf(row, disks.get(Number(row.id)) ?? []));
}

export function findVm(c: Connection, ref: string | number): Vm | undefined {
  const row = c.rowByRef('vms', ref);
  if (!row) return undefined;
  return vmOf(row, (disksOf.all(c.ex, row.id) as Row[]).map(diskOf));
}

export function vm(c: Connection, ref: string | number): Vm {
  const found = findVm(c, ref);
  if (found) return found;
  throw new FerryError('E_NOT_FOUND', `no VM ${JSON.stringify(String(ref))} in the catalog`, { hint: 'list them: ferry vm list' });
}

/** `current`: the VM as just read in the same transaction, to spare reading it again. */
export function updateVm(c: Connection, id: number, patch: VmPatch, current?: Vm): Vm {
  // The record as written, without reading it back: the update changes only these fields.
  const next = { ...(current?.id === id ? current : vm(c, id)), ...patch, updatedAt: now() };
  writeVm.run(c.ex, next.host, next.state, next.operation, next.plan ? JSON.stringify(next.plan) : null, next.step, next.previousState, next.targetHost, next.error, next.updatedAt, id);
  return next;
}

/** Moves a VM's operation to step `step` (the common update while a plan runs: no read of the VM before or after). */
export function setVmStep(c: Connection, id: number, step: number): void {
  writeStep.run(c.ex, step, now(), id);
}

/** Sets the snapshot ids of one disk of a VM. */
/** A disk's measured size in MB (the service's sweep of VM disks). */
export function setDiskSize(c: Connection, vmId: number, diskId: number, sizeMb: number): void {
  const info = writeDiskSize.run(c.ex, sizeMb, vmId, diskId);
  if (info.changes !== 1) throw new FerryError('E_NOT_FOUND', `VM ${vmId} has no disk ${diskId}`, { hint: `ferry vm show ${vmId}` });
}

export function setDiskSnapshots(c: Connection, vmId: number, diskId: number, snapshots: number[]): void {
  const info = writeDiskSnapshots.run(c.ex, JSON.stringify(snapshots), vmId, diskId);
  if (info.changes !== 1) throw new FerryError('E_NOT_FOUND', `VM ${vmId} has no disk ${diskId}`, { hint: `ferry vm show ${vmId}` });
}
