/**
 * Runs jobs at their own intervals: one timer for the soonest job, at most `concurrency` runs at once, and a
 * job never overlapping itself (a run still going when its time comes again is skipped, not stacked). A job
 * keeps its phase (next = the time it was due + its interval), and new jobs are spread over their interval
 * by a fraction of their key, so a thousand datastores added at once are not monitored all in the same second.
 */
export interface Job {
  /** Stable across reloads (`datastore:7`): a job replaced by one with the same key keeps its place in time. */
  key: string;
  intervalMs: number;
  /** When the job is first due (ms); default now + its spread. */
  firstAt?: number;
  run(signal: AbortSignal): Promise<void>;
}

interface Entry {
  job: Job;
  dueAt: number;
  running: AbortController | undefined;
  queued: boolean;
  /** Bumped when its due time changes or it is dropped: heap items of an older version are stale. */
  version: number;
  dropped: boolean;
}

interface Due {
  at: number;
  entry: Entry;
  version: number;
}

/** A binary min-heap of due times: each run's end costs O(log n), not a scan of every job. */
class DueHeap {
  private readonly items: Due[] = [];

  push(item: Due): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Due).at <= item.at) break;
      items[i] = items[parent] as Due;
      i = parent;
    }
    items[i] = item;
  }

  peek(): Due | undefined {
    return this.items[0];
  }

  pop(): Due | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as Due).at < (items[left] as Due).at ? right : left;
      if ((items[child] as Due).at >= last.at) break;
      items[i] = items[child] as Due;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** A number in [0, 1) from `key`, the same every time (FNV-1a): where in its interval a job falls. */
export function spreadOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/**
 * `at` rounded up to the job's tick: a twelfth of its interval, at most 5 s. Jobs due in the same tick start
 * together (as many at once as the concurrency allows), so a thousand datastores every minute are monitored in
 * twelve waves, not a thousand separate wake-ups: going from idle to busy costs CPU of its own, on a virtual
 * machine more than a run's own work (docs/monitoring.md#figures).
 */
export function aligned(at: number, intervalMs: number): number {
  const tick = Math.min(5000, Math.max(1, Math.floor(intervalMs / 12)));
  return Math.ceil(at / tick) * tick;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new DueHeap();
  private readonly waiting: Entry[] = [];
  private readonly runs = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly onError: (key: string, error: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds the jobs not known yet, replaces known ones (same key: same due time, the new interval from the next run), drops the rest. */
  setJobs(jobs: readonly Job[]): void {
    const keys = new Set(jobs.map((job) => job.key));
    for (const [key, entry] of this.entries) {
      if (keys.has(key)) continue;
      entry.dropped = true;
      entry.version += 1;
      entry.running?.abort();
      this.entries.delete(key);
    }
    const now = this.now();
    for (const job of jobs) {
      const entry = this.entries.get(job.key);
      if (entry) {
        entry.job = job;
        continue;
      }
      // An asked-for first time is kept as given; a spread one falls on a tick, as every later turn does.
      const dueAt = job.firstAt ?? aligned(now + Math.floor(spreadOf(job.key) * job.intervalMs), job.intervalMs);
      const added: Entry = { job, dueAt, running: undefined, queued: false, version: 0, dropped: false };
      this.entries.set(job.key, added);
      this.schedule(added);
    }
    this.arm();
  }

  /** Jobs known, and runs in flight. */
  get size(): { jobs: number; running: number } {
    return { jobs: this.entries.size, running: this.runs.size };
  }

  /** Stops starting runs, aborts those in flight and waits for them to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const entry of this.entries.values()) entry.running?.abort();
    await Promise.allSettled([...this.runs]);
  }

  /** Puts an idle entry in the heap at its due time. */
  private schedule(entry: Entry): void {
    entry.version += 1;
    this.heap.push({ at: entry.dueAt, entry, version: entry.version });
  }

  /** Starts what is due (as many as the concurrency allows), then sleeps until the next one is due. */
  private arm(): void {
    if (this.stopped) return;
    const now = this.now();
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      const { entry } = top;
      // Stale: dropped, or due at another time since it was pushed.
      if (entry.dropped || top.version !== entry.version || entry.running || entry.queued) continue;
      entry.queued = true;
      this.waiting.push(entry);
    }
    while (this.runs.size < this.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift() as Entry;
      entry.queued = false;
      if (!entry.dropped) this.start(entry);
    }
    this.wake(this.nextAt());
  }

  /** The due time of the soonest valid heap item (stale ones are dropped on the way). */
  private nextAt(): number {
    for (let top = this.heap.peek(); top !== undefined; top = this.heap.peek()) {
      if (!top.entry.dropped && top.version === top.entry.version && !top.entry.running && !top.entry.queued) return top.at;
      this.heap.pop();
    }
    return Infinity;
  }

  /** One timer, for the soonest due time; left alone when it already fires then. */
  private wake(at: number): void {
    if (at === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.arm();
    }, Math.max(0, at - this.now()));
  }

  /** The next due time after `now` in the job's phase. */
  private nextDue(entry: Entry, now: number): number {
    const interval = Math.max(1, entry.job.intervalMs);
    const missed = Math.floor((now - entry.dueAt) / interval) + 1;
    return aligned(entry.dueAt + Math.max(1, missed) * interval, interval);
  }

  private start(entry: Entry): void {
    const controller = new AbortController();
    entry.running = controller;
    const started = this.now();
    const run = (async () => {
      try {
        await entry.job.run(controller.signal);
      } catch (error) {
        this.onError(entry.job.key, error);
      }
    })().finally(() => {
      entry.running = undefined;
      this.runs.delete(run);
      if (entry.dropped) return this.arm();
      // Due again while it ran: the turns it overlapped are skipped, not stacked behind it.
      const now = Math.max(started, this.now());
      if (entry.dueAt <= now) entry.dueAt = this.nextDue(entry, now);
      this.schedule(entry);
      this.arm();
    });
    this.runs.add(run);
  }
}
