/**
 * OpenNebula-shaped documents (`onevm show -x`, `onedatastore show -x`,
 * `onehost show -x`) made from ferry's catalog records, for OpenNebula's
 * driver scripts that read fields of them with xpath.rb. Only what ferry
 * knows is filled in; an element ferry has no value for is left out, so
 * xpath.rb reads it as empty, as it does for an attribute OpenNebula leaves
 * unset. Values under TEMPLATE are CDATA, as oned writes them (one holding
 * "]]>" is escaped text instead); a datastore's
 * secret attributes are never in a document (they are not in its template).
 */
import type { CatalogTx } from '../catalog/store.js';
import { datastoreDump } from '../dump/from-catalog.js';
import { buildXml, cdata } from '../dump/serialize.js';
import { isCdata, isElement, textOf, type XmlElement, type XmlValue } from '../dump/xml.js';
import type { Datastore, Host, Image, JournalEntry, Vm, VmDisk } from '../model.js';
import { nextSnapshotId, snapshotIdsTried } from '../lifecycle/snapshot-ids.js';
import { oneAction, oneState } from './one-states.js';

/** What the documents are made from: the catalog's reads, nothing that writes. */
export type CatalogReader = Pick<CatalogTx, 'findImage' | 'findDatastore' | 'listVms' | 'journal'>;

type FieldValue = string | number | boolean | null | undefined | Fields | Fields[];
interface Fields {
  [name: string]: FieldValue;
}

/** Typed fields -> element tree; null and undefined are left out; `template` turns values into CDATA. */
function element(fields: Fields, template: boolean): XmlElement {
  const out: XmlElement = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out[name] = value.map((each) => element(each, template || name === 'TEMPLATE'));
    else if (typeof value === 'object') out[name] = element(value, template || name === 'TEMPLATE');
    else {
      const text = typeof value === 'boolean' ? (value ? 'YES' : 'NO') : String(value);
      // A value holding "]]>" cannot be one CDATA section, and xpath.rb (REXML's Element#text) reads only the
      // first of several: it goes as escaped text, which every reader takes whole.
      out[name] = template && !text.includes(']]>') ? cdata(text) : text;
    }
  }
  return out;
}

/** The dump's TEMPLATE with every CDATA value holding "]]>" made escaped text (see element). */
function wholeText(value: XmlValue): XmlValue {
  if (Array.isArray(value)) return value.map(wholeText);
  if (isCdata(value)) return textOf(value).includes(']]>') ? textOf(value) : value;
  if (typeof value === 'string') return value;
  return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, wholeText(child)]));
}

