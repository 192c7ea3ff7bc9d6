/**
 * The catalog: datastores, hosts, images, VMs and a journal of every driver
 * action, in one SQLite file (better-sqlite3). Every change is one
 * transaction, so a killed ferry leaves each record as it was before or
 * after, never half-written. Several ferry processes may share a catalog:
 * SQLite's WAL lets them read while one writes, and work on one image or VM
 * is serialized by a lock row (lock()), refused with E_BUSY while its owner
 * lives and taken over once it is gone.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { FerryError } from '../errors.js';
import { diskPath } from './layout.js';
import { MIGRATIONS } from './schema.js';

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

/** One step of a plan: a transfer-file line, run with `driver` of `kind`. */
export interface PlanStep {
  kind: 'tm' | 'datastore';
  action: string;
  driver: string;
  args: string[];
  /** What the step is for, shown with --dry-run and in failures. */
  why: string;
  /** The disk and snapshot a snapshot step acts on, for recording its effect when it is done. */
  refs?: { disk?: number; snapshot?: number };
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

type Row = Record<string, unknown>;

const now = (): string => new Date().toISOString();
const json = <T>(text: unknown, fallback: T): T => (typeof text === 'string' ? (JSON.parse(text) as T) : fallback);
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function datastoreOf(row: Row): Datastore {
  return {
    id: Number(row.id),
    name: String(row.name),
    type: row.type as DatastoreType,
    dsMad: str(row.ds_mad),
    tmMad: String(row.tm_mad),
    basePath: String(row.base_path),
    template: json(row.template, {}),
    secrets: json(row.secrets, {}),
    totalMb: num(row.total_mb),
    freeMb: num(row.free_mb),
    usedMb: num(row.used_mb),
    monitoredAt: str(row.monitored_at),
    origin: row.origin as 'catalog' | 'config',
    createdAt: String(row.created_at),
  };
}

function hostOf(row: Row): Host {
  return {
    name: String(row.name),
    transport: row.transport as 'local' | 'ssh',
    address: str(row.address),
    port: num(row.port),
    user: str(row.user),
    identity: str(row.identity),
    knownHosts: str(row.known_hosts),
    createdAt: String(row.created_at),
  };
}

function imageOf(row: Row): Image {
  return {
    id: Number(row.id),
    name: String(row.name),
    datastoreId: Number(row.datastore_id),
    path: str(row.path),
    source: str(row.source),
    sizeMb: num(row.size_mb),
    format: str(row.format),
    fs: str(row.fs),
    type: String(row.type),
    persistent: Number(row.persistent) === 1,
    state: row.state as ImageState,
    error: str(row.error),
    snapshots: json(row.snapshots, []),
    clonedFrom: num(row.cloned_from),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

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

/** What a datastore is created from. */
export type NewDatastore = Pick<Datastore, 'name' | 'type' | 'tmMad' | 'basePath'> & Partial<Pick<Datastore, 'dsMad' | 'template' | 'secrets' | 'origin' | 'id'>>;
export type NewHost = Pick<Host, 'name' | 'transport'> & Partial<Pick<Host, 'address' | 'port' | 'user' | 'identity' | 'knownHosts'>>;
export type NewImage = Pick<Image, 'name' | 'datastoreId'> & Partial<Pick<Image, 'path' | 'sizeMb' | 'format' | 'fs' | 'type' | 'persistent' | 'clonedFrom'>>;
export type NewVm = Pick<Vm, 'name' | 'host' | 'systemDsId'> & { disks: Array<Omit<VmDisk, 'target' | 'snapshots'> & { snapshots?: number[] }> };

/** Where the catalog lives: --catalog, else $FERRY_HOME/catalog.db, else ./.ferry/catalog.db. */
export function catalogPath(flag: string | undefined, env: Record<string, string | undefined>, cwd: string): string {
  if (flag) return resolve(cwd, flag);
  return resolve(cwd, env.FERRY_HOME || '.ferry', 'catalog.db');
}

/** A name made of digits would be taken for an id: refuse it where names are made. */
function checkName(name: string, what: string): void {
  if (/^\d+$/.test(name)) throw new FerryError('E_USAGE', `${what} name ${JSON.stringify(name)} is only digits, which ferry reads as an id`, { hint: 'use a name with a letter in it' });
}

/** Runs a write; a constraint SQLite enforces (unique name, known datastore …) becomes E_CONFLICT, not a raw SqliteError. */
function guarded<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      throw new FerryError('E_CONFLICT', `${what}: the catalog refuses it (${code.replace('SQLITE_CONSTRAINT_', '').toLowerCase().replace(/_/g, ' ')}: ${(error as Error).message})`, {
        hint: 'another record has this name or id, or one it refers to is missing: list them first',
        cause: error,
      });
    }
    throw error;
  }
}

