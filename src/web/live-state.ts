/**
 * A VM's live state as its event stream sends it (live-wire.ts), read from the catalog and, for a copy step in
 * flight, from the files: the front-end sees a destination when its path exists here (as sizes.ts measures VM
 * disks: a host:path's path, stat'ed on this machine), so the bytes written so far are its size. A driver writes
 * a file under DIR/.NAME.ferry-tmp.PID[.TAG] until it is complete (docs/driver-contract.md), so that name counts
 * too while the destination itself does not exist yet.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JournalEntry, PlanStep, Vm } from '../model.js';
import type { ApiCatalog } from '../service/api.js';
import type { LiveCopy, LiveJournalEntry, LiveLock, LiveState, LiveStep } from './live-wire.js';

/** TM actions that copy (or may copy) a file from their first argument to their second. */
const COPY_ACTIONS = new Set(['clone', 'cpds', 'mv', 'mvds']);
const MESSAGE_MAX = 300;

/** The path of a `host:/path` argument (or of a plain absolute path); undefined for anything else. */
export function pathOf(arg: string | undefined): string | undefined {
  if (arg === undefined) return undefined;
  const hosted = /^[^/:]*:(\/.*)$/.exec(arg);
  const path = hosted ? hosted[1]! : arg;
  return path.startsWith('/') ? path : undefined;
}

/** Size of the regular file at `path` (not followed through a link: a linked disk is its image's file, not a copy); undefined when there is none. */
function fileSize(path: string): number | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isFile() ? stat.size : undefined;
}

/** Bytes of `destination` written so far: its own size, else its newest temporary file's (DIR/.NAME.ferry-tmp.*); undefined when neither is visible. */
export function bytesWritten(destination: string): { path: string; bytes: number } | undefined {
  const direct = fileSize(destination);
  if (direct !== undefined) return { path: destination, bytes: direct };
  const dir = dirname(destination);
  const prefix = `.${basename(destination)}.ferry-tmp.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  let best: { path: string; bytes: number; mtime: number } | undefined;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    // A leftover of a killed run may sit beside the one being written: the newest is this one.
    if (stat?.isFile() && (best === undefined || stat.mtimeMs > best.mtime)) best = { path, bytes: stat.size, mtime: stat.mtimeMs };
  }
  return best && { path: best.path, bytes: best.bytes };
}

/** The copy `step` is making, when it is a copy and its destination is visible here. */
export function copyInFlight(step: PlanStep): LiveCopy | null {
  if (step.kind !== 'tm' || !COPY_ACTIONS.has(step.action)) return null;
  const source = pathOf(step.args[0]);
  const destination = pathOf(step.args[1]);
  // The same path on both sides (a move on shared storage) copies nothing.
  if (destination === undefined || destination === source) return null;
  const written = bytesWritten(destination);
  if (written === undefined) return null;
  let sourceBytes: number | null = null;
  if (source !== undefined) {
    const stat = statSync(source, { throwIfNoEntry: false });
    if (stat?.isFile()) sourceBytes = stat.size;
  }
  return { action: step.action, path: written.path, bytes: written.bytes, sourceBytes };
}

/** Who holds `subject`'s lock; null when it is free (or its holder is gone). */
export function lockOf(catalog: ApiCatalog, subject: string): LiveLock | null {
  const holder = catalog.lockHolder(subject);
  return holder === undefined ? null : { pid: holder.pid, host: holder.host, operation: holder.operation, since: holder.since };
}

function stepOf(vm: Vm, lock: LiveLock | null): { step: LiveStep; plan: PlanStep } | null {
  if (vm.operation === null || vm.plan === null || vm.plan.length === 0) return null;
  // The next step to run is the one in flight; once all are done (the end state being written) the last.
  const index = Math.min(vm.step ?? 0, vm.plan.length - 1);
  const plan = vm.plan[index]!;
  // A live ferry holding the lock runs it (a recover --retry runs the plan of a VM still FAILED).
  const status = lock !== null ? 'running' : vm.state === 'FAILED' ? 'failed' : 'interrupted';
  return { plan, step: { index: index + 1, total: vm.plan.length, kind: plan.kind, driver: plan.driver, action: plan.action, why: plan.why, status } };
}

/** copyInFlight, or null when the files cannot be read (a folder this user may not list): the rest of the state still goes. */
function visibleCopy(step: PlanStep): LiveCopy | null {
  try {
    return copyInFlight(step);
  } catch {
    return null;
  }
}

/** VM `id` now, or undefined when the catalog has no such VM. */
export function readLiveState(catalog: ApiCatalog, id: number): LiveState | undefined {
  const vm = catalog.findVm(id);
  if (vm === undefined) return undefined;
  const lock = lockOf(catalog, `vm:${id}`);
  const current = stepOf(vm, lock);
  return {
    id: vm.id,
    name: vm.name,
    state: vm.state,
    host: vm.host,
    operation: vm.operation,
    step: current?.step ?? null,
    error: vm.error,
    lock,
    copy: current?.step.status === 'running' ? visibleCopy(current.plan) : null,
    updatedAt: vm.updatedAt,
  };
}

export function liveEntry(entry: JournalEntry): LiveJournalEntry {
  const message = entry.message === null || entry.message.length <= MESSAGE_MAX ? entry.message : `${entry.message.slice(0, MESSAGE_MAX - 1)}…`;
  return { id: entry.id, at: entry.at, operation: entry.operation, step: entry.step, driver: entry.driver, action: entry.action, ok: entry.ok, durationMs: entry.durationMs, message };
}
