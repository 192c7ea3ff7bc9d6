// tm/qcow2 on real files: clones are qcow2 overlays backed by the image, cpds and mvds flatten them, snapshots
// live in the overlay; the spec's "An Example VM" with a raw and with a qcow2 image, through transfer files.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, lstatSync, openSync, readdirSync, readlinkSync, realpathSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { listDrivers } from '../../src/driver/inventory.js';
import { Runner } from '../../src/driver/runner.js';
import { cloneOfMissing, exampleVm, guestWritesPersistent } from '../helpers/tm-scenarios.js';
import { rejection, tmpDir } from '../helpers/fixtures.js';
import { blocks, datastores, guestBytes, isInstalled, MiB, PACKAGE, qemuInfo, run, sha256, sha256Of, snapshotTags, sparseImage, type Owner } from '../helpers/images.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');
const DRIVER = 'qcow2';
const runner = new Runner({ remotes, env: { FERRY_LOCAL_HOSTS: 'fe host01 host02' } });
const GiB = 1024 * MiB;
/** The commands these tests (and the driver) use; PACKAGE names their Debian packages. */
const TOOLS = ['qemu-img', 'qemu-io', 'stat', 'xorriso', 'mkswap'];

/** Writes PATTERN (a byte such as 0x5a) over [offset, offset+length) of a qcow2 disk, as the guest would. */
const guestWrite = (path: string, pattern: number, offset: number, length: number) =>
  run('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${offset} ${length}`, path]);

/** A copy of `bytes` with `length` bytes of `pattern` at `offset`. */
function patched(bytes: Buffer, pattern: number, offset: number, length: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(pattern, offset, offset + length);
  return copy;
}

type TmAction = (typeof TM_ACTIONS)[number];
const tm = (action: TmAction, ...args: string[]) => runner.run({ kind: 'tm', action, driver: DRIVER, args });

/** The datastores of one test (see datastores). */
const world = (t: Owner) => datastores(t, 'ferry-tm-qcow2-');

/** A non-persistent image in `format` (raw or qcow2) with random data in places; returns its guest content. */
function makeImage(t: Owner, path: string, format: 'raw' | 'qcow2', sizeMiB: number): Buffer {
  const chunks: Array<[number, number]> = [[0, 4096], [Math.floor(sizeMiB / 3) * MiB, 65536], [(sizeMiB - 1) * MiB, 4096]];
  if (format === 'raw') return sparseImage(path, sizeMiB, chunks);
  const raw = join(tmpDir(t, 'ferry-raw-'), 'raw');
  const bytes = sparseImage(raw, sizeMiB, chunks);
  run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, path]);
  return bytes;
}

t.test('the tools these tests use are installed', async (t) => {
  for (const cmd of TOOLS) t.ok(isInstalled(cmd), `${cmd} is installed (Debian package ${PACKAGE[cmd]})`);
});

t.test('tm/qcow2 implements every action: its own clone, the rest links into tm/shared', async (t) => {
  const info = (await listDrivers(remotes)).find((d) => d.kind === 'tm' && d.name === DRIVER);
  t.same(info?.missing, [], 'no action missing');
  t.same([...(info?.actions ?? [])].sort(), [...TM_ACTIONS].sort());
  t.same(info?.notExecutable, [], 'every action is executable');
  const dir = join(remotes, 'tm', DRIVER);
  t.notOk(lstatSync(join(dir, 'clone')).isSymbolicLink(), 'clone is its own script');
  for (const action of TM_ACTIONS.filter((a) => a !== 'clone')) {
    t.equal(realpathSync(join(dir, action)), realpathSync(join(remotes, 'tm', 'shared', action)), `${action} is tm/shared's`);
  }
  const manifest = await runner.manifest(dir);
  t.equal(manifest.api, 1);
  t.equal(manifest.kind, 'tm');
  t.ok(manifest.capabilities?.includes('clone_overlay'));
  t.ok(manifest.requires?.includes('qemu-img'));
  const w = world(t);
  const image = join(w.images, 'img');
  sparseImage(image, 1, []);
  const result = await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  t.match(result.logs, [{ level: 'info', message: /^qcow2\/clone: / }], 'logs name the qcow2 driver');
  const linked = await tm('delete', `host01:${w.vm}`, '7', '0');
  t.match(linked.logs, [{ level: 'info', message: /^qcow2\/delete: / }], 'linked actions log as qcow2 too');
});

