/**
 * Nothing stuck after a crash (issue 13), the VM operations: the real ferry
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
import t from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { stage, world, type World } from '../helpers/catalog-world.js';
import { waitFor } from '../helpers/fixtures.js';
import { binBuilt, binMissingMessage, binPath, jsonOf } from './helpers.js';

type Tap = Parameters<typeof world>[0];

/** tm/sleepy: the bundled tm/shared, the n-th call of an action sleeping after its work while markers/sleep-<action> holds n. */
function sleepyTm(w: World): void {
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
async function killIn(t: Tap, w: World, action: string, nth: number, argv: string[]): Promise<void> {
  const env = { ...process.env, FERRY_HOME: w.home };
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
  if (disks === null) t.notOk(existsSync(folder), 'the VM folder is gone');
  else {
    t.same(readdirSync(folder).sort(), disks, `the VM folder holds ${disks.join(' ')} and nothing else`);
    t.same(s.w.catalog().vm('vm01').disks.map((disk: { target: string }) => disk.target), disks.map((name) => join(folder, name)), 'where the catalog says');
  }
  const data = s.w.catalog().image('data');
  t.ok(data.source && existsSync(data.source), 'the persistent image stays in its datastore');
}

const ALL_DISKS = ['disk.0', 'disk.1', 'disk.2', 'disk.3'];

/** Brings a fresh VM to the state `op` starts from. */
async function before(s: Setup, op: string): Promise<void> {
  if (op === 'create') return;
  await s.w.json(['vm', 'create', join(s.w.root, 'vm.yaml')]);
  if (op === 'resume') await s.w.json(['vm', 'stop', 'vm01']);
}

interface Case {
  op: string;
  argv: string[];
  action: string;
  nth: number;
  end: Record<string, unknown>;
  disks: string[] | null;
}

const create = ['vm', 'create', 'vm.yaml'];
const running = { state: 'RUNNING', host: 'host01', operation: null };
const cases: Case[] = [
  { op: 'create', argv: create, action: 'clone', nth: 1, end: running, disks: ALL_DISKS },
  { op: 'create', argv: create, action: 'ln', nth: 1, end: running, disks: ALL_DISKS },
  { op: 'create', argv: create, action: 'mkimage', nth: 1, end: running, disks: ALL_DISKS },
  { op: 'create', argv: create, action: 'mkswap', nth: 1, end: running, disks: ALL_DISKS },
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'stop', argv: ['vm', 'stop', 'vm01'], action: 'mv', nth, end: { state: 'STOPPED', operation: null }, disks: ALL_DISKS })),
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'resume', argv: ['vm', 'resume', 'vm01'], action: 'mv', nth, end: running, disks: ALL_DISKS })),
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'migrate', argv: ['vm', 'migrate', 'vm01', 'host02'], action: 'mv', nth, end: { state: 'RUNNING', host: 'host02', operation: null }, disks: ALL_DISKS })),
  // delete disk.0, mvds disk.1 (persistent), delete disk.2, disk.3, the VM folder.
  ...(['shutdown', 'terminate'] as const).flatMap((op) => [
    ...[1, 2, 3, 4].map((nth) => ({ op, argv: ['vm', op, 'vm01'], action: 'delete', nth, end: { state: 'DONE', operation: null }, disks: null })),
    { op, argv: ['vm', op, 'vm01'], action: 'mvds', nth: 1, end: { state: 'DONE', operation: null }, disks: null },
  ]),
];

for (const c of cases) {
  t.test(`SIGKILL in vm ${c.op}, ${c.action} #${c.nth}, then vm recover --retry: ${JSON.stringify(c.end)}, files and catalog agree`, async (t) => {
    if (!binBuilt()) return t.fail(binMissingMessage);
    const s = await setup(t);
    await before(s, c.op);
    await killIn(t, s.w, c.action, c.nth, c.argv);
    t.match(s.w.catalog().vm('vm01'), { operation: c.op }, 'interrupted in its operation');
    const retried = await s.w.cli(['vm', 'recover', 'vm01', '--retry']);
    t.equal(retried.status, 0, retried.stderr);
    t.match(s.w.catalog().vm('vm01'), c.end);
    filesAgree(t, s, c.disks);
    await checked(t, s.w);
  });
}

const rollbacks: Case[] = [
  { op: 'create', argv: create, action: 'clone', nth: 1, end: { state: 'PENDING', operation: null }, disks: null },
  { op: 'create', argv: create, action: 'mkswap', nth: 1, end: { state: 'PENDING', operation: null }, disks: null },
  { op: 'migrate', argv: ['vm', 'migrate', 'vm01', 'host02'], action: 'mv', nth: 1, end: { state: 'RUNNING', host: 'host01', operation: null }, disks: ALL_DISKS },
  { op: 'migrate', argv: ['vm', 'migrate', 'vm01', 'host02'], action: 'mv', nth: 5, end: { state: 'RUNNING', host: 'host01', operation: null }, disks: ALL_DISKS },
];

for (const c of rollbacks) {
  t.test(`SIGKILL in vm ${c.op}, ${c.action} #${c.nth}, then vm recover --failure: ${JSON.stringify(c.end)}, files and catalog agree`, async (t) => {
    if (!binBuilt()) return t.fail(binMissingMessage);
    const s = await setup(t);
    await before(s, c.op);
    await killIn(t, s.w, c.action, c.nth, c.argv);
    t.match(s.w.catalog().vm('vm01'), { operation: c.op }, 'interrupted in its operation');
    const rolledBack = await s.w.cli(['vm', 'recover', 'vm01', '--failure']);
    t.equal(rolledBack.status, 0, rolledBack.stderr);
    t.match(s.w.catalog().vm('vm01'), c.end);
    filesAgree(t, s, c.disks);
    await checked(t, s.w);
  });
}
