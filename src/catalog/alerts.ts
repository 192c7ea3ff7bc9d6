/**
 * Alerts (schema 9): raised by a rule about a subject (a datastore, host, image, VM …), cleared when the
 * condition ends, acknowledged by someone. One (rule, subject) has at most one firing alert: a raise while
 * one fires returns it (a partial UNIQUE index holds this also against another process raising at the same
 * moment), so a value flapping around a threshold never duplicates an alert. Ids only grow (id_sequences),
 * and alerts outlive their subject. Also the alert evaluator's own state per (rule, subject), as JSON, so a
 * restarted service carries on where it stopped.
 */
import { FerryError } from '../errors.js';
import { ALERT_SEVERITIES, type Alert, type AlertFilter, type AlertSeverity, type AlertSubject, type AlertSubjectRef, type EvaluatorState, type NewAlert, type RaisedAlert } from '../model.js';
import { sql } from 'kysely';
import type { Connection } from './connection.js';
import { addNotice } from './notices.js';
import { allocateId, guarded, json, num, str, type Row } from './values.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function checkText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || /[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    throw new FerryError('E_USAGE', `${what} ${JSON.stringify(value)} is empty or holds a control character`);
  }
  return value;
}

function subjectOf(ref: AlertSubjectRef, what = 'an alert\'s subject'): AlertSubject {
  if (ref === null || typeof ref !== 'object') throw new FerryError('E_USAGE', `${what} is not {kind, id}`);
  if (typeof ref.kind !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(ref.kind)) throw new FerryError('E_USAGE', `${what}'s kind ${JSON.stringify(ref.kind)} is not a lower-case word (datastore, host, image, vm …)`);
  const id = typeof ref.id === 'number' && Number.isFinite(ref.id) ? String(ref.id) : ref.id;
  return { kind: ref.kind, id: checkText(id, `${what}'s id`) };
}

function checkTime(at: number): number {
  if (!Number.isSafeInteger(at) || at < 0) throw new FerryError('E_USAGE', `${String(at)} is not a time in integer ms since the epoch`);
  return at;
}

function alertOf(row: Row): Alert {
  return {
    id: Number(row.id),
    rule: String(row.rule),
    subject: { kind: String(row.subject_kind), id: String(row.subject_id) },
    severity: row.severity as AlertSeverity,
    state: row.state === 'firing' ? 'firing' : 'cleared',
    value: num(row.value),
    message: String(row.message),
    affects: json(row.affects, []),
    raisedAt: String(row.raised_at),
    clearedAt: str(row.cleared_at),
    ackedAt: str(row.acked_at),
    ackedBy: str(row.acked_by),
  };
}

function firing(c: Connection, rule: string, subject: AlertSubject): Alert | undefined {
  const row = c.get(c.q.selectFrom('alerts').selectAll().where('rule', '=', rule).where('subject_kind', '=', subject.kind).where('subject_id', '=', subject.id).where('state', '=', 'firing')) as Row | undefined;
  return row === undefined ? undefined : alertOf(row);
}

/**
 * Raises `input.rule`'s alert about `input.subject`: a new firing alert (`raised: true`), or the one firing
 * already, unchanged (`raised: false`): what an alert hook should run for is `raised`.
 */
export function raiseAlert(c: Connection, input: NewAlert): RaisedAlert {
  const rule = checkText(input.rule, 'an alert\'s rule');
  const subject = subjectOf(input.subject);
  if (!ALERT_SEVERITIES.includes(input.severity)) throw new FerryError('E_USAGE', `severity ${JSON.stringify(input.severity)} is not one of ${ALERT_SEVERITIES.join(', ')}`);
  const message = String(input.message ?? '');
  const value = input.value ?? null;
  if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) throw new FerryError('E_USAGE', `an alert's value ${String(value)} is not a finite number`);
  const affects = (input.affects ?? []).map((ref) => subjectOf(ref, 'what an alert affects'));
  const at = iso(checkTime(input.at ?? Date.now()));
  return guarded(`alert ${rule} on ${subject.kind} ${subject.id}`, () =>
    c.transaction(() => {
      const existing = firing(c, rule, subject);
      if (existing !== undefined) return { alert: existing, raised: false };
      // On SQLite write transactions are taken at once (connection.ts), so another process's raise commits before
      // this one reads, or after it writes. On PostgreSQL (READ COMMITTED) both may read none: the second insert
      // waits for the first's commit and does nothing, and the alert it then reads is the first's (its id is skipped).
      // The conflict clause is the partial index's, stated with a literal so both stores match it to the index.
      const id = allocateId(c, 'alerts');
      const info = c.run(
        c.q
          .insertInto('alerts')
          .values({ id, rule, subject_kind: subject.kind, subject_id: subject.id, severity: input.severity, state: 'firing', value, message, affects: JSON.stringify(affects), raised_at: at })
          .onConflict((oc) => oc.columns(['rule', 'subject_kind', 'subject_id']).where('state', '=', sql.lit('firing')).doNothing()),
      );
      if (info.changes === 0) return { alert: firing(c, rule, subject) as Alert, raised: false };
      addNotice(c, id, 'raised', Date.parse(at));
      return { alert: alert(c, id), raised: true };
    }),
  );
}

