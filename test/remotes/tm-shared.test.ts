// tm/shared on real files: every action through the Runner on local hosts in temp folders, the spec's
// "An Example VM" as transfer files, and the inputs the driver must refuse.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { listDrivers } from '../../src/driver/inventory.js';
import { Runner } from '../../src/driver/runner.js';
import { buildDump } from '../../src/dump/dump.js';
import { cloneOfMissing, exampleVm, guestWritesPersistent } from '../helpers/tm-scenarios.js';
import { rejection, tmpDir } from '../helpers/fixtures.js';
import { blocks, datastores, guestBytes, isInstalled, MiB, PACKAGE, qemuInfo, run, sha256, sha256Of, snapshotTags, sparseImage, writeAt, type Owner } from '../helpers/images.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');
const DRIVER = 'shared';
const runner = new Runner({ remotes, env: { FERRY_LOCAL_HOSTS: 'fe host01 host02' } });

type TmAction = (typeof TM_ACTIONS)[number];
const tm = (action: TmAction, ...args: string[]) => runner.run({ kind: 'tm', action, driver: DRIVER, args });

/** The datastores of one test (see datastores), in a folder `name` that may hold spaces and quotes. */
const world = (t: Owner, name?: string) => datastores(t, 'ferry-tm-shared-', name);

t.test('the tools these tests use are installed', async (t) => {
  for (const [cmd, pkg] of Object.entries(PACKAGE)) t.ok(isInstalled(cmd), `${cmd} is installed (Debian package ${pkg})`);
});

t.test('tm/shared implements every action of the contract, with a driver.yaml', async (t) => {
  const info = (await listDrivers(remotes)).find((d) => d.kind === 'tm' && d.name === DRIVER);
  t.ok(info, 'tm/shared is listed');
  t.same(info?.missing, [], 'no action missing');
  t.same([...(info?.actions ?? [])].sort(), [...TM_ACTIONS].sort());
  t.same(info?.notExecutable, [], 'every action is executable');
  const manifest = await runner.manifest(join(remotes, 'tm', DRIVER));
  t.equal(manifest.api, 1);
  t.equal(manifest.kind, 'tm');
  t.ok(manifest.capabilities?.includes('clone_copy'));
  t.ok(manifest.requires?.includes('qemu-img'));
});

t.test('An Example VM: CREATE, STOP, RESUME, MIGRATE host01 -> host02, SHUTDOWN in the spec order', async (t) => {
  const w = world(t);
  const image = join(w.images, 'f00d');
  const imageBytes = sparseImage(image, 64, [[0, 4096], [10 * MiB, 65536], [63 * MiB, 4096]]);
  const imageSha = sha256Of(imageBytes);
  const vm = exampleVm(t, runner, DRIVER, w, image);
  const { pers, persBytes, ds, disk0, disk1 } = vm;

  const disksInPlace = (step: string) => {
    t.equal(sha256(disk0), imageSha, `${step}: disk.0 holds the image's bytes`);
    t.ok(blocks(disk0) <= blocks(image) + 64, `${step}: disk.0 is sparse (${blocks(disk0)} blocks allocated, the image ${blocks(image)})`);
    t.ok(lstatSync(disk1).isSymbolicLink(), `${step}: disk.1 is a link`);
    t.equal(readlinkSync(disk1), pers, `${step}: disk.1 links to the persistent image`);
    t.equal(sha256(image), imageSha, `${step}: the image is untouched`);
  };

  await vm.create();
  disksInPlace('CREATE');
  t.ok(blocks(disk0) < (64 * MiB) / 512 / 100, 'CREATE: the clone allocates a fraction of its 64 MiB');

  // STOP, RESUME and MIGRATE each move both disks, then the VM folder.
  await vm.moves(disksInPlace);

  // The VM runs on host02 and writes both disks.
  const persExpected = guestWritesPersistent(disk1, persBytes);
  writeAt(disk0, 5 * MiB, randomBytes(4096));
  t.equal(sha256(image), imageSha, 'writes to disk.0 leave the image alone (the clone is a copy)');

  await vm.shutdown();
  t.notOk(existsSync(ds), 'SHUTDOWN: the VM folder is gone');
  t.equal(sha256(pers), sha256Of(persExpected), 'SHUTDOWN: what the VM wrote to disk.1 is in the persistent image');
  t.equal(sha256(image), imageSha, 'SHUTDOWN: the non-persistent image is untouched');
  t.ok(existsSync(w.system), 'SHUTDOWN: the system datastore folder stays');

  await vm.shutdownAgain();
  t.equal(sha256(pers), sha256Of(persExpected), 'a second delete touches nothing');
});

