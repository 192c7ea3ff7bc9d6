/**
 * Nothing stuck after a crash: the real ferry (dist/bin/ferry.js) SIGKILLed
 * in the middle of image create, image clone and vm disk-saveas, then
 * recovered. The drivers are the bundled fs and shared ones, run through
 * wrappers (datastore/slowfs, tm/slowshared) whose `cp` sleeps once it has
 * copied while the marker file sleep-cp exists, so the kill lands inside the
 * step, after its partial file is written. After each recovery the catalog
 * and the files agree, `datastore check` finds nothing, and no process of
 * the killed run is left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { world, type World } from '../helpers/catalog-world.js';
import { waitFor } from '../helpers/fixtures.js';
import { binBuilt, binMissingMessage, binPath, jsonOf, onTestStore } from './helpers.js';

/** The commands that can sleep, each in one step: cp (cp, clone, cpds), truncate (mkfs), touch (mkfs save_as), qemu-img (stat, datastore drivers only). */
const SLEEPERS = ['cp', 'truncate', 'touch', 'qemu-img'] as const;
type Sleeper = (typeof SLEEPERS)[number];

/**
 * Wrappers that run the bundled drivers with commands that sleep once they
 * have done their work while markers/sleep-<command> exists. The datastore
 * wrappers set FERRY_TEST_DS (which the bundled drivers do not read), so
 * qemu-img sleeps in a datastore action only.
 */
function slowDrivers(w: World): void {
  const bin = join(w.root, 'slowbin');
  execFileSync('mkdir', ['-p', bin]);
  for (const command of SLEEPERS) {
    const real = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
    const only = command === 'qemu-img' ? ' && [ "${FERRY_TEST_DS:-}" = 1 ]' : '';
    writeFileSync(join(bin, command), `#!/bin/sh\n'${real}' "$@" || exit\nif [ -e '${w.markers}/sleep-${command}' ]${only}; then echo $$ > '${w.markers}/sleeper.pid'; exec sleep 300; fi\n`, { mode: 0o755 });
  }
  for (const [kind, from, to, actions] of [['datastore', 'fs', 'slowfs', DS_ACTIONS], ['tm', 'shared', 'slowshared', TM_ACTIONS]] as const) {
    const dir = join(w.remotes, kind, to);
    execFileSync('mkdir', ['-p', dir]);
    cpSync(join(w.remotes, kind, from, 'driver.yaml'), join(dir, 'driver.yaml'));
    for (const action of actions) {
      const target = join(w.remotes, kind, from, action);
      if (!existsSync(target)) continue;
      const tag = kind === 'datastore' ? 'FERRY_TEST_DS=1\nexport FERRY_TEST_DS\n' : '';
      writeFileSync(join(dir, action), `#!/bin/sh\n# ${kind}/${from} ${action}, able to sleep in a step (test/cli/crash.test.ts)\nPATH='${bin}':$PATH\nexport PATH\n${tag}exec '${target}' "$@"\n`);
      chmodSync(join(dir, action), 0o755);
    }
  }
}

/** Runs the real ferry until `command` sleeps in its step, SIGKILLs it, and waits until no process of the run is left. */
async function killInStep(t: Parameters<typeof world>[0], w: World, command: Sleeper, argv: string[]): Promise<void> {
  const env = onTestStore(argv, { ...process.env, FERRY_HOME: w.home }, w.root);
  delete env.NODE_OPTIONS; // tap's loaders are for this process
  writeFileSync(join(w.markers, `sleep-${command}`), '');
  rmSync(join(w.markers, 'sleeper.pid'), { force: true });
  const child = spawn(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, ...argv], { cwd: w.root, env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const pidFile = join(w.markers, 'sleeper.pid');
  t.ok(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 20000), `ferry ${argv[0]} ${argv[1]} reached its ${command}`);
  const sleeper = Number(readFileSync(pidFile, 'utf8'));
  child.kill('SIGKILL');
  await exited;
  rmSync(join(w.markers, `sleep-${command}`));
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.ok(await waitFor(() => !alive(sleeper), 5000), 'the driver process of the killed run is gone');
  // Every writer named by a temporary file is gone too (its group is killed as the killed ferry's helper exits: soon, not at once).
  for (const name of readdirSync(join(w.root, 'ds', 'images'))) {
    const pid = /\.ferry-tmp\.([0-9]+)/.exec(name)?.[1];
    if (pid) t.ok(await waitFor(() => !alive(Number(pid)), 5000), `writer ${pid} of ${name} is gone`);
  }
}

/** `datastore check` of every datastore: what it says, and its exit status. */
async function check(w: World): Promise<Array<{ status: number; report: Record<string, any> }>> {
  const out = [];
  for (const ds of ['images', 'system']) {
    const run = await w.cli(['--json', 'datastore', 'check', ds]);
    out.push({ status: run.status, report: jsonOf(run.stdout).result });
  }
  return out;
}

/** The catalog and the files agree: every image READY with its SOURCE, every file in the folder someone's. */
async function agree(t: Parameters<typeof world>[0], w: World): Promise<void> {
  for (const result of await check(w)) {
    t.equal(result.status, 0, `datastore check ${result.report.datastore.name} finds nothing: ${JSON.stringify(result.report)}`);
  }
  const catalog = w.catalog();
  for (const image of catalog.listImages()) {
    t.equal(image.state, catalog.vmsUsingImage(image.id).length > 0 ? 'USED' : 'READY', `image ${image.name} is ${image.state}`);
    t.ok(image.source && existsSync(image.source), `image ${image.name}'s SOURCE exists`);
  }
}

