/**
 * What a VM's event stream (`GET /events/vms/<id>`) sends: the server (live.ts) writes it, the browser
 * (client/live.ts) reads it. Types only, no imports, so both the service and the page's script compile it.
 *
 * Events: `state` (a LiveState, sent first and then whenever something in it changes) and `journal` (a
 * LiveJournalEntry[], oldest first: the VM's newest entries at first, then each new one). Every event's `id:` is
 * the id of the last journal entry the stream sent, so a reconnecting EventSource (Last-Event-ID) gets only the
 * entries it missed.
 */

/** The step of the VM's operation that runs (or failed, or was left when its ferry stopped). */
export interface LiveStep {
  /** 1-based. */
  index: number;
  total: number;
  kind: string;
  driver: string;
  action: string;
  why: string;
  /** running: a live ferry holds the VM's lock; failed: the VM is FAILED at it; interrupted: neither. */
  status: 'running' | 'failed' | 'interrupted';
}

/** A copy step in flight whose destination this machine sees: the bytes written so far, and the source's size when it is visible too. */
export interface LiveCopy {
  action: string;
  /** The destination file (or the temporary name it is written under until complete). */
  path: string;
  bytes: number;
  sourceBytes: number | null;
}

/** The VM's lock, held by a live ferry process. */
export interface LiveLock {
  operation: string | null;
  pid: number | null;
  host: string | null;
  /** ISO time, as the lock records it. */
  since: string | null;
}

export interface LiveState {
  id: number;
  name: string;
  state: string;
  host: string;
  /** The operation under way or failed; null when the VM is idle (the last one finished). */
  operation: string | null;
  step: LiveStep | null;
  error: string | null;
  lock: LiveLock | null;
  copy: LiveCopy | null;
  updatedAt: string;
}

export interface LiveJournalEntry {
  id: number;
  at: string;
  operation: string;
  /** 0-based step of the operation's plan, when the entry is a plan step. */
  step: number | null;
  driver: string;
  action: string;
  ok: boolean;
  durationMs: number | null;
  /** At most a few hundred characters (the API's /journal has it whole). */
  message: string | null;
}
