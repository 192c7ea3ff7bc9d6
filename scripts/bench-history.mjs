#!/usr/bin/env node
// The monitoring history benchmark (issue 15's figures), on a temp catalog:
//  1. Writing 1,000 samples: one monitor round of 334 datastores' used_mb,
//     free_mb and total_mb (1,000 samples, each in its own series) in one
//     recordSamples call, on a catalog already holding a day of them; the
//     median of --rounds calls (the slowest shown too: rounds that also fold
//     the last hour into the rollups). Target: at most 5 ms.
//  2. Reading a 24-hour series of one datastore's attribute (288 raw samples),
//     on the catalog of 3 after its simulated year; the median of --rounds
//     reads. Target: at most 5 ms. A 7-day and a 400-day read are shown too.
//  3. The catalog's size for 100 datastores over a simulated year (--days) of
//     samples every 300 s (used_mb, free_mb, total_mb: 31.5 million samples),
//     recorded an hour of samples per call and pruned every simulated hour with
//     the default windows (raw 48 h, hourly rollups 400 days): the file once
//     closed (its WAL checkpointed). Target: at most 50 MiB.
// Flags: --json, --rounds R (default 30), --days D (default 365).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Catalog } = await import(join(root, 'dist/index.js'));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const ROUNDS = flag('--rounds', 30);
const DAYS = flag('--days', 365);
const STEP = 300_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MiB = 2 ** 20;
const TARGETS = { writeMs: 5, readMs: 5, sizeMiB: 50 };

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const log = (line) => {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
};

/** A temp catalog with `count` IMAGE datastores, each with a size and a starting usage (MB). */
function world(count) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-history-'));
  const path = join(dir, 'catalog.db');
  const catalog = Catalog.open(path);
  const datastores = [];
  catalog.transaction((tx) => {
    for (let i = 0; i < count; i++) {
      const ds = tx.addDatastore({ name: `ds${i}`, type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: join(dir, `ds${i}`) });
      const total = 102_400 * (1 + (i % 100)); // 100 GiB .. 10 TiB
      datastores.push({ id: ds.id, total, used: Math.floor(total * (0.2 + (i % 7) / 20)) });
    }
  });
  return { dir, path, catalog, datastores };
}

/** One monitor round at `at`: each datastore's used_mb (a random walk that mostly grows), free_mb and total_mb. */
function round(datastores, at, out = []) {
  for (const ds of datastores) {
    ds.used = Math.max(0, Math.min(ds.total, ds.used + Math.floor(Math.random() * 40) - 12));
    out.push({ datastoreId: ds.id, attribute: 'used_mb', at, value: ds.used });
    out.push({ datastoreId: ds.id, attribute: 'free_mb', at, value: ds.total - ds.used });
    out.push({ datastoreId: ds.id, attribute: 'total_mb', at, value: ds.total });
  }
  return out;
}

const start = Math.floor(Date.UTC(2026, 0, 1) / HOUR) * HOUR;

// 1. Writing 1,000 samples.
{
  var write = world(334);
  let at = start;
  for (let hour = 0; hour < 24; hour++) {
    const batch = [];
    for (let tick = 0; tick < 12; tick++, at += STEP) round(write.datastores, at, batch);
    write.catalog.recordSamples(batch);
  }
  const times = [];
  for (let i = 0; i < ROUNDS; i++, at += STEP) {
    const batch = round(write.datastores, at).slice(0, 1000);
    const began = performance.now();
    const recorded = write.catalog.recordSamples(batch);
    times.push(performance.now() - began);
    if (recorded !== 1000) throw new Error(`recorded ${recorded} of 1000 samples`);
  }
  var writeMs = median(times);
  var writeMaxMs = Math.max(...times);
  write.catalog.close();
  rmSync(write.dir, { recursive: true, force: true });
  log(`write 1,000 samples: ${writeMs.toFixed(2)} ms (median of ${ROUNDS}, slowest ${writeMaxMs.toFixed(2)} ms; target <= ${TARGETS.writeMs} ms)`);
}

// 3. A simulated year of 100 datastores (then 2 reads on it).
const year = world(100);
const began = performance.now();
let at = start;
const end = start + DAYS * DAY;
let samples = 0;
let pruned = 0;
while (at < end) {
  const batch = [];
  for (let tick = 0; tick < 12; tick++, at += STEP) round(year.datastores, at, batch);
  samples += year.catalog.recordSamples(batch);
  pruned += year.catalog.pruneHistory(at).samples;
  if (!JSON_OUT && (at - start) % (30 * DAY) === 0) process.stderr.write(`  simulated ${(at - start) / DAY} days\r`);
}
const simulatedS = (performance.now() - began) / 1000;

// 2. Reading a 24-hour series.
const ds = year.datastores[50];
const readTimes = [];
let points = 0;
for (let i = 0; i < ROUNDS; i++) {
  const t0 = performance.now();
  points = year.catalog.series(ds.id, 'used_mb', at - DAY, at).length;
  readTimes.push(performance.now() - t0);
}
const readMs = median(readTimes);
const timed = (from) => {
  const times = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    count = year.catalog.series(ds.id, 'used_mb', from, at).length;
    times.push(performance.now() - t0);
  }
  return { ms: median(times), points: count };
};
const week = timed(at - 7 * DAY);
const longest = timed(at - 400 * DAY);
log(`read a 24-hour series: ${readMs.toFixed(2)} ms, ${points} points (median of ${ROUNDS}; target <= ${TARGETS.readMs} ms); 7 days: ${week.ms.toFixed(2)} ms, ${week.points} points; 400 days: ${longest.ms.toFixed(2)} ms, ${longest.points} points`);

year.catalog.close();
const sizeMiB = statSync(year.path).size / MiB;
rmSync(year.dir, { recursive: true, force: true });
log(`catalog size, 100 datastores x 3 attributes, ${DAYS} days every 300 s: ${sizeMiB.toFixed(1)} MiB (target <= ${TARGETS.sizeMiB} MiB); ${samples.toLocaleString('en')} samples recorded, ${pruned.toLocaleString('en')} pruned, simulated in ${simulatedS.toFixed(0)} s`);

const result = {
  writeMs: Number(writeMs.toFixed(3)),
  writeMaxMs: Number(writeMaxMs.toFixed(3)),
  readMs: Number(readMs.toFixed(3)),
  readPoints: points,
  readWeekMs: Number(week.ms.toFixed(3)),
  read400DaysMs: Number(longest.ms.toFixed(3)),
  sizeMiB: Number(sizeMiB.toFixed(2)),
  days: DAYS,
  samples,
  simulatedS: Number(simulatedS.toFixed(1)),
  targets: TARGETS,
  ok: writeMs <= TARGETS.writeMs && readMs <= TARGETS.readMs && (DAYS < 365 || sizeMiB <= TARGETS.sizeMiB),
};
if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
else process.stdout.write(`history: write ${result.writeMs} ms, read ${result.readMs} ms, size ${result.sizeMiB} MiB: ${result.ok ? 'within' : 'OUTSIDE'} targets\n`);
process.exitCode = result.ok ? 0 : 1;
