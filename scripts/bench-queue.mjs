#!/usr/bin/env node
// The queue's figures (issue 17): operations queued on a PostgreSQL catalog and run by `ferry worker` processes.
// A throwaway PostgreSQL 15 on loopback (scripts/lib/pg-server.mjs), three workers (`--concurrency 4`), and this
// process as the front-end: it queues each VM's operations through the library (queue/submit.js, as a command
// does), one at a time per VM, the next once the previous ended. Each VM (an image disk and a volatile one) runs
// create, then stop/resume three times: 20 tm actions, on tm/bench, a copy of tm/dummy that logs each call's
// start and end (µs) with its arguments. Phases:
//  1. latency: operations queued one at a time on idle workers (after one VM's to warm up);
//     operations.started_at - created_at, and the submit call to the first driver action (µs, the driver's log).
//  2. 100 VMs (2,000 actions) on three workers (500 VMs with --full).
//  3. 500 VMs (10,000 actions) on three workers, one of them SIGKILLed every 3 s and started again. A stop or
//     resume cut in a mv (not safe to repeat) fails E_INTERRUPTED: the VM is recovered (`vm recover --retry`
//     through the library) and counted, and its sequence goes on.
//  4. 100 VMs on one worker (the two others stopped with SIGTERM).
//  5. The same 100 VMs' operations run in-process by the lifecycle on a SQLite catalog, 4 VMs at once (a worker's
//     concurrency): the path without the queue, for the ratio.
// Checks, each phase (scripts/lib/queue-checks.mjs): lost (a VM whose sequence failed or that is not RUNNING at the
// end, an operation of the phase not ended), run twice after success (a step journaled ok twice within one
// operation run: the journal split per VM where its operations ended), interleaved (two driver calls on one VM
// overlapping in time, from the driver's log). Exit 1 when any is not 0.
// Flags: --json, --quick (a small run, for development), --full (phase 2 at 500 VMs too: about twice as long).
// FERRY_BENCH_KEEP=1 keeps its temp folder (the driver's and the workers' logs) when it ends normally.
// `npm run bench` runs this as its last section (--no-queue skips it).
import { spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPgServer } from './lib/pg-server.mjs';
import { check, cpuTree, endCutCalls, journalMark, percentile, readCalls } from './lib/queue-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Catalog, Orchestrator, Runner, TM_ACTIONS } = await import(join(root, 'dist/index.js'));
const { submit } = await import(join(root, 'dist/queue/submit.js'));
const ferry = join(root, 'dist/bin/ferry.js');

