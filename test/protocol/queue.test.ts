/** KeyedPool: at most `limit` jobs at once, arrival order, never two jobs with one key at once. */
import t from 'tap';
import { KeyedPool, type Job } from '../../src/protocol/queue.js';
import { prng } from '../helpers/intervals.js';

/** A promise with its resolve and reject outside. */
function deferred(): { promise: Promise<void>; resolve(): void; reject(error: Error): void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback (the pool's finally and pump) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** n turns of the event loop. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await settle();
}

/** Jobs the test finishes by hand, recording which run and in what order they started. */
function manualJobs(): {
  job(name: string, key: string): Job;
  started: string[];
  running: Set<string>;
  finish(name: string): Promise<void>;
  fail(name: string): Promise<void>;
} {
  const started: string[] = [];
  const running = new Set<string>();
  const gates = new Map<string, ReturnType<typeof deferred>>();
  return {
    started,
    running,
    job: (name, key) => ({
      key,
      run: async () => {
        const gate = deferred();
        gates.set(name, gate);
        started.push(name);
        running.add(name);
        try {
          await gate.promise;
        } finally {
          running.delete(name);
        }
      },
    }),
    finish: async (name) => {
      const gate = gates.get(name);
      if (!gate) throw new Error(`test bug: ${name} has not started`);
      gate.resolve();
      await settle();
    },
    fail: async (name) => {
      const gate = gates.get(name);
      if (!gate) throw new Error(`test bug: ${name} has not started`);
      gate.reject(new Error(`${name} failed`));
      await settle();
    },
  };
}

t.test('runs at most `limit` jobs at once and starts the rest as slots free', async (t) => {
  const pool = new KeyedPool(3);
  const jobs = manualJobs();
  for (let i = 0; i < 8; i += 1) pool.push(jobs.job(`j${i}`, `k${i}`));
  await settle();
  t.same(jobs.started, ['j0', 'j1', 'j2'], 'three started, in arrival order');
  t.equal(pool.active, 3);
  t.equal(pool.queued, 5);
  await jobs.finish('j1');
  t.same(jobs.started, ['j0', 'j1', 'j2', 'j3'], 'a freed slot takes the next job');
  t.equal(pool.active, 3);
  t.equal(pool.queued, 4);
  await jobs.finish('j0');
  await jobs.finish('j2');
  t.same(jobs.started.slice(4), ['j4', 'j5']);
  for (const name of ['j3', 'j4', 'j5', 'j6', 'j7']) {
    t.ok(jobs.running.size <= 3, 'never more than the limit');
    await jobs.finish(name);
  }
  t.same(jobs.started, ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7'], 'every job ran once, in arrival order');
  t.equal(pool.active, 0);
  t.equal(pool.queued, 0);
  await pool.idle();
});

t.test('two jobs with the same key never run at once, and keep their order', async (t) => {
  const pool = new KeyedPool(10);
  const jobs = manualJobs();
  pool.push(jobs.job('a1', 'image:1'));
  pool.push(jobs.job('a2', 'image:1'));
  pool.push(jobs.job('b1', 'image:2'));
  pool.push(jobs.job('a3', 'image:1'));
  await settle();
  t.same(jobs.started, ['a1', 'b1'], 'the second job of image 1 waits although slots are free');
  t.equal(pool.active, 2);
  t.equal(pool.queued, 2);
  await jobs.finish('b1');
  t.same(jobs.started, ['a1', 'b1'], 'another key finishing does not release image 1');
  await jobs.finish('a1');
  t.same(jobs.started, ['a1', 'b1', 'a2']);
  t.same([...jobs.running], ['a2'], 'only a2 runs');
  await jobs.finish('a2');
  t.same(jobs.started, ['a1', 'b1', 'a2', 'a3']);
  await jobs.finish('a3');
  await pool.idle();
  t.equal(pool.active, 0);
});

t.test('a freed slot goes to the earliest-arrived job that may run', async (t) => {
  // Arrival: A(k1) B(k1) C(k2) D(k3), limit 2. A and C start; B waits for A, D for a slot.
  // When A ends, both B and D may run: B arrived first, so B starts.
  const pool = new KeyedPool(2);
  const jobs = manualJobs();
  pool.push(jobs.job('A', 'k1'));
  pool.push(jobs.job('B', 'k1'));
  pool.push(jobs.job('C', 'k2'));
  pool.push(jobs.job('D', 'k3'));
  await settle();
  t.same(jobs.started, ['A', 'C']);
  await jobs.finish('A');
  t.same(jobs.started, ['A', 'C', 'B'], 'B (second to arrive) starts before D (fourth)');
  await jobs.finish('C');
  await jobs.finish('B');
  await jobs.finish('D');
  t.same(jobs.started.sort(), ['A', 'B', 'C', 'D'], 'all ran');
  await pool.idle();
});

t.test('limit 1: a strict queue in arrival order, whatever the keys', async (t) => {
  const pool = new KeyedPool(1);
  const jobs = manualJobs();
  const order = [['x1', 'a'], ['x2', 'a'], ['x3', 'b'], ['x4', 'a'], ['x5', 'c'], ['x6', 'b']] as const;
  for (const [name, key] of order) pool.push(jobs.job(name, key));
  for (let i = 0; i < order.length; i += 1) {
    await settle();
    const running = [...jobs.running];
    t.equal(running.length, 1, 'one job at a time');
    await jobs.finish(running[0] as string);
  }
  t.same(jobs.started, order.map(([name]) => name), 'the arrival order');
  await pool.idle();
});

t.test('a job that rejects frees its slot and its key', async (t) => {
  const pool = new KeyedPool(1);
  const jobs = manualJobs();
  pool.push(jobs.job('bad', 'k'));
  pool.push(jobs.job('next', 'k'));
  pool.push(jobs.job('other', 'j'));
  await settle();
  await jobs.fail('bad');
  t.equal(jobs.running.size, 1, 'the freed slot is used again');
  t.notOk(jobs.running.has('bad'));
  while (jobs.running.size > 0) await jobs.finish([...jobs.running][0] as string);
  t.same([...jobs.started].sort(), ['bad', 'next', 'other'], 'the job behind it on the same key ran too');
  await pool.idle();
  t.equal(pool.active, 0);
});

t.test('a job that throws before its first await does not wedge the pool', async (t) => {
  const pool = new KeyedPool(1);
  const ran: string[] = [];
  pool.push({
    key: 'k',
    run: async () => {
      ran.push('throws');
      throw new Error('boom');
    },
  });
  pool.push({
    key: 'k',
    run: async () => {
      ran.push('after');
    },
  });
  await pool.idle();
  t.same(ran, ['throws', 'after']);
  t.equal(pool.active, 0);
  t.equal(pool.queued, 0);
});

t.test('idle(): at once when empty, after the last job otherwise, for every waiter; again after new work', async (t) => {
  const pool = new KeyedPool(2);
  let resolved = false;
  await pool.idle().then(() => {
    resolved = true;
  });
  t.ok(resolved, 'an empty pool is idle');
  const jobs = manualJobs();
  pool.push(jobs.job('a', 'k1'));
  pool.push(jobs.job('b', 'k1'));
  let first = false;
  let second = false;
  void pool.idle().then(() => {
    first = true;
  });
  void pool.idle().then(() => {
    second = true;
  });
  await settle();
  await jobs.finish('a');
  t.notOk(first || second, 'not idle while b still waits or runs');
  await jobs.finish('b');
  await settle();
  t.ok(first && second, 'both waiters resolved');
  pool.push(jobs.job('c', 'k2'));
  let third = false;
  void pool.idle().then(() => {
    third = true;
  });
  await settle();
  t.notOk(third, 'not idle while c runs');
  await jobs.finish('c');
  await settle();
  t.ok(third);
});

t.test('a job that never ends holds one slot and one key, nothing else', async (t) => {
  const pool = new KeyedPool(2);
  const jobs = manualJobs();
  pool.push(jobs.job('hung', 'image:0'));
  pool.push(jobs.job('behind-hung', 'image:0'));
  for (let i = 1; i <= 20; i += 1) pool.push(jobs.job(`j${i}`, `image:${i}`));
  for (let i = 1; i <= 20; i += 1) {
    await settle();
    t.ok(jobs.running.has(`j${i}`), `j${i} runs beside the hung job`);
    await jobs.finish(`j${i}`);
  }
  t.same([...jobs.running], ['hung']);
  t.equal(pool.queued, 1, 'only the job behind it on the same key waits');
  await jobs.finish('hung');
  await jobs.finish('behind-hung');
  await pool.idle();
});

t.test('many queued jobs over many keys: each runs exactly once, in arrival order', async (t) => {
  // Enough keys to go through the ready list's compaction several times.
  const pool = new KeyedPool(4);
  const started: number[] = [];
  const total = 6000;
  for (let i = 0; i < total; i += 1) {
    pool.push({
      key: `k${i % 3000}`,
      run: async () => {
        started.push(i);
        await settle();
      },
    });
  }
  t.equal(pool.active, 4);
  t.equal(pool.queued, total - 4);
  await pool.idle();
  t.equal(started.length, total, 'every job ran');
  t.equal(new Set(started).size, total, 'none twice');
  t.same(started, [...started].sort((a, b) => a - b), 'in arrival order');
});

t.test('property: random keys, durations and limits keep every invariant', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const random = prng(seed);
    const limit = 1 + Math.floor(random() * 6);
    const keys = 1 + Math.floor(random() * 8);
    const count = 60;
    const pool = new KeyedPool(limit);
    const plan = Array.from({ length: count }, (_, index) => ({ index, key: `k${Math.floor(random() * keys)}`, turns: 1 + Math.floor(random() * 5), arriveAt: Math.floor(random() * 40) }));
    const started: number[] = [];
    const done = new Set<number>();
    const running = new Map<number, string>();
    const pushed: typeof plan = [];
    const problems: string[] = [];
    let maxRunning = 0;
    /** Between event-loop turns the pool is quiescent: check what runs against what waits. */
    const check = (turn: number): void => {
      const keysRunning = new Set(running.values());
      if (keysRunning.size !== running.size) problems.push(`turn ${turn}: two jobs of one key run`);
      if (running.size > limit) problems.push(`turn ${turn}: ${running.size} run, limit ${limit}`);
      maxRunning = Math.max(maxRunning, running.size);
      const waiting = pushed.filter((job) => !started.includes(job.index));
      const runnable = waiting.filter((job) => !keysRunning.has(job.key));
      if (running.size < limit && runnable.length > 0) problems.push(`turn ${turn}: a slot is free while job ${runnable[0]?.index} could run`);
    };
    const byTurn = new Map<number, typeof plan>();
    for (const job of plan) byTurn.set(job.arriveAt, [...(byTurn.get(job.arriveAt) ?? []), job]);
    for (let turn = 0; done.size < count && turn < 2000; turn += 1) {
      for (const job of byTurn.get(turn) ?? []) {
        pushed.push(job);
        pool.push({
          key: job.key,
          run: async () => {
            started.push(job.index);
            running.set(job.index, job.key);
            await ticks(job.turns);
            running.delete(job.index);
            done.add(job.index);
          },
        });
      }
      await settle();
      check(turn);
    }
    await pool.idle();
    t.same(problems, [], `seed ${seed} (limit ${limit}, ${keys} keys): no invariant broken`);
    t.equal(started.length, count, `seed ${seed}: every job started`);
    t.equal(new Set(started).size, count, `seed ${seed}: no job started twice`);
    t.ok(maxRunning >= Math.min(limit, 2) || keys === 1, `seed ${seed}: jobs did run side by side (max ${maxRunning})`);
    for (let k = 0; k < keys; k += 1) {
      const ofKey = started.filter((index) => plan[index]?.key === `k${k}`);
      t.same(ofKey, [...ofKey].sort((a, b) => (plan[a]?.arriveAt ?? 0) - (plan[b]?.arriveAt ?? 0) || a - b), `seed ${seed}: key k${k} in arrival order`);
    }
  }
});
