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
  c.sql('INSERT INTO alert_notices (alert_id, event, at) VALUES (?, ?, ?)').run(alertId, event, iso(at));
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
    const rows = (
      c
        .sql(
          `SELECT n.* FROM alert_notices n
           WHERE n.delivered_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM alert_notices o WHERE o.alert_id = n.alert_id AND o.id < n.id AND o.delivered_at IS NULL)
             -- Those surely not claimable (waiting for their retry, or this owner's own) never fill the window.
             AND (n.claimed_until IS NULL OR n.claimed_until <= @now OR (n.last_error IS NULL AND n.claimed_by IS NOT @owner))
           ORDER BY n.id LIMIT @limit`,
        )
        .all({ limit: limit * 10, now, owner }) as Row[]
    )
      .filter((row) => claimable(row, owner, now))
      .slice(0, limit);
    const claim = c.sql('UPDATE alert_notices SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?');
    for (const row of rows) claim.run(owner, now + leaseMs, row.id);
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
  const info = outcome.ok
    ? c.sql('UPDATE alert_notices SET delivered_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL').run(at, id, owner)
    : outcome.retryAtMs !== undefined
      ? c.sql('UPDATE alert_notices SET claimed_until = ?, last_error = ? WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL').run(outcome.retryAtMs, outcome.error, id, owner)
      : c.sql('UPDATE alert_notices SET delivered_at = ?, claimed_until = NULL, last_error = ? WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL').run(at, outcome.error, id, owner);
  return info.changes > 0;
}

/** Alert `alertId`'s notices, oldest first (every alert's undelivered ones when none is given). */
export function listNotices(c: Connection, alertId?: number): AlertNotice[] {
  const rows = (alertId === undefined ? c.sql('SELECT * FROM alert_notices WHERE delivered_at IS NULL ORDER BY id').all() : c.sql('SELECT * FROM alert_notices WHERE alert_id = ? ORDER BY id').all(alertId)) as Row[];
  return rows.map(noticeOf);
}

/** Deletes delivered notices delivered before `before` (ms): they are history once their hooks ran. */
export function pruneNotices(c: Connection, before: number): number {
  return c.sql('DELETE FROM alert_notices WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(iso(before)).changes;
}
