/**
 * ferry's domain records: datastores, hosts, images, VMs and their disks,
 * plan steps and journal entries, with what each is made and changed from.
 * Plain types: the catalog stores them, the lifecycle and the CLI use them,
 * and none of them needs SQLite to be loaded.
 */

export type DatastoreType = 'IMAGE' | 'SYSTEM' | 'FILE';
export type ImageState = 'LOCKED' | 'READY' | 'USED' | 'ERROR' | 'DELETING';
export type VmState = 'PENDING' | 'RUNNING' | 'STOPPED' | 'DONE' | 'FAILED';
export type DiskKind = 'image' | 'volatile' | 'swap' | 'context';

export interface Datastore {
  id: number;
  name: string;
  type: DatastoreType;
  dsMad: string | null;
  tmMad: string;
  basePath: string;
  /** Template attributes passed to drivers in the dump. */
  template: Record<string, string>;
  /** Secret attributes: given to drivers in their environment only, never in a dump, a log or output. */
  secrets: Record<string, string>;
  totalMb: number | null;
  freeMb: number | null;
  usedMb: number | null;
  monitoredAt: string | null;
  origin: 'catalog' | 'config';
  createdAt: string;
}

export interface Host {
  name: string;
  transport: 'local' | 'ssh';
  address: string | null;
  port: number | null;
  user: string | null;
  identity: string | null;
  knownHosts: string | null;
  createdAt: string;
}

