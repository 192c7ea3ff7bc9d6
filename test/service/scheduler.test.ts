/**
 * The service's scheduler (issue 15): jobs at their interval keeping their phase, never overlapping themselves
 * (missed turns skipped, not stacked), at most `concurrency` runs at once, a hung job not delaying the others,
 * start times spread by key, jobs replaced and removed by setJobs, and stop() waiting for the runs it aborts.
 * Real timers with short intervals.
 */
import t, { type Test } from 'tap';
import { aligned, Scheduler, spreadOf, type Job } from '../../src/service/scheduler.js';
import { waitFor } from '../helpers/fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `signal` aborts. */
const aborted = (signal: AbortSignal): Promise<void> => new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

/** A scheduler stopped on teardown; errors from jobs collected. */
function scheduler(t: Test, concurrency: number): { s: Scheduler; errors: Array<[string, unknown]> } {
  const errors: Array<[string, unknown]> = [];
  const s = new Scheduler(concurrency, (key, error) => errors.push([key, error]));
  t.teardown(() => s.stop());
  return { s, errors };
}

t.test('a job runs at its interval and keeps its phase (next = due + interval, not end + interval)', async (t) => {
  const { s, errors } = scheduler(t, 4);
  const INTERVAL = 100;
  const first = Date.now() + 20;
  const starts: number[] = [];
  // Each run takes a third of the interval: a scheduler counting from the end would drift by 30 ms a turn.
  s.setJobs([
    {
      key: 'phase',
      intervalMs: INTERVAL,
      firstAt: first,
      run: async () => {
        starts.push(Date.now());
        await sleep(30);
      },
    },
  ]);
  await sleep(20 + INTERVAL * 9 + 50);
  await s.stop();
  t.same(errors, [], 'no errors');
  t.ok(starts.length >= 8 && starts.length <= 10, `about ten runs in 9.5 intervals (${starts.length})`);
  // The turn each run belongs to (a run is never early; a few ms of clock jitter allowed).
  const slots = starts.map((at) => Math.floor((at - first + 5) / INTERVAL));
  t.same(slots, [...new Set(slots)].sort((a, b) => a - b), 'one run per turn, in order');
  t.equal(slots[0], 0, 'the first run at firstAt');
  // A loaded machine may make a run late, not most of them.
  const lateness = starts.map((at, i) => at - (first + (slots[i] as number) * INTERVAL));
  const median = [...lateness].sort((a, b) => a - b)[Math.floor(lateness.length / 2)] as number;
  // Counting from the end instead (0, 130, 260, 390 ...) would put the median run over 100 ms into its turn; due
  // times fall on ticks of a twelfth of the interval (8 ms here), and a loaded machine's timers fire late.
  t.ok(median <= 40, `on time (median lateness ${median} ms of ${lateness.join(', ')})`);
  const lastSlot = slots.at(-1) as number;
  t.ok(lastSlot >= 8, `still on its phase after ${lastSlot} turns (drifting 30 ms a turn would have lost ~3 turns)`);
});

t.test('a job never overlaps itself: the turns a long run overlapped are skipped, not stacked behind it', async (t) => {
  const { s } = scheduler(t, 4);
  const INTERVAL = 20;
  const first = Date.now() + 10;
  const runs: Array<{ start: number; end: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  s.setJobs([
    {
      key: 'long',
      intervalMs: INTERVAL,
      firstAt: first,
      run: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const start = Date.now();
        // The first run lasts over five intervals; the later ones are instant.
        if (runs.length === 0) await sleep(110);
        inFlight -= 1;
        runs.push({ start, end: Date.now() });
      },
    },
  ]);
  await sleep(10 + 210);
  await s.stop();
  t.equal(maxInFlight, 1, 'never two runs of the job at once');
  const [long, second, third] = runs;
  t.ok(long && second && third, `at least three runs (${runs.length})`);
  if (!long || !second || !third) return;
  t.ok(second.start >= long.end, 'the second run starts after the first ended');
  // Skipped: the next run is at the next turn of the phase after the end (first + 120), not right at the end.
  const secondSlot = (second.start - first) / INTERVAL;
  t.ok(secondSlot >= 5.5, `the second run waits for its next turn (turn ${secondSlot.toFixed(2)})`);
  const catchUps = runs.filter((run) => run !== long && run.start >= long.end && run.start < long.end + 8).length;
  t.ok(catchUps <= 1, `no runs stacked right behind the long one (${catchUps})`);
  const turn = (run: { start: number }) => Math.floor((run.start - first + 2) / INTERVAL);
  t.ok(turn(third) > turn(second), `the third run waits for a later turn (turns ${turn(second)} and ${turn(third)})`);
  // Stacked catch-ups would be 5 extra runs at the end of the long one: 0, 5 x 110, then 120..200 = 11 runs by 200 ms.
  const byTwoHundred = runs.filter((run) => run.start - first <= 200).length;
  t.ok(byTwoHundred <= 7, `no backlog of missed turns (${byTwoHundred} runs in the first 200 ms)`);
});

