/**
 * The catalog in one SQLite file or one PostgreSQL database: datastores, hosts, images, VMs and a
 * journal of every driver action, behind the CatalogStore interface
 * (store.ts). Every change is one transaction, so a killed ferry leaves each
 * record as it was before or after, never half-written. Several ferry
 * processes may share a catalog (SQLite's WAL, or the server); work on one image or VM is serialized
 * by a lock row (locks.ts). The rows of each table are the job of their own
 * module; this class only binds them to one connection.
 */
import type { FerryError } from '../errors.js';
import type {
  Alert,
  AlertNotice,
  AlertFilter,
  AlertSubjectRef,
  Datastore,
  DatastorePatch,
  EvaluatorState,
  HistoryPoint,
  Host,
  HostPatch,
  Image,
  ImagePatch,
  JournalEntry,
  JournalQuery,
  MonitorFigures,
  MonitorOutcome,
  MonitorState,
  NewAlert,
  NewDatastore,
  NewHost,
  NewImage,
  NewJournalEntry,
  NewOperation,
  NewVm,
  NoticeOutcome,
  Operation,
  PruneResult,
  RaisedAlert,
  Retention,
  Sample,
  Trend,
  Vm,
  VmPatch,
} from '../model.js';
import * as alerts from './alerts.js';
import { Connection } from './connection.js';
import type { Dialect, Executor } from './db/executor.js';
import { isPostgresUrl, parsePostgresUrl, type CatalogLocation } from './location.js';
import { findPassword } from './pgpass.js';
import { keyFileOf, pgKeyFileOf } from './secrets.js';
import * as datastores from './datastores.js';
import * as history from './history.js';
import * as monitorStates from './monitor-state.js';
import * as hosts from './hosts.js';
import * as images from './images.js';
import * as journal from './journal.js';
import * as locks from './locks.js';
import * as meta from './meta.js';
import * as notices from './notices.js';
import type { BrokenLock, CatalogStore, CatalogTx, LockHolder, Release } from './store.js';
import * as operations from './operations.js';
import * as vms from './vms.js';

export type { CatalogStore, CatalogTx } from './store.js';

export { catalogLocation, catalogName } from '../config/catalog-path.js';
export { keyFileOf } from './secrets.js';

/** The catalog, on SQLite or PostgreSQL. One connection: a transaction's handle is the catalog itself. */
export class Catalog implements CatalogStore {
  private constructor(private readonly c: Connection) {}

  /**
   * Opens (creating and migrating as needed) the catalog at `where`: a SQLite file path, a postgres:// URL, or a
   * CatalogLocation. Its secrets' key is `keyFile`, by default `<file>.key` for SQLite (secrets.ts: keyFileOf)
   * and `catalog-<id>.key` in ferry's home for PostgreSQL (pgKeyFileOf). A PostgreSQL catalog's password is
   * found in `env` as libpq finds it (pgpass.ts: $PGPASSWORD, else the pgpass file); its database must exist.
   */
  static open(where: string | CatalogLocation, keyFile?: string, env: Readonly<Record<string, string | undefined>> = process.env): Catalog {
    const location: CatalogLocation = typeof where !== 'string' ? where : isPostgresUrl(where) ? parsePostgresUrl(where, '--catalog', env) : { kind: 'sqlite', path: where, from: '--catalog' };
    if (location.kind === 'sqlite') return new Catalog(Connection.open(location.path, keyFile));
    const found = findPassword(location, env);
    return new Catalog(Connection.openPostgres(location, found?.password, keyFile ?? ((id) => pgKeyFileOf(id, env)), found?.source));
  }

  /**
   * Opens the catalog a command found (config/catalog-path.ts's catalogLocation), with its key where `env` says:
   * $FERRY_SECRET_KEY_FILE, else `<file>.key` beside a SQLite catalog, `catalog-<id>.key` in ferry's home for PostgreSQL.
   */
  static openAt(location: CatalogLocation, env: Readonly<Record<string, string | undefined>> = process.env): Catalog {
    return Catalog.open(location, location.kind === 'sqlite' ? keyFileOf(location.path, env) : undefined, env);
  }

  /** The catalog's file, or its PostgreSQL URL (never with a password). */
  get path(): string {
    return this.c.path;
  }

  /** The connection's executor: for SQL of another schema run in the catalog's transactions (queue/submit.ts). */
  get executor(): Executor {
    return this.c.ex;
  }