t.test('paths with spaces and quotes survive every step', async (t) => {
  const w = world(t, "data stores/it's here");
  const image = join(w.images, 'my image');
  const bytes = sparseImage(image, 8, [[MiB, 4096]]);
  const pers = join(w.images, 'pers image');
  sparseImage(pers, 4, [[0, 512]]);
  const vm = w.vm;
  await tm('clone', `fe:${image}`, `host01:${vm}/disk.0`, '7', '0');
  await tm('ln', `fe:${pers}`, `host01:${vm}/disk.1`, '7', '0');
  t.equal(sha256(join(vm, 'disk.0')), sha256Of(bytes), 'clone copied into a folder with spaces');
  t.equal(readlinkSync(join(vm, 'disk.1')), pers, 'ln linked a path with spaces');
  const other = join(w.root, 'other system', '7');
  await tm('mv', `host01:${vm}`, `host02:${other}`, '7', '0');
  t.same(readdirSync(other).sort(), ['disk.0', 'disk.1'], 'mv moved the VM folder to another path with spaces');
  await tm('cpds', `host02:${other}/disk.0`, `fe:${w.images}/saved copy`, '-1', '7', '1');
  t.equal(sha256(join(w.images, 'saved copy')), sha256Of(bytes), 'cpds wrote a SOURCE with a space');
  await tm('mvds', `host02:${other}/disk.1`, pers, '7', '1');
  await tm('delete', `host02:${other}`, '7', '0');
  t.notOk(existsSync(other), 'delete removed the folder with spaces');
  t.ok(existsSync(pers), 'the persistent image stays');
});

t.test('clone: a missing SOURCE fails naming it and leaves nothing behind', async (t) => {
  const w = world(t);
  const error = await cloneOfMissing(t, tm, w);
  t.match(error.message, /does not exist on host01/);
  t.same(readdirSync(w.system), [], 'nothing in the system datastore');
});

t.test('clone: a second clone over an existing disk replaces it, with no temporary file left', async (t) => {
  const w = world(t);
  const a = join(w.images, 'a');
  const b = join(w.images, 'b');
  sparseImage(a, 2, [[0, 4096]]);
  const bBytes = sparseImage(b, 2, [[4096, 4096]]);
  await tm('clone', `fe:${a}`, `host01:${w.vm}/disk.0`, '7', '0');
  await tm('clone', `fe:${b}`, `host01:${w.vm}/disk.0`, '7', '0');
  t.equal(sha256(join(w.vm, 'disk.0')), sha256Of(bBytes));
  t.same(readdirSync(w.vm), ['disk.0'], 'only disk.0 in the VM folder');
});

