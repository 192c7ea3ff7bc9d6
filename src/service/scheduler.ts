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
}

/** A number in [0, 1) from `key`, the same every time (FNV-1a): where in its interval a job falls. */
export function spreadOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private readonly runs = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
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
      entry.running?.abort();
      this.entries.delete(key);
    }
    const now = this.now();
    for (const job of jobs) {
      const entry = this.entries.get(job.key);
      if (entry) entry.job = job;
      else this.entries.set(job.key, { job, dueAt: job.firstAt ?? now + Math.floor(spreadOf(job.key) * job.intervalMs), running: undefined, queued: false });
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

  /** Starts what is due (as many as the concurrency allows), then sleeps until the next one is due. */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.now();
    let next = Infinity;
    let added = false;
    for (const entry of this.entries.values()) {
      // A job in flight or waiting for a slot is looked at again when it ends.
      if (entry.running || entry.queued) continue;
      if (entry.dueAt <= now) {
        entry.queued = true;
        this.waiting.push(entry);
        added = true;
      } else next = Math.min(next, entry.dueAt);
    }
    if (added) this.waiting.sort((a, b) => a.dueAt - b.dueAt);
    while (this.runs.size < this.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift() as Entry;
      entry.queued = false;
      // Dropped by setJobs while it waited.
      if (this.entries.get(entry.job.key) === entry) this.start(entry);
    }
    if (next !== Infinity) {
      this.timer = setTimeout(() => this.arm(), Math.max(0, next - this.now()));
    }
  }

  /** The next due time after `now` in the job's phase. */
  private nextDue(entry: Entry, now: number): number {
    const interval = Math.max(1, entry.job.intervalMs);
    const missed = Math.floor((now - entry.dueAt) / interval) + 1;
    return entry.dueAt + Math.max(1, missed) * interval;
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
      // Due again while it ran: the turns it overlapped are skipped, not stacked behind it.
      const now = Math.max(started, this.now());
      if (entry.dueAt <= now) entry.dueAt = this.nextDue(entry, now);
      this.arm();
    });
    this.runs.add(run);
  }
}