export interface Image {
  id: number;
  name: string;
  datastoreId: number;
  path: string | null;
  source: string | null;
  sizeMb: number | null;
  format: string | null;
  fs: string | null;
  type: string;
  persistent: boolean;
  state: ImageState;
  error: string | null;
  snapshots: number[];
  /** The image this one was cloned from (image clone), if any. */
  clonedFrom: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface VmDisk {
  diskId: number;
  kind: DiskKind;
  imageId: number | null;
  mode: 'clone' | 'ln' | null;
  sizeMb: number | null;
  format: string | null;
  /** Context disk: the files to put on it. */
  files: string[] | null;
  /** Path of the disk on the host: <system base>/<vm id>/disk.<i>. */
  target: string;
  /** Snapshot ids taken of this disk (TM snap_create), oldest first. */
  snapshots: number[];
}

/** What a step made or acts on, recorded with it so its undo never has to guess from argument positions. */
export interface StepRefs {
  /** The VM disk the step makes, moves or acts on. */
  disk?: number;
  /** The snapshot id a snapshot step takes, reverts or deletes. */
  snapshot?: number;
  /** Where the step puts (or finds) its result: host:path. */
  at?: string;
  /** Where a move or copy takes it from: host:path, or an image's SOURCE. */
  from?: string;
  /** The SOURCE of the image a disk is linked to (ln, mvds): where its undo moves it back. */
  source?: string;
  /** The datastore id the step runs for (a TM action's last argument). */
  ds?: number;
  /** The image a datastore action is for. */
  image?: number;
}

/** One step of a plan: a transfer-file line, run with `driver` of `kind`. */
export interface PlanStep {
  kind: 'tm' | 'datastore';
  action: string;
  driver: string;
  args: string[];
  /** What the step is for, shown with --dry-run and in failures. */
  why: string;
  /** What the step acts on: for recording its effect when it is done, and for undoing it. */
  refs?: StepRefs;
}

export interface Vm {
  id: number;
  name: string;
  host: string;
  systemDsId: number;
  state: VmState;
  /** The operation under way or failed (create, stop, resume, migrate, shutdown …), with its plan and the next step. */
  operation: string | null;
  plan: PlanStep[] | null;
  step: number | null;
  previousState: VmState | null;
  targetHost: string | null;
  error: string | null;
  disks: VmDisk[];
  createdAt: string;
  updatedAt: string;
}

export interface JournalEntry {
  id: number;
  at: string;
  subject: string;
  operation: string;
  step: number | null;
  kind: string;
  driver: string;
  action: string;
  args: string[];
  ok: boolean;
  exitCode: number | null;
  durationMs: number | null;
  message: string | null;
  logs: Array<{ level: string; message: string }>;
}

/**
 * A page of the journal (JournalRows.journalPage): with `afterId`, the entries after it, oldest first; otherwise
 * the newest first (before `beforeId` when given). `limit` is capped at 1000; `subject` keeps only its entries.
 */
export interface JournalQuery {
  afterId?: number;
  beforeId?: number;
  limit: number;
  subject?: string;
}

/** What a datastore is created from. */
export type NewDatastore = Pick<Datastore, 'name' | 'type' | 'tmMad' | 'basePath'> & Partial<Pick<Datastore, 'dsMad' | 'template' | 'secrets' | 'origin' | 'id'>>;
export type NewHost = Pick<Host, 'name' | 'transport'> & Partial<Pick<Host, 'address' | 'port' | 'user' | 'identity' | 'knownHosts'>>;
export type NewImage = Pick<Image, 'name' | 'datastoreId'> & Partial<Pick<Image, 'path' | 'sizeMb' | 'format' | 'fs' | 'type' | 'persistent' | 'clonedFrom'>>;
export type NewVm = Pick<Vm, 'name' | 'host' | 'systemDsId'> & { disks: Array<Omit<VmDisk, 'target' | 'snapshots'> & { snapshots?: number[] }> };
/** A journal entry as recorded (its id and time are the catalog's). */
export type NewJournalEntry = Omit<JournalEntry, 'id' | 'at'>;

/** What an update of each record may change. */
export type DatastorePatch = Partial<Pick<Datastore, 'name' | 'dsMad' | 'tmMad' | 'basePath' | 'template' | 'secrets'>>;
export type HostPatch = Partial<Omit<Host, 'name' | 'createdAt'>>;
export type ImagePatch = Partial<Pick<Image, 'source' | 'sizeMb' | 'format' | 'state' | 'error' | 'snapshots' | 'persistent'>>;
export type VmPatch = Partial<Pick<Vm, 'host' | 'state' | 'operation' | 'plan' | 'step' | 'previousState' | 'targetHost' | 'error'>>;
/** A datastore's capacity as its monitor reports it. */
export interface MonitorFigures {
  totalMb: number;
  freeMb: number;
  usedMb: number;
}

// --- Monitoring: history, the monitor's state, alerts (catalog schema 9)

/** One monitored figure of a datastore at a time (integer ms since the epoch), as recorded. */
export interface Sample {
  datastoreId: number;
  /** The attribute's name (`used_mb`, `free_mb`, `total_mb`, or any other the monitor reports). */
  attribute: string;
  at: number;
  value: number;
}

/**
 * A point of a series: a raw sample (`kind: 'raw'`: value = min = max, count 1), or an hour's rollup
 * (`kind: 'hour'`: `at` the hour's start, `value` its average, and its min, max and sample count).
 */
export interface HistoryPoint {
  kind: 'raw' | 'hour';
  at: number;
  value: number;
  min: number;
  max: number;
  count: number;
}

/** An attribute's value now, about a day and about a week before (null where no sample is near enough). */
export interface Trend {
  attribute: string;
  now: HistoryPoint | null;
  dayAgo: HistoryPoint | null;
  weekAgo: HistoryPoint | null;
}

/** How long history is kept: raw samples (default 48 h), hourly rollups (default 400 days). */
export interface Retention {
  rawWindowMs?: number;
  rollupWindowMs?: number;
}

/** What a prune removed. */
export interface PruneResult {
  samples: number;
  /** Rows of history_rollups: one series' hours of one day each. */
  rollupDays: number;
}

export type MonitorHealth = 'OK' | 'ERROR';

/** A datastore's monitor, as its runs left it: consecutive failures, the last error, the last success (ISO times). */
export interface MonitorState {
  datastoreId: number;
  state: MonitorHealth;
  failures: number;
  lastError: string | null;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
}

/** A monitor run recorded: the new state, and whether this run changed it (OK -> ERROR, ERROR -> OK). */
export interface MonitorOutcome extends MonitorState {
  changed: boolean;
}

/** Delfin's scale, most severe first. */
export const ALERT_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export type AlertState = 'firing' | 'cleared';

/** What an alert is about, or affects: a kind (`datastore`, `host`, `image`, `vm`, `driver` …) and its id or name. */
export interface AlertSubject {
  kind: string;
  id: string;
}

export interface Alert {
  /** Only grows: never reused, also after an alert is deleted. */
  id: number;
  rule: string;
  subject: AlertSubject;
  severity: AlertSeverity;
  state: AlertState;
  value: number | null;
  message: string;
  affects: AlertSubject[];
  raisedAt: string;
  clearedAt: string | null;
  ackedAt: string | null;
  ackedBy: string | null;
}

/** What an alert is raised with; `at` (ms) defaults to now. A subject's id may be given as a number. */
export interface NewAlert {
  rule: string;
  subject: AlertSubjectRef;
  severity: AlertSeverity;
  message: string;
  value?: number | null;
  affects?: AlertSubjectRef[];
  at?: number;
}

/** A subject as callers name it: its id as a number or a string (stored as a string). */
export interface AlertSubjectRef {
  kind: string;
  id: string | number;
}

/** A raise: the firing alert, and whether this call raised it (false: it was firing already, and is returned unchanged). */
export interface RaisedAlert {
  alert: Alert;
  raised: boolean;
}

/** Which alerts `listAlerts` returns (all given filters apply); a subject without id: all of that kind. */
export interface AlertFilter {
  state?: AlertState;
  severity?: AlertSeverity | readonly AlertSeverity[];
  subject?: { kind: string; id?: string | number };
  rule?: string;
}

/** The alert evaluator's state for one (rule, subject), as it stored it. */
export interface EvaluatorState {
  rule: string;
  subject: AlertSubject;
  state: unknown;
  updatedAt: string;
}

/** An alert raised or cleared, waiting for (or done with) the alert hooks: the hooks' outbox (catalog notices.ts). */
export interface AlertNotice {
  /** Only grows; a hook may use it to tell a repeated delivery (after a crash) from a new one. */
  id: number;
  alertId: number;
  event: 'raised' | 'cleared';
  at: string;
  attempts: number;
  deliveredAt: string | null;
  lastError: string | null;
}

/** How a claimed notice's delivery ended: delivered, or failed (retried after `retryAtMs`, or given up when absent). */
export type NoticeOutcome = { ok: true; at?: number } | { ok: false; error: string; retryAtMs?: number; at?: number };

/** Where a queued operation stands (schema 11). */
export type OperationState = 'queued' | 'running' | 'done' | 'failed';

/** An operation queued to workers: a PostgreSQL catalog's commands queue their VM and image operations. */
export interface Operation {
  id: number;
  /** What it locks and queues on: `vm:7`, `image:3`; `op:<id>` for one that makes a new image. */
  subject: string;
  /** The request's kind (queue/request.ts). */
  kind: string;
  /** create, stop, clone …: what a person reads. */
  operation: string;
  /** How a worker plans it again (queue/request.ts); no secret in it. */
  request: unknown;
  state: OperationState;
  /** The hosts and datastores it touches (`host:node1`, `ds:100`): a worker limited to others does not take it. */
  scope: string[];
  createdAt: string;
  /** host:pid of the command that queued it. */
  createdBy: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** host:pid of the worker that runs (ran) it. */
  worker: string | null;
  /** Times a worker took it up (more than one: a worker died in it, or handed it back). */
  attempts: number;
  steps: number | null;
  stepStarted: number | null;
  stepDone: number | null;
  /** The VM's or image's id, once done. */
  resultId: number | null;
  errorCode: string | null;
  error: string | null;
  errorHint: string | null;
}

export type NewOperation = Pick<Operation, 'subject' | 'kind' | 'operation' | 'request' | 'scope' | 'createdBy'>;
