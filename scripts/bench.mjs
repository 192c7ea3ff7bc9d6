#!/usr/bin/env node
// `npm run bench`: ferry's overhead as ratios against baselines measured in
// the same run, rounds interleaved so machine noise hits both sides alike.
//  1. N trivial actions through the library vs a bare child_process.spawn of
//     the same script with the same arguments and stdin.
//  2. One-shot `ferry ds stat` and `ferry xpath` vs `node -e 0`.
//  3. datastore/fs cp of a 1 GiB sparse image vs `cp --sparse=always`, and
//     tm/qcow2 clone of 1 GiB and 8 GiB images (time should not grow with size).
//  4. `ferry mad datastore`: throughput of 2,000 STAT actions at -t 1, 4 and 15
//     vs a bare spawn loop at the same concurrency, then the same with
//     FERRY_SPAWN=node (scripts started by Node, not ferry-spawn: what the
//     helper is worth); peak RSS with 100,000 queued.
//  5. Lifecycle of 200 VMs with 2 disks each through the catalog vs the same TM
//     actions run by Runner.run; catalog size (scripts/bench-lifecycle.mjs).
//  6. OpenNebula's own fs driver under one_datastore.rb vs under ferry mad, and
//     its xpath.rb vs ferry's drop-in (scripts/bench-opennebula.mjs).
//  7. The catalog's monitoring history: writing 1,000 samples, reading a
//     24-hour series, its size over a simulated year (scripts/bench-history.mjs).
//  8. `ferry serve`'s own CPU monitoring 1,000 datastores every 60 s vs the
//     CPU of spawning their scripts alone (scripts/bench-serve.mjs; 2 minutes).
//  9. The dashboard's first paint: the overview of 1,000 datastores and 10,000
//     images in Chromium vs the same HTML as a static file, and the script
//     each page loads (scripts/bench-dashboard.mjs; about a minute).
// 10. The queue on a throwaway PostgreSQL: `ferry worker`s running VM operations
//     queued through the library; lost, run twice, interleaved (with a worker
//     SIGKILLed every 3 s too), queue-to-start latency, actions/s with one and
//     three workers vs the SQLite path in-process (scripts/bench-queue.mjs; 3 to 4.5 minutes).
// Flags: --json, --n N (actions per round, default 50), --rounds R (default 12),
// --no-drivers (skip 3), --no-protocol (skip 4), --no-lifecycle (skip 5),
// --no-opennebula (skip 6), --no-history (skip 7), --no-serve (skip 8),
// --no-dashboard (skip 9), --no-queue (skip 10).
// The measured baselines (the bare spawn of the dummy stat, the one-shot runs)
// and `ferry mad`, a protocol peer read line by line while timed, stay on
// node:child_process: they are what is measured, and execa's own work per
// process would change it. The tools around them (truncate to build the
// fixtures, the `cp` baseline) run through execa.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';
import { median } from './bench-lifecycle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Runner, buildDump } = await import(join(root, 'dist/index.js'));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const N = flag('--n', 50);
const ROUNDS = flag('--rounds', 12);

const remotes = join(root, 'remotes');
const script = join(remotes, 'datastore/dummy/stat');
const dump = buildDump({
  IMAGE: { ID: 0, NAME: 'bench', PATH: '/tmp/bench.img', SIZE: 40 },
  DATASTORE: { ID: 1, NAME: 'default', DS_MAD: 'dummy', TM_MAD: 'dummy', TYPE: 0 },
});
const runner = new Runner({ remotes });

