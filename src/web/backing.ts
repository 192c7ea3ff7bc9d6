/**
 * A VM disk's backing chain as qemu-img sees it (`qemu-img info --backing-chain --output=json -U`), for the VM
 * page. qemu-img runs asynchronously, so a slow disk never stalls `ferry serve` (its other requests, its monitor
 * loop): an argv array (never a shell), a 2 s timeout, a few at a time, only on an absolute path the front-end
 * sees, and its answer cached until a file of the chain changes (path, device, inode, size and times of every
 * layer; a failure for a minute at most), so reloading a page does not run it again. Two pages asking for the
 * same disk at once share one run.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { execa } from 'execa';

/** One file of a chain, the disk's own first, then its backing file, and so on. */
export interface Layer {
  filename: string;
  format: string;
  /** Bytes, as the guest sees them. */
  virtualSize: number | null;
  /** Bytes allocated on the filesystem. */
  actualSize: number | null;
  backingFilename: string | null;
}

export type Inspection =
  | { kind: 'chain'; layers: Layer[] }
  /** No such file from here (the disk lives on another host, or is gone). */
  | { kind: 'invisible' }
  | { kind: 'error'; error: string }
  /** Not read: the page's time for qemu-img was spent on other disks. */
  | { kind: 'skipped' };

export interface InspectOptions {
  /** Date.now() past which qemu-img is not run (a cached answer is still given). */
  deadline?: number;
}

export interface BackingOptions {
  timeoutMs?: number;
  /** Entries kept (the least recently used go first). */
  maxEntries?: number;
  /** The qemu-img to run (tests); default `qemu-img` from PATH (looked up at each run). */
  qemuImg?: string;
  /** qemu-img processes running at once (the others wait their turn); default 4. */
  concurrency?: number;
}

const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The layers of `qemu-img info --backing-chain --output=json` (an array; one object without --backing-chain). */
export function parseBackingChain(json: string): Layer[] {
  const parsed: unknown = JSON.parse(json);
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) throw new Error('no layer in qemu-img output');
  return items.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw new Error(`layer ${i} of qemu-img output is not an object`);
    const layer = item as Record<string, unknown>;
    if (typeof layer.filename !== 'string' || typeof layer.format !== 'string') throw new Error(`layer ${i} of qemu-img output has no filename or format`);
    const backing = layer['full-backing-filename'] ?? layer['backing-filename'];
    return {
      filename: layer.filename,
      format: layer.format,
      virtualSize: number(layer['virtual-size']),
      actualSize: number(layer['actual-size']),
      backingFilename: typeof backing === 'string' ? backing : null,
    };
  });
}

/** What identifies a file's content here: undefined when it is not a file the front-end sees. */
async function signature(path: string): Promise<string | undefined> {
  if (!isAbsolute(path)) return undefined;
  let info;
  try {
    info = await stat(path, { bigint: true });
  } catch {
    // Gone, not ours to read, a broken link: not a file the page can show.
    return undefined;
  }
  if (info.isDirectory()) return undefined;
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

interface Entry {
  /** The signature of each local file the answer was read from, the disk's first. */
  files: Array<[string, string | undefined]>;
  result: Inspection;
  /** Date.now() when read: a failure (a timeout on a loaded machine) is tried again after ERROR_TTL_MS. */
  at: number;
}

const ERROR_TTL_MS = 60_000;

/** The first line of what a failed qemu-img said, bounded. */
function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export class BackingChains {
  private readonly cache = new Map<string, Entry>();
  /** Runs under way, by path: a second page asking meanwhile waits for the same answer. */
  private readonly running = new Map<string, Promise<Inspection>>();
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly qemuImg: string;
  private readonly concurrency: number;
  /** Runs waiting for a free slot, oldest first. */
  private readonly queue: Array<() => void> = [];
  private active = 0;
  /** How many times qemu-img ran (tests check that a cached answer does not run it). */
  runs = 0;

  constructor(options: BackingOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxEntries = options.maxEntries ?? 1000;
    this.qemuImg = options.qemuImg ?? 'qemu-img';
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** The chain of the disk file at `path`, from the cache while none of its files changed. */
  async inspect(path: string, options: InspectOptions = {}): Promise<Inspection> {
    const top = await signature(path);
    if (top === undefined) {
      this.cache.delete(path);
      return { kind: 'invisible' };
    }
    const cached = this.cache.get(path);
    if (cached !== undefined && (await this.stillValid(cached, top))) {
      // Most recently used last: the first key is the one to drop.
      this.cache.delete(path);
      this.cache.set(path, cached);
      return cached.result;
    }
    const under = this.running.get(path);
    if (under !== undefined) return under;
    const run = this.read(path, top, options.deadline).finally(() => this.running.delete(path));
    this.running.set(path, run);
    return run;
  }

  private async stillValid(cached: Entry, top: string): Promise<boolean> {
    if (cached.result.kind === 'error' && Date.now() - cached.at >= ERROR_TTL_MS) return false;
    if (cached.files[0]?.[1] !== top) return false;
    const now = await Promise.all(cached.files.slice(1).map(([file]) => signature(file)));
    return now.every((sig, i) => sig === cached.files[i + 1]![1]);
  }

  /** Runs qemu-img on `path` when a slot frees before `deadline`, and caches its answer. */
  private async read(path: string, top: string, deadline: number | undefined): Promise<Inspection> {
    if (deadline !== undefined && Date.now() > deadline) return { kind: 'skipped' };
    await this.slot();
    let result: Inspection;
    try {
      // The deadline again: the wait for a slot may have used it up.
      if (deadline !== undefined && Date.now() > deadline) return { kind: 'skipped' };
      result = await this.run(path);
    } finally {
      this.release();
    }
    const files: Array<[string, string | undefined]> = [[path, top]];
    if (result.kind === 'chain') {
      const layers = result.layers.slice(1).map((layer) => layer.filename);
      const sigs = await Promise.all(layers.map((file) => signature(file)));
      layers.forEach((file, i) => files.push([file, sigs[i]]));
    }
    this.cache.delete(path);
    this.cache.set(path, { files, result, at: Date.now() });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return result;
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return;
    }
    // The slot is handed over by release(): active stays counted.
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else this.active -= 1;
  }

  private async run(path: string): Promise<Inspection> {
    this.runs += 1;
    // -U: read a disk a running qemu holds locked. The path is absolute, so qemu never reads it as an option or a protocol.
    const out = await execa(this.qemuImg, ['info', '--backing-chain', '--output=json', '-U', path], { timeout: this.timeoutMs, reject: false, maxBuffer: 1024 * 1024, stdin: 'ignore' });
    if (out.timedOut) return { kind: 'error', error: `qemu-img did not answer within ${this.timeoutMs} ms` };
    if (out.code === 'ENOENT') return { kind: 'error', error: 'qemu-img is not installed on this machine' };
    if (out.exitCode !== 0) return { kind: 'error', error: `qemu-img failed: ${firstLine(String(out.stderr)) || out.shortMessage}` };
    try {
      return { kind: 'chain', layers: parseBackingChain(String(out.stdout)) };
    } catch (error) {
      return { kind: 'error', error: `qemu-img's answer is not a backing chain: ${(error as Error).message}` };
    }
  }
}

/** The dashboard's cache, shared by every page of a `ferry serve`. */
export const backingChains = new BackingChains();

/** `bytes` as a short figure: 196 KiB, 32 MiB, 1.5 GiB. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 || value >= 100 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}
