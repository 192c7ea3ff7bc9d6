#!/usr/bin/env node
// The lifecycle benchmark: what the catalog and planning add to the driver
// actions they run. 200 VMs (--vms) with 2 disks each go through create, stop,
// resume, migrate host01 -> host02 and shutdown on the dummy drivers, through
// a temp catalog and the Orchestrator; the baseline is the same TM actions,
// same driver and argv, run one by one with Runner.run in the same run. The
// VMs are split into rounds (--rounds); in each, every phase runs VM by VM,
// the two sides alternating which goes first, so machine noise hits both
// alike; figures are medians of the per-round ms/action. Both sides run
// sequentially (one action at a time).
//
// Disks: disk 0 clones one shared non-persistent image (`base`); disk 1 links
// (ln) a persistent image of the VM's own (`data-<i>`, registered with ds mkfs
// in the VM's round, timed as its own row), so a VM runs clone + ln at create
// and delete + mvds at shutdown. Each VM runs 14 TM actions: create 2, and 3
// (2 disks + the VM folder) for each of stop, resume, migrate and shutdown.
// After the run the journal must hold exactly the actions the baseline ran.
//
// Also reports the catalog's size (main file + -wal, before it is closed) and
// its journal rows. `npm run bench` runs this as a section (--no-lifecycle
// skips it). Flags: --json, --vms N (default 200), --rounds R (default 10).
import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Catalog, Orchestrator, Runner, datastoreDump } = await import(join(root, 'dist/index.js'));
if (!Catalog || !Orchestrator) throw new Error('dist/ has no Catalog or Orchestrator export: npm run build');

const FRONTEND = 'frontend';
const OPERATIONS = ['create', 'stop', 'resume', 'migrate', 'shutdown'];
const PHASES = ['image', ...OPERATIONS];
const TARGET = 1.2;
/** The middle value (the upper one of an even count); bench.mjs uses it too. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const sum = (values) => values.reduce((total, value) => total + value, 0);

/** A Runner that adds up the time spent in run(): what is left of a side's time is the catalog's and the planning's. */
class TimedRunner extends Runner {
  driverMs = 0;
  async run(request) {
    const started = performance.now();
    try {
      return await super.run(request);
    } finally {
      this.driverMs += performance.now() - started;
    }
  }
}

/** A temp catalog with an IMAGE and a SYSTEM datastore (dummy drivers), hosts host01 and host02, and the shared image. */
async function world(runner) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-lifecycle-'));
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  const imagesDs = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'dummy', tmMad: 'dummy', basePath: join(dir, 'images') });
  const systemDs = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'dummy', basePath: join(dir, 'system') });
  catalog.addHost({ name: 'host01', transport: 'local' });
  catalog.addHost({ name: 'host02', transport: 'local' });
  const orchestrator = new Orchestrator({ catalog, runner, frontend: FRONTEND });
  const base = await orchestrator.createImage({ datastore: imagesDs, name: 'base', sizeMb: 1024 });
  if (base.state !== 'READY' || !base.source) throw new Error(`base image: ${base.state}`);
  return { dir, catalog, orchestrator, imagesDs, systemDs, base };
}

/**
 * What the baseline runs for VM `index` (0-based), computed as the
 * orchestrator plans it (spec, "An Example VM"): the VM gets id index + 1 and
 * its persistent image id index + 2 (the shared image is 1). The journal check
 * at the end proves these are the actions the catalog side ran.
 */
