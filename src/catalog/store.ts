/**
 * What the lifecycle and the CLI need of a catalog, whatever stores it.
 * The SQLite catalog (catalog.ts) implements it; a PostgreSQL store can too.
 *
 * Work that reads and writes together runs as `store.transaction((tx) => …)`:
 * `tx` is the same operations, scoped to that transaction, and either all of
 * the body's writes are kept or none. A single operation called on the store
 * outside a transaction is a transaction of its own. A lock's release is an
 * operation like the others: called inside a transaction, it is part of it.
 *
 * Becoming asynchronous: every operation here turns into one returning a
 * Promise of the same value (`datastore(ref): Promise<Datastore>`,
 * `transaction<T>(fn: (tx) => Promise<T>): Promise<T>`, a lock's release
 * `() => Promise<void>`). The lifecycle keeps each group of reads and writes
 * inside one transaction body and passes `tx` down, so that change adds
 * `async`/`await` to those bodies and their callers and moves no code: no
 * transaction spans a driver action, and no body relies on a write being
 * visible outside `tx` before the body returns.
 */
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
import type { FerryError } from '../errors.js';

/** Lets go of a lock; idempotent, and a no-op for a lock that was already ours when taken. */
export type Release = () => void;

/** A lock removed by `breakLocks`: what it was held for, by whom, since when. */
export interface BrokenLock {
  subject: string;
  host: string;
  pid: number;
  operation: string;
  since: string;
}

export interface DatastoreRows {
  addDatastore(input: NewDatastore): Datastore;
  listDatastores(): Datastore[];
  findDatastore(ref: string | number): Datastore | undefined;
  /** By id or name; E_NOT_FOUND names the known ones. */
  datastore(ref: string | number): Datastore;
  updateDatastore(id: number, patch: DatastorePatch): Datastore;
  setMonitor(id: number, figures: MonitorFigures): void;
  /** Refused (E_CONFLICT) while it holds images or VMs not DONE. */
  deleteDatastore(id: number): void;
}

export interface HostRows {
  addHost(input: NewHost): Host;
  updateHost(name: string, patch: HostPatch): Host;
  listHosts(): Host[];
  findHost(name: string): Host | undefined;
  host(name: string): Host;
  /** Refused (E_CONFLICT) while a VM runs there or is being moved there. */
  deleteHost(name: string): void;
}

export interface ImageRows {
  /** Recorded LOCKED. */
  addImage(input: NewImage): Image;
  /** Refuses a name a new image cannot take: all digits (read as an id), or taken. */
  checkNewImageName(name: string): void;
  listImages(): Image[];
  findImage(ref: string | number): Image | undefined;
  image(ref: string | number): Image;
  updateImage(id: number, patch: ImagePatch): Image;
  /** Removes the record; disks of DONE VMs made from it keep theirs, with no image. */
  deleteImageRecord(id: number): void;
  /** VMs (not DONE) with a disk of this image. */
  vmsUsingImage(imageId: number): number[];
}

export interface VmRows {
  /** Recorded PENDING with its disks at <system base>/<vm id>/disk.<i>. */
  addVm(input: NewVm, systemBase: string): Vm;
  listVms(): Vm[];
  findVm(ref: string | number): Vm | undefined;
  vm(ref: string | number): Vm;
  /** `current`: the VM as just read in the same transaction, to spare reading it again. */
  updateVm(id: number, patch: VmPatch, current?: Vm): Vm;
  /** Moves a VM's operation to step `step`. */
  setVmStep(id: number, step: number): void;
  /** A disk's measured size in MB. */
  setDiskSize(vmId: number, diskId: number, sizeMb: number): void;
  setDiskSnapshots(vmId: number, diskId: number, snapshots: number[]): void;
}

