/**
 * Locks: work on one image or VM is serialized by a lock row naming its
 * owner (host, pid and the process's start time: owner.ts), refused with
 * E_BUSY while that owner lives and taken over once it is gone (a killed
 * ferry, even when its pid now belongs to another process). An owner on
 * another host cannot be judged from here: refused, naming that host and
 * the command that breaks its locks (`ferry host break-locks HOST`).
 *
 * A lock may instead be held by a queued operation (schema 11, owner_operation): taken by the command that queues
 * it, held while the operation is queued or running whichever worker runs it, and its own to the connection that
 * works for it (Connection.actingFor). It is let go with the operation's end (operations.ts: endOperation).
 */
import { FerryError } from '../errors.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';
import { ownerState, selfOwner, type ProcessOwner } from './owner.js';
import type { BrokenLock, LockHolder, Release } from './store.js';
import { now, type Row } from './values.js';

let self: ProcessOwner | undefined;
/** This process as a lock owner, asked once: locks ask on every take and release. */
function me(): ProcessOwner {
  return (self ??= selfOwner());
}

// Run on every take and release of a lock (each operation on an image or VM): compiled once.
const lockRow = prepared((db) => db.selectFrom('locks').selectAll().where('subject', '=', arg<string>(0)));
/** Ours when nobody holds it: a single statement in the common case. */
const claimLock = prepared((db) =>
  db
    .insertInto('locks')
    .values({ subject: arg(0), owner_pid: arg(1), owner_host: arg(2), owner_started: arg(3), operation: arg(4), since: arg(5), owner_operation: arg(6) })
    .onConflict((oc) => oc.column('subject').doNothing()),
);
/** The holder's row, locked until the transaction ends (PostgreSQL: a process taking it over waits for us). */
const lockRowForUpdate = prepared((db) => db.selectFrom('locks').selectAll().where('subject', '=', arg<string>(0)).forUpdate());
/** A lock whose holder is gone, taken over. */
const takeOver = prepared((db) =>
  db.updateTable('locks').set({ owner_pid: arg(1), owner_host: arg(2), owner_started: arg(3), operation: arg(4), since: arg(5), owner_operation: arg(6) }).where('subject', '=', arg<string>(0)),
);
const ownLock = prepared((db) =>
  db.selectFrom('locks').select('subject').where('subject', '=', arg<string>(0)).where('owner_pid', '=', arg<number>(1)).where('owner_host', '=', arg<string>(2)).where('owner_operation', 'is', null),
);
const releaseLock = prepared((db) =>
  db.deleteFrom('locks').where('subject', '=', arg<string>(0)).where('owner_pid', '=', arg<number>(1)).where('owner_host', '=', arg<string>(2)).where('owner_operation', 'is', null),
);
const releaseOperationLock = prepared((db) => db.deleteFrom('locks').where('subject', '=', arg<string>(0)).where('owner_operation', '=', arg<number>(1)));
const operationState = prepared((db) => db.selectFrom('operations').select(['state', 'operation', 'worker']).where('id', '=', arg<number>(0)));

function ownerOf(held: Row): ProcessOwner {
  return { host: String(held.owner_host), pid: Number(held.owner_pid), started: String(held.owner_started ?? '') };
}

/** E_BUSY when another live ferry process holds `subject`'s lock (what it runs, since when); undefined when free or ours. */
export function busy(c: Connection, subject: string): FerryError | undefined {
  const held = lockRow.get(c.ex, subject) as Row | undefined;
  return held && !ownedByMe(c, held) ? busyError(c, subject, held) : undefined;
}

/** Who holds `subject`'s lock (this process included); undefined when it is free or its holder is gone. */
export function lockHolder(c: Connection, subject: string): LockHolder | undefined {
  const held = lockRow.get(c.ex, subject) as Row | undefined;
  if (!held) return undefined;
  const owner = ownerOf(held);
  const queued = held.owner_operation ?? null;
  const state = ownedByMe(c, held) ? 'alive' : queued !== null ? (liveOperation(c, Number(queued)) ? 'alive' : 'gone') : ownerState(owner, me().host);
  if (state === 'gone') return undefined;
  return { subject, pid: owner.pid, host: owner.host, operation: String(held.operation), since: String(held.since), state, ...(queued !== null ? { operationId: Number(queued) } : {}) };
}

/**
 * Takes the lock on `subject` (`vm:7`, `image:3`) for this process. Held by
 * a live process on this machine, or by one on another host: E_BUSY naming
 * it. Held by a process that is gone (a killed ferry): taken over.
 */
export function lock(c: Connection, subject: string, operation: string): Release {
  return take(c, subject, operation, null);
}

/**
 * Takes the lock on `subject` for the queued operation `operationId` (in the transaction that queues it): held
 * until endOperation lets it go, whichever process runs the operation. Refused as lock() refuses.
 */
export function lockForOperation(c: Connection, subject: string, operation: string, operationId: number): void {
  take(c, subject, operation, operationId);
}