t.test('at most `concurrency` runs at once; the others wait for a slot and all run', async (t) => {
  const { s } = scheduler(t, 2);
  let inFlight = 0;
  let maxInFlight = 0;
  const ran: string[] = [];
  const now = Date.now();
  const jobs: Job[] = Array.from({ length: 6 }, (_, i) => ({
    key: `job-${i}`,
    intervalMs: 10_000,
    firstAt: now + i,
    run: async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(50);
      inFlight -= 1;
      ran.push(`job-${i}`);
    },
  }));
  s.setJobs(jobs);
  t.ok(await waitFor(() => ran.length === 6, 2000, 5), 'all six ran');
  t.equal(maxInFlight, 2, 'never more than two at once, and two at a time');
  t.same(ran.slice().sort(), jobs.map((job) => job.key), 'each once');
  t.same(ran.slice(0, 2).sort(), ['job-0', 'job-1'], 'oldest due first');
  t.equal(s.size.running, 0, 'nothing in flight afterwards');
  t.equal(s.size.jobs, 6);
});

t.test('a hung job (never resolving until aborted) does not delay the other jobs', async (t) => {
  const { s } = scheduler(t, 3);
  const now = Date.now();
  let hungRuns = 0;
  let hungSignal: AbortSignal | undefined;
  const quick: number[] = [];
  s.setJobs([
    {
      key: 'hung',
      intervalMs: 20,
      firstAt: now,
      run: async (signal) => {
        hungRuns += 1;
        hungSignal = signal;
        await aborted(signal);
      },
    },
    { key: 'quick', intervalMs: 30, firstAt: now + 5, run: async () => void quick.push(Date.now()) },
  ]);
  await sleep(5 + 30 * 10 + 15);
  t.equal(hungRuns, 1, 'the hung job is not started again while it hangs');
  t.ok(quick.length >= 8, `the other job kept its schedule (${quick.length} runs in ~10 intervals)`);
  const end = Date.now();
  t.ok((quick.at(-1) as number) >= end - 2 * 30 - 20, 'it still runs at the end, the hung run in flight');
  t.equal(s.size.running, 1, 'the hung run is still in flight');
  await s.stop();
  t.equal(hungSignal?.aborted, true, 'stop() aborted it');
  t.equal(s.size.running, 0);
});

t.test('spreadOf: the same for a key every time, in [0, 1), and 1000 keys spread evenly', async (t) => {
  t.equal(spreadOf('datastore:7'), spreadOf('datastore:7'), 'deterministic');
  t.not(spreadOf('datastore:7'), spreadOf('datastore:8'), 'another key, another place');
  t.equal(spreadOf(''), 0x811c9dc5 / 2 ** 32, 'the empty key: the FNV-1a offset basis');
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 1000; i++) {
    const value = spreadOf(`datastore:${i}`);
    if (!(value >= 0 && value < 1)) t.fail(`spreadOf(datastore:${i}) = ${value}`);
    buckets[Math.floor(value * 10)] += 1;
  }
  for (const [i, count] of buckets.entries()) t.ok(count >= 50 && count <= 150, `tenth ${i} of [0, 1) holds ${count} of 1000 keys`);
  t.ok(spreadOf('\u{1F600}'.repeat(100)) < 1 && spreadOf('x'.repeat(10_000)) >= 0, 'long and non-ASCII keys too');

  // A new job without firstAt is first due at now + spread x interval.
  const { s } = scheduler(t, 4);
  const key = 'datastore:42';
  const INTERVAL = 400;
  const expected = spreadOf(key) * INTERVAL;
  const added = Date.now();
  let startedAt: number | undefined;
  s.setJobs([{ key, intervalMs: INTERVAL, run: async () => void (startedAt ??= Date.now()) }]);
  t.ok(await waitFor(() => startedAt !== undefined, 1000, 2), 'it ran');
  const offset = (startedAt as number) - added;
  t.ok(offset >= expected - 3 && offset <= expected + 40, `first run at its spread (${offset} ms, expected ${expected.toFixed(0)})`);
});