/** The baseline: Node's own spawn, nothing around it (child_process on purpose, see the top). */
function bareSpawn() {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [dump.base64, '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', () => undefined);
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${dump.base64}\n`);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && out.trim() === '1024' ? resolve() : reject(new Error(`bare spawn: exit ${code}`))));
  });
}
const viaLibrary = async () => {
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump, id: 0 });
  if (result.result !== 1024) throw new Error('library: wrong result');
};

async function perCall(fn) {
  const started = performance.now();
  for (let i = 0; i < N; i++) await fn();
  return (performance.now() - started) / N;
}

// Warm both paths once.
await perCall(bareSpawn);
await perCall(viaLibrary);
const bare = [];
const lib = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which side goes first, so drift in machine load favours neither.
  if (round % 2 === 0) {
    bare.push(await perCall(bareSpawn));
    lib.push(await perCall(viaLibrary));
  } else {
    lib.push(await perCall(viaLibrary));
    bare.push(await perCall(bareSpawn));
  }
}

const work = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
const xmlFile = join(work, 'image.xml');
writeFileSync(xmlFile, dump.xml);
const ferry = join(root, 'dist/bin/ferry.js');
const commands = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'ferry ds stat': [process.execPath, [ferry, 'ds', 'stat', xmlFile, '0']],
  'ferry xpath': [process.execPath, [ferry, 'xpath', '-b', dump.base64, '/DS_DRIVER_ACTION_DATA/IMAGE/NAME']],
};
const wall = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
const ONE_SHOTS = 21;
for (let i = 0; i < ONE_SHOTS; i++) {
  for (const [name, [file, argv]] of Object.entries(commands)) {
    const started = performance.now();
    // spawnSync, not execa: these timings are process start-up, and execa would add its own to each.
    const run = spawnSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.status !== 0) throw new Error(`${name} failed: ${run.stderr}`);
    wall[name].push(performance.now() - started);
  }
}
rmSync(work, { recursive: true, force: true });

/** A sparse file of `gib` GiB with 1 MiB of data every `everyMib` MiB (the rest holes). */
function sparseImage(path, gib, everyMib) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  for (let offset = 0; offset < gib * 1024 ** 3; offset += everyMib * 1024 ** 2) writeSync(fd, chunk, 0, chunk.length, offset);
  closeSync(fd);
  execaSync('truncate', ['-s', `${gib}G`, path]);
}
const allocated = (path) => statSync(path).blocks * 512;

async function driverFigures() {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-drivers-'));
  try {
    const ds = join(dir, 'ds');
    mkdirSync(ds);
    const image = join(dir, 'image.raw');
    // Half data, half holes: a used disk image, so the copy itself is measured, not only start-up.
    sparseImage(image, 1, 2);
    const cpDump = (id) =>
      buildDump({ IMAGE: { ID: id, NAME: `bench-${id}`, PATH: image, FORMAT: 'raw' }, DATASTORE: { ID: 100, DS_MAD: 'fs', TM_MAD: 'qcow2', BASE_PATH: ds } });
    const plain = [];
    const viaFerry = [];
    let ferryBlocks = 0;
    let plainBlocks = 0;
    for (let round = 0; round < 5; round++) {
      const target = join(dir, `plain-${round}`);
      let started = performance.now();
      // execaSync costs about 0.5 ms more than execFileSync per run: noise beside a copy of 512 MiB.
      execaSync('cp', ['--sparse=always', image, target]);
      plain.push(performance.now() - started);
      plainBlocks = allocated(target);
      rmSync(target);
      started = performance.now();
      const result = await runner.run({ kind: 'datastore', action: 'cp', dump: cpDump(round), id: round });
      viaFerry.push(performance.now() - started);
      ferryBlocks = allocated(result.result.source);
      rmSync(result.result.source);
    }
    const clones = {};
    for (const gib of [1, 8]) {
      const source = join(dir, `source-${gib}.raw`);
      sparseImage(source, gib, 64);
      const times = [];
      for (let round = 0; round < 5; round++) {
        const disk = join(dir, 'system', `${gib}-${round}`, 'disk.0');
        const started = performance.now();
        await runner.run({ kind: 'tm', action: 'clone', driver: 'qcow2', args: [`localhost:${source}`, `localhost:${disk}`, String(round), '0'] });
        times.push(performance.now() - started);
      }
      clones[`${gib}GiB`] = median(times);
    }
    return {
      fsCp: { plainCpMs: median(plain), ferryMs: median(viaFerry), ratio: median(viaFerry) / median(plain), target: 1.1, plainAllocatedBytes: plainBlocks, ferryAllocatedBytes: ferryBlocks },
      qcow2Clone: { ...clones, targetMs: 100 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `count` bare spawns of the dummy stat, at most `limit` at once; returns ms. */
async function bareLoop(count, limit) {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      await bareSpawn();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return performance.now() - started;
}

/** Starts `ferry mad datastore` and returns a small client over its stdin/stdout (child_process: its replies are timed, see the top). */
function startMad(args, env = {}) {
  const child = spawn(process.execPath, [ferry, 'mad', 'datastore', ...args], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  let buffer = '';
  const waiters = [];
  let replies = 0;
  child.stdout.on('data', (chunk) => {
    const lines = (buffer + chunk).split('\n');
    buffer = lines.pop();
    for (const line of lines) if (!line.startsWith('LOG ')) replies += 1;
    for (const waiter of [...waiters]) waiter();
  });
  const until = (count) => new Promise((resolve) => {
    const check = () => {
      if (replies >= count) {
        waiters.splice(waiters.indexOf(check), 1);
        resolve();
      }
    };
    waiters.push(check);
    check();
  });
  return { child, until, write: (text) => new Promise((resolve) => (child.stdin.write(text) ? resolve() : child.stdin.once('drain', resolve))) };
}

/** Runs `count` STAT actions through one `ferry mad datastore -t threads`; returns ms and the CPU of its process tree. */
async function madRun(count, threads, env = {}) {
  const mad = startMad(['--remotes', remotes, '-t', String(threads)], env);
  await mad.write('INIT\n');
  await mad.until(1);
  const started = performance.now();
  let text = '';
  for (let i = 0; i < count; i++) text += `STAT ${i} ${dump.base64}\n`;
  const before = treeCpuMs(mad.child.pid);
  await mad.write(text);
  await mad.until(count + 1);
  const ms = performance.now() - started;
  const after = treeCpuMs(mad.child.pid);
  mad.child.stdin.end('FINALIZE\n');
  await new Promise((resolve) => mad.child.once('exit', resolve));
  return { ms, cpu: { self: (after.self - before.self) / count, children: (after.children - before.children) / count } };
}

async function protocolFigures() {
  const COUNT = 2000;
  const ROUNDS_EACH = 4;
  const rows = [];
  for (const threads of [1, 4, 15]) {
    // In rounds of COUNT / ROUNDS_EACH, the three sides taking turns going first, so drift in machine load
    // favours none. FERRY_SPAWN=node starts scripts with Node's spawn instead of ferry-spawn: what the helper is worth.
    const per = COUNT / ROUNDS_EACH;
    const total = { mad: 0, node: 0, bare: 0 };
    const cpu = { mad: 0, madScripts: 0, bare: 0, bareScripts: 0 };
    const sides = {
      mad: async () => {
        const run = await madRun(per, threads);
        cpu.mad += run.cpu.self * per;
        cpu.madScripts += run.cpu.children * per;
        return run.ms;
      },
      node: async () => (await madRun(per, threads, { FERRY_SPAWN: 'node' })).ms,
      bare: async () => {
        const before = cpuMs(process.pid);
        const ms = await bareLoop(per, threads);
        const after = cpuMs(process.pid);
        cpu.bare += after.self - before.self;
        cpu.bareScripts += after.children - before.children;
        return ms;
      },
    };
    for (let round = 0; round < ROUNDS_EACH; round++) {
      const order = Object.keys(sides);
      for (let turn = 0; turn < round % order.length; turn++) order.push(order.shift());
      for (const side of order) total[side] += await sides[side]();
    }
    rows.push({
      threads,
      madPerSecond: (COUNT / total.mad) * 1000,
      barePerSecond: (COUNT / total.bare) * 1000,
      ratio: total.bare / total.mad,
      nodeSpawnPerSecond: (COUNT / total.node) * 1000,
      nodeSpawnRatio: total.bare / total.node,
      // CPU per action (ms): the processes that spawn (ferry mad and its helper, or the bench's own loop), and
      // the scripts they ran. With fewer cores than scripts in flight, throughput is CPU-bound and these explain the ratio.
      cpuPerAction: { mad: cpu.mad / COUNT, madScripts: cpu.madScripts / COUNT, bare: cpu.bare / COUNT, bareScripts: cpu.bareScripts / COUNT },
    });
  }
  // 100,000 actions queued behind one slow action: memory is what the queue costs.
  const QUEUED = 100_000;
  const slowDump = buildDump({ IMAGE: { ID: 0, NAME: 'bench' }, DATASTORE: { ID: 1, DS_MAD: 'slow', TYPE: 0 } });
  const mad = startMad(['--remotes', join(root, 'fixtures', 'remotes'), '-t', '1'], { FIXTURE_SLEEP: '600' });
  await mad.write('INIT\n');
  await mad.until(1);
  const rssBefore = rssKiB(mad.child.pid);
  let chunk = '';
  for (let i = 0; i < QUEUED; i++) {
    chunk += `STAT ${i} ${slowDump.base64}\n`;
    if (chunk.length > 1 << 20) {
      await mad.write(chunk);
      chunk = '';
    }
  }
  await mad.write(chunk);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const peak = hwmKiB(mad.child.pid);
  mad.child.kill('SIGTERM');
  await new Promise((resolve) => mad.child.once('exit', resolve));
  return { throughput: rows, queued: { actions: QUEUED, payloadBytes: slowDump.base64.length, rssBeforeMiB: rssBefore / 1024, peakRssMiB: peak / 1024 } };
}

function statusField(pid, field) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
}
/** CPU time (ms) of a process and of its reaped children, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 10;
  return { self: (Number(fields[11]) + Number(fields[12])) * tick, children: (Number(fields[13]) + Number(fields[14])) * tick };
}

/** CPU of a process and its live children (ferry mad's spawn helper), and of the children they reaped (the scripts). */
function treeCpuMs(pid) {
  const total = cpuMs(pid);
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
      const own = cpuMs(child);
      total.self += own.self;
      total.children += own.children;
    }
  }
  return total;
}
const rssKiB = (pid) => statusField(pid, 'VmRSS');
const hwmKiB = (pid) => statusField(pid, 'VmHWM');

const node0 = median(wall['node -e 0']);

/** Section 7: scripts/bench-history.mjs in its own process (it fills a catalog for a simulated year). */
function historyFigures() {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'bench-history.mjs'), '--json'], { encoding: 'utf8' });
  return JSON.parse(run.stdout.trim().split('\n').pop());
}
/** Section 8: scripts/bench-serve.mjs in its own process (its CPU is the service's alone). */
function serveFigures() {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'bench-serve.mjs'), '--json'], { encoding: 'utf8' });
  return JSON.parse(run.stdout.trim().split('\n').pop());
}
/** Section 9: scripts/bench-dashboard.mjs in its own process (it starts `ferry serve` and Chromium). */
function dashboardFigures() {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'bench-dashboard.mjs'), '--json'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`scripts/bench-dashboard.mjs failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}
/** Section 10: scripts/bench-queue.mjs in its own process (it starts PostgreSQL and the workers, and kills some). */
function queueFigures() {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'bench-queue.mjs'), '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  // Exit 1 with a report: a check failed (lost, run twice, interleaved), which the table shows; no report: it broke.
  const last = run.stdout.trim().split('\n').pop();
  if (!last?.startsWith('{')) throw new Error(`scripts/bench-queue.mjs failed (${run.status}): ${run.stderr}`);
  return JSON.parse(last).queue;
}
const queue = args.includes('--no-queue') ? undefined : await import('./bench-queue.mjs');
const lifecycle = args.includes('--no-lifecycle') ? undefined : await import('./bench-lifecycle.mjs');
const opennebula = args.includes('--no-opennebula') ? undefined : await import('./bench-opennebula.mjs');
const report = {
  machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
  dispatch: { actions: N * ROUNDS, bareSpawnMs: median(bare), libraryMs: median(lib), ratio: median(lib) / median(bare), target: 1.1 },
  oneShot: {
    runs: ONE_SHOTS,
    nodeMs: node0,
    dsStatMs: median(wall['ferry ds stat']),
    dsStatRatio: median(wall['ferry ds stat']) / node0,
    dsStatTarget: 2.5,
    xpathMs: median(wall['ferry xpath']),
    xpathRatio: median(wall['ferry xpath']) / node0,
    xpathTarget: 1.5,
  },
  ...(args.includes('--no-drivers') ? {} : { drivers: await driverFigures() }),
  ...(args.includes('--no-protocol') ? {} : { protocol: await protocolFigures() }),
  ...(lifecycle ? { lifecycle: await lifecycle.lifecycleFigures() } : {}),
  ...(opennebula ? { opennebula: await opennebula.opennebulaFigures() } : {}),
  ...(args.includes('--no-history') ? {} : { history: historyFigures() }),
  ...(args.includes('--no-serve') ? {} : { serve: serveFigures() }),
  ...(args.includes('--no-dashboard') ? {} : { dashboard: dashboardFigures() }),
  ...(queue ? { queue: queueFigures() } : {}),
};
if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  const f = (x) => x.toFixed(2);
  const d = report.dispatch;
  const o = report.oneShot;
  console.log(`ferry bench (node ${report.machine.node}, ${report.machine.cpus} cpus; medians)`);
  console.log('');
  console.log('| measure | baseline | ferry | ratio | target |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| library dispatch, ${d.actions} x datastore stat | bare spawn ${f(d.bareSpawnMs)} ms/action | ${f(d.libraryMs)} ms/action | ${f(d.ratio)} | <= ${d.target} |`);
  console.log(`| one-shot \`ferry ds stat\`, ${o.runs} runs | \`node -e 0\` ${f(o.nodeMs)} ms | ${f(o.dsStatMs)} ms | ${f(o.dsStatRatio)} | <= ${o.dsStatTarget} |`);
  console.log(`| one-shot \`ferry xpath\`, ${o.runs} runs | \`node -e 0\` ${f(o.nodeMs)} ms | ${f(o.xpathMs)} ms | ${f(o.xpathRatio)} | <= ${o.xpathTarget} |`);
  if (report.drivers) {
    const { fsCp, qcow2Clone } = report.drivers;
    const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(0)} MiB allocated`;
    console.log(`| datastore/fs cp, 1 GiB sparse image (512 MiB data), 5 runs | \`cp --sparse=always\` ${f(fsCp.plainCpMs)} ms, ${mib(fsCp.plainAllocatedBytes)} | ${f(fsCp.ferryMs)} ms, ${mib(fsCp.ferryAllocatedBytes)} | ${f(fsCp.ratio)} | <= ${fsCp.target}, same blocks |`);
    console.log(`| tm/qcow2 clone, 5 runs each | - | 1 GiB ${f(qcow2Clone['1GiB'])} ms, 8 GiB ${f(qcow2Clone['8GiB'])} ms | - | < ${qcow2Clone.targetMs} ms both |`);
  }
  if (report.protocol) {
    for (const row of report.protocol.throughput) {
      const c = row.cpuPerAction;
      console.log(`| \`ferry mad datastore -t ${row.threads}\`, 2,000 STAT | bare spawn loop ${row.barePerSecond.toFixed(0)}/s (CPU ${f(c.bare)} + scripts ${f(c.bareScripts)} ms/action) | ${row.madPerSecond.toFixed(0)}/s (CPU ${f(c.mad)} + scripts ${f(c.madScripts)} ms/action) | ${f(row.ratio)} | >= 0.9 |`);
    }
    for (const row of report.protocol.throughput) {
      console.log(`| \`ferry mad datastore -t ${row.threads}\` with FERRY_SPAWN=node, 2,000 STAT | bare spawn loop ${row.barePerSecond.toFixed(0)}/s | ${row.nodeSpawnPerSecond.toFixed(0)}/s | ${f(row.nodeSpawnRatio)} | - |`);
    }
    const q = report.protocol.queued;
    console.log(`| \`ferry mad\` with ${q.actions.toLocaleString('en')} queued STAT (${q.payloadBytes} B dumps) | idle ${q.rssBeforeMiB.toFixed(0)} MiB RSS | peak ${q.peakRssMiB.toFixed(0)} MiB RSS | - | bounded |`);
  }
  if (report.lifecycle) for (const row of lifecycle.lifecycleRows(report.lifecycle)) console.log(row);
  if (report.opennebula) for (const row of opennebula.opennebulaRows(report.opennebula)) console.log(row);
  if (report.history) {
    const h = report.history;
    console.log(`| history: write 1,000 samples, ${h.writeMs} ms (slowest ${h.writeMaxMs} ms) | - | - | - | <= ${h.targets.writeMs} ms |`);
    console.log(`| history: read a 24-hour series (${h.readPoints} points) | - | ${h.readMs} ms (7 days ${h.readWeekMs} ms, 400 days ${h.read400DaysMs} ms) | - | <= ${h.targets.readMs} ms |`);
    console.log(`| history: catalog for 100 datastores over ${h.days} days every 300 s | - | ${h.sizeMiB} MiB | - | <= ${h.targets.sizeMiB} MiB |`);
  }
  if (report.serve) {
    const v = report.serve;
    console.log(`| \`ferry serve\`, ${v.datastores.toLocaleString('en')} datastores every ${v.intervalS} s, ${v.runs} runs in ${v.seconds} s | bare spawn ${f(v.perSpawnMs)} ms CPU | ${f(v.perRunMs)} ms CPU per run, ${f(v.corePct)} % of one core (an idle timer wake-up costs ${v.wakeupMs} ms here) | ${f(v.ratio)} | <= ${v.targetPct} % of one core |`);
  }
  if (report.dashboard) {
    const b = report.dashboard;
    const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
    const fcp = (side) => `${side.firstContentfulPaintMs.median} ms (p90 ${side.firstContentfulPaintMs.p90})`;
    console.log(`| dashboard overview first contentful paint, ${b.catalog.datastores.toLocaleString('en')} datastores and ${b.catalog.images.toLocaleString('en')} images, ${b.runs} loads | same HTML as a static file ${fcp(b.baseline)} | ${fcp(b.ferry)}, server ${b.ferry.serverMs.median} ms, ${kb(b.ferry.htmlBytes)} of HTML | ${f(b.ratio)} | <= ${b.targets.firstPaintMs} ms |`);
    console.log(`| dashboard script per page (the most of ${b.scripts.pages.length} pages) | - | ${kb(b.scripts.maxPageBytes)}; all of dist/assets/*.js ${kb(b.scripts.allAssetsBytes)} (${kb(b.scripts.allAssetsGzipBytes)} gzipped) | - | <= ${kb(b.targets.scriptBytes)} |`);
  }
  if (report.queue) for (const row of queue.queueRows(report.queue)) console.log(row);
}
