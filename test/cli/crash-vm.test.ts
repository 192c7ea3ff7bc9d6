/**
 * A VM operation killed right after its driver did the work: the real ferry
 * (dist/bin/ferry.js) SIGKILLed while tm snap_create sleeps once it has
 * taken the snapshot (tm/sleepy of test/helpers/vm-crash.ts, a wrapper of
 * the bundled tm/shared). The journal shows the step in
 * flight, not done; `vm recover --retry` finishes it (snap_create finds its
 * snapshot taken), `--failure` removes the snapshot, so its id can be taken
 * again.
 */
import { join } from 'node:path';
import t from 'tap';
import { killIn, sleepyTm } from '../helpers/vm-crash.js';
import { stage, vmYaml, world, type World } from '../helpers/catalog-world.js';
import { snapshotTags } from '../helpers/images.js';
import { binBuilt, binMissingMessage } from './helpers.js';

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
  await killIn(t, w, 'snap_create', 1, ['vm', 'disk-snapshot', 'create', 'vm01', '0']);
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
  await killIn(t, w, 'snap_create', 1, ['vm', 'disk-snapshot', 'create', 'vm01', '0']);
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