/** Seconds since the epoch of an ISO time, as OpenNebula's STIME. */
function epoch(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** One DISK of the VM's TEMPLATE: an image disk as oned fills it from the image, a volatile or swap disk by its size. */
function diskFields(disk: VmDisk, image: Image | undefined, ds: Datastore | undefined): Fields {
  if (disk.kind === 'image') {
    const persistent = image ? (disk.mode ?? (image.persistent ? 'ln' : 'clone')) === 'ln' : disk.mode === 'ln';
    const cdrom = image?.type === 'CDROM';
    return {
      CLONE: !persistent,
      DATASTORE: ds?.name,
      DATASTORE_ID: image?.datastoreId,
      DISK_ID: disk.diskId,
      DISK_TYPE: 'FILE',
      FORMAT: disk.format ?? image?.format,
      IMAGE: image?.name,
      IMAGE_ID: disk.imageId,
      ORIGINAL_SIZE: image?.sizeMb,
      PERSISTENT: persistent ? 'YES' : undefined,
      READONLY: cdrom,
      SAVE: persistent,
      SIZE: disk.sizeMb ?? image?.sizeMb,
      SOURCE: image?.source,
      TM_MAD: ds?.tmMad,
      TYPE: cdrom ? 'CDROM' : 'FILE',
    };
  }
  return { DISK_ID: disk.diskId, DISK_TYPE: 'FILE', FORMAT: disk.kind === 'swap' ? 'raw' : (disk.format ?? 'raw'), SIZE: disk.sizeMb, TYPE: disk.kind === 'swap' ? 'swap' : 'fs' };
}

/**
 * The snapshot each disk's contents are based on now (OpenNebula's ACTIVE):
 * the last one taken or reverted to, as the VM's journal records them,
 * unless it was deleted since. qcow2's snap_delete deletes an active
 * snapshot differently from one in the middle of the chain.
 */
export function activeSnapshots(journal: readonly JournalEntry[]): Map<number, number> {
  const active = new Map<number, number>();
  for (const entry of journal) {
    if (!entry.ok || entry.kind !== 'tm' || !/^snap_(create|revert|delete)$/.test(entry.action)) continue;
    const diskId = Number(/\/disk\.(\d+)$/.exec(entry.args[0] ?? '')?.[1] ?? Number.NaN);
    const snapshot = Number(entry.args[1]);
    if (!Number.isInteger(diskId) || !Number.isInteger(snapshot)) continue;
    if (entry.action === 'snap_delete') {
      if (active.get(diskId) === snapshot) active.delete(diskId);
    } else active.set(diskId, snapshot);
  }
  return active;
}

function snapshotsFields(disk: VmDisk, active: number | undefined, tried: readonly number[]): Fields {
  const current = active !== undefined && disk.snapshots.includes(active) ? active : undefined;
  return {
    CURRENT_BASE: current ?? -1,
    DISK_ID: disk.diskId,
    NEXT_SNAPSHOT: nextSnapshotId(disk.snapshots, tried),
    SNAPSHOT: disk.snapshots.map((id) => ({ ACTIVE: id === current ? 'YES' : undefined, ID: id })),
  };
}

/**
 * HISTORY_RECORDS: one record where the VM is (its host, its system
 * datastore); during a migrate (and its rollback) two, the source host
 * first and the destination last, as oned has them while the disks move.
 */
function historyFields(vm: Vm, system: Datastore | undefined): Fields[] {
  const hosts = vm.operation?.replace(/-rollback$/, '') === 'migrate' && vm.targetHost ? [vm.host, vm.targetHost] : [vm.host];
  return hosts.map((hostname, seq) => ({
    OID: vm.id,
    SEQ: seq,
    HOSTNAME: hostname,
    STIME: epoch(seq === hosts.length - 1 ? vm.updatedAt : vm.createdAt),
    DS_ID: vm.systemDsId,
    TM_MAD: system?.tmMad,
    ACTION: seq === hosts.length - 1 ? oneAction(vm) : 1,
  }));
}

/** `onevm show -x`: the VM, its disks (TEMPLATE/DISK, a context disk as TEMPLATE/CONTEXT), snapshots and history. */
export function vmXml(catalog: CatalogReader, vm: Vm): string {
  const { state, lcmState } = oneState(vm);
  const system = catalog.findDatastore(vm.systemDsId);
  const journal = vm.disks.some((disk) => disk.snapshots.length > 0) ? catalog.journal(`vm:${vm.id}`) : [];
  const active = activeSnapshots(journal);
  const tried = snapshotIdsTried(journal);
  const disks: Fields[] = [];
  let context: Fields | undefined;
  for (const disk of vm.disks) {
    if (disk.kind === 'context') {
      context = { DISK_ID: disk.diskId, FILES: disk.files && disk.files.length > 0 ? disk.files.join(' ') : undefined };
      continue;
    }
    const image = disk.imageId !== null ? catalog.findImage(disk.imageId) : undefined;
    disks.push(diskFields(disk, image, image ? catalog.findDatastore(image.datastoreId) : undefined));
  }
  const snapshots = vm.disks.filter((disk) => disk.snapshots.length > 0).map((disk) => snapshotsFields(disk, active.get(disk.diskId), tried.get(disk.diskId) ?? []));
  const fields: Fields = {
    ID: vm.id,
    NAME: vm.name,
    STATE: state,
    LCM_STATE: lcmState,
    STIME: epoch(vm.createdAt),
    ETIME: vm.state === 'DONE' ? epoch(vm.updatedAt) : 0,
    TEMPLATE: { CONTEXT: context, DISK: disks, VMID: vm.id },
    HISTORY_RECORDS: { HISTORY: historyFields(vm, system) },
    SNAPSHOTS: snapshots,
  };
  return document('VM', element(fields, false));
}

/** `onedatastore show -x`: the datastore as its action dumps have it (datastoreDump: no secrets), with its capacity and images. */
export function datastoreXml(catalog: Pick<CatalogTx, 'listImages'>, ds: Datastore): string {
  const dumped = datastoreDump(ds).body.DATASTORE;
  const { TEMPLATE, ...head }: XmlElement = isElement(dumped) ? dumped : {};
  const images = ds.type === 'SYSTEM' ? [] : catalog.listImages().filter((image) => image.datastoreId === ds.id).map((image) => String(image.id));
  const tail = element({ STATE: 0, TOTAL_MB: ds.totalMb, FREE_MB: ds.freeMb, USED_MB: ds.usedMb }, false);
  const body: XmlElement = { ...head, ...tail, IMAGES: images.length > 0 ? { ID: images } : {}, ...(TEMPLATE !== undefined ? { TEMPLATE: wholeText(TEMPLATE) } : {}) };
  return document('DATASTORE', body);
}

/** OpenNebula's host STATE for a host ferry can use: MONITORED ("on"); ferry has no disabled or failed hosts. */
export const ONE_HOST_MONITORED = 2;

/** `onehost show -x`: the host's name, its state and the VMs (not DONE) on it; ferry's hosts have no numeric id. */
export function hostXml(catalog: Pick<CatalogTx, 'listVms'>, host: Host): string {
  const vms = catalog.listVms().filter((vm) => vm.state !== 'DONE' && vm.host === host.name).map((vm) => String(vm.id));
  const { TEMPLATE, ...head }: XmlElement = element({ NAME: host.name, STATE: ONE_HOST_MONITORED, TEMPLATE: { HOSTNAME: host.name } }, false);
  return document('HOST', { ...head, VMS: vms.length > 0 ? { ID: vms } : {}, TEMPLATE: TEMPLATE as XmlValue });
}

function document(root: string, body: XmlElement): string {
  return `${buildXml(root, body)}\n`;
}