const CYCLES = 3;
const SEQUENCE = ['create', ...Array.from({ length: CYCLES }, () => ['stop', 'resume']).flat()];
const FINAL = 'RUNNING';
const CONCURRENCY = 4;
const KILL_EVERY_MS = 3000;
const LATENCY_TARGET_MS = 10;
const STALL_MS = 60_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** Remotes with the dummy datastore driver, tm/dummy, and tm/bench: tm/dummy logging each call to `log`. */
function makeRemotes(dir, log) {
  const bundled = join(root, 'remotes');
  const remotes = join(dir, 'remotes');
  mkdirSync(join(remotes, 'tm', 'bench'), { recursive: true });
  cpSync(join(bundled, 'datastore'), join(remotes, 'datastore'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundled, 'tm', 'dummy'), join(remotes, 'tm', 'dummy'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundled, 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  for (const action of TM_ACTIONS) {
    const dummy = readFileSync(join(bundled, 'tm', 'dummy', action), 'utf8');
    const target = join(remotes, 'tm', 'bench', action);
    // The actions that only check their arguments get a logging copy; the others (monitor …) are tm/dummy's own.
    if (!dummy.includes('moves nothing and succeeds')) {
      symlinkSync(join(remotes, 'tm', 'dummy', action), target);
      continue;
    }
    // bash for $EPOCHREALTIME (µs, no `date` process); one write per line, appended: lines of calls at once stay whole.
    writeFileSync(
      target,
      [
        '#!/bin/bash',
        `# tm/dummy's ${action}, logging its start and end (µs since the epoch) with its pid and arguments.`,
        `printf 'S %s %s ${action} %s\\n' "$$" "$EPOCHREALTIME" "$*" >> '${log}'`,
        `[ "$#" -ge 2 ] || { echo "usage: $0 <arguments of the ${action} action>" >&2; exit 2; }`,
        `printf 'E %s %s\\n' "$$" "$EPOCHREALTIME" >> '${log}'`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  }
  return remotes;
}

/** Hosts, an IMAGE and a SYSTEM datastore on tm/bench, and the image every VM's first disk clones. */
async function seed(catalog, runner, dir) {
  catalog.addHost({ name: 'host01', transport: 'local' });
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'dummy', tmMad: 'bench', basePath: join(dir, 'images') });
  const system = catalog.addDatastore({ name: 'sysds', type: 'SYSTEM', tmMad: 'bench', basePath: join(dir, 'sysds') });
  const orchestrator = new Orchestrator({ catalog, runner, frontend: hostname() });
  const base = await orchestrator.createImage({ datastore: images, name: 'base', sizeMb: 64 });
  if (base.state !== 'READY') throw new Error(`the base image is ${base.state}: ${base.error}`);
  return { orchestrator, system, base };
}
const vmInput = (w, name) => ({ name, host: 'host01', systemDs: w.system.id, disks: [{ kind: 'image', image: w.base.id }, { kind: 'volatile', sizeMb: 16 }] });

/** Resolves each operation's wait when the catalog shows it ended: one query for all of them every `pollMs`. */
class Ends {
  constructor(catalog, pollMs) {
    Object.assign(this, { catalog, pollMs, waiting: new Map(), lastEnd: Date.now(), polling: false });
  }
  wait(id) {
    const ended = new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    if (!this.polling) {
      this.lastEnd = Date.now();
      this.poll().catch((error) => {
        // The catalog failed: every wait fails with it, and the bench with them.
        for (const { reject } of this.waiting.values()) reject(error);
        this.waiting.clear();
        this.polling = false;
      });
    }
    return ended;
  }
  async poll() {
    this.polling = true;
    for (;;) {
      await sleep(this.pollMs);
      // Stopped in the tick that sees nothing to wait for: a wait() after it starts the loop again.
      if (this.waiting.size === 0) return void (this.polling = false);
      const rows = this.catalog.executor.all({
        sql: `SELECT id, state, error_code, error, created_at, started_at, finished_at, attempts FROM operations WHERE id = ANY($1::bigint[]) AND state IN ('done', 'failed')`,
        parameters: [[...this.waiting.keys()]],
      });
      if (rows.length > 0) {
        this.lastEnd = Date.now();
        // Read after the ends were seen: every journal entry of these operations has a smaller id (they commit
        // before the end), and every entry of a VM's next operation a larger one (it is queued after this).
        const mark = journalMark(this.catalog);
        for (const row of rows) {
          const { resolve } = this.waiting.get(Number(row.id));
          this.waiting.delete(Number(row.id));
          resolve({ ...row, id: Number(row.id), mark });
        }
      } else if (Date.now() - this.lastEnd > STALL_MS) {
        for (const [id, { reject }] of this.waiting) reject(Object.assign(new Error(`operation ${id} did not end`), { lost: id }));
        this.waiting.clear();
      }
    }
  }
}

/**
 * Whether a failed operation left its VM FAILED at a step cut by a worker's death: E_INTERRUPTED, or E_DRIVER_FAILED
 * on a VM FAILED with that message: a `vm recover --retry` cut in its turn (the retry runs with the VM FAILED, so
 * the next worker finds it so). Either way `vm recover --retry` is the way on.
 */
const interrupted = (catalog, vmId, ended) => {
  if (ended.error_code === 'E_INTERRUPTED') return true;
  const vm = catalog.vm(vmId);
  return vm.state === 'FAILED' && /the worker running it died/.test(vm.error ?? '');
};

/**
 * Queues `vms` VMs' sequences at once, each operation once its VM's previous one ended; returns per VM its id, its
 * operation runs ({ id, from, to }: journal ids after `from` up to `to` are theirs), how many needed a recover,
 * and any failure.
 */
async function queueRun(w, names, ends, onSubmit = () => {}) {
  const life = { catalog: w.catalog, runner: w.runner, frontend: hostname() };
  const createdBy = `${hostname()}:${process.pid}`;
  const startMark = journalMark(w.catalog);
  const one = async (name) => {
    const vm = { name, id: undefined, runs: [], recovers: 0, driverFailedAfterDeath: 0, failure: undefined };
    let from = startMark;
    // `logical`: the sequence's operation a run belongs to (its recovers run the rest of the same plan).
    const run = async (plan, logical) => {
      const at = wallUs();
      const op = submit(w.catalog, life, plan, { createdBy });
      vm.id ??= Number(op.subject.slice(3));
      onSubmit(vm.id, at);
      const ended = await ends.wait(op.id);
      vm.runs.push({ id: op.id, operation: op.operation, logical, from, to: ended.mark, ...ended });
      from = ended.mark;
      return ended;
    };
    try {
      for (const [logical, operation] of SEQUENCE.entries()) {
        let ended = await run(operation === 'create' ? w.orchestrator.planNewVm(vmInput(w, name)) : w.orchestrator.planVm(vm.id, operation), logical);
        // A mv cut by a SIGKILL: what `ferry vm recover --retry` queues; again when the recover's own mv is cut.
        for (let tries = 0; ended.state === 'failed' && tries < 5 && interrupted(w.catalog, vm.id, ended); tries++) {
          if (ended.error_code !== 'E_INTERRUPTED') vm.driverFailedAfterDeath += 1;
          vm.recovers += 1;
          ended = await run(w.orchestrator.planRecover(vm.id, 'retry'), logical);
        }
        if (ended.state !== 'done') throw new Error(`${operation} (operation ${ended.id}, ${ended.attempts} attempts) failed: ${ended.error_code} ${ended.error}`);
      }
    } catch (error) {
      vm.failure = error.lost !== undefined ? `operation ${error.lost} never ended` : error.message;
      if (error.lost !== undefined) vm.lostOperation = error.lost;
    }
    return vm;
  };
  const started = performance.now();
  const vms = await Promise.all(names.map(one));
  return { vms, ms: performance.now() - started, startMark };
}

/** A `ferry worker` process, its log in a file; ready() resolves once it says so. */
function startWorker(world, index) {
  const log = join(world.dir, `worker-${index}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [ferry, 'worker', '--reclaim-every', '1', '--concurrency', String(CONCURRENCY), '--log-level', 'info'], { cwd: world.dir, env: world.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  world.workers.add(child);
  exited.then(() => world.workers.delete(child));
  const ready = async () => {
    for (const end = Date.now() + 60_000; Date.now() < end; await sleep(50)) {
      if (readFileSync(log, 'utf8').includes('ferry worker ready')) return;
      if (child.exitCode !== null) break;
    }
    throw new Error(`ferry worker ${index} did not start: ${readFileSync(log, 'utf8').slice(-2000)}`);
  };
  return { child, exited, ready, log };
}

/** Runs `fn` with a fresh driver log; returns fn's value and the calls logged meanwhile. */
async function logged(world, fn) {
  rmSync(world.calls, { force: true });
  const value = await fn();
  const kept = join(world.dir, `calls-${world.phase++}.log`);
  try {
    renameSync(world.calls, kept);
  } catch {
    return { value, calls: [] };
  }
  return { value, calls: readCalls(kept) };
}

async function latencyPhase(world, count) {
  const ends = new Ends(world.catalog, 2);
  const submitted = [];
  const { value: runs, calls } = await logged(world, async () => {
    const vms = [];
    // Sequences of single operations, one at a time, so each finds the workers idle; the first VM's warm up (not counted).
    for (let i = 0; (vms.length - 1) * SEQUENCE.length < count; i++) vms.push((await queueRun(world, [`lat-${i}`], ends, (vm, at) => submitted.push({ vm, at }))).vms[0]);
    return vms;
  });
  const ops = runs.slice(1).flatMap((vm) => vm.runs);
  const startMs = ops.map((op) => Date.parse(op.started_at) - Date.parse(op.created_at));
  const firstActionMs = submitted
    .filter(({ vm }) => vm !== runs[0].id)
    .map(({ vm, at }) => (Math.min(...calls.filter((call) => call.vm === vm && call.start >= at).map((call) => call.start)) - at) / 1000);
  return {
    operations: ops.length,
    startMs: { p50: percentile(startMs, 50), p90: percentile(startMs, 90), max: Math.max(...startMs) },
    firstActionMs: { p50: percentile(firstActionMs, 50), p90: percentile(firstActionMs, 90) },
    target: LATENCY_TARGET_MS,
    failures: runs.filter((vm) => vm.failure !== undefined).length,
  };
}

async function queuePhase(world, prefix, count, { kill = false } = {}) {
  const ends = new Ends(world.catalog, 25);
  let kills = 0;
  const killedAt = [];
  let stop = false;
  const killer = (async () => {
    while (kill && !stop) {
      await sleep(KILL_EVERY_MS);
      if (stop) break;
      // A worker that is up and taking jobs, in turn; started again at once, as a supervisor would.
      const index = kills % world.running.length;
      const victim = world.running[index];
      killedAt.push(wallUs());
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills += 1;
      world.running[index] = startWorker(world, `${index}-${kills}`);
      await world.running[index].ready();
    }
  })();
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  // CPU of this process (the front-end queuing), the workers and their driver scripts, and PostgreSQL.
  const cpu = () => {
    const workers = world.running.map((worker) => cpuTree(worker.child.pid));
    const server = cpuTree(world.pg.pid);
    return { frontEnd: cpuTree(process.pid).self, workers: workers.reduce((t, w) => t + w.self, 0), scripts: workers.reduce((t, w) => t + w.children, 0), postgres: server.self + server.children };
  };
  const before = cpu();
  const { value: run, calls } = await logged(world, async () => {
    try {
      return await queueRun(world, names, ends);
    } finally {
      stop = true;
      await killer;
    }
  });
  const after = cpu();
  const cut = calls.filter((call) => call.end === Infinity).length;
  const figures = { ...check(world.catalog, run, endCutCalls(calls, killedAt), FINAL), cutCalls: cut };
  // Killed workers take their CPU figures with them: none for that phase.
  const cpuMsPerAction = kill ? undefined : Object.fromEntries(Object.keys(after).map((key) => [key, (after[key] - before[key]) / figures.actions]));
  return { ...figures, ...(cpuMsPerAction ? { cpuMsPerAction } : {}), workers: world.running.length, concurrency: CONCURRENCY, ...(kill ? { kills, killEveryS: KILL_EVERY_MS / 1000 } : {}) };
}

/** The same sequences in this process on a SQLite catalog, `inFlight` VMs at once: the path without the queue. */
async function sqlitePhase(dir, count, inFlight) {
  const calls = join(dir, 'sqlite-calls.log');
  const remotes = makeRemotes(join(dir, 'sqlite'), calls);
  const catalog = Catalog.open(join(dir, 'sqlite', 'catalog.db'));
  const runner = new Runner({ remotes });
  try {
    const w = { catalog, runner, ...(await seed(catalog, runner, join(dir, 'sqlite'))) };
    const startMark = journalMark(catalog);
    rmSync(calls, { force: true });
    const vms = [];
    let next = 0;
    const before = cpuTree(process.pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          const vm = { name: `sq-${next++}`, id: undefined, runs: [], recovers: 0, driverFailedAfterDeath: 0, failure: undefined };
          vms.push(vm);
          try {
            for (const [logical, operation] of SEQUENCE.entries()) {
              const from = journalMark(catalog);
              const done = operation === 'create' ? await w.orchestrator.createVm(vmInput(w, vm.name)) : await w.orchestrator.operate(vm.id, operation);
              vm.id = done.id;
              const to = journalMark(catalog);
              vm.runs.push({ operation, logical, from, to, attempts: 1 });
            }
          } catch (error) {
            vm.failure = error.message;
          }
        }
      }),
    );
    const run = { vms, ms: performance.now() - started, startMark };
    const after = cpuTree(process.pid);
    const figures = check(catalog, run, readCalls(calls), FINAL);
    return { ...figures, inFlight, cpuMsPerAction: { ferry: (after.self - before.self) / figures.actions, scripts: (after.children - before.children) / figures.actions } };
  } finally {
    catalog.close();
  }
}

export async function queueFigures({ quick = false, full = false } = {}) {
  const size = quick ? { vms: 40, small: 20, latency: 42 } : { vms: 500, small: 100, latency: 105 };
  const sectionStarted = performance.now();
  const load = loadavg().map((x) => Number(x.toFixed(2)));
  const pg = await startPgServer();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-queue-'));
  const world = { dir, pg, phase: 0, workers: new Set(), running: [], calls: join(dir, 'calls.log') };
  const killAll = () => {
    for (const child of world.workers) child.kill('SIGKILL');
  };
  // Ended by an error or a signal (pg-server.mjs turns SIGINT and SIGTERM into an exit): no worker or folder left.
  const onExit = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  try {
    const remotes = makeRemotes(dir, world.calls);
    const env = { FERRY_CATALOG: pg.url, PGPASSWORD: pg.password, FERRY_HOME: join(dir, 'home'), FERRY_REMOTES: remotes, NO_COLOR: '1' };
    world.env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FERRY_') && name !== 'NODE_OPTIONS')), ...env };
    world.catalog = Catalog.open(pg.url, undefined, env);
    world.runner = new Runner({ remotes });
    Object.assign(world, await seed(world.catalog, world.runner, dir));
    world.running = [0, 1, 2].map((index) => startWorker(world, index));
    for (const worker of world.running) await worker.ready();

    const latency = await latencyPhase(world, size.latency);
    const three = await queuePhase(world, 'vm', full ? size.vms : size.small);
    const killed = await queuePhase(world, 'kill', size.vms, { kill: true });
    // One worker: the others stop cleanly (SIGTERM lets their running operations finish).
    for (const worker of world.running.slice(1)) worker.child.kill('SIGTERM');
    await Promise.all(world.running.slice(1).map((worker) => worker.exited));
    world.running = world.running.slice(0, 1);
    const one = await queuePhase(world, 'one', size.small);
    killAll();
    // Reaped before the SQLite phase, whose driver scripts' CPU is read from this process's reaped children.
    await Promise.all(world.running.map((worker) => worker.exited));
    world.catalog.close();
    const sqlite = await sqlitePhase(dir, size.small, CONCURRENCY);
    return {
      machine: { node: process.version, cpus: cpus().length, loadAverage: load, loadAverageAfter: loadavg().map((x) => Number(x.toFixed(2))) },
      seconds: Math.round((performance.now() - sectionStarted) / 1000),
      sequence: `create, then stop/resume x ${CYCLES}: ${SEQUENCE.length} operations and 20 tm actions per VM (an image disk and a volatile one)`,
      latency,
      threeWorkers: three,
      killed,
      oneWorker: one,
      sqlite,
      ratio: { threeWorkers: three.actionsPerSecond / sqlite.actionsPerSecond, oneWorker: one.actionsPerSecond / sqlite.actionsPerSecond },
    };
  } finally {
    killAll();
    process.off('exit', onExit);
    try {
      world.catalog?.close();
    } catch {
      // closed above
    }
    await pg.stop();
    if (process.env.FERRY_BENCH_KEEP) console.error(`bench-queue: kept ${dir} (driver and worker logs)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows for bench.mjs's table: | measure | baseline | ferry | ratio | target |. */
export function queueRows(r) {
  const f = (x) => x.toFixed(2);
  const n = (x) => x.toLocaleString('en');
  const reopened = (p) => (p.reopened.length > 0 ? ` (${p.reopened.length} of them operations that ended, then showed running again)` : '');
  const checks = (p) => `${p.lost} lost${reopened(p)}, ${p.runTwice} run twice, ${p.interleaved} interleaved`;
  const sq = `SQLite in-process, ${r.sqlite.inFlight} VMs at once: ${r.sqlite.actionsPerSecond.toFixed(0)} actions/s`;
  const { threeWorkers: t, killed: k, oneWorker: o, latency: l } = r;
  return [
    `| queue, 3 workers x ${t.concurrency}, ${n(t.actions)} tm actions over ${t.vms} VMs (${n(t.operations)} operations) | ${sq} | ${t.actionsPerSecond.toFixed(0)} actions/s; ${checks(t)} | ${f(r.ratio.threeWorkers)} | 0 lost, run twice, interleaved |`,
    `| queue, 1 worker x ${o.concurrency}, ${n(o.actions)} tm actions over ${o.vms} VMs | ${sq} | ${o.actionsPerSecond.toFixed(0)} actions/s; ${checks(o)} | ${f(r.ratio.oneWorker)} | - |`,
    `| queue, 3 workers, one SIGKILLed every ${k.killEveryS} s (${k.kills} kills), ${n(k.actions)} tm actions over ${k.vms} VMs | - | ${k.actionsPerSecond.toFixed(0)} actions/s; ${checks(k)}; ${k.recoveredVms} VMs recovered (${k.recoverOperations} \`vm recover --retry\`, ${k.driverFailedAfterDeath} of them after a recover cut in its turn: E_DRIVER_FAILED), ${k.retriedOnDeath} operations taken up again, ${k.rerunCalls} driver calls run again (${k.cutCalls} of them cut by a kill) | - | 0 lost, run twice, interleaved |`,
    ...['threeWorkers', 'killed', 'oneWorker', 'sqlite'].flatMap((phase) => r[phase].failures.map((failure) => `| queue: failed in ${phase} | - | ${failure.replaceAll('|', '/')} | - | - |`)),
    `| queue-to-start latency, ${l.operations} operations on idle workers | - | started_at - created_at p50 ${l.startMs.p50} ms, p90 ${l.startMs.p90} ms; submit to first driver action p50 ${f(l.firstActionMs.p50)} ms, p90 ${f(l.firstActionMs.p90)} ms | - | p50 <= ${l.target} ms |`,
  ];
}

const invoked = process.argv[1] && existsSync(process.argv[1]) ? realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const report = await queueFigures({ quick: args.includes('--quick'), full: args.includes('--full') });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ queue: report })}\n`);
  else {
    const m = report.machine;
    console.log(`ferry queue bench (node ${m.node}, ${m.cpus} cpus, load average ${m.loadAverage.join(' ')} before, ${m.loadAverageAfter.join(' ')} after)`);
    console.log(report.sequence);
    console.log('');
    console.log('| measure | baseline | ferry | ratio | target |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const row of queueRows(report)) console.log(row);
  }
  const p = report;
  const broken = ['threeWorkers', 'killed', 'oneWorker', 'sqlite'].some((phase) => p[phase].lost + p[phase].runTwice + p[phase].interleaved + p[phase].unattributed > 0);
  if (broken || p.latency.failures > 0) process.exitCode = 1;
}
