#!/usr/bin/env node
// The service's monitor loop (issue 15's figure): `ferry serve`'s own CPU over 1,000 datastores whose monitor is
// a trivial script, each at a 60 s interval, for one whole interval (--seconds, default 60) after a start-up of
// --warmup seconds (default 5). The service runs in this process (startService, as `ferry serve` does), so
// process.cpuUsage() is ferry's own CPU: the scripts are children, excluded. Every run is real: the script is
// spawned, its figures parsed, samples, health and alert rules written to a temp SQLite catalog, the sweep runs.
// Baseline, in the same run: the CPU this process spends just spawning the same script 1,000 times through the
// runner (runProgram), nothing recorded: the ratio says what the catalog and the rules add to a spawn.
// Target: at most 3 % of one core. Flags: --json, --datastores N, --seconds S, --warmup S.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Catalog } = await import(join(root, 'dist/catalog/catalog.js'));
const { Runner } = await import(join(root, 'dist/driver/runner.js'));
const { startService } = await import(join(root, 'dist/service/service.js'));
const { silentLogger } = await import(join(root, 'dist/log/logger.js'));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const COUNT = flag('--datastores', 1000);
const SECONDS = flag('--seconds', 60);
const WARMUP = flag('--warmup', 60);
const INTERVAL = flag('--interval', 60);
const TARGET_PCT = 3;
const log = (line) => {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
};
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts the driver actions the service runs (each monitor run is one). */
let monitorRuns = 0;
class CountingRunner extends Runner {
  runAny(request) {
    monitorRuns += 1;
    return super.runAny(request);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-serve-'));
try {
  const remotes = join(dir, 'remotes');
  mkdirSync(join(remotes, 'datastore', 'trivial'), { recursive: true });
  mkdirSync(join(remotes, 'tm', 'trivial'), { recursive: true });
  const script = join(remotes, 'datastore', 'trivial', 'monitor');
  writeFileSync(script, '#!/bin/sh\nprintf "USED_MB=400\\nTOTAL_MB=1000\\nFREE_MB=600\\n"\n');
  chmodSync(script, 0o755);
  const path = join(dir, 'catalog.db');
  const setup = Catalog.open(path);
  setup.transaction((tx) => {
    for (let i = 0; i < COUNT; i++) tx.addDatastore({ name: `ds${i}`, type: 'IMAGE', dsMad: 'trivial', tmMad: 'trivial', basePath: join(dir, 'ds', String(i)) });
  });
  setup.close();

  // Baseline: the same script spawned COUNT times by the runner, 8 at a time (the service's concurrency).
  const runner = new Runner({ remotes });
  const baseStart = cpuMs();
  const wallStart = performance.now();
  for (let i = 0; i < COUNT; i += 8) await Promise.all(Array.from({ length: Math.min(8, COUNT - i) }, () => runner.runProgram(script, { timeoutSec: 10 })));
  const spawnCpuMs = cpuMs() - baseStart;
  log(`baseline: ${COUNT} bare spawns: ${spawnCpuMs.toFixed(0)} ms CPU in ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);

  // The machine's own cost of waking an idle Node process (a 20 ms timer, 200 times): on some virtual machines
  // it is a large part of a trivial run's CPU, so it is reported beside the figure.
  const wakeStart = cpuMs();
  for (let i = 0; i < 200; i++) await sleep(20);
  const wakeupMs = (cpuMs() - wakeStart) / 200;
  log(`this machine: an idle Node process's timer wake-up costs ${wakeupMs.toFixed(3)} ms CPU`);

  const config = { monitor: { interval: INTERVAL, sizes: 3600, ...(args.includes('--concurrency') ? { concurrency: flag('--concurrency', 8) } : {}) } };
  const service = await startService(
    {
      env: process.env,
      loadConfig: async () => config,
      makeRunner: async () => ({ runner: new CountingRunner({ remotes, logger: silentLogger }), logger: silentLogger }),
    },
    async () => Catalog.open(path),
  );
  await sleep(WARMUP * 1000);
  const runsBefore = monitorRuns;
  const usageStart = process.cpuUsage();
  const cpuStart = cpuMs();
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const serviceCpuMs = cpuMs() - cpuStart;
  const split = process.cpuUsage(usageStart);
  const wallS = (performance.now() - started) / 1000;
  const runs = monitorRuns - runsBefore;
  await service.stop();

  const corePct = (serviceCpuMs / 1000 / wallS) * 100;
  // Per run, against the baseline's per spawn.
  const perRunMs = runs > 0 ? serviceCpuMs / runs : NaN;
  const perSpawnMs = spawnCpuMs / COUNT;
  const report = {
    datastores: COUNT,
    intervalS: INTERVAL,
    seconds: Math.round(wallS * 10) / 10,
    runs,
    cpuMs: Math.round(serviceCpuMs),
    userMs: Math.round(split.user / 1000),
    systemMs: Math.round(split.system / 1000),
    corePct: Math.round(corePct * 100) / 100,
    perRunMs: Math.round(perRunMs * 100) / 100,
    perSpawnMs: Math.round(perSpawnMs * 100) / 100,
    ratio: Math.round((perRunMs / perSpawnMs) * 100) / 100,
    wakeupMs: Math.round(wakeupMs * 1000) / 1000,
    targetPct: TARGET_PCT,
  };
  log(`service: ${runs} monitor runs in ${report.seconds} s, ${report.cpuMs} ms CPU (user ${report.userMs}, system ${report.systemMs}): ${report.corePct} % of one core (target <= ${TARGET_PCT} %); ${report.perRunMs} ms per run = ${report.ratio}x a bare spawn's ${report.perSpawnMs} ms`);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