  /** Which store the catalog is on. */
  get dialect(): Dialect {
    return this.c.dialect;
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
  setDiskSize(vmId: number, diskId: number, sizeMb: number): void {
    vms.setDiskSize(this.c, vmId, diskId, sizeMb);
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
  journalPage(query: JournalQuery): JournalEntry[] {
    return journal.journalPage(this.c, query);
  }

  // --- locks
  lockHolder(subject: string): LockHolder | undefined {
    return locks.lockHolder(this.c, subject);
  }

  busy(subject: string): FerryError | undefined {
    return locks.busy(this.c, subject);
  }
  lock(subject: string, operation: string): Release {
    return locks.lock(this.c, subject, operation);
  }
  breakLocks(host: string, subject?: string): BrokenLock[] {
    return locks.breakLocks(this.c, host, subject);
  }
  lockForOperation(subject: string, operation: string, operationId: number): void {
    locks.lockForOperation(this.c, subject, operation, operationId);
  }
  actFor(id: number | undefined): void {
    this.c.actingFor = id;
  }

  // --- operations queued to workers
  addOperation(input: NewOperation): Operation {
    return operations.addOperation(this.c, input);
  }
  setOperationSubject(id: number, subject: string): void {
    operations.setOperationSubject(this.c, id, subject);
  }
  findOperation(id: number): Operation | undefined {
    return operations.findOperation(this.c, id);
  }
  operation(id: number): Operation {
    return operations.operation(this.c, id);
  }
  listOperations(filter?: { open?: boolean; subject?: string; limit?: number }): Operation[] {
    return operations.listOperations(this.c, filter);
  }
  startOperation(id: number, worker: string): Operation {
    return operations.startOperation(this.c, id, worker);
  }
  markStepStarted(id: number, index: number, total: number): void {
    operations.markStepStarted(this.c, id, index, total);
  }
  markStepDone(id: number, index: number): void {
    operations.markStepDone(this.c, id, index);
  }
  endOperation(id: number, outcome: { ok: true; resultId?: number | null } | { ok: false; error: FerryError }): boolean {
    return operations.endOperation(this.c, id, outcome);
  }

  // --- history
  recordSamples(samples: readonly Sample[]): number {
    return history.recordSamples(this.c, samples);
  }
  series(datastoreId: number, attribute: string, from: number, to: number): HistoryPoint[] {
    return history.series(this.c, datastoreId, attribute, from, to);
  }
  latestSamples(datastoreId: number): Record<string, HistoryPoint> {
    return history.latest(this.c, datastoreId);
  }
  trend(datastoreId: number, now: number, attribute?: string): Trend {
    return history.trend(this.c, datastoreId, now, attribute);
  }
  pruneHistory(now: number, retention?: Retention): PruneResult {
    return history.prune(this.c, now, retention);
  }

  // --- the monitor's state
  monitorState(datastoreId: number): MonitorState {
    return monitorStates.monitorState(this.c, datastoreId);
  }
  listMonitorStates(): MonitorState[] {
    return monitorStates.listMonitorStates(this.c);
  }
  recordMonitorSuccess(datastoreId: number, at?: number): MonitorOutcome {
    return monitorStates.recordMonitorSuccess(this.c, datastoreId, at);
  }
  recordMonitorFailure(datastoreId: number, error: string, options?: { at?: number; errorAfter?: number }): MonitorOutcome {
    return monitorStates.recordMonitorFailure(this.c, datastoreId, error, options);
  }

  // --- alerts
  raiseAlert(input: NewAlert): RaisedAlert {
    return alerts.raiseAlert(this.c, input);
  }
  clearAlert(rule: string, subject: AlertSubjectRef, at?: number): Alert | undefined {
    return alerts.clearAlert(this.c, rule, subject, at);
  }
  ackAlert(id: number, by: string, at?: number): Alert {
    return alerts.ackAlert(this.c, id, by, at);
  }
  listAlerts(filter?: AlertFilter): Alert[] {
    return alerts.listAlerts(this.c, filter);
  }
  findAlert(id: number): Alert | undefined {
    return alerts.findAlert(this.c, id);
  }
  alert(id: number): Alert {
    return alerts.alert(this.c, id);
  }
  evaluatorState(rule: string, subject: AlertSubjectRef): unknown {
    return alerts.evaluatorState(this.c, rule, subject);
  }
  putEvaluatorState(rule: string, subject: AlertSubjectRef, state: unknown, at?: number): void {
    alerts.putEvaluatorState(this.c, rule, subject, state, at);
  }
  listEvaluatorStates(rule?: string, subject?: AlertSubjectRef): EvaluatorState[] {
    return alerts.listEvaluatorStates(this.c, rule, subject);
  }

  claimNotices(owner: string, now: number, leaseMs: number, limit: number): AlertNotice[] {
    return notices.claimNotices(this.c, owner, now, leaseMs, limit);
  }
  finishNotice(id: number, owner: string, outcome: NoticeOutcome): boolean {
    return notices.finishNotice(this.c, id, owner, outcome);
  }
  listNotices(alertId?: number): AlertNotice[] {
    return notices.listNotices(this.c, alertId);
  }
  pruneNotices(before: number): number {
    return notices.pruneNotices(this.c, before);
  }
}
