/**
 * `ferry image clone|stat|snapshot-*` on the fs datastore with real files:
 * what the catalog records and what the datastore folder holds after each,
 * dry runs, and refusals that run no driver.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { refusals, stage, vmYaml, world, type World } from '../helpers/catalog-world.js';

/** The snapshot tags qemu-img lists for a qcow2 file. */
function tags(file: string): string[] {
  const listing = execFileSync('qemu-img', ['snapshot', '-l', file], { encoding: 'utf8' });
  return [...listing.matchAll(/^\s*\d+\s+(\S+)/gm)].map((match) => match[1] as string);
}

/** A persistent qcow2 image `data` with snapshots 0 and 1 taken through a VM's linked disk, the VM shut down. */
async function snapshotted(t: Test, w: World): Promise<string> {
  await w.json(['image', 'create', '--datastore', 'images', '--size', '8', '--format', 'qcow2', '--name', 'pdata', '--persistent']);
  writeFileSync(join(w.root, 'p.yaml'), 'name: vmp\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: pdata\n');
  await w.json(['vm', 'create', join(w.root, 'p.yaml')]);
  const first = await w.json(['vm', 'disk-snapshot', 'create', 'vmp', '0']);
  t.same(first.disks[0].snapshots, [0], 'the linked disk has snapshot 0');
  const second = await w.json(['vm', 'disk-snapshot', 'create', 'vmp', '0']);
  t.same(second.disks[0].snapshots, [0, 1], 'then 1, the next free id');
  await w.json(['vm', 'shutdown', 'vmp']);
  const image = w.catalog().image('pdata');
  t.same(image.snapshots, [0, 1], 'after shutdown the snapshots are the image\'s');
  t.same(tags(image.source as string), ['snap-0', 'snap-1'], 'and they are in its file');
  return image.source as string;
}

t.test('image clone: a READY copy with its own source; the original untouched; dry run and refusals', async (t) => {
  const w = world(t);
  const { images } = await stage(t, w, 'shared');
  const base = w.catalog().image('base');

  const before = readdirSync(images).sort();
  const plan = await w.cli(['image', 'clone', 'base', '--name', 'copy', '--dry-run']);
  t.equal(plan.status, 0, plan.stderr);
  t.match(plan.stdout, /ferry ds clone .*driver fs/, 'dry run: the clone action');
  t.same(readdirSync(images).sort(), before, 'a dry run copies nothing');
  t.notOk(w.catalog().findImage('copy'), 'nor records an image');

  const copy = await w.json(['image', 'clone', 'base', '--name', 'copy']);
  t.equal(copy.state, 'READY');
  t.equal(copy.clonedFrom, base.id, 'it records what it was cloned from');
  t.equal(copy.persistent, false, 'persistence as the original');
  t.not(copy.source, base.source, 'a new source');
  t.ok(copy.source.startsWith(`${images}/`), 'in the same datastore');
  t.ok(readFileSync(copy.source).equals(readFileSync(base.source as string)), 'with the same bytes');
  t.equal(copy.sizeMb, base.sizeMb);
  t.equal(copy.format, 'qcow2');
  t.equal(w.catalog().image('base').state, 'READY', 'the original stays READY');
  const journal = w.catalog().journal(`image:${copy.id}`);
  t.same(journal.map((entry) => [entry.action, entry.ok]), [['clone', true]], 'journaled under the new image');

  const persistentCopy = await w.json(['image', 'clone', 'base', '--name', 'pcopy', '--persistent']);
  t.equal(persistentCopy.persistent, true, '--persistent overrides');
  const dataCopy = await w.json(['image', 'clone', 'data', '--name', 'dcopy', '--no-persistent']);
  t.equal(dataCopy.persistent, false, '--no-persistent overrides a persistent original');

  await w.json(['vm', 'create', vmYaml(w)]);
  const actions = w.catalog().journal().length;
  const used = await w.cli(['image', 'clone', 'data', '--name', 'dcopy2']);
  t.equal(used.status, 2, 'a persistent image in use: exit 2');
  t.match(used.stderr, /persistent image data is in use by VM\(s\) 1/);
  t.match(used.stderr, /disk-saveas/, 'pointing at disk-saveas');
  const taken = await w.cli(['image', 'clone', 'base', '--name', 'copy']);
  t.equal(taken.status, 2, 'a name taken: exit 2');
  t.match(taken.stderr, /an image named "copy" exists/);
  const unknown = await w.cli(['image', 'clone', 'nope', '--name', 'x']);
  t.equal(unknown.status, 2, 'an unknown image: exit 2');
  t.match(unknown.stderr, /no image "nope"/);
  t.equal(w.catalog().journal().length, actions, 'no driver ran for any refusal');
  t.notOk(w.catalog().findImage('dcopy2'), 'and no record was left');
});