t.test('SIGKILL in image create, clone and vm disk-saveas, then image recover: catalog and files agree, nothing left running', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const w = world(t);
  slowDrivers(w);
  const images = join(w.root, 'ds', 'images');
  const system = join(w.root, 'ds', 'system');
  execFileSync('mkdir', ['-p', images, system]);
  await w.json(['host', 'create', 'host01', '--local']);
  await w.json(['datastore', 'create', 'images', '--ds-mad', 'slowfs', '--tm-mad', 'slowshared', '--base-path', images]);
  await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'slowshared', '--base-path', system]);
  const file = join(w.root, 'disk.img');
  writeFileSync(file, Buffer.alloc(4 * 1024 * 1024, 7));

  // image create --path: killed in cp, with its partial copy in a temp folder; retried.
  await killInStep(t, w, 'cp', ['image', 'create', '--datastore', 'images', '--path', file, '--name', 'big']);
  const stuck = w.catalog().image('big');
  t.match(stuck, { state: 'LOCKED', error: /^cp: not finished: ferry process \d+ on \S+ runs it/ });
  const [found] = await check(w);
  t.equal(found?.status, 1, 'datastore check finds the leftover');
  t.match(found?.report.unowned, [{ temp: { imageId: stuck.id, writerAlive: false } }]);
  const retried = await w.cli(['image', 'recover', 'big', '--retry']);
  t.equal(retried.status, 0, retried.stderr);
  await agree(t, w);

  // image create --size: killed in mkfs; image delete takes what it wrote with it.
  await killInStep(t, w, 'truncate', ['image', 'create', '--datastore', 'images', '--size', '4', '--name', 'blank']);
  t.match(w.catalog().image('blank'), { state: 'LOCKED', error: /^mkfs: not finished/ });
  t.equal((await check(w))[0]?.status, 1);
  const gone = await w.cli(['image', 'delete', 'blank']);
  t.equal(gone.status, 0, gone.stderr);
  await agree(t, w);

  // image clone: killed in clone; rolled back (--failure), then deleted.
  await killInStep(t, w, 'cp', ['image', 'clone', 'big', '--name', 'copy']);
  t.match(w.catalog().image('copy'), { state: 'LOCKED', error: /^clone: not finished/ });
  const failed = jsonOf((await w.cli(['--json', 'image', 'recover', 'copy', '--failure'])).stdout).result;
  t.match(failed, { state: 'ERROR', error: /^clone: interrupted, rolled back/ });
  t.equal((await w.cli(['image', 'delete', 'copy'])).status, 0);
  // A VM with a disk of big, for the save-as.
  await w.json(['vm', 'create', '--name', 'vm01', '--host', 'host01', '--system-ds', 'system', '--disk', 'big']);
  await agree(t, w);

  // vm disk-saveas, killed in its first step (mkfs names the SOURCE): deleted.
  await killInStep(t, w, 'touch', ['vm', 'disk-saveas', 'vm01', '0', '--name', 'saved']);
  t.match(w.catalog().image('saved'), { state: 'LOCKED', source: null, error: /^saveas: not finished/ });
  t.equal((await w.cli(['image', 'recover', 'saved', '--delete'])).status, 0);
  await agree(t, w);

  // vm disk-saveas, killed in cpds: the TM's partial copy is named after the new SOURCE.
  await killInStep(t, w, 'cp', ['vm', 'disk-saveas', 'vm01', '0', '--name', 'saved']);
  const saved = w.catalog().image('saved');
  t.match(saved, { state: 'LOCKED', error: /^saveas: not finished/ });
  t.ok(readdirSync(images).some((name) => name.startsWith(`${saved.source?.split('/').pop()}.ferry-tmp.`)), 'the copy into the SOURCE was left');
  const dry = await w.cli(['image', 'recover', 'saved', '--delete', '--dry-run']);
  t.match(dry.stdout, /its saveas did not finish\n# remove leftover .*\.ferry-tmp\.\d+\n# ferry ds rm/);
  const deleted = await w.cli(['image', 'recover', 'saved', '--delete']);
  t.equal(deleted.status, 0, deleted.stderr);
  t.match(deleted.stdout, /deleted image \d+ \(saved\)/);
  await agree(t, w);

  // vm disk-saveas, killed in its last step (stat), the copy complete: marked done.
  await killInStep(t, w, 'qemu-img', ['vm', 'disk-saveas', 'vm01', '0', '--name', 'saved']);
  t.match(w.catalog().image('saved'), { state: 'LOCKED', error: /^saveas: not finished/ });
  t.equal((await w.cli(['image', 'recover', 'saved', '--success'])).status, 0);
  await agree(t, w);

  // The VM the killed save-as locked is usable: its lock's owner is gone.
  t.equal((await w.cli(['vm', 'shutdown', 'vm01'])).status, 0);
  await agree(t, w);
});

t.test('image recover --help has examples; exactly one mode', async (t) => {
  const w = world(t);
  t.match((await w.cli(['image', 'recover', '--help'])).stdout, /\$ ferry image recover 6 --retry/);
  const none = await w.cli(['image', 'recover', 'x']);
  t.equal(none.status, 2);
  t.match(none.stderr, /exactly one of --retry, --success, --failure, --delete/);
});
