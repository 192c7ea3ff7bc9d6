/** Datastore rows: the datastores table, its JSON template and secrets, and its capacity as last monitored. */
import { isName } from '../contract/names.js';
import { FerryError } from '../errors.js';
import type { Datastore, DatastorePatch, DatastoreType, MonitorFigures, NewDatastore } from '../model.js';
import type { Connection } from './connection.js';
import { allocateId, checkName, guarded, json, now, num, str, type Row } from './values.js';

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
  if (c.get(c.q.selectFrom('datastores').select('id').where('name', '=', input.name))) {
    throw new FerryError('E_CONFLICT', `a datastore named ${JSON.stringify(input.name)} exists`, { hint: 'pick another --name, or update the existing one' });
  }
  // An id given (a datastore of ferry.yaml keeps OpenNebula's) moves the sequence past it (the insert's trigger).
  const id = input.id ?? allocateId(c, 'datastores');
  c.run(
    c.q.insertInto('datastores').values({
      id,
      name: input.name,
      type: input.type,
      ds_mad: input.dsMad ?? null,
      tm_mad: input.tmMad,
      base_path: input.basePath,
      template: JSON.stringify(input.template ?? {}),
      secrets: JSON.stringify(c.secrets.seal(input.secrets ?? {})),
      origin: input.origin ?? 'catalog',
      created_at: now(),
    }),
  );
  return datastore(c, id);
}

export function listDatastores(c: Connection): Datastore[] {
  return c.all(c.q.selectFrom('datastores').selectAll().orderBy('id')).map((row) => datastoreOf(c, row as unknown as Row));
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
    c.run(
      c.q
        .updateTable('datastores')
        .set({ name: next.name, ds_mad: next.dsMad, tm_mad: next.tmMad, base_path: next.basePath, template: JSON.stringify(next.template), secrets: JSON.stringify(c.secrets.seal(next.secrets)) })
        .where('id', '=', id),
    ),
  );
  return datastore(c, id);
}

export function setMonitor(c: Connection, id: number, figures: MonitorFigures): void {
  datastore(c, id);
  c.run(c.q.updateTable('datastores').set({ total_mb: figures.totalMb, free_mb: figures.freeMb, used_mb: figures.usedMb, monitored_at: now() }).where('id', '=', id));
}

export function deleteDatastore(c: Connection, id: number): void {
  datastore(c, id);
  c.transaction(() => {
    const images = Number(c.get(c.q.selectFrom('images').select((eb) => eb.fn.countAll().as('n')).where('datastore_id', '=', id))?.n);
    const vms = Number(c.get(c.q.selectFrom('vms').select((eb) => eb.fn.countAll().as('n')).where('system_ds_id', '=', id).where('state', '!=', 'DONE'))?.n);
    if (images > 0 || vms > 0) {
      throw new FerryError('E_CONFLICT', `datastore ${id} still holds ${images} image(s) and ${vms} VM(s)`, { hint: 'delete them first (ferry image delete, ferry vm shutdown or terminate)' });
    }
    // VMs that are DONE keep their history in the journal; their records go with the datastore.
    c.run(c.q.deleteFrom('vms').where('system_ds_id', '=', id).where('state', '=', 'DONE'));
    c.run(c.q.deleteFrom('datastores').where('id', '=', id));
  });
}