export interface JournalRows {
  record(entry: NewJournalEntry): void;
  /** Entries of `subject` (all without one), oldest first. */
  journal(subject?: string): JournalEntry[];
  /**
   * A page of entries (`subject`'s only, when given): with `afterId`, those after it, oldest first (a reader tailing
   * the journal); otherwise the newest first, before `beforeId` when given. At most `limit`, capped at 1000.
   */
  journalPage(query: JournalQuery): JournalEntry[];
}

/** Who holds a lock: a live ferry process on this host, or one on another host (whose life cannot be told from here). */
export interface LockHolder {
  subject: string;
  pid: number;
  host: string;
  operation: string;
  /** ISO time, when it was taken. */
  since: string;
  /** alive: a live process of this host (this one included), or a queued operation under way; other-host: cannot be judged from here. */
  state: 'alive' | 'other-host';
  /** The queued operation that holds it (schema 11); pid and host are then the command's that queued it. */
  operationId?: number;
}

export interface LockRows {
  /** E_BUSY when another live ferry process holds `subject`'s lock; undefined when free or ours. */
  busy(subject: string): FerryError | undefined;
  /** Who holds `subject`'s lock, this process included; undefined when it is free or its holder is gone. */
  lockHolder(subject: string): LockHolder | undefined;
  /** Takes the lock on `subject` (`vm:7`, `image:3`) for this process, or throws E_BUSY naming its live holder. */
  lock(subject: string, operation: string): Release;
  /** Removes the locks ferry processes on `host` hold (only `subject`'s when given); E_BUSY for a live one on this host. */
  breakLocks(host: string, subject?: string): BrokenLock[];
  /** Takes the lock on `subject` for queued operation `operationId`, held until endOperation; E_BUSY as lock(). */
  lockForOperation(subject: string, operation: string, operationId: number): void;
}

/** Operations queued to workers (schema 11, operations.ts). */
export interface OperationRows {
  addOperation(input: NewOperation): Operation;
  setOperationSubject(id: number, subject: string): void;
  findOperation(id: number): Operation | undefined;
  /** E_NOT_FOUND for an unknown id. */
  operation(id: number): Operation;
  /** Newest first. */
  listOperations(filter?: { open?: boolean; subject?: string; limit?: number }): Operation[];
  /** A worker takes it up; returns the record as it was before. */
  startOperation(id: number, worker: string): Operation;
  markStepStarted(id: number, index: number, total: number): void;
  markStepDone(id: number, index: number): void;
  /** Done or failed, its locks let go, in one transaction; false when it had already ended. */
  endOperation(id: number, outcome: { ok: true; resultId?: number | null } | { ok: false; error: FerryError }): boolean;
}

/**
 * Monitoring history (times in integer ms since the epoch): each datastore attribute's samples, raw for a window,
 * then as hourly rollups (min, average, max). A datastore's history goes with it.
 */
export interface HistoryRows {
  /**
   * Records samples, all in one transaction, and folds completed hours into the hourly rollups (a bounded number of
   * series a call); returns how many were recorded. A second sample of a datastore's attribute at the same ms, or
   * one older than the raw watermark (its hour pruned: the rollup is final), is ignored. E_NOT_FOUND for an unknown
   * datastore.
   */
  recordSamples(samples: readonly Sample[]): number;
  /** Points with times in [from, to], oldest first: raw samples inside the raw window, hourly rollups before it. */
  series(datastoreId: number, attribute: string, from: number, to: number): HistoryPoint[];
  /** Each attribute's newest point (raw, or an hour once its samples are pruned). */
  latestSamples(datastoreId: number): Record<string, HistoryPoint>;
  /** `attribute` (default used_mb) now, about a day and about a week before `now` (nearest points, within 3 h and 21 h). */
  trend(datastoreId: number, now: number, attribute?: string): Trend;
  /** Folds what is left into the rollups, then deletes what is past the windows (raw: 48 h, rollups: 400 days by default), in bounded batches of rows. */
  pruneHistory(now: number, retention?: Retention): PruneResult;
}