for (const format of ['raw', 'qcow2'] as const) {
  t.test(`An Example VM with a ${format} image: CREATE, STOP, RESUME, MIGRATE host01 -> host02, SHUTDOWN in the spec order`, async (t) => {
    const w = world(t);
    const image = join(w.images, `f00d-${format}`);
    const imageBytes = makeImage(t, image, format, 48);
    const imageSha = sha256(image);
    const vm = exampleVm(t, runner, DRIVER, w, image);
    const { pers, persBytes, ds, disk0, disk1 } = vm;
    let guest0 = imageBytes;

    const disksInPlace = (step: string) => {
      const info = qemuInfo(disk0);
      t.equal(info.format, 'qcow2', `${step}: disk.0 is qcow2`);
      t.equal(info['backing-filename'], image, `${step}: backed by the image`);
      t.equal(info['backing-filename-format'], format, `${step}: which is ${format}`);
      t.equal(info['virtual-size'], 48 * MiB, `${step}: of the image's size`);
      t.ok(blocks(disk0) < 2048, `${step}: disk.0 allocates little (${blocks(disk0)} blocks)`);
      t.equal(sha256Of(guestBytes(t, disk0)), sha256Of(guest0), `${step}: the guest sees the image (and its own writes)`);
      t.ok(lstatSync(disk1).isSymbolicLink(), `${step}: disk.1 is a link`);
      t.equal(readlinkSync(disk1), pers, `${step}: to the persistent image`);
      t.equal(sha256(image), imageSha, `${step}: the image is untouched`);
    };

    await vm.create();
    disksInPlace('CREATE');

    // STOP, RESUME and MIGRATE each move both disks, then the VM folder.
    await vm.moves(disksInPlace);

    // The VM runs on host02 and writes both disks.
    guestWrite(disk0, 0x5a, 5 * MiB, 8192);
    guest0 = patched(imageBytes, 0x5a, 5 * MiB, 8192);
    const persExpected = guestWritesPersistent(disk1, persBytes);
    disksInPlace('after the VM wrote');

    await vm.shutdown();
    t.notOk(existsSync(ds), 'SHUTDOWN: the VM folder is gone');
    t.equal(sha256(pers), sha256Of(persExpected), 'SHUTDOWN: what the VM wrote to disk.1 is in the persistent image');
    t.equal(sha256(image), imageSha, 'SHUTDOWN: the image is untouched');

    await vm.shutdownAgain();
    t.equal(sha256(image), imageSha, 'a second delete touches nothing');
  });
}

t.test('clone takes constant time and space whatever the image size', async (t) => {
  const w = world(t);
  const big = join(w.images, 'big');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, 20 * GiB);
  writeSync(fd, randomBytes(4096), 0, 4096, 7 * GiB);
  closeSync(fd);
  const bigQcow2 = join(w.images, 'big.qcow2');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', bigQcow2, '30G']);
  for (const [image, format, size] of [[big, 'raw', 20 * GiB], [bigQcow2, 'qcow2', 30 * GiB]] as const) {
    const disk = join(w.vm, `disk.${format}`);
    const started = Date.now();
    await tm('clone', `fe:${image}`, `host01:${disk}`, '7', '0');
    const took = Date.now() - started;
    const info = qemuInfo(disk);
    t.equal(info['virtual-size'], size, `${format}: the overlay has the image's ${size / GiB} GiB`);
    t.equal(info['backing-filename-format'], format, `${format}: -F ${format}`);
    t.ok(lstatSync(disk).size < MiB, `${format}: the overlay file is ${lstatSync(disk).size} bytes`);
    t.ok(took < 5000, `${format}: cloned in ${took} ms`);
  }
  t.same(readdirSync(w.vm).sort(), ['disk.qcow2', 'disk.raw'], 'no temporary files left');
});

t.test('clone: a missing SOURCE fails naming it and leaves nothing behind', async (t) => {
  const w = world(t);
  await cloneOfMissing(t, tm, w);
  const folder = await rejection(tm('clone', `fe:${w.images}`, `host01:${w.vm}/disk.0`, '7', '0'));
  t.match(folder.message, /is a folder/);
  t.notOk(existsSync(w.vm), 'still nothing');
});

