/**
 * A VM operation killed right after its driver did the work: the real ferry
 * (dist/bin/ferry.js) SIGKILLed while tm snap_create sleeps once it has
 * taken the snapshot (a wrapper of the bundled tm/shared, tm/sleepy, sleeps
 * while the marker sleep-<action> exists). The journal shows the step in
 * flight, not done; `vm recover --retry` finishes it (snap_create finds its
 * snapshot taken), `--failure` removes the snapshot, so its id can be taken
 * again.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { stage, vmYaml, world, type World } from '../helpers/catalog-world.js';
import { waitFor } from '../helpers/fixtures.js';
import { snapshotTags } from '../helpers/images.js';
import { binBuilt, binMissingMessage, binPath } from './helpers.js';

/** tm/sleepy: the bundled tm/shared, each action sleeping once it has done its work while markers/sleep-<action> exists. */
function sleepyTm(w: World): void {
  const dir = join(w.remotes, 'tm', 'sleepy');
  mkdirSync(dir, { recursive: true });
  cpSync(join(w.remotes, 'tm', 'shared', 'driver.yaml'), join(dir, 'driver.yaml'));
  for (const action of TM_ACTIONS) {
    const target = join(w.remotes, 'tm', 'shared', action);
    if (!existsSync(target)) continue;
    const marker = join(w.markers, `sleep-${action}`);
    writeFileSync(
      join(dir, action),
      `#!/bin/sh\n# tm/shared ${action}, sleeping after its work (test/cli/crash-vm.test.ts)\n'${target}' "$@" || exit\nif [ -e '${marker}' ]; then echo $$ > '${w.markers}/sleeper.pid'; exec sleep 300; fi\n`,
    );
    chmodSync(join(dir, action), 0o755);
  }
}

/** Runs the real ferry until `action` sleeps after its work, SIGKILLs it, and waits until its driver is gone. */
async function killAfter(t: Parameters<typeof world>[0], w: World, action: string, argv: string[]): Promise<void> {
  const env = { ...process.env, FERRY_HOME: w.home };
  delete env.NODE_OPTIONS; // tap's loaders are for this process
  const pidFile = join(w.markers, 'sleeper.pid');
  writeFileSync(join(w.markers, `sleep-${action}`), '');
  rmSync(pidFile, { force: true });
  const child = spawn(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, ...argv], { cwd: w.root, env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.ok(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 20000), `ferry ${argv.join(' ')} reached the end of its ${action}`);
  const sleeper = Number(readFileSync(pidFile, 'utf8'));
  child.kill('SIGKILL');
  await exited;
  rmSync(join(w.markers, `sleep-${action}`));
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${sleeper}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.ok(await waitFor(() => !alive(), 5000), 'the driver process of the killed run is gone');
}

/** A RUNNING VM on tm/sleepy and its qcow2 disk 0. */
async function running(t: Parameters<typeof world>[0]): Promise<{ w: World; disk: string }> {
  const w = world(t);
  sleepyTm(w);
  const { system } = await stage(t, w, 'sleepy');
  await w.json(['vm', 'create', vmYaml(w)]);
  return { w, disk: join(system, '1', 'disk.0') };
}

t.test('SIGKILL after snap_create took the snapshot, then vm recover --retry: done, the snapshot listed', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const { w, disk } = await running(t);
  await killAfter(t, w, 'snap_create', ['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.match(w.catalog().vm('vm01'), { state: 'RUNNING', operation: 'disk-snapshot-create', step: 0 }, 'interrupted in its step');
  t.same(snapshotTags(disk), ['snap-0'], 'the driver took the snapshot before the kill');

  const retried = await w.cli(['vm', 'recover', 'vm01', '--retry']);
  t.equal(retried.status, 0, retried.stderr);
  t.match(w.catalog().vm('vm01'), { state: 'RUNNING', operation: null, disks: [{ diskId: 0, snapshots: [0] }] }, 'the snapshot is listed');
  t.same(snapshotTags(disk), ['snap-0'], 'and taken once');
  const next = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.same(next.disks[0].snapshots, [0, 1], 'the next snapshot gets the next id');
});

t.test('SIGKILL after snap_create took the snapshot, then vm recover --failure: no snapshot left, its id can be taken again', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const { w, disk } = await running(t);
  await killAfter(t, w, 'snap_create', ['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.same(snapshotTags(disk), ['snap-0']);

  const dry = await w.cli(['vm', 'recover', 'vm01', '--failure', '--dry-run']);
  t.match(dry.stdout, new RegExp(`^SNAP_DELETE sleepy host01:${disk} 0 1 \\d+$`, 'm'), 'the undo deletes the snapshot the step in flight took');
  const rolledBack = await w.cli(['vm', 'recover', 'vm01', '--failure']);
  t.equal(rolledBack.status, 0, rolledBack.stderr);
  t.match(w.catalog().vm('vm01'), { state: 'RUNNING', operation: null, disks: [{ diskId: 0, snapshots: [] }] });
  t.same(snapshotTags(disk), [], 'snap-0 is gone from the disk');

  const again = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.same(again.disks[0].snapshots, [0], 'snapshot 0 taken again');
  t.same(snapshotTags(disk), ['snap-0']);
});