function directPlan(w, index) {
  const vmId = String(index + 1);
  const imageId = index + 2;
  const source = w.base.source; // the dummy ds mkfs gives every image the same SOURCE
  const imagesDsId = String(w.imagesDs.id);
  const systemDsId = String(w.systemDs.id);
  const folder = `${w.systemDs.basePath}/${vmId}`;
  const disks = [`${folder}/disk.0`, `${folder}/disk.1`];
  const tm = (action, driver, args) => ({ kind: 'tm', action, driver, args });
  const move = (from, to) => [
    ...disks.map((disk) => tm('mv', w.imagesDs.tmMad, [`${from}:${disk}`, `${to}:${disk}`, vmId, imagesDsId])),
    tm('mv', w.systemDs.tmMad, [`${from}:${folder}`, `${to}:${folder}`, vmId, systemDsId]),
  ];
  return {
    image: [
      {
        kind: 'datastore',
        action: 'mkfs',
        driver: w.imagesDs.dsMad,
        args: [String(imageId)],
        request: { kind: 'datastore', action: 'mkfs', dump: datastoreDump(w.imagesDs, { id: imageId, name: `data-${index}`, sizeMb: 1024, persistent: true, type: 'OS' }), id: imageId, env: {} },
      },
    ],
    create: [
      tm('clone', w.imagesDs.tmMad, [`${FRONTEND}:${source}`, `host01:${disks[0]}`, vmId, imagesDsId]),
      tm('ln', w.imagesDs.tmMad, [`${FRONTEND}:${source}`, `host01:${disks[1]}`, vmId, imagesDsId]),
    ],
    stop: move('host01', FRONTEND),
    resume: move(FRONTEND, 'host01'),
    migrate: move('host01', 'host02'),
    shutdown: [
      tm('delete', w.imagesDs.tmMad, [`host02:${disks[0]}`, vmId, imagesDsId]),
      tm('mvds', w.imagesDs.tmMad, [`host02:${disks[1]}`, source, vmId, imagesDsId]),
      tm('delete', w.systemDs.tmMad, [`host02:${folder}`, vmId, systemDsId]),
    ],
  };
}

/** The catalog side of one phase for VM `index`. */
async function viaCatalog(w, phase, index) {
  const { orchestrator } = w;
  const vmId = index + 1;
  let vm;
  switch (phase) {
    case 'image': {
      const image = await orchestrator.createImage({ datastore: w.imagesDs, name: `data-${index}`, sizeMb: 1024, persistent: true });
      if (image.id !== index + 2 || image.state !== 'READY') throw new Error(`image data-${index}: id ${image.id}, ${image.state}`);
      return;
    }
    case 'create':
      vm = await orchestrator.createVm({ name: `vm-${index}`, host: 'host01', systemDs: w.systemDs.id, disks: [{ kind: 'image', image: w.base.id }, { kind: 'image', image: index + 2 }] });
      if (vm.id !== vmId) throw new Error(`vm-${index} got id ${vm.id}, expected ${vmId}`);
      break;
    case 'migrate':
      vm = await orchestrator.operate(vmId, 'migrate', { target: 'host02' });
      break;
    default:
      vm = await orchestrator.operate(vmId, phase);
  }
  const expected = { create: 'RUNNING', stop: 'STOPPED', resume: 'RUNNING', migrate: 'RUNNING', shutdown: 'DONE' }[phase];
  if (vm.state !== expected) throw new Error(`vm ${vmId} after ${phase}: ${vm.state}`);
}

/** The baseline of one phase for VM `index`: the same actions, straight through Runner.run. */
async function direct(runner, plans, phase, index) {
  for (const step of plans[index][phase]) {
    if (step.request) await runner.run(step.request);
    else await runner.run({ kind: 'tm', action: step.action, driver: step.driver, args: step.args });
  }
}

/** Runs `fn` and returns its wall time, this process's CPU time, and the wall time outside runner.run(), in ms. */
async function timed(runner, fn) {
  const cpu = process.cpuUsage();
  const inDriver = runner.driverMs;
  const started = performance.now();
  await fn();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000, outside: wall - (runner.driverMs - inDriver) };
}

/** One full pass of `count` VMs on both sides, untimed, so caches and JIT are warm before round 1. */
async function warmUp(runner, count) {
  const w = await world(runner);
  try {
    const plans = Array.from({ length: count }, (_, index) => directPlan(w, index));
    for (const phase of PHASES) {
      for (let index = 0; index < count; index++) {
        await viaCatalog(w, phase, index);
        await direct(runner, plans, phase, index);
      }
    }
  } finally {
    w.catalog.close();
    rmSync(w.dir, { recursive: true, force: true });
  }
}

const size = (path) => statSync(path, { throwIfNoEntry: false })?.size ?? 0;