t.test('ln: links SOURCE, accepts the same link again, refuses to replace anything else', async (t) => {
  const w = world(t);
  const pers = join(w.images, 'p');
  sparseImage(pers, 1, []);
  const disk = join(w.vm, 'disk.1');
  await tm('ln', `fe:${pers}`, `host01:${disk}`, '7', '0');
  await tm('ln', `fe:${pers}`, `host01:${disk}`, '7', '0');
  t.equal(readlinkSync(disk), pers);
  const plain = join(w.vm, 'disk.2');
  writeFileSync(plain, 'VM data');
  const error = await rejection(tm('ln', `fe:${pers}`, `host01:${plain}`, '7', '0'));
  t.match(error.message, /already exists/);
  t.equal(readFileSync(plain, 'utf8'), 'VM data', 'the file is left alone');
  const missing = await rejection(tm('ln', `fe:${join(w.images, 'gone')}`, `host01:${join(w.vm, 'disk.3')}`, '7', '0'));
  t.match(missing.message, /gone does not exist/);
});

t.test('mv: between different system datastore paths, a disk moves and a VM folder merges', async (t) => {
  const w = world(t);
  const pers = join(w.images, 'p');
  sparseImage(pers, 1, []);
  const image = join(w.images, 'img');
  const bytes = sparseImage(image, 4, [[MiB, 4096]]);
  await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  await tm('ln', `fe:${pers}`, `host01:${w.vm}/disk.1`, '7', '0');
  writeFileSync(join(w.vm, '.hidden'), 'x');
  const target = join(w.root, 'datastores', '100', '7');
  await tm('mv', `host01:${w.vm}/disk.0`, `host02:${target}/disk.0`, '7', '100');
  t.notOk(existsSync(join(w.vm, 'disk.0')), 'disk.0 left the source folder');
  t.equal(sha256(join(target, 'disk.0')), sha256Of(bytes), 'disk.0 arrived whole');
  t.ok(blocks(join(target, 'disk.0')) < (4 * MiB) / 512 / 4, 'and still sparse');
  await tm('mv', `host01:${w.vm}`, `host02:${target}`, '7', '100');
  t.notOk(existsSync(w.vm), 'the source VM folder is gone');
  t.same(readdirSync(target).sort(), ['.hidden', 'disk.0', 'disk.1'], 'its files, hidden ones too, joined the existing destination folder');
  t.equal(readlinkSync(join(target, 'disk.1')), pers, 'the persistent link still points at SOURCE');
  await tm('mv', `host01:${w.vm}`, `host02:${target}`, '7', '100');
  t.pass('moving again, once the source is gone, succeeds');
  await tm('mv', `host02:${target}`, `host01:${w.vm}`, '7', '0');
  t.same(readdirSync(w.vm).sort(), ['.hidden', 'disk.0', 'disk.1'], 'a VM folder moves whole to a path where none exists');

  const root = await rejection(tm('mv', 'host01:/', `host02:${target}`, '7', '0'));
  t.match(root.message, /Refusing to move '\/'/);
  const mixed = await rejection(tm('mv', `host01:${w.vm}`, `host02:${target}/disk.9`, '7', '0'));
  t.match(mixed.message, /both must be VM folders or both disks/);
  const gone = await rejection(tm('mv', `host01:${w.root}/nowhere/7/disk.0`, `host02:${w.root}/elsewhere/7/disk.0`, '7', '0'));
  t.match(gone.message, /does not exist/);
  t.ok(existsSync(join(w.vm, 'disk.0')), 'refused moves touched nothing');
});

t.test('mvds: a plain disk file moves onto SOURCE; a link elsewhere is refused', async (t) => {
  const w = world(t);
  const source = join(w.images, 'persistent');
  sparseImage(source, 1, []);
  const disk = join(w.vm, 'disk.1');
  const data = sparseImage(disk, 2, [[MiB, 4096]]);
  await tm('mvds', `host01:${disk}`, `fe:${source}`, '7', '1');
  t.notOk(existsSync(disk), 'the disk left the VM folder');
  t.equal(sha256(source), sha256Of(data), 'SOURCE holds the disk');

  const other = join(w.images, 'other');
  sparseImage(other, 1, []);
  await tm('ln', `fe:${other}`, `host01:${disk}`, '7', '0');
  const error = await rejection(tm('mvds', `host01:${disk}`, source, '7', '1'));
  t.match(error.message, /is a link, but not to/);
  t.ok(lstatSync(disk).isSymbolicLink(), 'the link is left for a person to look at');
  const neither = await rejection(tm('mvds', `host01:${join(w.vm, 'disk.5')}`, join(w.images, 'none'), '7', '1'));
  t.match(neither.message, /Neither .* nor .* exists/);
});