t.test('cpds: flattens the overlay (or a snapshot of it) into a standalone image in the backing format', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  const bytes = makeImage(t, image, 'raw', 32);
  const disk = join(w.vm, 'disk.0');
  await tm('clone', `fe:${image}`, `host01:${disk}`, '7', '0');
  guestWrite(disk, 0x11, 0, 65536);
  await tm('snap_create', `host01:${disk}`, '0', '7', '0');
  guestWrite(disk, 0x22, 0, 65536);

  const now = join(w.images, 'now');
  await tm('cpds', `host01:${disk}`, `fe:${now}`, '-1', '7', '1');
  const nowInfo = qemuInfo(now);
  t.equal(nowInfo.format, 'raw', 'a raw-backed overlay is saved as raw');
  t.notOk(nowInfo['backing-filename'], 'standalone: no backing file');
  t.equal(sha256(now), sha256Of(patched(bytes, 0x22, 0, 65536)), 'the image plus what the VM wrote');
  t.ok(blocks(now) < (32 * MiB) / 512 / 10, `and sparse (${blocks(now)} blocks)`);

  const snap = join(w.images, 'snap0');
  await tm('cpds', `host01:${disk}`, `fe:${snap}`, '0', '7', '1');
  t.equal(sha256(snap), sha256Of(patched(bytes, 0x11, 0, 65536)), 'snapshot 0 as it was when taken');
  t.equal(sha256(image), sha256Of(bytes), 'the image is untouched');
  t.equal(qemuInfo(disk)['backing-filename'], image, 'the disk is still an overlay');

  const qimage = join(w.images, 'qimg');
  const qbytes = makeImage(t, qimage, 'qcow2', 8);
  await tm('clone', `fe:${qimage}`, `host01:${w.vm}/disk.1`, '7', '0');
  const qsaved = join(w.images, 'qsaved');
  await tm('cpds', `host01:${w.vm}/disk.1`, qsaved, '-1', '7', '1');
  const qinfo = qemuInfo(qsaved);
  t.equal(qinfo.format, 'qcow2', 'a qcow2-backed overlay is saved as qcow2');
  t.notOk(qinfo['backing-filename'], 'standalone');
  t.equal(sha256Of(guestBytes(t, qsaved)), sha256Of(qbytes), 'with the image\'s content');

  const none = await rejection(tm('cpds', `host01:${disk}`, `fe:${join(w.images, 'x')}`, '3', '7', '1'));
  t.match(none.message, /has no snapshot 3/);
  t.notOk(existsSync(join(w.images, 'x')), 'nothing written for a missing snapshot');
});

t.test('mvds: an overlay is flattened into SOURCE; a link is just removed', async (t) => {
  const w = world(t);
  const pers = join(w.images, 'pers');
  const bytes = makeImage(t, pers, 'raw', 8);
  const disk = join(w.vm, 'disk.1');
  // A persistent image that reached the VM as an overlay (cloned): mvds must give SOURCE the VM's writes.
  await tm('clone', `fe:${pers}`, `host01:${disk}`, '7', '0');
  guestWrite(disk, 0x77, MiB, 4096);
  await tm('mvds', `host01:${disk}`, `fe:${pers}`, '7', '1');
  t.notOk(existsSync(disk), 'the overlay is gone');
  const info = qemuInfo(pers);
  t.equal(info.format, 'raw', 'SOURCE keeps its raw format');
  t.notOk(info['backing-filename'], 'and is standalone');
  t.equal(sha256(pers), sha256Of(patched(bytes, 0x77, MiB, 4096)), 'SOURCE holds what the VM wrote');

  await tm('ln', `fe:${pers}`, `host01:${disk}`, '7', '0');
  await tm('mvds', `host01:${disk}`, pers, '7', '1');
  t.notOk(existsSync(disk), 'the link is gone');
  t.equal(sha256(pers), sha256Of(patched(bytes, 0x77, MiB, 4096)), 'SOURCE is unchanged');
});