export async function lifecycleFigures({ vms = 200, rounds = 10 } = {}) {
  const runner = new TimedRunner({ remotes: join(root, 'remotes') });
  await warmUp(runner, 5);
  const w = await world(runner);
  try {
    const plans = Array.from({ length: vms }, (_, index) => directPlan(w, index));
    const perVm = Object.fromEntries(PHASES.map((phase) => [phase, plans[0][phase].length]));
    // Per round and phase: ms/action, wall and CPU, each side.
    const samples = Object.fromEntries(PHASES.map((phase) => [phase, { catalog: [], direct: [], catalogCpu: [], directCpu: [], catalogOutside: [], directOutside: [] }]));
    const lifecycle = { catalog: [], direct: [], catalogCpu: [], directCpu: [], catalogOutside: [], directOutside: [] };
    const totals = { catalog: 0, direct: 0 };
    const chunk = Math.ceil(vms / rounds);
    let round = 0;
    for (let from = 0; from < vms; from += chunk, round++) {
      const to = Math.min(vms, from + chunk);
      const count = to - from;
      const tmActions = sum(OPERATIONS.map((op) => perVm[op])) * count;
      const roundTimes = { catalog: { wall: 0, cpu: 0, outside: 0 }, direct: { wall: 0, cpu: 0, outside: 0 } };
      for (const phase of PHASES) {
        const actions = perVm[phase] * count;
        const phaseTimes = { catalog: { wall: 0, cpu: 0, outside: 0 }, direct: { wall: 0, cpu: 0, outside: 0 } };
        for (let index = from; index < to; index++) {
          const sides = [
            ['catalog', () => viaCatalog(w, phase, index)],
            ['direct', () => direct(runner, plans, phase, index)],
          ];
          // VM by VM, alternating which side goes first, so drift in machine load favours neither.
          if ((index + round) % 2 === 1) sides.reverse();
          for (const [side, fn] of sides) {
            const t = await timed(runner, fn);
            for (const key of ['wall', 'cpu', 'outside']) phaseTimes[side][key] += t[key];
          }
        }
        for (const side of ['catalog', 'direct']) {
          const t = phaseTimes[side];
          samples[phase][side].push(t.wall / actions);
          samples[phase][`${side}Cpu`].push(t.cpu / actions);
          samples[phase][`${side}Outside`].push(t.outside / actions);
          totals[side] += t.wall;
          if (phase !== 'image') for (const key of ['wall', 'cpu', 'outside']) roundTimes[side][key] += t[key];
        }
      }
      for (const side of ['catalog', 'direct']) {
        lifecycle[side].push(roundTimes[side].wall / tmActions);
        lifecycle[`${side}Cpu`].push(roundTimes[side].cpu / tmActions);
        lifecycle[`${side}Outside`].push(roundTimes[side].outside / tmActions);
      }
    }

    // The journal must hold exactly what the baseline ran, in the same order (after the shared image's mkfs). The
    // images datastore's monitor, run once by the capacity check before the first image, is not a baseline action.
    const journal = w.catalog.journal().filter((entry) => entry.action !== 'monitor');
    const expected = [];
    for (let from = 0; from < vms; from += chunk) {
      for (const phase of PHASES) for (let index = from; index < Math.min(vms, from + chunk); index++) expected.push(...plans[index][phase]);
    }
    const ran = journal.slice(1);
    const key = (entry) => JSON.stringify([entry.kind, entry.driver, entry.action, entry.args]);
    if (ran.length !== expected.length) throw new Error(`journal has ${ran.length} actions after setup, the baseline ran ${expected.length}`);
    ran.forEach((entry, at) => {
      if (!entry.ok || key(entry) !== key(expected[at])) throw new Error(`journal row ${at + 2} is ${key(entry)} (ok ${entry.ok}), the baseline ran ${key(expected[at])}`);
    });
    const files = { dbBytes: size(w.catalog.path), walBytes: size(`${w.catalog.path}-wal`) };
    const tmRows = journal.filter((entry) => entry.kind === 'tm').length;

    const side = (values) => median(values);
    const phases = Object.fromEntries(
      PHASES.map((phase) => {
        const s = samples[phase];
        const catalogMs = side(s.catalog);
        const directMs = side(s.direct);
        return [
          phase,
          {
            actions: perVm[phase] * vms,
            actionsPerVm: perVm[phase],
            directMs,
            catalogMs,
            ratio: catalogMs / directMs,
            overheadMs: catalogMs - directMs,
            directCpuMs: side(s.directCpu),
            catalogCpuMs: side(s.catalogCpu),
            catalogOutsideMs: side(s.catalogOutside),
          },
        ];
      }),
    );
    const directMs = side(lifecycle.direct);
    const catalogMs = side(lifecycle.catalog);
    const catalog = { ...files, totalBytes: files.dbBytes + files.walBytes, journalRows: journal.length, journalTmRows: tmRows, vms: w.catalog.listVms().length, images: w.catalog.listImages().length };
    w.catalog.close();
    // Closing checkpoints the WAL into the main file and removes it.
    catalog.closedBytes = size(w.catalog.path) + size(`${w.catalog.path}-wal`);
    return {
      vms,
      disksPerVm: 2,
      rounds: round,
      concurrency: 1,
      disks: 'disk 0 clones one shared non-persistent image; disk 1 links (ln) a persistent image of its own',
      lifecycle: {
        actions: tmRows,
        directMs,
        catalogMs,
        ratio: catalogMs / directMs,
        target: TARGET,
        overheadMs: catalogMs - directMs,
        directCpuMs: side(lifecycle.directCpu),
        catalogCpuMs: side(lifecycle.catalogCpu),
        // Wall time per action outside runner.run(): the catalog and the planning, measured apart from the scripts.
        catalogOutsideMs: side(lifecycle.catalogOutside),
        directOutsideMs: side(lifecycle.directOutside),
      },
      phases,
      wallMs: totals,
      catalog,
    };
  } finally {
    try {
      w.catalog.close();
    } catch {
      // closed above
    }
    rmSync(w.dir, { recursive: true, force: true });
  }
}

