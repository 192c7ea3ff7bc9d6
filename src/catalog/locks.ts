/**
 * Locks: work on one image or VM is serialized by a lock row naming its
 * owner (pid and machine), refused with E_BUSY while that owner lives and
 * taken over once it is gone (a killed ferry).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { FerryError } from '../errors.js';
import type { Connection } from './connection.js';
import type { Release } from './store.js';
import { now, type Row } from './values.js';

/** E_BUSY when another live ferry process holds `subject`'s lock (what it runs, since when); undefined when free or ours. */
export function busy(c: Connection, subject: string): FerryError | undefined {
  const held = c.sql('SELECT * FROM locks WHERE subject = ?').get(subject) as Row | undefined;
  return held && !ownedByMe(held) ? busyError(subject, held) : undefined;
}

/**
 * Takes the lock on `subject` (`vm:7`, `image:3`) for this process. Held by
 * a live process on this machine: E_BUSY naming it. Held by a process that
 * is gone (a killed ferry): taken over.
 */
export function lock(c: Connection, subject: string, operation: string): Release {
  const me = { pid: process.pid, host: thisHost() };
  // Already ours (an operation inside another on the same subject): the outer holder releases it.
  let nested = false;
  // Read and insert must not be split; inside a caller's transaction they already are not (no savepoint needed).
  const atomically = (fn: () => void): void => (c.inTransaction ? fn() : c.transaction(fn));
  atomically(() => {
    const held = c.sql('SELECT * FROM locks WHERE subject = ?').get(subject) as Row | undefined;
    if (held && ownedByMe(held)) {
      nested = true;
      return;
    }
    const refused = held && busyError(subject, held);
    if (refused) throw refused;
    c.sql('INSERT OR REPLACE INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run(subject, me.pid, me.host, operation, now());
  });
  if (nested) return () => undefined;
  // Idempotent, and a read when there is nothing to release: callers unlock again at the end, whatever happened.
  return () => {
    if (c.sql('SELECT 1 FROM locks WHERE subject = ? AND owner_pid = ? AND owner_host = ?').get(subject, me.pid, me.host)) {
      c.sql('DELETE FROM locks WHERE subject = ? AND owner_pid = ? AND owner_host = ?').run(subject, me.pid, me.host);
    }
  };
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
function ownerAlive(pid: number, owner: string): boolean {
  if (owner !== thisHost()) return true;
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
