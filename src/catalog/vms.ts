/** VM rows: VMs, their disks, and the operation under way (its plan and next step). */
import { FerryError } from '../errors.js';
import type { DiskKind, NewVm, Vm, VmDisk, VmPatch, VmState } from '../model.js';
import type { Connection } from './connection.js';
import { host } from './hosts.js';
import { diskPath } from './layout.js';
import { checkName, guarded, json, nextId, now, num, str, type Row } from './values.js';

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
  if (c.sql("SELECT 1 FROM vms WHERE name = ? AND state != 'DONE'").get(input.name)) {
    throw new FerryError('E_CONFLICT', `a VM named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name, or terminate that VM first (ferry vm terminate)' });
  }
  const at = now();
  const info = c.sql(`INSERT INTO vms (id, name, host, system_ds_id, state, created_at, updated_at) VALUES (${nextId('vms')}, ?, ?, ?, 'PENDING', ?, ?)`).run(input.name, input.host, input.systemDsId, at, at);
  const id = Number(info.lastInsertRowid);
  const insert = c.sql('INSERT INTO vm_disks (vm_id, disk_id, kind, image_id, mode, size_mb, format, files, target, snapshots) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const disk of input.disks) {
    insert.run(id, disk.diskId, disk.kind, disk.imageId, disk.mode, disk.sizeMb, disk.format, disk.files ? JSON.stringify(disk.files) : null, diskPath(systemBase, id, disk.diskId), JSON.stringify(disk.snapshots ?? []));
  }
  return vm(c, id);
}

/** Every VM with its disks, in two queries whatever their number (the dashboard lists thousands). */
export function listVms(c: Connection): Vm[] {
  const disks = new Map<number, VmDisk[]>();
  for (const row of c.sql('SELECT * FROM vm_disks ORDER BY vm_id, disk_id').all() as Row[]) {
    const id = Number(row.vm_id);
    let list = disks.get(id);
    if (list === undefined) disks.set(id, (list = []));
    list.push(diskOf(row));
  }
  return (c.sql('SELECT * FROM vms ORDER BY id').all() as Row[]).map((row) => vmOf(row, disks.get(Number(row.id)) ?? []));
}

export function findVm(c: Connection, ref: string | number): Vm | undefined {
  const row = c.rowByRef('vms', ref);
  if (!row) return undefined;
  return vmOf(row, (c.sql('SELECT * FROM vm_disks WHERE vm_id = ? ORDER BY disk_id').all(row.id) as Row[]).map(diskOf));
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
  c
    .sql('UPDATE vms SET host = ?, state = ?, operation = ?, plan = ?, step = ?, previous_state = ?, target_host = ?, error = ?, updated_at = ? WHERE id = ?')
    .run(next.host, next.state, next.operation, next.plan ? JSON.stringify(next.plan) : null, next.step, next.previousState, next.targetHost, next.error, next.updatedAt, id);
  return next;
}

/** Moves a VM's operation to step `step` (the common update while a plan runs: no read of the VM before or after). */
export function setVmStep(c: Connection, id: number, step: number): void {
  c.sql('UPDATE vms SET step = ?, updated_at = ? WHERE id = ?').run(step, now(), id);
}

/** Sets the snapshot ids of one disk of a VM. */
/** A disk's measured size in MB (the service's sweep of VM disks). */
export function setDiskSize(c: Connection, vmId: number, diskId: number, sizeMb: number): void {
  const info = c.sql('UPDATE vm_disks SET size_mb = ? WHERE vm_id = ? AND disk_id = ?').run(sizeMb, vmId, diskId);
  if (info.changes !== 1) throw new FerryError('E_NOT_FOUND', `VM ${vmId} has no disk ${diskId}`, { hint: `ferry vm show ${vmId}` });
}

export function setDiskSnapshots(c: Connection, vmId: number, diskId: number, snapshots: number[]): void {
  const info = c.sql('UPDATE vm_disks SET snapshots = ? WHERE vm_id = ? AND disk_id = ?').run(JSON.stringify(snapshots), vmId, diskId);
  if (info.changes !== 1) throw new FerryError('E_NOT_FOUND', `VM ${vmId} has no disk ${diskId}`, { hint: `ferry vm show ${vmId}` });
}
