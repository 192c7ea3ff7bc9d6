/**
 * OpenNebula's own transfer managers (dummy, shared -> qcow2, ssh),
 * unmodified, run four ways over the same imported root and the same ssh
 * hosts (sshd on loopback: fe, host01, host02): OpenNebula's one_tm.rb
 * (TRANSFER <id> <file>), `ferry mad tm`, `ferry tm transfer FILE` and one
 * `ferry tm <action>` per line. The replies and the files each leaves on
 * the hosts (qcow2 backing chains included) must be the same; an action
 * that fails under one_tm.rb here fails under ferry too, with OpenNebula's
 * message. The VMs the scripts ask `onevm show -x` about are in a ferry
 * catalog, made with the CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { hostsEnv } from '../../src/config/hosts.js';
import { FERRY_BIN, LineDriver, oneDriverProcess, oneRoot } from '../helpers/one-lab.js';
import { sshLabFor } from '../helpers/sshd.js';

// Ten steps four ways over three sshd hosts: about 100 s alone, more beside the rest of the suite.
t.setTimeout(300_000);
const lab = await sshLabFor(t, ['fe', 'host01', 'host02']);
const SHARED = join(lab.root, 'shared');
const one = oneRoot(t);
const work = join(lab.root, 'work');
mkdirSync(work);
const config = join(work, 'ferry.yaml');
// No `frontend: fe`: ferry takes its frontend for this machine and leaves it out of its ssh_config, while
// OpenNebula's ssh driver reaches the front-end over ssh (ssh fe "tar ... | ssh host01 ..."); here fe is an ssh host.
writeFileSync(config, JSON.stringify({ hosts: lab.hosts, remotes: one.remotes }));
const catalog = join(work, 'home', 'catalog.db');
const ferryEnv = { ...process.env, FERRY_HOME: join(work, 'home') };
/** What one_tm.rb runs its scripts with: what ferry gives them (one-lab's env, ferry's ssh_config as $SSH, the catalog). */
const sshConfig = hostsEnv({ hosts: lab.hosts }, join(lab.root, 'ssh')).FERRY_SSH_CONFIG as string;
one.env = {
  ...one.env,
  SSH: `ssh -F ${sshConfig}`,
  SCP: `scp -F ${sshConfig}`,
  SSH_FWD: `ssh -F ${sshConfig} -o ForwardAgent=yes -o ControlMaster=no -o ControlPath=none`,
  FERRY_CATALOG: catalog,
};

