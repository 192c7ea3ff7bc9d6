/**
 * A bounded pool that runs jobs in arrival order, at most `limit` at once,
 * and never two jobs with the same key at the same time (actions on one image
 * or one VM). Queued jobs are kept per key, so 100,000 waiting actions cost
 * their own payloads and little else.
 */

export interface Job {
  key: string;
  run(): Promise<void>;
}

interface Entry {
  job: Job;
  seq: number;
}

export class KeyedPool {
  /** Per key, its jobs in arrival order; the first one runs or is next. */
  private readonly waiting = new Map<string, Entry[]>();
  /** Keys whose first job may start, as a min-heap on that job's arrival number. */
  private readonly ready: Array<{ seq: number; key: string }> = [];
  private seq = 0;
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    let count = 0;
    for (const jobs of this.waiting.values()) count += jobs.length;
    return count - this.running;
  }

  push(job: Job): void {
    const entry = { job, seq: this.seq++ };
    const jobs = this.waiting.get(job.key);
    if (jobs) jobs.push(entry);
    else {
      this.waiting.set(job.key, [entry]);
      this.heapPush({ seq: entry.seq, key: job.key });
    }
    this.pump();
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.limit && this.ready.length > 0) {
      const { key } = this.heapPop();
      const entry = this.waiting.get(key)?.[0];
      if (!entry) continue;
      this.running += 1;
      void Promise.resolve()
        .then(() => entry.job.run())
        .catch(() => undefined)
        .finally(() => {
          this.running -= 1;
          const jobs = this.waiting.get(key) as Entry[];
          jobs.shift();
          const next = jobs[0];
          if (next === undefined) this.waiting.delete(key);
          else this.heapPush({ seq: next.seq, key });
          this.pump();
          if (this.running === 0 && this.waiting.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }

  private heapPush(item: { seq: number; key: string }): void {
    const heap = this.ready;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as { seq: number }).seq <= item.seq) break;
      heap[i] = heap[parent] as { seq: number; key: string };
      i = parent;
    }
    heap[i] = item;
  }

  private heapPop(): { seq: number; key: string } {
    const heap = this.ready;
    const top = heap[0] as { seq: number; key: string };
    const last = heap.pop() as { seq: number; key: string };
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mSeq = last.seq;
        if (l < heap.length && (heap[l] as { seq: number }).seq < mSeq) { m = l; mSeq = (heap[l] as { seq: number }).seq; }
        if (r < heap.length && (heap[r] as { seq: number }).seq < mSeq) m = r;
        if (m === i) break;
        heap[i] = heap[m] as { seq: number; key: string };
        i = m;
      }
      heap[i] = last;
    }
    return top;
  }
}
