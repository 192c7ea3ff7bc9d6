/**
 * The catalog's schema as numbered migrations. PRAGMA user_version holds the
 * number applied; each migration runs in one transaction, so a catalog is at
 * one version or the next, never between. Append only: a released migration
 * never changes. A step is SQL, or code for what SQL cannot do (sealing secrets).
 */
import type Database from 'better-sqlite3';
import type { SecretBox } from './secrets.js';

export type Migration = string | ((db: Database.Database, secrets: SecretBox) => void);

export const MIGRATIONS: readonly Migration[] = [
  // 1: datastores, hosts, images, VMs and their disks, the journal, and locks.
  `
  CREATE TABLE datastores (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('IMAGE', 'SYSTEM', 'FILE')),
    ds_mad TEXT,
    tm_mad TEXT NOT NULL,
    base_path TEXT NOT NULL,
    template TEXT NOT NULL DEFAULT '{}',
    secrets TEXT NOT NULL DEFAULT '{}',
    total_mb INTEGER,
    free_mb INTEGER,
    used_mb INTEGER,
    monitored_at TEXT,
    origin TEXT NOT NULL DEFAULT 'catalog' CHECK (origin IN ('catalog', 'config')),
    created_at TEXT NOT NULL
  );
  CREATE TABLE hosts (
    name TEXT PRIMARY KEY,
    transport TEXT NOT NULL CHECK (transport IN ('local', 'ssh')),
    address TEXT,
    port INTEGER,
    user TEXT,
    identity TEXT,
    known_hosts TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    datastore_id INTEGER NOT NULL REFERENCES datastores(id),
    path TEXT,
    source TEXT,
    size_mb INTEGER,
    format TEXT,
    fs TEXT,
    type TEXT NOT NULL DEFAULT 'OS',
    persistent INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('LOCKED', 'READY', 'USED', 'ERROR', 'DELETING')),
    error TEXT,
    snapshots TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE vms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    system_ds_id INTEGER NOT NULL REFERENCES datastores(id),
    state TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'STOPPED', 'DONE', 'FAILED')),
    operation TEXT,
    plan TEXT,
    step INTEGER,
    previous_state TEXT,
    target_host TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE vm_disks (
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    disk_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'volatile', 'swap', 'context')),
    image_id INTEGER REFERENCES images(id),
    mode TEXT CHECK (mode IN ('clone', 'ln')),
    size_mb INTEGER,
    format TEXT,
    files TEXT,
    target TEXT NOT NULL,
    PRIMARY KEY (vm_id, disk_id)
  );
  CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    subject TEXT NOT NULL,
    operation TEXT NOT NULL,
    step INTEGER,
    kind TEXT NOT NULL,
    driver TEXT NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL,
    ok INTEGER NOT NULL,
    exit_code INTEGER,
    duration_ms REAL,
    message TEXT,
    logs TEXT NOT NULL DEFAULT '[]'
  );
  CREATE INDEX journal_subject ON journal(subject, id);
  CREATE TABLE locks (
    subject TEXT PRIMARY KEY,
    owner_pid INTEGER NOT NULL,
    owner_host TEXT NOT NULL,
    operation TEXT NOT NULL,
    since TEXT NOT NULL
  );
  `,
  // 2: disk snapshots (ids, as the TM's snap_* actions name them) and the image a clone was made from.
  `
  ALTER TABLE vm_disks ADD COLUMN snapshots TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE images ADD COLUMN cloned_from INTEGER;
  `,
  // 3: the journal without AUTOINCREMENT. Its rows are never deleted, so ids still only grow (max + 1), and each
  //    entry no longer rewrites sqlite_sequence: one page less per commit, on the path every driver action takes.
  `
  CREATE TABLE journal_v3 (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    subject TEXT NOT NULL,
    operation TEXT NOT NULL,
    step INTEGER,
    kind TEXT NOT NULL,
    driver TEXT NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL,
    ok INTEGER NOT NULL,
    exit_code INTEGER,
    duration_ms REAL,
    message TEXT,
    logs TEXT NOT NULL DEFAULT '[]'
  );
  INSERT INTO journal_v3 (id, at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs)
    SELECT id, at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs FROM journal;
  DROP TABLE journal;
  ALTER TABLE journal_v3 RENAME TO journal;
  CREATE INDEX journal_subject ON journal(subject, id);
  `,
  // 4: ids never reused. Each table's last id ever given, also to a record since deleted (OpenNebula never reuses one):
  //    seeded from the rows and from the journal's subjects, kept by a trigger on every insert. New rows take last + 1.
  `
  CREATE TABLE id_sequences (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
  INSERT INTO id_sequences (name, last) VALUES
    ('datastores', max(coalesce((SELECT max(id) FROM datastores), 0), coalesce((SELECT max(CAST(substr(subject, 11) AS INTEGER)) FROM journal WHERE subject LIKE 'datastore:%'), 0))),
    ('images', max(coalesce((SELECT max(id) FROM images), 0), coalesce((SELECT max(CAST(substr(subject, 7) AS INTEGER)) FROM journal WHERE subject LIKE 'image:%'), 0))),
    ('vms', max(coalesce((SELECT max(id) FROM vms), 0), coalesce((SELECT max(CAST(substr(subject, 4) AS INTEGER)) FROM journal WHERE subject LIKE 'vm:%'), 0)));
  CREATE TRIGGER datastores_last_id AFTER INSERT ON datastores BEGIN UPDATE id_sequences SET last = max(last, NEW.id) WHERE name = 'datastores'; END;
  CREATE TRIGGER images_last_id AFTER INSERT ON images BEGIN UPDATE id_sequences SET last = max(last, NEW.id) WHERE name = 'images'; END;
  CREATE TRIGGER vms_last_id AFTER INSERT ON vms BEGIN UPDATE id_sequences SET last = max(last, NEW.id) WHERE name = 'vms'; END;
  `,
  // 5: a lock's owner is its host, pid and start time (owner.ts): a reused pid is not the owner.
  `
  ALTER TABLE locks ADD COLUMN owner_started TEXT NOT NULL DEFAULT '';
  `,
  // 6: a DONE VM's name can be taken again (as in OpenNebula): names are unique among the VMs not DONE only.
  //    SQLite cannot drop a UNIQUE constraint: the table is rebuilt (the connection turns foreign keys off around
  //    migrations, so dropping it does not cascade to vm_disks), and its id trigger made again.
  `
  CREATE TABLE vms_v6 (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    system_ds_id INTEGER NOT NULL REFERENCES datastores(id),
    state TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'STOPPED', 'DONE', 'FAILED')),
    operation TEXT,
    plan TEXT,
    step INTEGER,
    previous_state TEXT,
    target_host TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  INSERT INTO vms_v6 (id, name, host, system_ds_id, state, operation, plan, step, previous_state, target_host, error, created_at, updated_at)
    SELECT id, name, host, system_ds_id, state, operation, plan, step, previous_state, target_host, error, created_at, updated_at FROM vms;
  DROP TABLE vms;
  ALTER TABLE vms_v6 RENAME TO vms;
  CREATE UNIQUE INDEX vms_live_name ON vms(name) WHERE state != 'DONE';
  CREATE TRIGGER vms_last_id AFTER INSERT ON vms BEGIN UPDATE id_sequences SET last = max(last, NEW.id) WHERE name = 'vms'; END;
  `,
  // 7: secret attributes sealed (secrets.ts): each datastore's plain values re-written under the catalog's key.
  sealPlainSecrets,
  // 8: the catalog's identity, a random uuid made once (meta.ts): a datastore folder's marker names the catalog that owns it.
  //    Kept if there (a catalog put back to an older version and migrated again keeps its identity).
  `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT OR IGNORE INTO meta (key, value) VALUES ('catalog_id', lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))));
  `,
  // 9: monitoring history and alerts (history.ts, alerts.ts). A series is one datastore's attribute; its raw samples
  //    (time in integer ms) are kept for a window, and its hourly rollups (min, sum and count for the average, max)
  //    for a longer one, packed one row per UTC day (rollups.ts: a year of 100 datastores' figures stays small).
  //    Both are keyed time bucket first (hour, day), so a monitor round over many datastores writes a few pages,
  //    and a prune deletes from the front; both go with their datastore. The monitor's state per datastore.
  //    Alerts: ids only grow (id_sequences), one (rule, subject) has at most one firing alert (a partial UNIQUE
  //    index), and they outlive their subject. The alert evaluator's state per (rule, subject), as JSON.
  //    Kept if there, as 8's table is.
  `
  CREATE TABLE IF NOT EXISTS history_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    datastore_id INTEGER NOT NULL REFERENCES datastores(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    UNIQUE (datastore_id, attribute)
  );
  CREATE TABLE IF NOT EXISTS history_samples (
    hour INTEGER NOT NULL,
    series_id INTEGER NOT NULL REFERENCES history_series(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (hour, series_id, at)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS history_rollups (
    day INTEGER NOT NULL,
    series_id INTEGER NOT NULL REFERENCES history_series(id) ON DELETE CASCADE,
    hours BLOB NOT NULL,
    PRIMARY KEY (day, series_id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS monitor_state (
    datastore_id INTEGER PRIMARY KEY REFERENCES datastores(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'OK' CHECK (state IN ('OK', 'ERROR')),
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_failure_at TEXT,
    last_success_at TEXT
  );
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning', 'info')),
    state TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    value REAL,
    message TEXT NOT NULL,
    affects TEXT NOT NULL DEFAULT '[]',
    raised_at TEXT NOT NULL,
    cleared_at TEXT,
    acked_at TEXT,
    acked_by TEXT
  );
  CREATE UNIQUE INDEX IF NOT EXISTS alerts_firing ON alerts(rule, subject_kind, subject_id) WHERE state = 'firing';
  CREATE INDEX IF NOT EXISTS alerts_subject ON alerts(subject_kind, subject_id, id);
  INSERT OR IGNORE INTO id_sequences (name, last) VALUES ('alerts', 0);
  CREATE TRIGGER IF NOT EXISTS alerts_last_id AFTER INSERT ON alerts BEGIN UPDATE id_sequences SET last = max(last, NEW.id) WHERE name = 'alerts'; END;
  CREATE TABLE IF NOT EXISTS alert_rule_state (
    rule TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (rule, subject_kind, subject_id)
  ) WITHOUT ROWID;
  `,
  // 10: alert notices, the outbox of the alert hooks (notices.ts): one row per alert raised or cleared, written in the
  //     transaction that raises or clears it, so a crash between the two never loses a hook's run. A notice is claimed
  //     for a lease by the process that runs the hooks (never two at once), then marked delivered or retried later.
  `
  CREATE TABLE IF NOT EXISTS alert_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('raised', 'cleared')),
    at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until INTEGER,
    delivered_at TEXT,
    last_error TEXT
  );
  CREATE INDEX IF NOT EXISTS alert_notices_pending ON alert_notices(id) WHERE delivered_at IS NULL;
  CREATE INDEX IF NOT EXISTS alert_notices_alert ON alert_notices(alert_id, id);
  `,
  // 11: operations queued to workers (PostgreSQL catalogs: queue/submit.ts, operations.ts), and locks an operation
  //     holds rather than a process: taken by the command that queues it, in the transaction that queues it, held
  //     across the workers that run it (a worker that dies hands it on with the job), let go when it ends.
  //     A function: SQLite has no ADD COLUMN IF NOT EXISTS, and a catalog put back to an older version keeps it.
  (db) => {
    db.exec(`
  CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    scope TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    steps INTEGER,
    step_started INTEGER,
    step_done INTEGER,
    result_id INTEGER,
    error_code TEXT,
    error TEXT,
    error_hint TEXT
  );
  CREATE INDEX IF NOT EXISTS operations_subject ON operations(subject, id);
  CREATE INDEX IF NOT EXISTS operations_open ON operations(id) WHERE state IN ('queued', 'running');
  `);
    const columns = db.pragma('table_info(locks)') as Array<{ name: string }>;
    if (!columns.some((column) => column.name === 'owner_operation')) db.exec('ALTER TABLE locks ADD COLUMN owner_operation INTEGER');
  },
];

function sealPlainSecrets(db: Database.Database, secrets: SecretBox): void {
  const rows = db.prepare("SELECT id, secrets FROM datastores WHERE secrets != '{}'").all() as Array<{ id: number; secrets: string }>;
  const update = db.prepare('UPDATE datastores SET secrets = ? WHERE id = ?');
  for (const row of rows) {
    // Before version 7 every value is plain: sealed whole, even one that happens to look sealed.
    update.run(JSON.stringify(secrets.seal(JSON.parse(row.secrets) as Record<string, string>)), row.id);
  }
}