t.test('snapshots live in the overlay: create, revert, delete; the image never changes', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  const bytes = makeImage(t, image, 'raw', 4);
  const imageSha = sha256(image);
  const disk = join(w.vm, 'disk.0');
  await tm('clone', `fe:${image}`, `host01:${disk}`, '7', '0');
  guestWrite(disk, 0x01, 0, 4096);
  await tm('snap_create', `host01:${disk}`, '0', '7', '0');
  guestWrite(disk, 0x02, 0, 4096);
  await tm('snap_create_live', `host01:${disk}`, '1', '7', '0');
  guestWrite(disk, 0x03, 0, 4096);
  t.same(snapshotTags(disk), ['snap-0', 'snap-1'], 'both snapshots are in the overlay');
  t.same(snapshotTags(image), [], 'none in the image');

  await tm('snap_revert', `host01:${disk}`, '1', '7', '0');
  t.equal(sha256Of(guestBytes(t, disk)), sha256Of(patched(bytes, 0x02, 0, 4096)), 'revert to 1');
  await tm('snap_revert', `host01:${disk}`, '0', '7', '0');
  t.equal(sha256Of(guestBytes(t, disk)), sha256Of(patched(bytes, 0x01, 0, 4096)), 'revert to 0');
  await tm('snap_delete', `host01:${disk}`, '0', '7', '0');
  t.same(snapshotTags(disk), ['snap-1'], 'snapshot 0 deleted');
  t.equal(qemuInfo(disk)['backing-filename'], image, 'still an overlay of the image');
  t.equal(sha256(image), imageSha, 'the image never changed');

  // Snapshot ids are decimal: 010 is snap-10 and 08 is snap-8 (not octal 8, nor an error).
  guestWrite(disk, 0x04, 0, 4096);
  await tm('snap_create', `host01:${disk}`, '010', '7', '0');
  guestWrite(disk, 0x05, 0, 4096);
  await tm('snap_create_live', `host01:${disk}`, '08', '7', '0');
  t.same(snapshotTags(disk), ['snap-1', 'snap-10', 'snap-8'], '010 and 08 are tagged snap-10 and snap-8');
  await tm('snap_revert', `host01:${disk}`, '10', '7', '0');
  t.equal(sha256Of(guestBytes(t, disk)), sha256Of(patched(bytes, 0x04, 0, 4096)), 'revert 10 restores what 010 took');
  await tm('snap_delete', `host01:${disk}`, '008', '7', '0');
  t.same(snapshotTags(disk), ['snap-1', 'snap-10'], 'delete 008 removes snap-8');

  await tm('resize', `host01:${disk}`, '16', '7', '0');
  t.equal(qemuInfo(disk)['virtual-size'], 16 * MiB, 'resize grows the overlay past its 4 MB backing file');
  t.equal(sha256(image), imageSha, 'without touching the image');
});

t.test('mv to another system datastore path keeps the overlay working', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  const bytes = makeImage(t, image, 'raw', 4);
  await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  const target = join(w.root, 'datastores', '100', '7');
  await tm('mv', `host01:${w.vm}`, `host02:${target}`, '7', '100');
  t.notOk(existsSync(w.vm), 'the old folder is gone');
  t.equal(qemuInfo(join(target, 'disk.0'))['backing-filename'], image, 'the moved overlay still names the image');
  t.equal(sha256Of(guestBytes(t, join(target, 'disk.0'))), sha256Of(bytes), 'and reads it');
});

t.test('bad input: delete outside a VM folder, mkimage with a bad format', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  sparseImage(image, 1, [[0, 512]]);
  for (const path of ['/', image, w.images, join(w.system, '8')]) {
    const error = await rejection(tm('delete', `host01:${path}`, '7', '0'));
    t.match(error.message, /Refusing to delete/, `delete ${path} is refused`);
  }
  t.ok(existsSync(image), 'the image is still there');
  const error = await rejection(tm('mkimage', '10', 'vdi', `host01:${w.vm}/disk.2`, '7', '0'));
  t.match(error.message, /Format 'vdi' is not raw, qcow2 or swap/);
  t.notOk(existsSync(join(w.vm, 'disk.2')), 'nothing made');
  await tm('mkimage', '10', 'qcow2', `host01:${w.vm}/disk.2`, '7', '0');
  t.equal(qemuInfo(join(w.vm, 'disk.2')).format, 'qcow2', 'a good format works');
});
