/**
 * Progress of a long copy on a terminal: how many bytes have landed in the
 * target folder and at what rate. Drivers write where they like (the fs
 * driver into a hidden temporary folder next to the new image), so this
 * watches the files that appear in the datastore folder after the copy
 * started, one folder level deep, instead of asking the driver.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