export class Catalog {
  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.immediate = db.transaction((fn: () => unknown) => fn()).immediate;
  }

  /** One transaction wrapper for every call: better-sqlite3 builds five closures per db.transaction(). */
  private readonly immediate: (fn: () => unknown) => unknown;

  /** Statements by their SQL, prepared once per connection: preparing costs more than running most of them. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(source: string): Database.Statement {
    let statement = this.statements.get(source);
    if (statement === undefined) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement;
  }

  /** A record by id (a number, or all digits: names never are) or else by name. */
  private rowByRef(table: 'datastores' | 'images' | 'vms', ref: string | number): Row | undefined {
    const byId = typeof ref === 'number' || /^\d+$/.test(ref) ? this.sql(`SELECT * FROM ${table} WHERE id = ?`).get(Number(ref)) : undefined;
    return (byId ?? this.sql(`SELECT * FROM ${table} WHERE name = ?`).get(String(ref))) as Row | undefined;
  }

  /** Opens (creating and migrating as needed) the catalog at `path`. */
  static open(path: string): Catalog {
    let db: Database.Database;
    try {
      if (!existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // Secrets live here: the file is the operator's only, from its first byte.
        closeSync(openSync(path, 'a', 0o600));
      }
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL: a commit survives a killed ferry whole (it is in the WAL file before the call
      // returns); only an OS crash or power loss can drop the last commits, which FULL would fsync at a
      // cost of 0.5 ms or more each, a fifth of a trivial driver action. See README, "The catalog".
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 10000');
    } catch (error) {
      throw new FerryError('E_CATALOG', `cannot open the catalog ${path}: ${(error as Error).message}`, {
        hint: 'check the path (--catalog, $FERRY_HOME) and its permissions',
        cause: error,
      });
    }
    const catalog = new Catalog(path, db);
    try {
      catalog.migrate();
    } catch (error) {
      if (db.open) db.close();
      throw error;
    }
    return catalog;
  }

  close(): void {
    this.db.close();
  }

  /** The schema version this catalog is at. */
  get version(): number {
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  private migrate(): void {
    const at = this.version;
    if (at > MIGRATIONS.length) {
      this.db.close();
      throw new FerryError('E_CATALOG', `the catalog ${this.path} is at schema version ${at}, made by a newer ferry (this one knows ${MIGRATIONS.length})`, {
        hint: 'upgrade ferry, or point --catalog / $FERRY_HOME elsewhere',
      });
    }
    for (let version = at; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        // Read again under the write lock: another ferry opening the catalog may have applied it meanwhile.
        if (this.version > version) return;
        this.db.exec(MIGRATIONS[version] as string);
        this.db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  }

  /** Runs `fn` in one write transaction (taken at once, so two writers never deadlock on upgrade). */
  transaction<T>(fn: () => T): T {
    return this.immediate(fn) as T;
  }

  /** Runs `fn` in a transaction that is always rolled back: what a change would do and whether it is allowed, for --dry-run. */
  preview<T>(fn: () => T): T {
    const rollback = Symbol('rollback');
    let result: { value: T } | undefined;
    try {
      this.db.transaction(() => {
        result = { value: fn() };
        throw rollback;
      }).immediate();
    } catch (error) {
      if (error !== rollback) throw error;
    }
    return (result as { value: T }).value;
  }

  // --- datastores

  addDatastore(input: NewDatastore): Datastore {
    checkName(input.name, 'datastore');
    return guarded(`datastore ${input.name}`, () => this.transaction(() => this.insertDatastore(input)));
  }

  private insertDatastore(input: NewDatastore): Datastore {
    if (this.sql('SELECT 1 FROM datastores WHERE name = ?').get(input.name)) {
      throw new FerryError('E_CONFLICT', `a datastore named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name, or update the existing one' });
    }
    const info = this
      .sql(
        `INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, template, secrets, origin, created_at)
         VALUES (@id, @name, @type, @dsMad, @tmMad, @basePath, @template, @secrets, @origin, @at)`,
      )
      .run({
        id: input.id ?? null,
        name: input.name,
        type: input.type,
        dsMad: input.dsMad ?? null,
        tmMad: input.tmMad,
        basePath: input.basePath,
        template: JSON.stringify(input.template ?? {}),
        secrets: JSON.stringify(input.secrets ?? {}),
        origin: input.origin ?? 'catalog',
        at: now(),
      });
    return this.datastore(Number(info.lastInsertRowid));
  }

  listDatastores(): Datastore[] {
    return (this.sql('SELECT * FROM datastores ORDER BY id').all() as Row[]).map(datastoreOf);
  }

  findDatastore(ref: string | number): Datastore | undefined {
    const row = this.rowByRef('datastores', ref);
    return row ? datastoreOf(row) : undefined;
  }

  /** A datastore by id or name; E_NOT_FOUND names the known ones. */
  datastore(ref: string | number): Datastore {
    const found = this.findDatastore(ref);
    if (found) return found;
    const known = this.listDatastores().map((ds) => `${ds.id} (${ds.name})`);
    throw new FerryError('E_NOT_FOUND', `no datastore ${JSON.stringify(String(ref))} in the catalog`, {
      hint: known.length > 0 ? `known datastores: ${known.join(', ')}` : 'create one: ferry datastore create --help',
    });
  }

  updateDatastore(id: number, patch: Partial<Pick<Datastore, 'name' | 'dsMad' | 'tmMad' | 'basePath' | 'template' | 'secrets'>>): Datastore {
    const current = this.datastore(id);
    const next = { ...current, ...patch };
    if (patch.name !== undefined) checkName(patch.name, 'datastore');
    guarded(`datastore ${current.name}`, () => this
      .sql('UPDATE datastores SET name = ?, ds_mad = ?, tm_mad = ?, base_path = ?, template = ?, secrets = ? WHERE id = ?')
      .run(next.name, next.dsMad, next.tmMad, next.basePath, JSON.stringify(next.template), JSON.stringify(next.secrets), id));
    return this.datastore(id);
  }

  setMonitor(id: number, figures: { totalMb: number; freeMb: number; usedMb: number }): void {
    this.datastore(id);
    this.sql('UPDATE datastores SET total_mb = ?, free_mb = ?, used_mb = ?, monitored_at = ? WHERE id = ?').run(figures.totalMb, figures.freeMb, figures.usedMb, now(), id);
  }

  deleteDatastore(id: number): void {
    this.datastore(id);
    this.transaction(() => {
      const images = Number((this.sql('SELECT count(*) AS n FROM images WHERE datastore_id = ?').get(id) as Row).n);
      const vms = Number((this.sql("SELECT count(*) AS n FROM vms WHERE system_ds_id = ? AND state != 'DONE'").get(id) as Row).n);
      if (images > 0 || vms > 0) {
        throw new FerryError('E_CONFLICT', `datastore ${id} still holds ${images} image(s) and ${vms} VM(s)`, { hint: 'delete them first (ferry image delete, ferry vm shutdown)' });
      }
      // VMs that are DONE keep their history in the journal; their records go with the datastore.
      this.sql("DELETE FROM vms WHERE system_ds_id = ? AND state = 'DONE'").run(id);
      this.sql('DELETE FROM datastores WHERE id = ?').run(id);
    });
  }

  // --- hosts

  addHost(input: NewHost): Host {
    return guarded(`host ${input.name}`, () => this.transaction(() => this.insertHost(input)));
  }

  private insertHost(input: NewHost): Host {
    if (this.findHost(input.name)) throw new FerryError('E_CONFLICT', `a host named ${JSON.stringify(input.name)} exists`, { hint: 'delete it first, or pick another name' });
    this
      .sql('INSERT INTO hosts (name, transport, address, port, user, identity, known_hosts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(input.name, input.transport, input.address ?? null, input.port ?? null, input.user ?? null, input.identity ?? null, input.knownHosts ?? null, now());
    return this.host(input.name);
  }

  /** Changes how a host is reached (address, port, keys …); its VMs keep running there. */
  updateHost(name: string, patch: Partial<Omit<Host, 'name' | 'createdAt'>>): Host {
    const next = { ...this.host(name), ...patch };
    if (next.transport === 'local') Object.assign(next, { address: null, port: null, user: null, identity: null, knownHosts: null });
    if (next.transport === 'ssh' && !next.address) throw new FerryError('E_USAGE', `host ${name} is reached over ssh but has no address`, { hint: '--ssh ADDRESS' });
    this.sql('UPDATE hosts SET transport = ?, address = ?, port = ?, user = ?, identity = ?, known_hosts = ? WHERE name = ?').run(
      next.transport,
      next.address,
      next.port,
      next.user,
      next.identity,
      next.knownHosts,
      name,
    );
    return this.host(name);
  }

  listHosts(): Host[] {
    return (this.sql('SELECT * FROM hosts ORDER BY name').all() as Row[]).map(hostOf);
  }

  findHost(name: string): Host | undefined {
    const row = this.sql('SELECT * FROM hosts WHERE name = ?').get(name);
    return row ? hostOf(row as Row) : undefined;
  }

  host(name: string): Host {
    const found = this.findHost(name);
    if (found) return found;
    const known = this.listHosts().map((host) => host.name);
    throw new FerryError('E_NOT_FOUND', `no host ${JSON.stringify(name)} in the catalog`, {
      hint: known.length > 0 ? `known hosts: ${known.join(', ')}` : 'add one: ferry host create NAME --local (or --ssh ADDRESS)',
    });
  }

  deleteHost(name: string): void {
    this.host(name);
    // A failed migrate's destination counts too: recover --retry would move the VM there.
    const vms = this.sql("SELECT id FROM vms WHERE (host = ? OR (target_host = ? AND operation IS NOT NULL)) AND state != 'DONE'").all(name, name) as Row[];
    if (vms.length > 0) throw new FerryError('E_CONFLICT', `host ${name} still runs VM(s) ${vms.map((row) => row.id).join(', ')}, or is where one is being moved`, { hint: 'migrate, shut down or recover them first' });
    this.sql('DELETE FROM hosts WHERE name = ?').run(name);
  }

  // --- images

  addImage(input: NewImage): Image {
    this.datastore(input.datastoreId);
    return guarded(`image ${input.name}`, () => this.transaction(() => this.insertImage(input)));
  }

  /** Refuses a name a new image cannot take: not a plain name, all digits (read as an id), or taken. */
  checkNewImageName(name: string): void {
    checkName(name, 'image');
    if (this.sql('SELECT 1 FROM images WHERE name = ?').get(name)) {
      throw new FerryError('E_CONFLICT', `an image named ${JSON.stringify(name)} exists`, { hint: 'pick another --name' });
    }
  }

  private insertImage(input: NewImage): Image {
    this.checkNewImageName(input.name);
    const at = now();
    const info = this
      .sql(
        `INSERT INTO images (name, datastore_id, path, size_mb, format, fs, type, persistent, cloned_from, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'LOCKED', ?, ?)`,
      )
      .run(input.name, input.datastoreId, input.path ?? null, input.sizeMb ?? null, input.format ?? null, input.fs ?? null, input.type ?? 'OS', input.persistent ? 1 : 0, input.clonedFrom ?? null, at, at);
    return this.image(Number(info.lastInsertRowid));
  }

  listImages(): Image[] {
    return (this.sql('SELECT * FROM images ORDER BY id').all() as Row[]).map(imageOf);
  }

  findImage(ref: string | number): Image | undefined {
    const row = this.rowByRef('images', ref);
    return row ? imageOf(row) : undefined;
  }

  image(ref: string | number): Image {
    const found = this.findImage(ref);
    if (found) return found;
    throw new FerryError('E_NOT_FOUND', `no image ${JSON.stringify(String(ref))} in the catalog`, { hint: 'list them: ferry image list' });
  }

  updateImage(id: number, patch: Partial<Pick<Image, 'source' | 'sizeMb' | 'format' | 'state' | 'error' | 'snapshots' | 'persistent'>>): Image {
    const next = { ...this.image(id), ...patch, updatedAt: now() };
    this
      .sql('UPDATE images SET source = ?, size_mb = ?, format = ?, state = ?, error = ?, snapshots = ?, persistent = ?, updated_at = ? WHERE id = ?')
      .run(next.source, next.sizeMb, next.format, next.state, next.error, JSON.stringify(next.snapshots), next.persistent ? 1 : 0, next.updatedAt, id);
    return next;
  }

  /** Removes an image's record; disks of finished (DONE) VMs that came from it keep their rows with no image. */
  deleteImageRecord(id: number): void {
    const image = this.image(id);
    guarded(`image ${image.name}`, () =>
      this.transaction(() => {
        this.sql("UPDATE vm_disks SET image_id = NULL WHERE image_id = ? AND vm_id IN (SELECT id FROM vms WHERE state = 'DONE')").run(id);
        this.sql('DELETE FROM images WHERE id = ?').run(id);
      }),
    );
  }

  /** VMs (not DONE) with a disk of this image. */
  vmsUsingImage(imageId: number): number[] {
    return (this.sql("SELECT DISTINCT v.id FROM vm_disks d JOIN vms v ON v.id = d.vm_id WHERE d.image_id = ? AND v.state != 'DONE' ORDER BY v.id").all(imageId) as Row[]).map((row) =>
      Number(row.id),
    );
  }

  // --- VMs

  /** Adds a VM in PENDING with its disks at <system base>/<vm id>/disk.<i>. */
  addVm(input: NewVm, systemBase: string): Vm {
    checkName(input.name, 'VM');
    this.host(input.host);
    return guarded(`VM ${input.name}`, () => this.transaction(() => this.insertVm(input, systemBase)));
  }

  private insertVm(input: NewVm, systemBase: string): Vm {
    if (this.sql('SELECT 1 FROM vms WHERE name = ?').get(input.name)) {
      throw new FerryError('E_CONFLICT', `a VM named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name' });
    }
    const at = now();
    const info = this
      .sql("INSERT INTO vms (name, host, system_ds_id, state, created_at, updated_at) VALUES (?, ?, ?, 'PENDING', ?, ?)")
      .run(input.name, input.host, input.systemDsId, at, at);
    const id = Number(info.lastInsertRowid);
    const insert = this.sql('INSERT INTO vm_disks (vm_id, disk_id, kind, image_id, mode, size_mb, format, files, target, snapshots) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const disk of input.disks) {
      insert.run(id, disk.diskId, disk.kind, disk.imageId, disk.mode, disk.sizeMb, disk.format, disk.files ? JSON.stringify(disk.files) : null, diskPath(systemBase, id, disk.diskId), JSON.stringify(disk.snapshots ?? []));
    }
    return this.vm(id);
  }

  listVms(): Vm[] {
    return (this.sql('SELECT id FROM vms ORDER BY id').all() as Row[]).map((row) => this.vm(Number(row.id)));
  }

  findVm(ref: string | number): Vm | undefined {
    const row = this.rowByRef('vms', ref);
    if (!row) return undefined;
    const disks = (this.sql('SELECT * FROM vm_disks WHERE vm_id = ? ORDER BY disk_id').all(row.id) as Row[]).map(diskOf);
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

  vm(ref: string | number): Vm {
    const found = this.findVm(ref);
    if (found) return found;
    throw new FerryError('E_NOT_FOUND', `no VM ${JSON.stringify(String(ref))} in the catalog`, { hint: 'list them: ferry vm list' });
  }

  /** `current`: the VM as just read in the same transaction, to spare reading it again. */
  updateVm(id: number, patch: Partial<Pick<Vm, 'host' | 'state' | 'operation' | 'plan' | 'step' | 'previousState' | 'targetHost' | 'error'>>, current?: Vm): Vm {
    // The record as written, without reading it back: the update changes only these fields.
    const next = { ...(current?.id === id ? current : this.vm(id)), ...patch, updatedAt: now() };
    this
      .sql('UPDATE vms SET host = ?, state = ?, operation = ?, plan = ?, step = ?, previous_state = ?, target_host = ?, error = ?, updated_at = ? WHERE id = ?')
      .run(next.host, next.state, next.operation, next.plan ? JSON.stringify(next.plan) : null, next.step, next.previousState, next.targetHost, next.error, next.updatedAt, id);
    return next;
  }

  /** Moves a VM's operation to step `step` (the common update while a plan runs: no read of the VM before or after). */
  setVmStep(id: number, step: number): void {
    this.sql('UPDATE vms SET step = ?, updated_at = ? WHERE id = ?').run(step, now(), id);
  }

  /** Sets the snapshot ids of one disk of a VM. */
  setDiskSnapshots(vmId: number, diskId: number, snapshots: number[]): void {
    const info = this.sql('UPDATE vm_disks SET snapshots = ? WHERE vm_id = ? AND disk_id = ?').run(JSON.stringify(snapshots), vmId, diskId);
    if (info.changes !== 1) throw new FerryError('E_NOT_FOUND', `VM ${vmId} has no disk ${diskId}`, { hint: `ferry vm show ${vmId}` });
  }

  // --- journal

  record(entry: Omit<JournalEntry, 'id' | 'at'>): void {
    this
      .sql(
        `INSERT INTO journal (at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        now(),
        entry.subject,
        entry.operation,
        entry.step,
        entry.kind,
        entry.driver,
        entry.action,
        JSON.stringify(entry.args),
        entry.ok ? 1 : 0,
        entry.exitCode,
        entry.durationMs,
        entry.message,
        JSON.stringify(entry.logs),
      );
  }

  journal(subject?: string): JournalEntry[] {
    const rows = (subject === undefined ? this.sql('SELECT * FROM journal ORDER BY id').all() : this.sql('SELECT * FROM journal WHERE subject = ? ORDER BY id').all(subject)) as Row[];
    return rows.map((row) => ({
      id: Number(row.id),
      at: String(row.at),
      subject: String(row.subject),
      operation: String(row.operation),
      step: num(row.step),
      kind: String(row.kind),
      driver: String(row.driver),
      action: String(row.action),
      args: json(row.args, []),
      ok: Number(row.ok) === 1,
      exitCode: num(row.exit_code),
      durationMs: num(row.duration_ms),
      message: str(row.message),
      logs: json(row.logs, []),
    }));
  }

  // --- locks

  /** E_BUSY when another live ferry process holds `subject`'s lock (what it runs, since when); undefined when free or ours. */
  busy(subject: string): FerryError | undefined {
    const held = this.sql('SELECT * FROM locks WHERE subject = ?').get(subject) as Row | undefined;
    return held && !ownedByMe(held) ? busyError(subject, held) : undefined;
  }

  /**
   * Takes the lock on `subject` (`vm:7`, `image:3`) for this process. Held by
   * a live process on this machine: E_BUSY naming it. Held by a process that
   * is gone (a killed ferry): taken over.
   */
  lock(subject: string, operation: string): () => void {
    const me = { pid: process.pid, host: thisHost() };
    // Already ours (an operation inside another on the same subject): the outer holder releases it.
    let nested = false;
    // Read and insert must not be split; inside a caller's transaction they already are not (no savepoint needed).
    const atomically = (fn: () => void): void => (this.db.inTransaction ? fn() : this.transaction(fn));
    atomically(() => {
      const held = this.sql('SELECT * FROM locks WHERE subject = ?').get(subject) as Row | undefined;
      if (held && ownedByMe(held)) {
        nested = true;
        return;
      }
      const busy = held && busyError(subject, held);
      if (busy) throw busy;
      this.sql('INSERT OR REPLACE INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run(subject, me.pid, me.host, operation, now());
    });
    if (nested) return () => undefined;
    // Idempotent, and a read when there is nothing to release: callers unlock again at the end, whatever happened.
    return () => {
      if (this.sql('SELECT 1 FROM locks WHERE subject = ? AND owner_pid = ? AND owner_host = ?').get(subject, me.pid, me.host)) {
        this.sql('DELETE FROM locks WHERE subject = ? AND owner_pid = ? AND owner_host = ?').run(subject, me.pid, me.host);
      }
    };
  }
}

let host: string | undefined;
/** This machine's name, asked once: os.hostname() is a system call, and locks ask on every take and release. */
function thisHost(): string {
  return (host ??= hostname());
}

/** A lock row of this process. */
function ownedByMe(held: Row): boolean {
  return Number(held.owner_pid) === process.pid && held.owner_host === thisHost();
}

/** E_BUSY for a lock row whose owner lives; undefined when it is gone (its lock may be taken over). */
function busyError(subject: string, held: Row): FerryError | undefined {
  if (!ownerAlive(Number(held.owner_pid), String(held.owner_host))) return undefined;
  return new FerryError('E_BUSY', `${subject} is busy: ferry process ${String(held.owner_pid)} on ${String(held.owner_host)} is running ${String(held.operation)} on it since ${String(held.since)}`, {
    hint: 'wait for it to finish, then run the command again',
  });
}

/** A lock owner on another machine cannot be checked: assume it lives. */
function ownerAlive(pid: number, host: string): boolean {
  if (host !== thisHost()) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed ferry not yet reaped is a zombie: signal 0 reaches it, but it holds nothing.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
