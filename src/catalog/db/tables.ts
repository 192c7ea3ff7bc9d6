/**
 * The catalog's tables as Kysely sees them: every table and column of the schema at its current version
 * (schema.ts, migrations 1 to 10; postgres-schema.ts makes the same on PostgreSQL), typed as a row comes back
 * from either store. Faithful to what is stored: flags are 0/1 integers, times are ISO-8601 text except the
 * history's and notices' integer milliseconds, JSON documents are text, a rollup day is a blob (Buffer).
 *
 * Kysely's column types: `Generated<T>` is optional on insert (the column has a default); a plain `T` must be
 * given. The ids of datastores, images, VMs and alerts are given by the insert (the next one comes from
 * id_sequences: ids are never reused), so they are plain.
 */
import type { Generated } from 'kysely';

/** A flag as stored: 1 true, 0 false (SQLite has no boolean; PostgreSQL keeps a smallint so rows match). */
export type Flag = 0 | 1;

export interface DatastoresTable {
  id: number;
  name: string;
  type: 'IMAGE' | 'SYSTEM' | 'FILE';
  ds_mad: string | null;
  tm_mad: string;
  base_path: string;
  /** JSON object of template attributes. */
  template: Generated<string>;
  /** JSON object of sealed secret attributes (secrets.ts). */
  secrets: Generated<string>;
  total_mb: number | null;
  free_mb: number | null;
  used_mb: number | null;
  monitored_at: string | null;
  origin: Generated<'catalog' | 'config'>;
  created_at: string;
}

export interface HostsTable {
  name: string;
  transport: 'local' | 'ssh';
  address: string | null;
  port: number | null;
  user: string | null;
  identity: string | null;
  known_hosts: string | null;
  created_at: string;
}

export interface ImagesTable {
  id: number;
  name: string;
  datastore_id: number;
  path: string | null;
  source: string | null;
  size_mb: number | null;
  format: string | null;
  fs: string | null;
  type: Generated<string>;
  persistent: Generated<Flag>;
  state: 'LOCKED' | 'READY' | 'USED' | 'ERROR' | 'DELETING';
  error: string | null;
  /** JSON array of snapshots. */
  snapshots: Generated<string>;
  created_at: string;
  updated_at: string;
  /** The image this one was cloned from (schema 2); no reference: the source may be deleted since. */
  cloned_from: number | null;
}

