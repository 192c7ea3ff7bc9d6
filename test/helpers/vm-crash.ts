/**
 * Helpers of test/cli/crash-vm-ops*.test.ts (issue 13, the VM operations): the real ferry
 * (dist/bin/ferry.js) SIGKILLed in a chosen step of vm create, stop, resume,
 * migrate, shutdown and terminate (tm/sleepy, a wrapper of the bundled
 * tm/shared, sleeps after the n-th call of an action while the marker
 * sleep-<action> holding n exists). Then: no process of the killed run is
 * left, `vm recover --retry` (or `--failure`) brings the VM to the
 * operation's end state, the disks are where the catalog says and
 * `datastore check` of both datastores finds nothing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { stage, world, type World } from './catalog-world.js';
import { waitFor } from './fixtures.js';
import { binBuilt, binMissingMessage, binPath, jsonOf, onTestStore } from '../cli/helpers.js';

type Tap = Test;

/** tm/sleepy: the bundled tm/shared, the n-th call of an action sleeping after its work while markers/sleep-<action> holds n. */
export function sleepyTm(w: World): void {
  const dir = join(w.remotes, 'tm', 'sleepy');
  mkdirSync(dir, { recursive: true });
  cpSync(join(w.remotes, 'tm', 'shared', 'driver.yaml'), join(dir, 'driver.yaml'));
  for (const action of TM_ACTIONS) {
    const target = join(w.remotes, 'tm', 'shared', action);
    if (!existsSync(target)) continue;
    const marker = join(w.markers, `sleep-${action}`);
    const count = join(w.markers, `count-${action}`);
    writeFileSync(
      join(dir, action),
      `#!/bin/sh\n# tm/shared ${action}, its n-th call sleeping after its work (test/cli/crash-vm-ops.test.ts)\n'${target}' "$@" || exit\n[ -e '${marker}' ] || exit 0\necho x >> '${count}'\nif [ "$(wc -l < '${count}')" -eq "$(cat '${marker}')" ]; then echo $$ > '${w.markers}/sleeper.pid'; exec sleep 300; fi\n`,
    );
    chmodSync(join(dir, action), 0o755);
  }
}

const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Runs the real ferry until the `nth` call of `action` sleeps after its work, SIGKILLs it, and checks no process of the run is left. */
export async function killIn(t: Tap, w: World, action: string, nth: number, argv: string[]): Promise<void> {
  const env = onTestStore(argv, { ...process.env, FERRY_HOME: w.home }, w.root);
  delete env.NODE_OPTIONS; // tap's loaders are for this process
  const pidFile = join(w.markers, 'sleeper.pid');
  writeFileSync(join(w.markers, `sleep-${action}`), `${nth}\n`);
  rmSync(join(w.markers, `count-${action}`), { force: true });
  rmSync(pidFile, { force: true });
  const child = spawn(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, ...argv], { cwd: w.root, env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.ok(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 20000), `ferry ${argv.join(' ')} reached ${action} #${nth}`);
  const sleeper = Number(readFileSync(pidFile, 'utf8'));
  child.kill('SIGKILL');
  await exited;
  rmSync(join(w.markers, `sleep-${action}`));
  t.ok(await waitFor(() => !alive(sleeper), 5000), 'the driver process of the killed run is gone');
  t.ok(await waitFor(() => runningIn(w.root).length === 0, 5000), `no process runs anything of the world: ${runningIn(w.root).join(', ')}`);
}

/** Live processes whose command line names a path under `root`. */
function runningIn(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(root) && alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** `datastore check` of the image and system datastores finds nothing. */
async function checked(t: Tap, w: World): Promise<void> {
  for (const ds of ['images', 'system']) {
    const run = await w.cli(['--json', 'datastore', 'check', ds]);
    t.equal(run.status, 0, `datastore check ${ds} finds nothing${run.status === 0 ? '' : `: ${run.stdout}${run.stderr}`}`);
    t.equal(jsonOf(run.stdout).ok, true);
  }
}

interface Setup {
  w: World;
  system: string;
  images: string;
}

async function setup(t: Tap): Promise<Setup> {
  const w = world(t);
  sleepyTm(w);
  const { images, system } = await stage(t, w, 'sleepy');
  writeFileSync(join(w.root, 'vm.yaml'), 'name: vm01\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: base\n  - image: data\n  - volatile: 4\n  - swap: 4\n');
  return { w, images, system };
}

/** The VM's folder on the system datastore holds exactly `disks`, each where the catalog says (none: the folder is gone), and the persistent image's SOURCE exists. */
function filesAgree(t: Tap, s: Setup, disks: string[] | null): void {
  const folder = join(s.system, '1');
  if (disks === null) {
    t.notOk(existsSync(folder), 'the VM folder is gone');
    for (const image of s.w.catalog().listImages()) t.equal(image.state, 'READY', `image ${image.name} is free again`);
  } else {
    t.same(readdirSync(folder).sort(), disks, `the VM folder holds ${disks.join(' ')} and nothing else`);
    t.same(s.w.catalog().vm('vm01').disks.map((disk: { target: string }) => disk.target), disks.map((name) => join(folder, name)), 'where the catalog says');
  }
  const data = s.w.catalog().image('data');
  t.ok(data.source && existsSync(data.source), 'the persistent image stays in its datastore');
}

export const ALL_DISKS = ['disk.0', 'disk.1', 'disk.2', 'disk.3'];

/** Brings a fresh VM to the state `op` starts from. */
async function before(s: Setup, op: string): Promise<void> {
  if (op === 'create') return;
  await s.w.json(['vm', 'create', join(s.w.root, 'vm.yaml')]);
  if (op === 'resume') await s.w.json(['vm', 'stop', 'vm01']);
}

export interface Case {
  op: string;
  argv: string[];
  action: string;
  nth: number;
  end: Record<string, unknown>;
  disks: string[] | null;
}

/** Each case: SIGKILL in its step, then `vm recover --<mode>`; the VM reaches its end, files and catalog agree. */
export function crashCases(t: Tap, cases: Case[], mode: 'retry' | 'failure'): void {
  for (const c of cases) {
    t.test(`SIGKILL in vm ${c.op}, ${c.action} #${c.nth}, then vm recover --${mode}: ${JSON.stringify(c.end)}, files and catalog agree`, async (t) => {
      if (!binBuilt()) return t.fail(binMissingMessage);
      const s = await setup(t);
      await before(s, c.op);
      await killIn(t, s.w, c.action, c.nth, c.argv);
      t.match(s.w.catalog().vm('vm01'), { operation: c.op }, 'interrupted in its operation');
      const recovered = await s.w.cli(['vm', 'recover', 'vm01', `--${mode}`]);
      t.equal(recovered.status, 0, recovered.stderr);
      t.match(s.w.catalog().vm('vm01'), c.end);
      filesAgree(t, s, c.disks);
      await checked(t, s.w);
    });
  }
}

export const running = { state: 'RUNNING', host: 'host01', operation: null };
