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

export class KeyedPool {
  private readonly waiting = new Map<string, Job[]>();
  /** Keys whose first job may start, in the order they became ready. */
  private readonly ready: string[] = [];
  private readyHead = 0;
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
    const jobs = this.waiting.get(job.key);
    if (jobs) jobs.push(job);
    else {
      this.waiting.set(job.key, [job]);
      this.ready.push(job.key);
    }
    this.pump();
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.limit && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++] as string;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      const job = this.waiting.get(key)?.[0];
      if (!job) continue;
      this.running += 1;
      void job
        .run()
        .catch(() => undefined)
        .finally(() => {
          this.running -= 1;
          const jobs = this.waiting.get(key) as Job[];
          jobs.shift();
          if (jobs.length === 0) this.waiting.delete(key);
          else this.ready.push(key);
          this.pump();
          if (this.running === 0 && this.waiting.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }
}
