/** Datastore rows: the datastores table, its JSON template and secrets, and its capacity as last monitored. */
import { isName } from '../contract/names.js';
import { FerryError } from '../errors.js';
import type { Datastore, DatastorePatch, DatastoreType, MonitorFigures, NewDatastore } from '../model.js';
import type { Connection } from './connection.js';
import { checkName, guarded, json, nextId, now, num, str, type Row } from './values.js';

function datastoreOf(c: Connection, row: Row): Datastore {
  return {
    id: Number(row.id),
    name: String(row.name),
    type: row.type as DatastoreType,
    dsMad: str(row.ds_mad),
    tmMad: String(row.tm_mad),
    basePath: String(row.base_path),
    template: json(row.template, {}),
    secrets: c.secrets.open(json(row.secrets, {}), `datastore ${String(row.name)}`),
    totalMb: num(row.total_mb),
    freeMb: num(row.free_mb),
    usedMb: num(row.used_mb),
    monitoredAt: str(row.monitored_at),
    origin: row.origin as 'catalog' | 'config',
    createdAt: String(row.created_at),
  };
}

/** A driver named by a datastore is a folder under remotes/: refused here, before anything runs or is journaled. */
function checkDrivers(fields: { dsMad?: string | null; tmMad?: string }): void {
  for (const [flag, name] of [['--ds-mad', fields.dsMad], ['--tm-mad', fields.tmMad]] as const) {
    if (name !== undefined && name !== null && !isName(name)) {
      throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(name)} is not a driver folder name`, { hint: 'name a folder under remotes/datastore/ or remotes/tm/: ferry drivers list' });
    }
  }
}

export function addDatastore(c: Connection, input: NewDatastore): Datastore {
  checkName(input.name, 'datastore');
  checkDrivers(input);
  return guarded(`datastore ${input.name}`, () => c.transaction(() => insertDatastore(c, input)));
}

function insertDatastore(c: Connection, input: NewDatastore): Datastore {
  if (c.sql('SELECT 1 FROM datastores WHERE name = ?').get(input.name)) {
    throw new FerryError('E_CONFLICT', `a datastore named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name, or update the existing one' });
  }
  const info = c
    .sql(
      `INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, template, secrets, origin, created_at)
       VALUES (coalesce(@id, ${nextId('datastores')}), @name, @type, @dsMad, @tmMad, @basePath, @template, @secrets, @origin, @at)`,
    )
    .run({
      id: input.id ?? null,
      name: input.name,
      type: input.type,
      dsMad: input.dsMad ?? null,
      tmMad: input.tmMad,
      basePath: input.basePath,
      template: JSON.stringify(input.template ?? {}),
      secrets: JSON.stringify(c.secrets.seal(input.secrets ?? {})),
      origin: input.origin ?? 'catalog',
      at: now(),
    });
  return datastore(c, Number(info.lastInsertRowid));
}

export function listDatastores(c: Connection): Datastore[] {
  return (c.sql('SELECT * FROM datastores ORDER BY id').all() as Row[]).map((row) => datastoreOf(c, row));
}

export function findDatastore(c: Connection, ref: string | number): Datastore | undefined {
  const row = c.rowByRef('datastores', ref);
  return row ? datastoreOf(c, row) : undefined;
}

/** A datastore by id or name; E_NOT_FOUND names the known ones. */
export function datastore(c: Connection, ref: string | number): Datastore {
  const found = findDatastore(c, ref);
  if (found) return found;
  const known = listDatastores(c).map((ds) => `${ds.id} (${ds.name})`);
  throw new FerryError('E_NOT_FOUND', `no datastore ${JSON.stringify(String(ref))} in the catalog`, {
    hint: known.length > 0 ? `known datastores: ${known.join(', ')}` : 'create one: ferry datastore create --help',
  });
}

export function updateDatastore(c: Connection, id: number, patch: DatastorePatch): Datastore {
  const current = datastore(c, id);
  const next = { ...current, ...patch };
  if (patch.name !== undefined) checkName(patch.name, 'datastore');
  checkDrivers(patch);
  guarded(`datastore ${current.name}`, () =>
    c
      .sql('UPDATE datastores SET name = ?, ds_mad = ?, tm_mad = ?, base_path = ?, template = ?, secrets = ? WHERE id = ?')
      .run(next.name, next.dsMad, next.tmMad, next.basePath, JSON.stringify(next.template), JSON.stringify(c.secrets.seal(next.secrets)), id),
  );
  return datastore(c, id);
}

export function setMonitor(c: Connection, id: number, figures: MonitorFigures): void {
  datastore(c, id);
  c.sql('UPDATE datastores SET total_mb = ?, free_mb = ?, used_mb = ?, monitored_at = ? WHERE id = ?').run(figures.totalMb, figures.freeMb, figures.usedMb, now(), id);
}

export function deleteDatastore(c: Connection, id: number): void {
  datastore(c, id);
  c.transaction(() => {
    const images = Number((c.sql('SELECT count(*) AS n FROM images WHERE datastore_id = ?').get(id) as Row).n);
    const vms = Number((c.sql("SELECT count(*) AS n FROM vms WHERE system_ds_id = ? AND state != 'DONE'").get(id) as Row).n);
    if (images > 0 || vms > 0) {
      throw new FerryError('E_CONFLICT', `datastore ${id} still holds ${images} image(s) and ${vms} VM(s)`, { hint: 'delete them first (ferry image delete, ferry vm shutdown or terminate)' });
    }
    // VMs that are DONE keep their history in the journal; their records go with the datastore.
    c.sql("DELETE FROM vms WHERE system_ds_id = ? AND state = 'DONE'").run(id);
    c.sql('DELETE FROM datastores WHERE id = ?').run(id);
  });
}