t.test('setJobs: a replaced job keeps its due time and runs the new code; a removed one is aborted and not run again', async (t) => {
  const { s } = scheduler(t, 4);
  const added = Date.now();
  const calls: Array<[string, number]> = [];
  s.setJobs([{ key: 'kept', intervalMs: 10_000, firstAt: added + 150, run: async () => void calls.push(['old', Date.now()]) }]);
  await sleep(50);
  // The replacement asks for a first run much later: a known key keeps its place in time.
  s.setJobs([{ key: 'kept', intervalMs: 10_000, firstAt: added + 5000, run: async () => void calls.push(['new', Date.now()]) }]);
  t.ok(await waitFor(() => calls.length > 0, 1000, 2), 'it ran');
  t.equal(calls.length, 1);
  t.equal(calls[0]?.[0], 'new', 'the replacement ran, not the old job');
  const at = (calls[0]?.[1] as number) - added;
  t.ok(at >= 147 && at < 250, `at the due time it had (${at} ms after it was added)`);
  t.equal(s.size.jobs, 1);

  let runs = 0;
  let signal: AbortSignal | undefined;
  let ended = false;
  s.setJobs([
    {
      key: 'doomed',
      intervalMs: 20,
      firstAt: Date.now(),
      run: async (given) => {
        runs += 1;
        signal = given;
        await aborted(given);
        ended = true;
      },
    },
  ]);
  t.ok(await waitFor(() => runs === 1, 1000, 2), 'the job is running');
  t.equal(s.size.jobs, 1, "the job not listed is dropped ('kept' is gone)");
  s.setJobs([]);
  t.equal(signal?.aborted, true, 'removing it aborts its run');
  t.ok(await waitFor(() => ended && s.size.running === 0, 1000, 2), 'its run ended');
  t.equal(s.size.jobs, 0);
  await sleep(80);
  t.equal(runs, 1, 'and it is not run again');
});

t.test('a job that throws is reported to onError and keeps its schedule', async (t) => {
  const { s, errors } = scheduler(t, 1);
  let runs = 0;
  s.setJobs([
    {
      key: 'thrower',
      intervalMs: 20,
      firstAt: Date.now(),
      run: async () => {
        runs += 1;
        throw new Error(`boom ${runs}`);
      },
    },
  ]);
  t.ok(await waitFor(() => runs >= 3, 1000, 2), 'run again after failing');
  await s.stop();
  t.ok(errors.length >= 3);
  t.same(errors[0]?.[0], 'thrower');
  t.match(String(errors[0]?.[1]), /boom 1/);
});

t.test('stop() aborts the runs in flight and resolves only after they end; nothing starts after it', async (t) => {
  const s = new Scheduler(4);
  const ends: number[] = [];
  let starts = 0;
  const now = Date.now();
  const job = (key: string): Job => ({
    key,
    intervalMs: 15,
    firstAt: now,
    run: async (signal) => {
      starts += 1;
      await aborted(signal);
      // Cleaning up takes a while after the abort.
      await sleep(40);
      ends.push(Date.now());
    },
  });
  s.setJobs([job('a'), job('b'), { key: 'idle', intervalMs: 15, firstAt: now + 60_000, run: async () => void (starts += 100) }]);
  t.ok(await waitFor(() => starts === 2, 1000, 2), 'both running');
  const stopping = Date.now();
  await s.stop();
  const stopped = Date.now();
  t.equal(ends.length, 2, 'both runs ended before stop() resolved');
  t.ok(ends.every((end) => end <= stopped), 'stop() resolved after their ends');
  t.ok(stopped - stopping >= 35, `it waited for their clean-up (${stopped - stopping} ms)`);
  t.equal(s.size.running, 0);
  await sleep(60);
  t.equal(starts, 2, 'no run starts after stop()');
  s.setJobs([job('late')]);
  await sleep(40);
  t.equal(starts, 2, 'not even for a job added after stop()');
});

t.test('aligned(): due times fall on ticks of a twelfth of the interval, at most 5 s, so jobs due close together start together', async (t) => {
  t.equal(aligned(60_001, 60_000), 65_000, 'a minute: 5 s ticks');
  t.equal(aligned(65_000, 60_000), 65_000, 'on a tick already: unchanged');
  t.equal(aligned(600_001, 300_000), 605_000, 'five minutes: still 5 s ticks');
  t.equal(aligned(1_234, 1_200), 1_300, '1.2 s: 100 ms ticks');
  t.equal(aligned(7, 5), 7, 'under 12 ms: 1 ms ticks');
  // Sixty jobs spread over 480 ms start on at most twelve ticks of 40 ms (a few more seen, at the edges of a bucket).
  const { s } = scheduler(t, 64);
  const starts = new Set<number>();
  s.setJobs(Array.from({ length: 60 }, (_, i) => ({ key: `tick-${i}`, intervalMs: 480, run: async () => void starts.add(Math.floor(Date.now() / 40)) })));
  await sleep(700);
  t.ok(starts.size <= 16, `sixty first runs in ${starts.size} 40 ms buckets`);
});