t.test('cpds: the current state keeps holes; a link to SOURCE needs no copy; snapshots need qcow2', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  const bytes = sparseImage(image, 32, [[0, 4096], [20 * MiB, 8192]]);
  await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  const saved = join(w.images, 'saved');
  await tm('cpds', `host01:${w.vm}/disk.0`, `fe:${saved}`, '-1', '7', '1');
  t.equal(sha256(saved), sha256Of(bytes), 'SOURCE holds the disk');
  t.ok(blocks(saved) <= blocks(image) + 64, `SOURCE is sparse (${blocks(saved)} blocks)`);
  t.ok(existsSync(join(w.vm, 'disk.0')), 'the disk stays');

  await tm('ln', `fe:${image}`, `host01:${w.vm}/disk.1`, '7', '0');
  await tm('cpds', `host01:${w.vm}/disk.1`, `fe:${image}`, '-1', '7', '1');
  t.equal(sha256(image), sha256Of(bytes), 'saving a linked disk onto its own SOURCE leaves it as is');

  const error = await rejection(tm('cpds', `host01:${w.vm}/disk.0`, `fe:${join(w.images, 'snap')}`, '0', '7', '1'));
  t.match(error.message, /needs a qcow2 disk: .* is raw/);
  t.notOk(existsSync(join(w.images, 'snap')), 'nothing written');
  const missing = await rejection(tm('cpds', `host01:${w.vm}/disk.7`, `fe:${join(w.images, 'x')}`, '-1', '7', '1'));
  t.match(missing.message, /disk\.7 does not exist/);
});