/** Clears `rule`'s firing alert about `subject`; returns it cleared, or undefined when none was firing. */
export function clearAlert(c: Connection, rule: string, subjectRef: AlertSubjectRef, at = Date.now()): Alert | undefined {
  const subject = subjectOf(subjectRef);
  const when = iso(checkTime(at));
  return c.transaction(() => {
    const existing = firing(c, rule, subject);
    if (existing === undefined) return undefined;
    c.run(c.q.updateTable('alerts').set({ state: 'cleared', cleared_at: when }).where('id', '=', existing.id));
    addNotice(c, existing.id, 'cleared', at);
    return alert(c, existing.id);
  });
}

/** Acknowledges alert `id` (firing or cleared) as seen by `by`; the first acknowledgement is kept. E_NOT_FOUND for an unknown id. */
export function ackAlert(c: Connection, id: number, by: string, at = Date.now()): Alert {
  const who = checkText(by, 'who acknowledges an alert');
  const when = iso(checkTime(at));
  return c.transaction(() => {
    alert(c, id);
    c.run(c.q.updateTable('alerts').set({ acked_at: when, acked_by: who }).where('id', '=', id).where('acked_at', 'is', null));
    return alert(c, id);
  });
}

/** Alerts matching `filter` (all when none), oldest first. */
export function listAlerts(c: Connection, filter: AlertFilter = {}): Alert[] {
  let query = c.q.selectFrom('alerts').selectAll();
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.severity !== undefined) {
    const severities = typeof filter.severity === 'string' ? [filter.severity] : [...filter.severity];
    // No severity asked: nothing matches (`IN ()` is not SQL).
    query = severities.length > 0 ? query.where('severity', 'in', severities) : query.where(sql<boolean>`1 = 0`);
  }
  if (filter.subject !== undefined) {
    query = query.where('subject_kind', '=', filter.subject.kind);
    if (filter.subject.id !== undefined) query = query.where('subject_id', '=', String(filter.subject.id));
  }
  if (filter.rule !== undefined) query = query.where('rule', '=', filter.rule);
  return (c.all(query.orderBy('id')) as Row[]).map(alertOf);
}

export function findAlert(c: Connection, id: number): Alert | undefined {
  const row = c.get(c.q.selectFrom('alerts').selectAll().where('id', '=', id)) as Row | undefined;
  return row === undefined ? undefined : alertOf(row);
}

/** Alert `id`; E_NOT_FOUND when there is none. */
export function alert(c: Connection, id: number): Alert {
  const found = findAlert(c, id);
  if (found !== undefined) return found;
  throw new FerryError('E_NOT_FOUND', `no alert ${JSON.stringify(String(id))} in the catalog`, { hint: 'ferry alert list' });
}

// --- the evaluator's state

/** What the evaluator stored for (rule, subject), or undefined. */
export function evaluatorState(c: Connection, rule: string, subjectRef: AlertSubjectRef): unknown {
  const subject = subjectOf(subjectRef);
  const row = c.get(c.q.selectFrom('alert_rule_state').select('state').where('rule', '=', rule).where('subject_kind', '=', subject.kind).where('subject_id', '=', subject.id));
  return row === undefined ? undefined : JSON.parse(String(row.state));
}

/** Stores `state` (JSON) for (rule, subject); undefined deletes it. */
export function putEvaluatorState(c: Connection, rule: string, subjectRef: AlertSubjectRef, state: unknown, at = Date.now()): void {
  checkText(rule, 'an evaluator state\'s rule');
  const subject = subjectOf(subjectRef);
  if (state === undefined) {
    c.run(c.q.deleteFrom('alert_rule_state').where('rule', '=', rule).where('subject_kind', '=', subject.kind).where('subject_id', '=', subject.id));
    return;
  }
  const text = JSON.stringify(state);
  if (text === undefined) throw new FerryError('E_USAGE', `the evaluator state of ${rule} is not JSON`);
  c.run(
    c.q
      .insertInto('alert_rule_state')
      .values({ rule, subject_kind: subject.kind, subject_id: subject.id, state: text, updated_at: iso(checkTime(at)) })
      .onConflict((oc) => oc.columns(['rule', 'subject_kind', 'subject_id']).doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: eb.ref('excluded.updated_at') }))),
  );
}

/** Every state the evaluator stored (only `rule`'s, only `subject`'s, when given): what a restarted service starts from. */
export function listEvaluatorStates(c: Connection, rule?: string, subjectRef?: AlertSubjectRef): EvaluatorState[] {
  let query = c.q.selectFrom('alert_rule_state').selectAll();
  if (rule !== undefined) query = query.where('rule', '=', rule);
  if (subjectRef !== undefined) {
    const subject = subjectOf(subjectRef);
    query = query.where('subject_kind', '=', subject.kind).where('subject_id', '=', subject.id);
  }
  const rows = c.all(query.orderBy('rule').orderBy('subject_kind').orderBy('subject_id'));
  return rows.map((row) => ({ rule: String(row.rule), subject: { kind: String(row.subject_kind), id: String(row.subject_id) }, state: JSON.parse(String(row.state)), updatedAt: String(row.updated_at) }));
}
