/**
 * Alert notices (schema 10): the outbox of the alert hooks. raiseAlert and clearAlert add one in the
 * transaction that raises or clears the alert, so a crash between the alert and its hooks loses nothing:
 * whoever runs the hooks next finds the notice undelivered. A notice is claimed for a lease before its hooks
 * run (two processes never run them at once), then marked delivered, or retried after a delay. An alert's
 * notices go out in order: a notice waits while an older one of the same alert is undelivered.
 */
import type { AlertNotice, NoticeOutcome } from '../model.js';
import type { Connection } from './connection.js';
import { ownerState, selfOwner, type ProcessOwner } from './owner.js';
import { str, type Row } from './values.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function noticeOf(row: Row): AlertNotice {
  return {
    id: Number(row.id),
    alertId: Number(row.alert_id),
    event: row.event === 'cleared' ? 'cleared' : 'raised',
    at: String(row.at),
    attempts: Number(row.attempts),
    deliveredAt: str(row.delivered_at),
    lastError: str(row.last_error),
  };
}

/** Records that alert `alertId` was raised or cleared at `at` (ms); called inside the raise's or clear's transaction. */
export function addNotice(c: Connection, alertId: number, event: AlertNotice['event'], at: number): void {
  c.run(c.q.insertInto('alert_notices').values({ alert_id: alertId, event, at: iso(at) }));
}

/** A notice's claim as `host|pid|started` (owner.ts): a claim of a process gone from this host ends with it. */
export function noticeOwner(owner: ProcessOwner = selfOwner()): string {
  return `${owner.host}|${owner.pid}|${owner.started}`;
}

/** Free to claim: never claimed, its lease over, or its claimant (on this host) gone; a failed one waits for its retry time. */
function claimable(row: Row, owner: string, now: number): boolean {
  const until = row.claimed_until === null ? null : Number(row.claimed_until);
  if (until === null || until <= now) return true;
  const holder = String(row.claimed_by ?? '');
  // A failure waiting for its retry keeps its time, whoever failed it.
  if (row.last_error !== null || holder === owner) return false;
  const [host, pid, started] = holder.split('|');
  if (host === undefined || pid === undefined || started === undefined || !/^\d+$/.test(pid)) return false;
  return ownerState({ host, pid: Number(pid), started }) === 'gone';
}

/**
 * Claims up to `limit` undelivered notices for `owner` until `now + leaseMs`: those not claimed, or whose claim
 * has run out (its holder hangs) or whose holder died, and with no older undelivered notice of the same alert.
 * Oldest first.
 */
export function claimNotices(c: Connection, owner: string, now: number, leaseMs: number, limit: number): AlertNotice[] {
  return c.transaction(() => {
    let candidates = c.q
      .selectFrom('alert_notices as n')
      .selectAll('n')
      .where('n.delivered_at', 'is', null)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('alert_notices as o').select('o.id').whereRef('o.alert_id', '=', 'n.alert_id').whereRef('o.id', '<', 'n.id').where('o.delivered_at', 'is', null))),
      )
      // Those surely not claimable (waiting for their retry, or this owner's own) never fill the window.
      .where((eb) => eb.or([eb('n.claimed_until', 'is', null), eb('n.claimed_until', '<=', now), eb.and([eb('n.last_error', 'is', null), eb('n.claimed_by', 'is distinct from', owner)])]))
      .orderBy('n.id')
      .limit(limit * 10);
    // PostgreSQL (READ COMMITTED): a notice another process is claiming is skipped, not claimed twice.
    if (c.dialect === 'postgres') candidates = candidates.forUpdate('n').skipLocked();
    const rows = (c.all(candidates) as Row[]).filter((row) => claimable(row, owner, now)).slice(0, limit);
    for (const row of rows) {
      c.run(c.q.updateTable('alert_notices').set((eb) => ({ claimed_by: owner, claimed_until: now + leaseMs, attempts: eb('attempts', '+', 1), last_error: null })).where('id', '=', Number(row.id)));
    }
    return rows.map((row) => noticeOf({ ...row, attempts: Number(row.attempts) + 1, last_error: null }));
  });
}

/**
 * Ends `owner`'s claim on notice `id`: delivered; or failed, to be claimed again from `retryAtMs` (given up,
 * recorded as delivered with its error, without one). False when the claim was no longer `owner`'s (it ran out
 * and another process took the notice): that process's outcome is the one kept.
 */
export function finishNotice(c: Connection, id: number, owner: string, outcome: NoticeOutcome): boolean {
  const at = iso(outcome.at ?? Date.now());
  const set = outcome.ok
    ? { delivered_at: at, claimed_until: null, last_error: null }
    : outcome.retryAtMs !== undefined
      ? { claimed_until: outcome.retryAtMs, last_error: outcome.error }
      : { delivered_at: at, claimed_until: null, last_error: outcome.error };
  return c.run(c.q.updateTable('alert_notices').set(set).where('id', '=', id).where('claimed_by', '=', owner).where('delivered_at', 'is', null)).changes > 0;
}

/** Alert `alertId`'s notices, oldest first (every alert's undelivered ones when none is given). */
export function listNotices(c: Connection, alertId?: number): AlertNotice[] {
  const notices = c.q.selectFrom('alert_notices').selectAll().orderBy('id');
  return (c.all(alertId === undefined ? notices.where('delivered_at', 'is', null) : notices.where('alert_id', '=', alertId)) as Row[]).map(noticeOf);
}

/** Deletes delivered notices delivered before `before` (ms): they are history once their hooks ran. */
export function pruneNotices(c: Connection, before: number): number {
  return c.run(c.q.deleteFrom('alert_notices').where('delivered_at', 'is not', null).where('delivered_at', '<', iso(before))).changes;
}
