/**
 * Progress of a long copy on a terminal: how many bytes have landed in the
 * target folder and at what rate. Drivers write where they like (the fs
 * driver into a hidden temporary folder next to the new image), so this
 * watches the files that appear in the datastore folder after the copy
 * started, one folder level deep, instead of asking the driver.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanStep } from '../model.js';
import type { Io } from './io.js';

const MiB = 1024 * 1024;

/** Bytes in files under `dir` (and one level of folders) that were not there at the start. */
export class GrowthWatcher {
  private readonly before: Set<string>;

  constructor(private readonly dir: string) {
    this.before = new Set(this.names());
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  /** Bytes written so far to new files (apparent size: a sparse copy counts the holes it skipped). */
  bytes(): number {
    let total = 0;
    for (const name of this.names()) {
      if (this.before.has(name)) continue;
      total += sizeOf(join(this.dir, name), 1);
    }
    return total;
  }
}

function sizeOf(path: string, depth: number): number {
  let info;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch {
    // Not ours to read (EACCES …): progress is best effort, never a reason to fail a copy.
    return 0;
  }
  if (!info) return 0;
  if (info.isFile()) return info.size;
  if (!info.isDirectory() || depth === 0) return 0;
  let total = 0;
  try {
    for (const name of readdirSync(path)) total += sizeOf(join(path, name), depth - 1);
  } catch {
    // Gone between readdir and stat: the copy finished and renamed it.
  }
  return total;
}

/** `12.5 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < MiB) return `${Math.round(bytes / 1024)} KiB`;
  if (bytes < 1024 * MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
}

/** One progress line: bytes so far, of the total when known, and the rate. */
export function progressLine(label: string, bytes: number, totalBytes: number | null, bytesPerSec: number, elapsedSec: number): string {
  if (bytes === 0) return `${label} … ${Math.round(elapsedSec)} s`;
  const of = totalBytes ? ` of ${formatBytes(totalBytes)} (${Math.min(100, Math.floor((bytes / totalBytes) * 100))}%)` : '';
  return `${label} … ${formatBytes(bytes)}${of} at ${formatBytes(bytesPerSec)}/s, ${Math.round(elapsedSec)} s`;
}

/** What to watch while a copy runs: the folder its target appears in, and its expected size. */
export interface Watch {
  dir: string;
  totalMb: number | null;
}

/**
 * On a terminal, a one-line report on stderr while `work` runs longer than a
 * second: elapsed time, and with `watch` the bytes landing in its folder
 * and their rate. Quiet when stderr is not a terminal.
 */
export async function withProgress<T>(io: Io, label: string, work: Promise<T>, watch?: Watch, intervalMs = 500): Promise<T> {
  if (!io.stderr.isTTY) return work;
  const watcher = watch ? new GrowthWatcher(watch.dir) : undefined;
  const totalBytes = watch?.totalMb ? watch.totalMb * MiB : null;
  const started = Date.now();
  let last = { at: started, bytes: 0 };
  let rate = 0;
  let shown = false;
  const timer = setInterval(() => {
    const now = Date.now();
    const bytes = watcher?.bytes() ?? 0;
    if (now > last.at) rate = Math.max(0, (bytes - last.bytes) / ((now - last.at) / 1000));
    last = { at: now, bytes };
    if (now - started < 1000) return;
    shown = true;
    io.stderr.write(`\r\x1b[2K${progressLine(label, bytes, totalBytes, rate, (now - started) / 1000)}`);
  }, intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    if (shown) io.stderr.write('\r\x1b[2K');
  }
}

/** The step in flight: `  … [2/4] CLONE shared fe:/a host01:/b  3.5 s  12.5 MiB`, cut to `columns`. */
export function stepLine(label: string, elapsedSec: number, bytes: number, columns = 0): string {
  const tail = `  ${elapsedSec.toFixed(1)} s${bytes > 0 ? `  ${formatBytes(bytes)}` : ''}`;
  const room = columns > 0 ? Math.max(10, columns - 1 - tail.length - 4) : Infinity;
  const head = label.length > room ? `${label.slice(0, room - 1)}…` : label;
  return `  … ${head}${tail}`;
}

/**
 * On a terminal, the step in flight on one line of stderr, redrawn while it
 * runs longer than `delayMs`: its elapsed time and, with `target` (a local
 * file or folder the step writes), the bytes there so far. Cleared when the
 * step ends; quiet when stderr is not a terminal. No colour, so NO_COLOR
 * has nothing to take away.
 */
export class StepTicker {
  private timer: ReturnType<typeof setInterval> | undefined;
  private shown = false;

  constructor(
    private readonly io: Io,
    private readonly intervalMs = 250,
    private readonly delayMs = 1000,
  ) {}

  start(label: string, target?: string): void {
    this.stop();
    if (!this.io.stderr.isTTY) return;
    const started = Date.now();
    this.timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed < this.delayMs) return;
      this.shown = true;
      this.io.stderr.write(`\r\x1b[2K${stepLine(label, elapsed / 1000, target ? sizeOf(target, 1) : 0, this.io.stderr.columns)}`);
    }, this.intervalMs);
    // A redraw never keeps ferry alive.
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.io.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** TM actions that copy into their second argument (`host:path`), whose size there shows how far they got. */
const COPYING = new Set(['clone', 'cpds', 'mvds', 'mv']);

/** Where a copying step writes, as a path on this machine (a remote host's path is not there, and shows no bytes). */
export function stepTarget(step: PlanStep): string | undefined {
  if (step.kind !== 'tm' || !COPYING.has(step.action)) return undefined;
  const destination = step.args[1] ?? '';
  const path = destination.slice(destination.indexOf(':') + 1);
  return path.startsWith('/') ? path : undefined;
}