t.test('snapshots of a qcow2 disk: create, revert (never by qemu id), save, delete; a linked image gets them itself', async (t) => {
  const w = world(t);
  const disk = join(w.vm, 'disk.0');
  await tm('mkimage', '4', 'qcow2', `host01:${disk}`, '7', '0');
  const fill = (pattern: string) => run('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} 0 65536`, disk]);
  const head = (path: string) => guestBytes(t, path).subarray(0, 4).toString('hex');

  fill('0xaa');
  await tm('snap_create', `host01:${disk}`, '0', '7', '0');
  fill('0xbb');
  await tm('snap_create', `host01:${disk}`, '1', '7', '0');
  fill('0xcc');
  t.same(snapshotTags(disk), ['snap-0', 'snap-1'], 'snapshots are tagged snap-<id>, as tm/ssh and datastore/fs tag them');
  const again = await tm('snap_create', `host01:${disk}`, '1', '7', '0');
  t.match(again.logs, [{ level: 'warn', message: /already has snapshot 1 .*earlier run/ }], 'taking it again (a retry after a kill) succeeds with a warning');
  t.same(snapshotTags(disk), ['snap-0', 'snap-1'], 'and takes no second snapshot');
  t.equal(head(disk), 'cccccccc', 'nor changes the disk');

  await tm('cpds', `host01:${disk}`, `fe:${w.images}/s0`, '0', '7', '1');
  await tm('cpds', `host01:${disk}`, `fe:${w.images}/s1`, '1', '7', '1');
  await tm('cpds', `host01:${disk}`, `fe:${w.images}/now`, '-1', '7', '1');
  t.equal(head(join(w.images, 's0')), 'aaaaaaaa', 'cpds of snapshot 0 saves its content');
  t.equal(head(join(w.images, 's1')), 'bbbbbbbb', 'cpds of snapshot 1 saves its content');
  t.equal(head(join(w.images, 'now')), 'cccccccc', 'cpds -1 saves the current state');
  t.equal(qemuInfo(join(w.images, 'now')).format, 'qcow2');
  t.same(snapshotTags(join(w.images, 'now')), [], 'the saved image is standalone, without the disk\'s snapshots');

  // qemu's own id of snapshot 0 is 1: reverting to snapshot 1 must not land on it.
  await tm('snap_revert', `host01:${disk}`, '1', '7', '0');
  t.equal(head(disk), 'bbbbbbbb', 'snap_revert 1 restores snapshot 1');
  await tm('snap_revert', `host01:${disk}`, '0', '7', '0');
  t.equal(head(disk), 'aaaaaaaa', 'snap_revert 0 restores snapshot 0');
  await tm('snap_revert', `host01:${disk}`, '01', '7', '0');
  t.equal(head(disk), 'bbbbbbbb', 'an id with a leading zero names the same snapshot (snap-1)');

  await tm('snap_create_live', `host01:${disk}`, '2', '7', '0');
  t.same(snapshotTags(disk), ['snap-0', 'snap-1', 'snap-2'], 'snap_create_live takes the same snapshot');

  await tm('snap_delete', `host01:${disk}`, '1', '7', '0');
  t.same(snapshotTags(disk), ['snap-0', 'snap-2'], 'snap_delete 1 removes snapshot 1, not the one with qemu id 1');
  const repeat = await tm('snap_delete', `host01:${disk}`, '1', '7', '0');
  t.match(repeat.logs, [{ level: 'warn', message: /has no snapshot 1/ }], 'deleting it again succeeds with a warning');
  const none = await rejection(tm('snap_revert', `host01:${disk}`, '5', '7', '0'));
  t.match(none.message, /has no snapshot 5/);

  // Ids are decimal, whatever the action: 010 is snap-10 and 08 is snap-8 (not octal 8, nor an error).
  fill('0x10');
  await tm('snap_create', `host01:${disk}`, '010', '7', '0');
  fill('0x08');
  await tm('snap_create_live', `host01:${disk}`, '08', '7', '0');
  t.same(snapshotTags(disk), ['snap-0', 'snap-2', 'snap-10', 'snap-8'], '010 and 08 are tagged snap-10 and snap-8');
  t.match((await tm('snap_create_live', `host01:${disk}`, '10', '7', '0')).logs, [{ level: 'warn', message: /already has snapshot 10 \(snap-10,/ }]);
  t.same(snapshotTags(disk), ['snap-0', 'snap-2', 'snap-10', 'snap-8'], 'snapshot 10 again: the one 010 took, not a second');
  await tm('snap_revert', `host01:${disk}`, '0010', '7', '0');
  t.equal(head(disk), '10101010', 'revert 0010 restores snap-10');
  await tm('cpds', `host01:${disk}`, `fe:${w.images}/s8`, '008', '7', '1');
  t.equal(head(join(w.images, 's8')), '08080808', 'cpds 008 saves snap-8');
  await tm('snap_delete', `host01:${disk}`, '08', '7', '0');
  t.same(snapshotTags(disk), ['snap-0', 'snap-2', 'snap-10'], 'delete 08 removes snap-8');

  // A persistent qcow2 image linked as disk.3: its snapshots land in the image, for the datastore's snap_* actions.
  const pers = join(w.images, 'persistent');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', pers, '1M']);
  await tm('ln', `fe:${pers}`, `host01:${w.vm}/disk.3`, '7', '0');
  await tm('snap_create', `host01:${w.vm}/disk.3`, '0', '7', '0');
  t.same(snapshotTags(pers), ['snap-0'], 'a snapshot of a linked disk is a snapshot of the image');
  t.ok(lstatSync(join(w.vm, 'disk.3')).isSymbolicLink(), 'disk.3 is still a link');

  const raw = join(w.vm, 'disk.1');
  await tm('mkimage', '1', 'raw', `host01:${raw}`, '7', '0');
  const onRaw = await rejection(tm('snap_create', `host01:${raw}`, '0', '7', '0'));
  t.match(onRaw.message, /needs a qcow2 disk: .* is raw/);
});

t.test('mkimage and mkswap: raw (sparse), qcow2 and swap of the given size; a bad format is refused', async (t) => {
  const w = world(t);
  await tm('mkimage', '10', 'raw', `host01:${w.vm}/disk.2`, '7', '0');
  const raw = join(w.vm, 'disk.2');
  t.equal(lstatSync(raw).size, 10 * MiB, 'raw: 10 MB');
  t.equal(blocks(raw), 0, 'raw: nothing allocated');
  t.equal(qemuInfo(raw).format, 'raw');

  await tm('mkimage', '20', 'qcow2', `host01:${w.vm}/disk.3`, '7', '0');
  const qcow2 = qemuInfo(join(w.vm, 'disk.3'));
  t.equal(qcow2.format, 'qcow2');
  t.equal(qcow2['virtual-size'], 20 * MiB, 'qcow2: 20 MB virtual');

  const swapSignature = (path: string) => readFileSync(path).subarray(4096 - 10, 4096).toString('latin1');
  await tm('mkimage', '8', 'swap', `host01:${w.vm}/disk.4`, '7', '0');
  t.equal(swapSignature(join(w.vm, 'disk.4')), 'SWAPSPACE2', 'mkimage swap: a swap signature');
  await tm('mkswap', '16', `host01:${w.vm}/disk.5`, '7', '0');
  t.equal(lstatSync(join(w.vm, 'disk.5')).size, 16 * MiB, 'mkswap: 16 MB');
  t.equal(swapSignature(join(w.vm, 'disk.5')), 'SWAPSPACE2', 'mkswap: a swap signature');

  const error = await rejection(tm('mkimage', '10', 'vmdk', `host01:${w.vm}/disk.6`, '7', '0'));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.match(error.message, /Format 'vmdk' is not raw, qcow2 or swap/);
  t.same(readdirSync(w.vm).sort(), ['disk.2', 'disk.3', 'disk.4', 'disk.5'], 'nothing made for the bad format, no temporary files left');
});

t.test('context: an ISO (volume CONTEXT, Joliet and Rock Ridge) of the files, path:\'name\' renames', async (t) => {
  const w = world(t);
  const files = join(w.root, 'vms', '7');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'context.sh'), "ETH0_IP='10.0.0.7'\n");
  writeFileSync(join(files, 'init script.sh'), '#!/bin/sh\necho up\n');
  mkdirSync(join(files, 'keys'));
  writeFileSync(join(files, 'keys', 'id.pub'), 'ssh-ed25519 AAAA test\n');
  const iso = join(w.vm, 'disk.2');
  await tm('context', join(files, 'context.sh'), `${join(files, 'init script.sh')}:'start.sh'`, join(files, 'keys'), `host01:${iso}`, '7', '0');

  const listing = spawnSync('xorriso', ['-indev', iso, '-ls', '/'], { encoding: 'utf8' });
  t.notOk(listing.error, 'xorriso is installed (Debian package xorriso)');
  t.same(listing.stdout.trim().split('\n').sort(), ["'context.sh'", "'keys'", "'start.sh'"], 'the ISO holds the files under their names');
  t.match(listing.stderr, /Volume id\s*:\s*'CONTEXT'/, 'volume id CONTEXT');
  const out = tmpDir(t, 'ferry-iso-');
  run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', join(out, 'x')]);
  t.equal(readFileSync(join(out, 'x', 'context.sh'), 'utf8'), "ETH0_IP='10.0.0.7'\n");
  t.equal(readFileSync(join(out, 'x', 'start.sh'), 'utf8'), '#!/bin/sh\necho up\n', "path:'name' is stored as name");
  t.equal(readFileSync(join(out, 'x', 'keys', 'id.pub'), 'utf8'), 'ssh-ed25519 AAAA test\n', 'a folder is stored with its contents');
  const bytes = readFileSync(iso);
  const descriptors = [16, 17, 18, 19].map((sector) => bytes.subarray(sector * 2048, sector * 2048 + 91));
  t.ok(
    descriptors.some((d) => d[0] === 2 && d.subarray(1, 6).toString() === 'CD001' && d.subarray(88, 91).toString() === '%/E'),
    'a Joliet supplementary volume descriptor',
  );
  t.ok(/RRIP_1991A|IEEE_P1282|IEEE_1282/.test(bytes.toString('latin1')), 'Rock Ridge extensions');

  const error = await rejection(tm('context', join(files, 'missing.sh'), `host01:${join(w.vm, 'disk.3')}`, '7', '0'));
  t.match(error.message, /missing\.sh does not exist/);
  t.notOk(existsSync(join(w.vm, 'disk.3')), 'no ISO for a missing file');
  const bad = await rejection(tm('context', `${join(files, 'context.sh')}:'../evil'`, `host01:${join(w.vm, 'disk.3')}`, '7', '0'));
  t.match(bad.message, /cannot be a file name/);
});