t.test('image clone that fails leaves the new image in ERROR with the driver\'s message', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const base = w.catalog().image('base');
  // The fs driver refuses to clone a SOURCE that is gone.
  execFileSync('mv', [base.source as string, `${base.source}.away`]);
  const failed = await w.cli(['image', 'clone', 'base', '--name', 'broken']);
  t.equal(failed.status, 1, 'the driver failed: exit 1');
  t.match(failed.stderr, /does not exist/, 'with the driver\'s message');
  const broken = w.catalog().image('broken');
  t.equal(broken.state, 'ERROR');
  t.match(broken.error, /^clone: .*does not exist/, 'the image names the step and the message');
  t.equal(w.catalog().image('base').state, 'READY', 'the original is unchanged');
});

t.test('image stat: the size of a registered image (stored) or of a file before registering it', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const base = w.catalog().image('base');
  w.catalog().updateImage(base.id, { sizeMb: 1 });
  const stat = await w.json(['image', 'stat', 'base']);
  t.equal(stat.sizeMb, 32, 'the virtual size of the 32M qcow2');
  t.equal(w.catalog().image('base').sizeMb, 32, 'stored in the catalog');
  const text = await w.cli(['image', 'stat', 'base']);
  t.equal(text.stdout, '32 MB\n', 'readable default');

  const file = join(w.root, 'raw.img');
  execFileSync('truncate', ['-s', '5M', file]);
  const byPath = await w.json(['image', 'stat', '--datastore', 'images', '--path', 'raw.img']);
  t.same(byPath, { path: file, sizeMb: 5 }, 'a relative path is read from the working folder');

  await refusals(t, w, [
    [['image', 'stat'], /give an image, or --datastore DS --path/],
    [['image', 'stat', 'base', '--path', file], /give an image, or --datastore DS --path/],
    [['image', 'stat', '--path', file], /--path needs --datastore/],
    [['image', 'stat', '--datastore', 'system', '--path', file], /no datastore driver/],
  ]);
});

