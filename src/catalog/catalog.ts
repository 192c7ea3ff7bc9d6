/**
 * The catalog in one SQLite file: datastores, hosts, images, VMs and a
 * journal of every driver action, behind the CatalogStore interface
 * (store.ts). Every change is one transaction, so a killed ferry leaves each
 * record as it was before or after, never half-written. Several ferry
 * processes may share a catalog (WAL); work on one image or VM is serialized
 * by a lock row (locks.ts). The rows of each table are the job of their own
 * module; this class only binds them to one connection.
 */
import { resolve } from 'node:path';
import type { FerryError } from '../errors.js';
import type {
  Datastore,
  DatastorePatch,
  Host,
  HostPatch,
  Image,
  ImagePatch,
  JournalEntry,
  MonitorFigures,
  NewDatastore,
  NewHost,
  NewImage,
  NewJournalEntry,
  NewVm,
  Vm,
  VmPatch,
} from '../model.js';
import { Connection } from './connection.js';
import * as datastores from './datastores.js';
import * as hosts from './hosts.js';
import * as images from './images.js';
import * as journal from './journal.js';
import * as locks from './locks.js';
import * as meta from './meta.js';
import type { BrokenLock, CatalogStore, CatalogTx, Release } from './store.js';
import * as vms from './vms.js';

export type { CatalogStore, CatalogTx } from './store.js';

export { catalogPath } from '../config/catalog-path.js';
export { keyFileOf } from './secrets.js';

/** The SQLite catalog. One connection: a transaction's handle is the catalog itself. */
export class Catalog implements CatalogStore {
  private constructor(private readonly c: Connection) {}

  /** Opens (creating and migrating as needed) the catalog at `path`; its secrets' key is `keyFile` (secrets.ts: keyFileOf). */
  static open(path: string, keyFile?: string): Catalog {
    return new Catalog(Connection.open(path, keyFile));
  }

  get path(): string {
    return this.c.path;
  }

  /** The schema version this catalog is at. */
  get version(): number {
    return this.c.version;
  }

  identity(): string {
    return meta.catalogId(this.c);
  }

  close(): void {
    this.c.close();
  }

  transaction<T>(fn: (tx: CatalogTx) => T): T {
    return this.c.transaction(() => fn(this));
  }

  preview<T>(fn: (tx: CatalogTx) => T): T {
    return this.c.preview(() => fn(this));
  }

  // --- datastores
  addDatastore(input: NewDatastore): Datastore {
    return datastores.addDatastore(this.c, input);
  }
  listDatastores(): Datastore[] {
    return datastores.listDatastores(this.c);
  }
  findDatastore(ref: string | number): Datastore | undefined {
    return datastores.findDatastore(this.c, ref);
  }
  datastore(ref: string | number): Datastore {
    return datastores.datastore(this.c, ref);
  }
  updateDatastore(id: number, patch: DatastorePatch): Datastore {
    return datastores.updateDatastore(this.c, id, patch);
  }
  setMonitor(id: number, figures: MonitorFigures): void {
    datastores.setMonitor(this.c, id, figures);
  }
  deleteDatastore(id: number): void {
    datastores.deleteDatastore(this.c, id);
  }

  // --- hosts
  addHost(input: NewHost): Host {
    return hosts.addHost(this.c, input);
  }
  updateHost(name: string, patch: HostPatch): Host {
    return hosts.updateHost(this.c, name, patch);
  }
  listHosts(): Host[] {
    return hosts.listHosts(this.c);
  }
  findHost(name: string): Host | undefined {
    return hosts.findHost(this.c, name);
  }
  host(name: string): Host {
    return hosts.host(this.c, name);
  }
  deleteHost(name: string): void {
    hosts.deleteHost(this.c, name);
  }

  // --- images
  addImage(input: NewImage): Image {
    return images.addImage(this.c, input);
  }
  checkNewImageName(name: string): void {
    images.checkNewImageName(this.c, name);
  }
  listImages(): Image[] {
    return images.listImages(this.c);
  }
  findImage(ref: string | number): Image | undefined {
    return images.findImage(this.c, ref);
  }
  image(ref: string | number): Image {
    return images.image(this.c, ref);
  }
  updateImage(id: number, patch: ImagePatch): Image {
    return images.updateImage(this.c, id, patch);
  }
  deleteImageRecord(id: number): void {
    images.deleteImageRecord(this.c, id);
  }
  vmsUsingImage(imageId: number): number[] {
    return images.vmsUsingImage(this.c, imageId);
  }

  // --- VMs
  addVm(input: NewVm, systemBase: string): Vm {
    return vms.addVm(this.c, input, systemBase);
  }
  listVms(): Vm[] {
    return vms.listVms(this.c);
  }
  findVm(ref: string | number): Vm | undefined {
    return vms.findVm(this.c, ref);
  }
  vm(ref: string | number): Vm {
    return vms.vm(this.c, ref);
  }
  updateVm(id: number, patch: VmPatch, current?: Vm): Vm {
    return vms.updateVm(this.c, id, patch, current);
  }
  setVmStep(id: number, step: number): void {
    vms.setVmStep(this.c, id, step);
  }
  setDiskSnapshots(vmId: number, diskId: number, snapshots: number[]): void {
    vms.setDiskSnapshots(this.c, vmId, diskId, snapshots);
  }

  // --- journal
  record(entry: NewJournalEntry): void {
    journal.record(this.c, entry);
  }
  journal(subject?: string): JournalEntry[] {
    return journal.journal(this.c, subject);
  }

  // --- locks
  busy(subject: string): FerryError | undefined {
    return locks.busy(this.c, subject);
  }
  lock(subject: string, operation: string): Release {
    return locks.lock(this.c, subject, operation);
  }
  breakLocks(host: string, subject?: string): BrokenLock[] {
    return locks.breakLocks(this.c, host, subject);
  }
}