function ferry(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [FERRY_BIN, '--config', config, ...args], { cwd: work, env: ferryEnv, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ferryOk(...args: string[]): any {
  const r = ferry('--json', ...args);
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout).result;
}

/** Where `path` (as every host names it) lives on `host`, as the test sees it. */
const on = (host: string, path: string): string => (path.startsWith(`${lab.mountPoint}/`) ? join(lab.hostDir(host), relative(lab.mountPoint, path)) : path);

/** What a folder holds, as comparable text: links with their targets, qcow2 files with format and backing file. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const rel = relative(dir, path);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(path)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/`);
        walk(path);
      } else {
        const info = JSON.parse(execFileSync('qemu-img', ['info', '--output', 'json', '-U', path]).toString());
        out.push(`${rel} ${info.format} ${info['virtual-size']}${info['backing-filename'] ? ` backing ${info['backing-filename']}` : ''}`);
      }
    }
  };
  walk(dir);
  return out;
}

// The catalog: images of the shared and ssh datastores, and a VM whose disks the scripts look up.
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(work, 'base.qcow2'), '24M']);
for (const [n, dir] of [[1, join(SHARED, '1')], [2, join(SHARED, '2')], [3, join(SHARED, '3')], [4, join(lab.mountPoint, '4')]] as const) mkdirSync(dir, { recursive: true });
ferryOk('datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', join(SHARED, '1'));
ferryOk('datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'shared', '--base-path', join(SHARED, '2'));
ferryOk('datastore', 'create', 'images-ssh', '--ds-mad', 'fs', '--tm-mad', 'ssh', '--base-path', join(SHARED, '3'));
// OpenNebula's ssh monitor prints nothing for a system datastore (the hosts report it): ferry would refuse it, so no monitor.
ferryOk('datastore', 'create', 'system-ssh', '--type', 'SYSTEM', '--tm-mad', 'ssh', '--base-path', join(lab.mountPoint, '4'), '--no-monitor');
for (const host of ['host01', 'host02']) {
  const h = lab.hosts[host]!;
  ferryOk('host', 'create', host, '--ssh', h.address!, '--port', String(h.port), '--user', 'root', '--identity', h.identity!, '--known-hosts', h.known_hosts!);
}
const base = ferryOk('image', 'create', '--datastore', 'images', '--path', join(work, 'base.qcow2'), '--name', 'base');
const data = ferryOk('image', 'create', '--datastore', 'images', '--size', '4', '--name', 'data', '--persistent');
const baseSsh = ferryOk('image', 'create', '--datastore', 'images-ssh', '--path', join(work, 'base.qcow2'), '--name', 'base-ssh');
ferryOk('vm', 'create', '--name', 'vm-shared', '--host', 'host01', '--system-ds', 'system', '--disk', 'base', '--disk', 'data');
const VM_SHARED = join(SHARED, '2', '1');
// The ssh lines act for VM 1 too (its disk 0 is a qcow2 image), in the ssh system datastore 4.
const VM_SSH = join(lab.mountPoint, '4', '1');

/** Everything the VMs' folders hold, on every host. */
function state(): Record<string, string[]> {
  return { shared: tree(VM_SHARED), fe: tree(on('fe', VM_SSH)), host01: tree(on('host01', VM_SSH)), host02: tree(on('host02', VM_SSH)) };
}
function wipe(): void {
  for (const dir of [VM_SHARED, ...['fe', 'host01', 'host02'].map((host) => on(host, VM_SSH))]) rmSync(dir, { recursive: true, force: true });
}

/** Transfer files, in order: each is one step of the scenario. */
const STEPS: Array<[name: string, lines: string[]]> = [
  ['deploy (shared)', [`CLONE shared fe:${base.source} host01:${VM_SHARED}/disk.0 1 1`, `LN shared fe:${data.source} host01:${VM_SHARED}/disk.1 1 1`]],
  ['snapshot (shared)', [`SNAP_CREATE shared host01:${VM_SHARED}/disk.0 0 1 1`]],
  ['migrate (shared)', [`MV shared host01:${VM_SHARED}/disk.0 host02:${VM_SHARED}/disk.0 1 2`, `MV shared host01:${VM_SHARED} host02:${VM_SHARED} 1 2`]],
  ['delete (shared)', [`DELETE shared host02:${VM_SHARED}/disk.0 1 2`, `DELETE shared host02:${VM_SHARED} 1 2`]],
  ['deploy (ssh)', [`CLONE ssh fe:${baseSsh.source} host01:${VM_SSH}/disk.0 1 3`]],
  ['snapshot (ssh)', [`SNAP_CREATE ssh host01:${VM_SSH}/disk.0 0 1 4`]],
  ['stop (ssh)', [`MV ssh host01:${VM_SSH}/disk.0 fe:${VM_SSH}/disk.0 1 4`, `MV ssh host01:${VM_SSH} fe:${VM_SSH} 1 4`]],
  ['resume (ssh)', [`MV ssh fe:${VM_SSH}/disk.0 host02:${VM_SSH}/disk.0 1 4`, `MV ssh fe:${VM_SSH} host02:${VM_SSH} 1 4`]],
  ['delete (ssh)', [`DELETE ssh host02:${VM_SSH} 1 4`]],
  ['dummy', ['CLONE dummy fe:/nowhere/a host01:/nowhere/0/9/disk.0 9 0', 'MKIMAGE dummy 10 raw host01:/nowhere/0/9/disk.1 9 0', 'SNAP_CREATE dummy host01:/nowhere/0/9/disk.0 0 9 0', 'DELETE dummy host01:/nowhere/0/9 9 0']],
];

interface Outcome {
  /** The reply line with the request id replaced by ID, or "SUCCESS" / "FAILURE <message>" for the CLI. */
  replies: string[];
  states: Array<Record<string, string[]>>;
}

async function scenario(send: (file: string, lines: string[], step: number) => Promise<string>): Promise<Outcome> {
  wipe();
  const outcome: Outcome = { replies: [], states: [] };
  for (const [index, [name, lines]] of STEPS.entries()) {
    const file = join(work, `step-${index}.tm`);
    writeFileSync(file, `# ${name}\n${lines.join('\n')}\n`);
    outcome.replies.push(await send(file, lines, index));
    outcome.states.push(state());
  }
  return outcome;
}

const oneOutcome = await (async () => {
  const driver = oneDriverProcess(t, one, 'tm');
  return scenario(async (file, _lines, step) => (await driver.request('TRANSFER', step + 10, file)).line);
})();

const FAILURE = /^TRANSFER FAILURE \d+ /;
/** OpenNebula's own closing message of a failed step (error_message), e.g. "Error copying SRC to DST". */
const oneMessage = (line: string): string => /Error (copying|creating snapshot) [^\n]*?(?=ssh:|$)/.exec(line)?.[0] ?? line.replace(FAILURE, '');

t.test('one_tm.rb here, with the environment ferry gives: shared, ssh and dummy all work', async (t) => {
  t.same(oneOutcome.replies.map((line) => line.split(' ').slice(0, 2).join(' ')), STEPS.map(() => 'TRANSFER SUCCESS'), oneOutcome.replies.join('\n'));
  // ssh: the image goes to host01, the snapshot beside it, stop brings the folder to fe, resume to host02, delete removes it.
  t.same(oneOutcome.states[4]?.host01, ['disk.0 qcow2 25165824'], 'ssh clone: the image copied to host01');
  t.same(oneOutcome.states[5]?.host01, ['disk.0 qcow2 25165824', 'disk.0.snap/', 'disk.0.snap/0 qcow2 25165824'], 'ssh snap_create: a copy beside it');
  t.same(oneOutcome.states[6]?.fe, ['disk.0 qcow2 25165824', 'disk.0.snap/', 'disk.0.snap/0 qcow2 25165824'], 'ssh stop: the disks and snapshots on the front-end');
  t.same(oneOutcome.states[6]?.host01, [], 'and gone from host01');
  t.same(oneOutcome.states[7]?.host02, ['disk.0 qcow2 25165824', 'disk.0.snap/', 'disk.0.snap/0 qcow2 25165824'], 'ssh resume: on host02');
  t.same(oneOutcome.states[8]?.host02, [], 'ssh delete: gone');
  t.match(oneOutcome.states[0]?.shared, ['disk.0 -> disk.0.snap/0', 'disk.0.snap/', new RegExp(`^disk\\.0\\.snap/0 qcow2 25165824 backing ${base.source}$`), 'disk.0.snap/disk.0.snap -> .', `disk.1 -> ${data.source}`], 'shared clone: a qcow2 overlay over the image; ln: a link');
  t.match(oneOutcome.states[1]?.shared, ['disk.0 -> disk.0.snap/1', 'disk.0.snap/', /^disk\.0\.snap\/0 /, 'disk.0.snap/1 qcow2 25165824 backing disk.0.snap/0'], 'snap_create: a new overlay');
  t.same(oneOutcome.states[3]?.shared, [], 'delete: the VM folder is gone');
});

async function compare(t: Test, name: string, outcome: Outcome, exact: boolean): Promise<void> {
  for (const [index, [step]] of STEPS.entries()) {
    const theirs = oneOutcome.replies[index] ?? '';
    const ours = outcome.replies[index] ?? '';
    if (FAILURE.test(theirs)) {
      t.match(ours, FAILURE, `${name}, ${step}: fails as under one_tm.rb`);
      t.ok(ours.includes(oneMessage(theirs)), `${name}, ${step}: with OpenNebula's message (${oneMessage(theirs)})`, { ours });
    } else if (exact) t.equal(ours, theirs, `${name}, ${step}: the same reply, byte for byte`);
    else t.match(ours, /^TRANSFER SUCCESS \d+ -$/, `${name}, ${step}: succeeds`);
    t.same(outcome.states[index], oneOutcome.states[index], `${name}, ${step}: the same files on every host`);
  }
}

t.test('ferry mad tm: the same replies and files', async (t) => {
  const driver = new LineDriver(process.execPath, [FERRY_BIN, '--config', config, 'mad', 'tm'], ferryEnv, work);
  t.teardown(() => driver.close());
  await compare(t, 'ferry mad', await scenario(async (file, _lines, step) => (await driver.request('TRANSFER', step + 10, file)).line), true);
});

t.test('ferry tm transfer FILE: the same outcome and files', async (t) => {
  const outcome = await scenario(async (file, _lines, step) => {
    const r = ferry('tm', 'transfer', file);
    return r.status === 0 ? `TRANSFER SUCCESS ${step + 10} -` : `TRANSFER FAILURE ${step + 10} ${r.stderr}`;
  });
  await compare(t, 'ferry tm transfer', outcome, false);
});

t.test('ferry tm <action>, one line at a time: the same outcome and files', async (t) => {
  const outcome = await scenario(async (_file, lines, step) => {
    for (const line of lines) {
      const [action = '', ...args] = line.split(' ');
      const r = ferry('tm', action.toLowerCase(), ...args);
      if (r.status !== 0) return `TRANSFER FAILURE ${step + 10} ${r.stderr}`;
    }
    return `TRANSFER SUCCESS ${step + 10} -`;
  });
  await compare(t, 'ferry tm', outcome, false);
});

t.test("snap_delete of shared sources etc/vmm/kvm/kvmrc: with the import's it works under both; without, ferry's load guard stops it, saying so", async (t) => {
  const file = join(work, 'snap.tm');
  writeFileSync(file, [`CLONE shared fe:${base.source} host01:${VM_SHARED}/disk.0 1 1`, `SNAP_CREATE shared host01:${VM_SHARED}/disk.0 0 1 1`, `SNAP_DELETE shared host01:${VM_SHARED}/disk.0 0 1 1`].join('\n'));
  wipe();
  const driver = oneDriverProcess(t, one, 'tm');
  t.match((await driver.request('TRANSFER', 50, file)).line, /^TRANSFER SUCCESS 50 -$/, 'one_tm.rb');
  const theirs = tree(VM_SHARED);
  wipe();
  const ours = ferry('tm', 'transfer', file);
  t.equal(ours.status, 0, ours.stderr);
  t.same(tree(VM_SHARED), theirs, 'the same files');
  wipe();
  // OpenNebula's script goes on after a failed source; ferry's guard does not let it.
  const kvmrc = join(one.remotes, 'etc', 'vmm', 'kvm', 'kvmrc');
  renameSync(kvmrc, `${kvmrc}.away`);
  t.teardown(() => renameSync(`${kvmrc}.away`, kvmrc));
  const r = ferry('tm', 'transfer', file);
  t.equal(r.status, 1);
  t.match(r.stderr, /could not load .*etc\/vmm\/kvm\/kvmrc/);
  wipe();
});
