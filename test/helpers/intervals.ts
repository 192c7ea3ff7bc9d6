/**
 * For the concurrency tests: scripts stamp `start <id> <ns> <tag>` and
 * `end <id> <ns> <tag>` lines into a file; these helpers pair them into
 * intervals and check them. Plus a seeded PRNG, so a failing random case can
 * be replayed.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface Interval {
  id: string;
  tag: string;
  start: bigint;
  end: bigint;
}

/** start/end stamp lines paired by tag. */
export function intervalsOf(file: string): Interval[] {
  const open = new Map<string, { id: string; start: bigint }>();
  const done: Interval[] = [];
  for (const line of existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []) {
    if (line === '') continue;
    const [what, id = '', ns = '0', tag = ''] = line.split(' ');
    if (what === 'start') open.set(tag, { id, start: BigInt(ns) });
    else {
      const started = open.get(tag);
      if (!started) throw new Error(`end without start: ${line}`);
      open.delete(tag);
      done.push({ id, tag, start: started.start, end: BigInt(ns) });
    }
  }
  if (open.size > 0) throw new Error(`started, never ended: ${[...open.keys()].join(', ')}`);
  return done;
}

/** Pairs of intervals of one id that overlap. */
export function overlapsPerId(intervals: readonly Interval[]): string[] {
  const found: string[] = [];
  for (const a of intervals) for (const b of intervals) if (a !== b && a.id === b.id && a.tag < b.tag && a.start < b.end && b.start < a.end) found.push(`${a.tag}/${b.tag} on ${a.id}`);
  return found;
}

/** Most intervals running at one instant. */
export function maxOverlap(intervals: readonly Interval[]): number {
  const events = intervals.flatMap((i) => [
    { at: i.start, delta: 1 },
    { at: i.end, delta: -1 },
  ]);
  events.sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
  let now = 0;
  let most = 0;
  for (const event of events) {
    now += event.delta;
    most = Math.max(most, now);
  }
  return most;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