t.test('image snapshot-revert, -delete and -flatten on a persistent qcow2 image', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const source = await snapshotted(t, w);
  const image = w.catalog().image('pdata');

  const plan = await w.cli(['image', 'snapshot-delete', 'pdata', '1', '--dry-run']);
  t.equal(plan.status, 0, plan.stderr);
  t.match(plan.stdout, /ferry ds snap_delete .* snapshot 1/);
  t.same(tags(source), ['snap-0', 'snap-1'], 'a dry run changes nothing');

  const reverted = await w.json(['image', 'snapshot-revert', 'pdata', '0']);
  t.same(reverted.snapshots, [0, 1], 'revert keeps the snapshots');
  const deleted = await w.json(['image', 'snapshot-delete', 'pdata', '1']);
  t.same(deleted.snapshots, [0], 'delete drops one');
  t.same(tags(source), ['snap-0'], 'in the file too');
  const unknown = await w.cli(['image', 'snapshot-revert', 'pdata', '7']);
  t.equal(unknown.status, 2, 'an unknown snapshot: exit 2');
  t.match(unknown.stderr, /image pdata has no snapshot 7 \(it has: 0\)/);
  const notNumber = await w.cli(['image', 'snapshot-delete', 'pdata', 'zero']);
  t.equal(notNumber.status, 2);
  t.match(notNumber.stderr, /snapshot id "zero" is not a whole number/);
  const flattened = await w.json(['image', 'snapshot-flatten', 'pdata', '0']);
  t.same(flattened.snapshots, [], 'flatten leaves none');
  t.same(tags(source), [], 'in the file too');
  t.equal(flattened.source, source, 'same source');
  t.same(
    w.catalog().journal(`image:${image.id}`).map((entry) => entry.operation),
    ['mkfs', 'snapshot-revert', 'snapshot-delete', 'snapshot-flatten'],
    'each journaled under the image',
  );

  // A failed snapshot action keeps the image READY, with the message.
  w.catalog().updateImage(image.id, { snapshots: [3] });
  const failed = await w.cli(['image', 'snapshot-revert', 'pdata', '3']);
  t.equal(failed.status, 1, 'the driver refused: exit 1');
  t.match(failed.stderr, /Snapshot 3 not found/);
  const after = w.catalog().image('pdata');
  t.equal(after.state, 'READY', 'still READY: the driver left the image as it was');
  t.match(after.error, /^snapshot-revert: Snapshot 3 not found/);
  t.ok(statSync(source).size > 0, 'the file is still there');
});

t.test('image snapshots of an image in use are refused, pointing at the VM', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  await snapshotted(t, w);
  writeFileSync(join(w.root, 'p.yaml'), 'name: vmq\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: pdata\n');
  const vm = await w.json(['vm', 'create', join(w.root, 'p.yaml')]);
  t.same(vm.disks[0].snapshots, [0, 1], 'a new VM\'s linked disk starts with the image\'s snapshots');
  const refused = await w.cli(['image', 'snapshot-delete', 'pdata', '0']);
  t.equal(refused.status, 2);
  t.match(refused.stderr, /image pdata is USED \(VM 2\)/);
  t.match(refused.stderr, /vm disk-snapshot/);
  t.ok(existsSync(w.catalog().image('pdata').source as string));
});

t.test('an image a finished VM came from can be deleted; one a FAILED or PENDING VM holds cannot, nor its snapshots changed', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w)]);
  await w.json(['vm', 'shutdown', 'vm01']);
  const base = w.catalog().image('base');
  const deleted = await w.cli(['image', 'delete', 'base']);
  t.equal(deleted.status, 0, `deleted: ${deleted.stderr}`);
  t.notOk(existsSync(base.source as string), 'its file is gone');
  t.notOk(w.catalog().findImage('base'), 'and its record');
  t.equal(w.catalog().vm('vm01').disks[0]?.imageId, null, 'the finished VM keeps its disk row, with no image');

  // A create that failed holds its images: a retry would link or clone them.
  await snapshotted(t, w);
  writeFileSync(join(w.markers, 'fail-ln'), '');
  writeFileSync(join(w.root, 'q.yaml'), 'name: vmq\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: pdata\n');
  t.equal((await w.cli(['vm', 'create', join(w.root, 'q.yaml')])).status, 1);
  t.equal(w.catalog().image('pdata').state, 'READY', 'the image is still READY (the create did not finish)');
  for (const argv of [['image', 'delete', 'pdata'], ['image', 'delete', 'pdata', '--dry-run'], ['image', 'snapshot-delete', 'pdata', '0']]) {
    const refused = await w.cli(argv);
    t.equal(refused.status, 2, `${argv.join(' ')}: refused`);
    t.match(refused.stderr, /image pdata is used by VM\(s\) \d+/);
  }
  t.same(w.catalog().image('pdata').snapshots, [0, 1], 'snapshots untouched');
});