t.test('delete: disks and VM folders, idempotent; "/" and paths outside a VM folder are refused', async (t) => {
  const w = world(t);
  const pers = join(w.images, 'p');
  sparseImage(pers, 1, [[0, 512]]);
  const image = join(w.images, 'img');
  sparseImage(image, 1, [[0, 512]]);
  await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  await tm('ln', `fe:${pers}`, `host01:${w.vm}/disk.1`, '7', '0');

  await tm('delete', `host01:${w.vm}/disk.1`, '7', '0');
  t.notOk(existsSync(join(w.vm, 'disk.1')), 'the link is gone');
  t.ok(existsSync(pers), 'what it linked to stays');
  await tm('delete', `host01:${w.vm}/disk.1`, '7', '0');
  t.pass('deleting a disk again succeeds');

  for (const [path, vm] of [
    ['/', '7'],
    [image, '7'],
    [w.images, '7'],
    [w.system, '7'],
    [join(w.system, '8'), '7'],
    [`${w.vm}/../7`, '7'],
    ['/7', '7'],
  ] as const) {
    const error = await rejection(tm('delete', `host01:${path}`, vm, '0'));
    t.match(error.message, /Refusing to delete|has a '\.' or '\.\.'/, `delete ${path} for VM ${vm} is refused`);
  }
  t.ok(existsSync(image) && existsSync(join(w.vm, 'disk.0')), 'refused deletes touched nothing');

  await tm('delete', `host01:${w.vm}`, '7', '0');
  t.notOk(existsSync(w.vm), 'the VM folder is gone');
  await tm('delete', `host01:${w.vm}`, '7', '0');
  t.pass('deleting the folder again succeeds');
  t.ok(existsSync(image) && existsSync(pers), 'the images stay');
});