/** The monitor's state per datastore: consecutive failures put it in ERROR, a success puts it back OK. */
export interface MonitorRows {
  /** OK with no failures until a run is recorded; E_NOT_FOUND for an unknown datastore. */
  monitorState(datastoreId: number): MonitorState;
  listMonitorStates(): MonitorState[];
  recordMonitorSuccess(datastoreId: number, at?: number): MonitorOutcome;
  /** The `errorAfter`th failure in a row (default 3) puts the datastore in ERROR (`changed`). */
  recordMonitorFailure(datastoreId: number, error: string, options?: { at?: number; errorAfter?: number }): MonitorOutcome;
}

/** Alerts, and the evaluator's state per (rule, subject). Times given as `at` are ms (default now); records carry ISO times. */
export interface AlertRows {
  /** Idempotent: while (rule, subject) has a firing alert, returns it unchanged with `raised: false`, never a second one. */
  raiseAlert(input: NewAlert): RaisedAlert;
  /** Clears the firing alert of (rule, subject): it, cleared; undefined when none fires. */
  clearAlert(rule: string, subject: AlertSubjectRef, at?: number): Alert | undefined;
  /** Acknowledges an alert (the first acknowledgement is kept); E_NOT_FOUND for an unknown id. */
  ackAlert(id: number, by: string, at?: number): Alert;
  /** Oldest first; all filters given apply. */
  listAlerts(filter?: AlertFilter): Alert[];
  findAlert(id: number): Alert | undefined;
  /** E_NOT_FOUND for an unknown id. */
  alert(id: number): Alert;
  /** What the evaluator stored for (rule, subject), or undefined. */
  evaluatorState(rule: string, subject: AlertSubjectRef): unknown;
  /** Stores `state` as JSON; undefined deletes it. */
  putEvaluatorState(rule: string, subject: AlertSubjectRef, state: unknown, at?: number): void;
  /** Only `rule`'s, only `subject`'s, when given. */
  listEvaluatorStates(rule?: string, subject?: AlertSubjectRef): EvaluatorState[];
}

/** The alert hooks' outbox (notices.ts): each alert raised or cleared, claimed for a lease, then delivered. */
export interface NoticeRows {
  /** Claims undelivered notices (oldest first, in order per alert) for `owner` until `now + leaseMs`. */
  claimNotices(owner: string, now: number, leaseMs: number, limit: number): AlertNotice[];
  /** Ends `owner`'s claim: delivered, or failed (retried from `retryAtMs`, or given up); false when the claim was lost. */
  finishNotice(id: number, owner: string, outcome: NoticeOutcome): boolean;
  /** An alert's notices (every undelivered one without `alertId`), oldest first. */
  listNotices(alertId?: number): AlertNotice[];
  /** Deletes notices delivered before `before` (ms); how many. */
  pruneNotices(before: number): number;
}

/** The catalog's operations, inside one transaction (or, on the store itself, each its own). */
export interface CatalogTx extends DatastoreRows, HostRows, ImageRows, VmRows, JournalRows, LockRows, OperationRows, HistoryRows, MonitorRows, AlertRows, NoticeRows {}

export interface CatalogStore extends CatalogTx {
  /** Where the catalog is (a file's path, or a database's address): how an operator finds it. */
  readonly path: string;
  /** The catalog's identity, made once: a datastore folder's marker names it (lifecycle/owner-marker.ts). */
  identity(): string;
  /** Runs `fn` in one write transaction: its writes are all kept, or (when it throws) none. Nested: a savepoint. */
  transaction<T>(fn: (tx: CatalogTx) => T): T;
  /** Runs `fn` in a transaction that is always rolled back: what a change would do and whether it is allowed (--dry-run). */
  preview<T>(fn: (tx: CatalogTx) => T): T;
  /** Which store the catalog is on: operations are queued to workers on PostgreSQL only. */
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Works for queued operation `id` from now on (undefined: for this process again): that operation's locks are
   * this catalog's own (a worker running it: queue/task.ts).
   */
  actFor(id: number | undefined): void;
  close(): void;
}