/** Rows for bench.mjs's table: | measure | baseline | ferry | ratio | target |. */
export function lifecycleRows(report) {
  const f = (x) => x.toFixed(2);
  const l = report.lifecycle;
  const p = report.phases.image;
  const c = report.catalog;
  const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  return [
    `| lifecycle of ${report.vms} VMs x ${report.disksPerVm} disks through the catalog, ${l.actions.toLocaleString('en')} tm actions | Runner.run ${f(l.directMs)} ms/action | ${f(l.catalogMs)} ms/action (+${f(l.overheadMs)}; ${f(l.catalogOutsideMs)} outside the scripts) | ${f(l.ratio)} | < ${l.target} |`,
    `| image create, ${p.actions} x ds mkfs through the catalog | Runner.run ${f(p.directMs)} ms/action | ${f(p.catalogMs)} ms/action (+${f(p.overheadMs)}) | ${f(p.ratio)} | - |`,
    `| catalog after ${report.vms} VMs | - | ${kib(c.totalBytes)} (db ${kib(c.dbBytes)} + wal ${kib(c.walBytes)}; ${kib(c.closedBytes)} once closed), ${c.journalRows.toLocaleString('en')} journal rows | - | - |`,
  ];
}

function print(report) {
  const f = (x) => x.toFixed(2);
  const l = report.lifecycle;
  console.log(`ferry lifecycle bench (node ${process.version}, ${cpus().length} cpus; ${report.vms} VMs in ${report.rounds} interleaved rounds, sequential; medians of per-round ms/action)`);
  console.log(`disks: ${report.disks}`);
  console.log('');
  console.log('| measure | baseline | ferry | ratio | target |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of lifecycleRows(report)) console.log(row);
  console.log('');
  console.log('ms/action, wall (CPU of this process, not the scripts); outside: wall time outside runner.run(), i.e. the catalog and the planning');
  console.log('');
  console.log('| phase | actions (per VM) | Runner.run | through the catalog | overhead | outside | ratio |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [phase, p] of Object.entries(report.phases)) {
    console.log(`| ${phase === 'image' ? 'image create (ds mkfs)' : phase} | ${p.actions} (${p.actionsPerVm}) | ${f(p.directMs)} (${f(p.directCpuMs)}) | ${f(p.catalogMs)} (${f(p.catalogCpuMs)}) | ${f(p.overheadMs)} | ${f(p.catalogOutsideMs)} | ${f(p.ratio)} |`);
  }
  console.log(`| lifecycle (tm only) | ${l.actions} (${l.actions / report.vms}) | ${f(l.directMs)} (${f(l.directCpuMs)}) | ${f(l.catalogMs)} (${f(l.catalogCpuMs)}) | ${f(l.overheadMs)} | ${f(l.catalogOutsideMs)} | ${f(l.ratio)} |`);
  console.log('');
  console.log(`wall time, all phases: Runner.run ${(report.wallMs.direct / 1000).toFixed(2)} s, through the catalog ${(report.wallMs.catalog / 1000).toFixed(2)} s`);
  const c = report.catalog;
  console.log(`catalog: ${c.totalBytes} bytes (db ${c.dbBytes} + wal ${c.walBytes}; ${c.closedBytes} once closed), ${c.journalRows} journal rows (${c.journalTmRows} tm), ${c.vms} VMs, ${c.images} images`);
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const report = await lifecycleFigures({ vms: flag('--vms', 200), rounds: flag('--rounds', 10) });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ machine: { node: process.version, cpus: cpus().length }, lifecycle: report }, null, 2)}\n`);
  else print(report);
}