t.test('resize: grows raw and qcow2 disks, the same size is a no-op, shrinking is refused', async (t) => {
  const w = world(t);
  await tm('mkimage', '10', 'raw', `host01:${w.vm}/disk.0`, '7', '0');
  await tm('mkimage', '10', 'qcow2', `host01:${w.vm}/disk.1`, '7', '0');
  await tm('resize', `host01:${w.vm}/disk.0`, '30', '7', '0');
  t.equal(lstatSync(join(w.vm, 'disk.0')).size, 30 * MiB, 'raw grew to 30 MB');
  t.equal(blocks(join(w.vm, 'disk.0')), 0, 'and stayed sparse');
  await tm('resize', `host01:${w.vm}/disk.1`, '40', '7');
  t.equal(qemuInfo(join(w.vm, 'disk.1'))['virtual-size'], 40 * MiB, 'qcow2 grew to 40 MB (ds_id left off)');
  await tm('resize', `host01:${w.vm}/disk.1`, '40', '7', '0');
  t.pass('the size already reached succeeds');
  const error = await rejection(tm('resize', `host01:${w.vm}/disk.1`, '20', '7', '0'));
  t.match(error.message, /Cannot shrink .* from 40 MB to 20 MB/);
  t.equal(qemuInfo(join(w.vm, 'disk.1'))['virtual-size'], 40 * MiB, 'the disk keeps its size');
});

