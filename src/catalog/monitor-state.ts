/**
 * Each datastore's monitor state (monitor_state): OK, or ERROR after `errorAfter` failed runs in a row (default 3),
 * until the next success. History (history.ts) keeps the samples; this keeps the health.
 */
import { FerryError } from '../errors.js';
import type { MonitorOutcome, MonitorState } from '../model.js';
import type { Connection } from './connection.js';
import { checkDatastore, checkTime, iso } from './history.js';
import type { Row } from './values.js';

/** Failed runs in a row that put a datastore in ERROR. */
export const ERROR_AFTER = 3;

function stateOf(row: Row): MonitorState {
  return {
    datastoreId: Number(row.datastore_id),
    state: row.state === 'ERROR' ? 'ERROR' : 'OK',
    failures: Number(row.failures),
    lastError: row.last_error === null ? null : String(row.last_error),
    lastFailureAt: row.last_failure_at === null ? null : String(row.last_failure_at),
    lastSuccessAt: row.last_success_at === null ? null : String(row.last_success_at),
  };
}

/** The datastore's monitor state: OK with no failures until a run is recorded. E_NOT_FOUND for an unknown datastore. */
export function monitorState(c: Connection, datastoreId: number): MonitorState {
  const row = c.get(c.q.selectFrom('monitor_state').selectAll().where('datastore_id', '=', datastoreId)) as Row | undefined;
  if (row !== undefined) return stateOf(row);
  checkDatastore(c, datastoreId);
  return { datastoreId, state: 'OK', failures: 0, lastError: null, lastFailureAt: null, lastSuccessAt: null };
}

/** Every datastore's monitor state that a run was recorded for, by datastore id. */
export function listMonitorStates(c: Connection): MonitorState[] {
  return (c.all(c.q.selectFrom('monitor_state').selectAll().orderBy('datastore_id')) as Row[]).map(stateOf);
}

/** A successful monitor run: no failures, state OK (`changed` when it was ERROR). */
export function recordMonitorSuccess(c: Connection, datastoreId: number, at = Date.now()): MonitorOutcome {
  checkTime(at, 'the run\'s time');
  return c.transaction(() => {
    const before = monitorState(c, datastoreId);
    c.run(
      c.q
        .insertInto('monitor_state')
        .values({ datastore_id: datastoreId, state: 'OK', failures: 0, last_success_at: iso(at) })
        .onConflict((oc) => oc.column('datastore_id').doUpdateSet((eb) => ({ state: 'OK', failures: 0, last_success_at: eb.ref('excluded.last_success_at') }))),
    );
    return { ...monitorState(c, datastoreId), changed: before.state !== 'OK' };
  });
}

/**
 * A failed monitor run: one more consecutive failure, its error kept; the `errorAfter`th in a row (default 3)
 * puts the datastore in ERROR (`changed` then), where it stays until a success.
 */
export function recordMonitorFailure(c: Connection, datastoreId: number, error: string, options: { at?: number; errorAfter?: number } = {}): MonitorOutcome {
  const at = options.at ?? Date.now();
  const errorAfter = options.errorAfter ?? ERROR_AFTER;
  checkTime(at, 'the run\'s time');
  if (!Number.isSafeInteger(errorAfter) || errorAfter < 1) throw new FerryError('E_USAGE', `errorAfter ${String(errorAfter)} is not a positive integer`);
  return c.transaction(() => {
    const before = monitorState(c, datastoreId);
    const failures = before.failures + 1;
    const state = failures >= errorAfter ? 'ERROR' : before.state;
    const row = { state, failures, last_error: String(error), last_failure_at: iso(at) } as const;
    c.run(c.q.insertInto('monitor_state').values({ datastore_id: datastoreId, ...row }).onConflict((oc) => oc.column('datastore_id').doUpdateSet(row)));
    return { ...monitorState(c, datastoreId), changed: state !== before.state };
  });
}