export interface VmsTable {
  id: number;
  /** Unique among the VMs not DONE only (schema 6). */
  name: string;
  host: string;
  system_ds_id: number;
  state: 'PENDING' | 'RUNNING' | 'STOPPED' | 'DONE' | 'FAILED';
  operation: string | null;
  /** JSON of the operation's plan. */
  plan: string | null;
  step: number | null;
  previous_state: string | null;
  target_host: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface VmDisksTable {
  vm_id: number;
  disk_id: number;
  kind: 'image' | 'volatile' | 'swap' | 'context';
  image_id: number | null;
  mode: 'clone' | 'ln' | null;
  size_mb: number | null;
  format: string | null;
  /** JSON array of a context disk's files. */
  files: string | null;
  target: string;
  /** JSON array of the disk's snapshots (schema 2). */
  snapshots: Generated<string>;
}

export interface JournalTable {
  /** Only grows: the store gives it (SQLite max + 1, rows are never deleted; PostgreSQL an identity). */
  id: Generated<number>;
  at: string;
  subject: string;
  operation: string;
  step: number | null;
  kind: string;
  driver: string;
  action: string;
  /** JSON array of the action's arguments. */
  args: string;
  ok: Flag;
  exit_code: number | null;
  duration_ms: number | null;
  message: string | null;
  /** JSON array of log lines. */
  logs: Generated<string>;
}

export interface LocksTable {
  subject: string;
  owner_pid: number;
  owner_host: string;
  operation: string;
  since: string;
  /** The owner's start time (schema 5, owner.ts); '' in rows from before. */
  owner_started: Generated<string>;
  /** The operation holding the lock (schema 11), whichever process runs it; null: the process owner holds it. */
  owner_operation: number | null;
}

/** An operation queued to workers (schema 11, operations.ts). */
export interface OperationsTable {
  id: Generated<number>;
  /** What it locks and queues on: `vm:7`, `image:3`; `op:<id>` for one that makes a new image. */
  subject: string;
  /** The request's kind (queue/request.ts): vm, vm-new, recover, image-create … */
  kind: string;
  /** create, stop, clone …: what a person reads. */
  operation: string;
  /** JSON: how the worker plans it again (queue/request.ts). */
  request: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  /** JSON array of the hosts and datastores it touches (`host:node1`, `ds:100`): which workers may run it. */
  scope: Generated<string>;
  created_at: string;
  /** host:pid of the command that queued it. */
  created_by: string;
  started_at: string | null;
  finished_at: string | null;
  /** host:pid of the worker that runs (ran) it. */
  worker: string | null;
  attempts: Generated<number>;
  steps: number | null;
  /** The plan step a worker last started, and the last it finished: a step started and not finished was in flight. */
  step_started: number | null;
  step_done: number | null;
  /** The VM's or image's id once done. */
  result_id: number | null;
  error_code: string | null;
  error: string | null;
  error_hint: string | null;
}

/** Each table's last id ever given (schema 4): 'datastores', 'images', 'vms', 'alerts'. Kept by triggers on insert. */
export interface IdSequencesTable {
  name: string;
  last: number;
}

/** The catalog's own settings (schema 8): 'catalog_id', and the history's cursors. */
export interface MetaTable {
  key: string;
  value: string;
}

export interface HistorySeriesTable {
  id: Generated<number>;
  datastore_id: number;
  attribute: string;
}

export interface HistorySamplesTable {
  /** Integer hours since the epoch (the key's first part: a prune deletes from the front). */
  hour: number;
  series_id: number;
  /** Milliseconds since the epoch. */
  at: number;
  value: number;
}

export interface HistoryRollupsTable {
  /** Integer UTC days since the epoch. */
  day: number;
  series_id: number;
  /** A day's hourly rollups, packed (rollups.ts). */
  hours: Buffer;
}

export interface MonitorStateTable {
  datastore_id: number;
  state: Generated<'OK' | 'ERROR'>;
  failures: Generated<number>;
  last_error: string | null;
  last_failure_at: string | null;
  last_success_at: string | null;
}

export interface AlertsTable {
  id: number;
  rule: string;
  subject_kind: string;
  subject_id: string;
  severity: 'critical' | 'major' | 'minor' | 'warning' | 'info';
  state: 'firing' | 'cleared';
  value: number | null;
  message: string;
  /** JSON array of the subjects it affects. */
  affects: Generated<string>;
  raised_at: string;
  cleared_at: string | null;
  acked_at: string | null;
  acked_by: string | null;
}

export interface AlertRuleStateTable {
  rule: string;
  subject_kind: string;
  subject_id: string;
  /** JSON of the evaluator's state. */
  state: string;
  updated_at: string;
}

export interface AlertNoticesTable {
  id: Generated<number>;
  alert_id: number;
  event: 'raised' | 'cleared';
  at: string;
  attempts: Generated<number>;
  claimed_by: string | null;
  /** Milliseconds since the epoch. */
  claimed_until: number | null;
  delivered_at: string | null;
  last_error: string | null;
}

/** Every table of the catalog, by name. */
export interface Database {
  datastores: DatastoresTable;
  hosts: HostsTable;
  images: ImagesTable;
  vms: VmsTable;
  vm_disks: VmDisksTable;
  journal: JournalTable;
  locks: LocksTable;
  operations: OperationsTable;
  id_sequences: IdSequencesTable;
  meta: MetaTable;
  history_series: HistorySeriesTable;
  history_samples: HistorySamplesTable;
  history_rollups: HistoryRollupsTable;
  monitor_state: MonitorStateTable;
  alerts: AlertsTable;
  alert_rule_state: AlertRuleStateTable;
  alert_notices: AlertNoticesTable;
}

/** The tables' names, in an order that creates (and copies) them after the ones they refer to. */
export const TABLES = [
  'datastores',
  'hosts',
  'images',
  'vms',
  'vm_disks',
  'journal',
  'locks',
  'operations',
  'id_sequences',
  'meta',
  'history_series',
  'history_samples',
  'history_rollups',
  'monitor_state',
  'alerts',
  'alert_rule_state',
  'alert_notices',
] as const satisfies ReadonlyArray<keyof Database>;