t.test('monitor: USED_MB, TOTAL_MB and FREE_MB of the system datastore filesystem, directly and routed', async (t) => {
  const w = world(t);
  const dump = buildDump({ DATASTORE: { ID: 0, NAME: 'system', TYPE: 1, DS_MAD: 'fs', TM_MAD: DRIVER, BASE_PATH: w.system } });
  const direct = await runner.run({ kind: 'tm' as const, action: 'monitor' as const, driver: DRIVER, args: [dump.base64, '0'] });
  const fs = statfsSync(w.system);
  const total = Math.floor((fs.blocks * fs.bsize) / MiB);
  const free = Math.floor((fs.bavail * fs.bsize) / MiB);
  t.equal(direct.result.totalMb, total, 'TOTAL_MB is the filesystem size');
  t.ok(Math.abs(direct.result.freeMb - free) <= 256, `FREE_MB ${direct.result.freeMb} is about the available ${free}`);
  t.ok(direct.result.usedMb > 0 && direct.result.usedMb <= total, 'USED_MB is within the size');
  t.same(Object.keys(direct.result.attributes), [], 'nothing else printed');
  const routed = await runner.run({ kind: 'datastore' as const, action: 'monitor' as const, dump, id: 0 });
  t.equal(routed.driver, DRIVER, 'a system datastore monitor runs the TM driver');
  t.equal(routed.result.totalMb, total);

  const missing = buildDump({ DATASTORE: { ID: 0, TYPE: 1, TM_MAD: DRIVER, BASE_PATH: join(w.root, 'nowhere') } });
  const error = await rejection(runner.run({ kind: 'tm', action: 'monitor', driver: DRIVER, args: [missing.base64, '0'] }));
  t.match(error.message, /nowhere does not exist/);
  const none = buildDump({ DATASTORE: { ID: 0, TYPE: 1, TM_MAD: DRIVER } });
  const noBase = await rejection(runner.run({ kind: 'tm', action: 'monitor', driver: DRIVER, args: [none.base64, '0'] }));
  t.match(noBase.message, /no DATASTORE\/BASE_PATH/);
});

t.test('premigrate, postmigrate, failmigrate: succeed doing nothing and say why', async (t) => {
  const w = world(t);
  const image = join(w.images, 'img');
  const bytes = sparseImage(image, 1, [[0, 512]]);
  await tm('clone', `fe:${image}`, `host01:${w.vm}/disk.0`, '7', '0');
  const template = Buffer.from('<VM><ID>7</ID></VM>').toString('base64');
  for (const action of ['premigrate', 'postmigrate', 'failmigrate'] as const) {
    const result = await tm(action, 'host01', 'host02', w.vm, '7', '0', template);
    t.equal(result.stdout, '', `${action} prints nothing`);
    t.match(result.logs, [{ level: 'info', message: /nothing to (do|undo).*shared storage/ }], `${action} logs why it does nothing`);
  }
  t.same(readdirSync(w.vm), ['disk.0']);
  t.equal(sha256(join(w.vm, 'disk.0')), sha256Of(bytes), 'the disk is untouched');
});

t.test('a script run by hand with too few arguments prints its usage and exits 2', async (t) => {
  const run = spawnSync(join(remotes, 'tm', DRIVER, 'clone'), ['fe:/x'], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.match(run.stderr, /usage: shared\/clone fe:SOURCE host:remote_system_ds\/disk\.i vm_id ds_id/);
  t.equal(run.stdout, '');
});