function take(c: Connection, subject: string, operation: string, queued: number | null): Release {
  const owner = me();
  // A worker's locks are the operation's it runs: a worker that takes its job up after this one died holds them.
  const operationId = queued ?? c.actingFor ?? null;
  // Already ours (an operation inside another on the same subject): the outer holder releases it.
  let nested = false;
  // Read and insert must not be split; inside a caller's transaction they already are not (no savepoint needed).
  const atomically = (fn: () => void): void => (c.inTransaction ? fn() : c.transaction(fn));
  atomically(() => {
    // On SQLite the transaction holds the write lock already; on PostgreSQL (READ COMMITTED) the insert waits
    // for a concurrent one of the same subject, and the row read is locked until this transaction ends.
    const values = [subject, owner.pid, owner.host, owner.started, operation, now(), operationId];
    for (;;) {
      if (claimLock.run(c.ex, ...values).changes === 1) return;
      const held = (c.dialect === 'postgres' ? lockRowForUpdate : lockRow).get(c.ex, subject) as Row | undefined;
      // Released between the two statements (PostgreSQL only): claim it again.
      if (!held) continue;
      if (ownedByMe(c, held)) {
        nested = true;
        return;
      }
      const refused = busyError(c, subject, held);
      if (refused) throw refused;
      takeOver.run(c.ex, ...values);
      return;
    }
  });
  // Nested, or held for a queued operation: let go by the outer holder, or with the operation's end.
  if (nested || queued !== null) return () => undefined;
  if (operationId !== null) return () => void releaseOperationLock.run(c.ex, subject, operationId);
  // Idempotent, and a read when there is nothing to release: callers unlock again at the end, whatever happened.
  return () => {
    if (ownLock.get(c.ex, subject, owner.pid, owner.host)) releaseLock.run(c.ex, subject, owner.pid, owner.host);
  };
}

/**
 * Removes the locks that ferry processes on `host` hold (all, or only
 * `subject`'s): what an operator runs once that host's ferry is known to be
 * gone. Locks of this host's live processes are never broken.
 */
export function breakLocks(c: Connection, host: string, subject?: string): BrokenLock[] {
  return c.transaction(() => {
    const held = c.q.selectFrom('locks').selectAll().where('owner_host', '=', host);
    const rows = c.all(subject === undefined ? held.orderBy('subject') : held.where('subject', '=', subject)) as Row[];
    for (const held of rows) {
      // An operation's lock is the queue's to hand on, not a host's: `ferry op` and `recover` deal with those.
      if (held.owner_operation != null) continue;
      const refused = ownerState(ownerOf(held), me().host) === 'alive' ? busyError(c, String(held.subject), held) : undefined;
      if (refused) throw refused;
    }
    const broken = rows.filter((held) => held.owner_operation == null).map((held) => ({ subject: String(held.subject), host, pid: Number(held.owner_pid), operation: String(held.operation), since: String(held.since) }));
    for (const each of broken) c.run(c.q.deleteFrom('locks').where('subject', '=', each.subject).where('owner_host', '=', host));
    return broken;
  });
}

/** A lock row of this process (the same process: pid and start time, on this host), or of the operation it works for. */
function ownedByMe(c: Connection, held: Row): boolean {
  if (held.owner_operation != null) return c.actingFor !== undefined && Number(held.owner_operation) === c.actingFor;
  const owner = ownerOf(held);
  return owner.pid === me().pid && owner.host === me().host && (owner.started === '' || owner.started === me().started);
}

/** Whether queued operation `id` is still under way (queued or running): its locks hold while it is. */
function liveOperation(c: Connection, id: number): { state: string; operation: string; worker: string | null } | undefined {
  const row = operationState.get(c.ex, id) as { state: string; operation: string; worker: string | null } | undefined;
  return row && (row.state === 'queued' || row.state === 'running') ? row : undefined;
}

/** E_BUSY for a lock row whose owner lives or cannot be judged (another host); undefined when it is gone. */
function busyError(c: Connection, subject: string, held: Row): FerryError | undefined {
  if (held.owner_operation != null) {
    const id = Number(held.owner_operation);
    const live = liveOperation(c, id);
    if (!live) return undefined;
    const where = live.state === 'running' && live.worker ? `running on worker ${live.worker}` : live.state;
    return new FerryError('E_BUSY', `${subject} is busy: operation ${id} (${live.operation}) holds it, ${where}`, { hint: `wait for it: ferry op wait ${id}` });
  }
  const owner = ownerOf(held);
  const what = `ferry process ${owner.pid} on ${owner.host} is running ${String(held.operation)} on it since ${String(held.since)}`;
  switch (ownerState(owner, me().host)) {
    case 'gone':
      return undefined;
    case 'alive':
      return new FerryError('E_BUSY', `${subject} is busy: ${what}`, { hint: 'wait for it to finish, then run the command again' });
    case 'other-host':
      return new FerryError('E_BUSY', `${subject} is locked from another host: ${what}; whether it still runs cannot be told from ${me().host}`, {
        hint: `wait for it; if ferry on ${owner.host} is gone (crashed, switched off), break its lock: ferry host break-locks ${owner.host} --subject ${subject}`,
      });
  }
}
