// The ssh transfer manager against real ssh hosts: two sshd on loopback
// ports, each seeing its own folder at the shared datastores path (see
// test/helpers/sshd.ts). The test process is the front-end. What a host holds
// is read through its bind source folder; contents by sha256, holes by
// allocated blocks (stat -c %b), qcow2 by qemu-img info.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { hostsEnv, type HostConfig } from '../../src/config/hosts.js';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { listDrivers } from '../../src/driver/inventory.js';
import { Runner } from '../../src/driver/runner.js';
import { runTransfer } from '../../src/driver/transfer.js';
import { buildDump } from '../../src/dump/dump.js';
import { rejection } from '../helpers/fixtures.js';
import { blocks, MiB, qemuInfo, run, sha256, sha256Of, snapshotTags, sparseImage, writeAt } from '../helpers/images.js';
import { tmLabFor } from '../helpers/sshd.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');

// No silent skip: a machine that cannot run sshd fails this file, saying what to install or enable.
const { lab, DS, IMAGES, scratch, at } = await tmLabFor(t);

/** sha256 of the guest-visible content of an image (qcow2 converted to raw). */
function contentSha(file: string): string {
  const raw = join(scratch, `content-${randomBytes(4).toString('hex')}.raw`);
  run('qemu-img', ['convert', '-U', '-O', 'raw', file, raw]);
  const sum = sha256(raw);
  rmSync(raw, { force: true });
  return sum;
}

/** A sparse raw image (see sparseImage) of `size` bytes, a whole number of MiB; returns its content's sha256. */
function sparseImageSha(file: string, size: number, chunks: Array<[offset: number, length: number]>): string {
  return sha256Of(sparseImage(file, size / MiB, chunks));
}

/** Leftover temporary files of the driver in a folder. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.includes('ferry-'));
}

// Host03 is a port nothing listens on. Host04 accepts TCP and never speaks
// ssh (a hung machine): only a timeout ends that. Host05 is host04 without
// ConnectTimeout in ferry.yaml, for the driver's own default.
const silentSockets = new Set<Socket>();
const silent = createServer((socket: Socket) => {
  silentSockets.add(socket);
  socket.on('error', () => undefined);
  socket.on('close', () => silentSockets.delete(socket));
  socket.resume();
});
await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
silent.unref();
t.teardown(() => {
  for (const socket of silentSockets) socket.destroy();
  silent.close();
});
const silentPort = (silent.address() as { port: number }).port;
const host03 = await lab.deadHost();
const host04: HostConfig = { ...host03, port: silentPort, options: { StrictHostKeyChecking: 'yes', ConnectTimeout: 2 } };

const hosts = { ...lab.hosts, host03, host04 };
const env = hostsEnv({ frontend: 'fe', hosts }, lab.root);
const runner = new Runner({ remotes, env });

function tm(action: string, ...args: string[]) {
  return tmOf('ssh', action, ...args);
}

/** An action of a bundled TM driver (ssh, or shared, which reaches its hosts over ssh too) against the lab. */
function tmOf(driver: 'ssh' | 'shared', action: string, ...args: string[]) {
  return runner.run({ kind: 'tm', action, driver, args, timeoutSec: 60 });
}

t.test('the harness gives each host its own folder at the same path', async (t) => {
  t.match(env.FERRY_LOCAL_HOSTS, /(^| )fe( |$)/, 'fe runs locally');
  t.ok(env.FERRY_SSH_CONFIG, 'an ssh_config was written');
  writeFileSync(join(lab.hostDir('host01'), 'whoami'), 'host01\n');
  writeFileSync(join(lab.hostDir('host02'), 'whoami'), 'host02\n');
  writeFileSync(join(lab.mountPoint, 'whoami'), 'fe\n');
  const path = join(lab.mountPoint, 'whoami');
  t.equal(lab.ssh('host01', 'cat', path).stdout, 'host01\n');
  t.equal(lab.ssh('host02', 'cat', path).stdout, 'host02\n');
  t.equal(readFileSync(path, 'utf8'), 'fe\n');
  t.equal(lab.ssh('host01', 'ls', IMAGES).status, 2, 'hosts do not see the front-end image datastore');
});

t.test('the ssh driver implements the whole contract', async (t) => {
  // shellcheck runs on these scripts in test/remotes/shellcheck.test.ts and npm run lint.
  const drivers = await listDrivers(remotes, ['tm']);
  const ssh = drivers.find((d) => d.name === 'ssh');
  t.ok(ssh?.hasManifest, 'has driver.yaml');
  t.same(ssh?.missing, [], 'lacks no action');
  t.same([...(ssh?.actions ?? [])].sort(), [...TM_ACTIONS].sort());
  t.same(ssh?.notExecutable, []);
  t.same(ssh?.extra, [], 'no other executables (the shared code is lib/tm_ssh_common.sh, sourced)');
  const manifest = await runner.manifest(join(remotes, 'tm', 'ssh'));
  t.equal(manifest.api, 1);
  t.equal(manifest.kind, 'tm');
  t.ok(manifest.requires?.includes('ssh') && manifest.requires.includes('qemu-img'));
});

t.test('clone and ln copy the image from the front-end to the host, holes kept', async (t) => {
  const source = join(IMAGES, 'clone-src');
  const imageSha = sparseImageSha(source, 64 * MiB, [[0, MiB], [40 * MiB, MiB]]);
  const disk0 = join(DS, '11', 'disk.0');
  const disk1 = join(DS, '11', 'disk.1');
  const result = await tm('clone', `fe:${source}`, `host01:${disk0}`, '11', '0');
  t.equal(result.stdout, '', 'nothing on stdout');
  t.ok(result.logs.some((log) => log.level === 'info' && log.message.includes('copying')), 'logs what it copies');
  t.equal(sha256(at('host01', disk0)), imageSha, 'same content on host01');
  t.equal(statSync(at('host01', disk0)).size, 64 * MiB);
  t.ok(blocks(at('host01', disk0)) < (4 * MiB) / 512, `sparse on host01 (${blocks(at('host01', disk0))} blocks for 2 MiB of data)`);
  t.notOk(existsSync(at('host02', disk0)), 'not on host02');
  t.notOk(existsSync(at('fe', disk0)), 'not in the front-end system datastore');
  await tm('ln', `fe:${source}`, `host01:${disk1}`, '11', '0');
  t.equal(sha256(at('host01', disk1)), imageSha, 'ln copies too');
  t.same(leftovers(at('host01', join(DS, '11'))), [], 'no temporary files left on the host');
  t.equal(sha256(source), imageSha, 'the source is untouched');
});

t.test('clone onto the front-end itself copies locally, holes kept', async (t) => {
  const source = join(IMAGES, 'clone-local');
  const imageSha = sparseImageSha(source, 32 * MiB, [[MiB, MiB]]);
  const disk = join(DS, '12', 'disk.0');
  await tm('clone', `fe:${source}`, `fe:${disk}`, '12', '0');
  t.equal(sha256(disk), imageSha);
  t.ok(blocks(disk) < (3 * MiB) / 512, 'sparse');
  const againSha = sparseImageSha(source, 32 * MiB, [[2 * MiB, MiB]]);
  await tm('clone', `fe:${source}`, `fe:${disk}`, '12', '0');
  t.equal(sha256(disk), againSha, 'an existing disk is replaced');
  t.same(leftovers(join(DS, '12')), []);
});

t.test('mv moves a disk and a VM folder between hosts', async (t) => {
  const source = join(IMAGES, 'mv-src');
  const imageSha = sparseImageSha(source, 48 * MiB, [[0, MiB], [47 * MiB, MiB]]);
  const vm = join(DS, '13');
  await tm('clone', `fe:${source}`, `host01:${vm}/disk.0`, '13', '0');
  await tm('clone', `fe:${source}`, `host01:${vm}/disk.1`, '13', '0');
  writeFileSync(at('host01', `${vm}/deployment.0`), '<domain/>\n');

  await tm('mv', `host01:${vm}/disk.0`, `host02:${vm}/disk.0`, '13', '0');
  t.notOk(existsSync(at('host01', `${vm}/disk.0`)), 'gone from host01');
  t.equal(sha256(at('host02', `${vm}/disk.0`)), imageSha, 'on host02');
  t.ok(blocks(at('host02', `${vm}/disk.0`)) < (3 * MiB) / 512, 'still sparse');

  await tm('mv', `host01:${vm}`, `host02:${vm}`, '13', '0');
  t.notOk(existsSync(at('host01', vm)), 'folder gone from host01');
  t.same(readdirSync(at('host02', vm)).sort(), ['deployment.0', 'disk.0', 'disk.1'], 'merged into the folder on host02');
  t.equal(sha256(at('host02', `${vm}/disk.1`)), imageSha);
  t.ok(blocks(at('host02', `${vm}/disk.1`)) < (3 * MiB) / 512, 'folder copy keeps holes');

  const same = await tm('mv', `host02:${vm}`, `host02:${vm}`, '13', '0');
  t.ok(same.logs.some((log) => /nothing to move/.test(log.message)), 'same host and path: nothing to do');
  t.equal(sha256(at('host02', `${vm}/disk.0`)), imageSha);

  await tm('mv', `host02:${vm}/disk.1`, `host02:${vm}/disk.9`, '13', '0');
  t.ok(existsSync(at('host02', `${vm}/disk.9`)) && !existsSync(at('host02', `${vm}/disk.1`)), 'renamed on the same host');

  const again = await tm('mv', `host01:${vm}`, `host02:${vm}`, '13', '0');
  t.ok(again.logs.some((log) => /already moved/.test(log.message)), 'a repeated mv finds the work done');
  const missing = await rejection(tm('mv', `host01:${vm}/disk.5`, `host02:${vm}/disk.5`, '13', '0'));
  t.match(missing.message, /does not exist/);
});

t.test('mvds copies a persistent disk back to SOURCE atomically and removes it from the host', async (t) => {
  const source = join(IMAGES, 'mvds-src');
  sparseImageSha(source, 16 * MiB, [[0, MiB]]);
  const disk = join(DS, '14', 'disk.1');
  await tm('ln', `fe:${source}`, `host01:${disk}`, '14', '1');
  const change = randomBytes(4096);
  writeAt(at('host01', disk), 8 * MiB, change);
  const expected = sha256(at('host01', disk));
  await tm('mvds', `host01:${disk}`, `fe:${source}`, '14', '1');
  t.equal(sha256(source), expected, 'SOURCE holds the host copy');
  t.ok(blocks(source) < (3 * MiB) / 512, 'SOURCE stays sparse');
  t.notOk(existsSync(at('host01', disk)), 'removed from the host');
  t.same(leftovers(IMAGES), [], 'no temporary file beside SOURCE');

  const again = await tm('mvds', `host01:${disk}`, source, '14', '1');
  t.ok(again.logs.some((log) => log.level === 'warn' && /is gone and .* is in place/.test(log.message)), 'a repeated mvds (the disk gone, SOURCE there) succeeds with a warning');
  t.equal(sha256(source), expected, 'and leaves SOURCE alone');
  const failed = await rejection(tm('mvds', `host01:${disk}`, join(IMAGES, 'mvds-none'), '14', '1'));
  t.match(failed.message, /neither .* nor .* exists/, 'neither the disk nor SOURCE: an error');
});

t.test('qcow2 snapshots: create, revert, delete, and cpds of a snapshot or the current state', async (t) => {
  const disk = join(DS, '15', 'disk.0');
  const base = join(scratch, 'snap-base.raw');
  const originalSha = sparseImageSha(base, 8 * MiB, [[0, MiB]]);
  mkdirSync(dirname(at('host01', disk)), { recursive: true });
  run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', base, at('host01', disk)]);
  const write = (pattern: number): string => {
    run('qemu-io', ['-f', 'qcow2', '-c', `write -q -P ${pattern} 0 1M`, at('host01', disk)]);
    return contentSha(at('host01', disk));
  };

  await tm('snap_create', `host01:${disk}`, '0', '15', '0');
  const second = write(0xab);
  await tm('snap_create_live', `host01:${disk}`, '1', '15', '0');
  const current = write(0xcd);
  t.same(snapshotTags(at('host01', disk)), ['snap-0', 'snap-1']);
  const exists = await tm('snap_create', `host01:${disk}`, '1', '15', '0');
  t.match(exists.logs, [{ level: 'warn', message: /already has snapshot 1 .*earlier run/ }], 'taking it again (a retry after a kill) succeeds with a warning');
  t.same(snapshotTags(at('host01', disk)), ['snap-0', 'snap-1'], 'and takes no second snapshot');
  t.equal(contentSha(at('host01', disk)), current, 'nor changes the disk');

  await tm('cpds', `host01:${disk}`, `fe:${IMAGES}/saved-0`, '0', '15', '1');
  await tm('cpds', `host01:${disk}`, `fe:${IMAGES}/saved-1`, '1', '15', '1');
  await tm('cpds', `host01:${disk}`, `fe:${IMAGES}/saved-now`, '-1', '15', '1');
  t.equal(qemuInfo(`${IMAGES}/saved-0`).format, 'qcow2');
  t.equal(contentSha(`${IMAGES}/saved-0`), originalSha, 'snapshot 0 saved');
  t.equal(contentSha(`${IMAGES}/saved-1`), second, 'snapshot 1 saved');
  t.equal(contentSha(`${IMAGES}/saved-now`), current, 'current state saved');
  t.equal(contentSha(at('host01', disk)), current, 'the disk itself is left as it was');
  t.same(leftovers(dirname(at('host01', disk))), [], 'the extracted snapshot is removed from the host');
  t.same(leftovers(IMAGES), []);

  // "snap-1", not "1": qemu-img matches a bare number against its own snapshot ids first (id 1 is snapshot 0).
  await tm('snap_revert', `host01:${disk}`, '1', '15', '0');
  t.equal(contentSha(at('host01', disk)), second, 'reverted to snapshot 1');
  await tm('snap_delete', `host01:${disk}`, '0', '15', '0');
  t.same(snapshotTags(at('host01', disk)), ['snap-1']);
  const twice = await tm('snap_delete', `host01:${disk}`, '0', '15', '0');
  t.ok(twice.logs.some((log) => log.level === 'warn' && /no snapshot 0/.test(log.message)), 'deleting again warns');
  t.match((await rejection(tm('snap_revert', `host01:${disk}`, '0', '15', '0'))).message, /snap-0 does not exist/);
  t.match((await rejection(tm('cpds', `host01:${disk}`, `fe:${IMAGES}/never`, '7', '15', '1'))).message, /snap-7 does not exist/);
  t.notOk(existsSync(`${IMAGES}/never`));

  const raw = join(DS, '15', 'disk.2');
  sparseImageSha(at('host01', raw), MiB, [[0, 4096]]);
  const refused = await rejection(tm('snap_create', `host01:${raw}`, '0', '15', '0'));
  t.match(refused.message, /raw.*snapshots need a qcow2 disk/);
});

t.test('snapshot ids are decimal: 010 is snap-10, 08 is snap-8; a non-number is refused', async (t) => {
  const disk = join(DS, '16', 'disk.0');
  mkdirSync(dirname(at('host01', disk)), { recursive: true });
  run('qemu-img', ['create', '-q', '-f', 'qcow2', at('host01', disk), '1M']);
  const write = (pattern: number): string => {
    run('qemu-io', ['-f', 'qcow2', '-c', `write -q -P ${pattern} 0 64k`, at('host01', disk)]);
    return contentSha(at('host01', disk));
  };
  const ten = write(0x10);
  await tm('snap_create', `host01:${disk}`, '010', '16', '0');
  const eight = write(0x08);
  await tm('snap_create', `host01:${disk}`, '08', '16', '0');
  write(0xff);
  t.same(snapshotTags(at('host01', disk)), ['snap-10', 'snap-8'], '010 and 08 are tagged snap-10 and snap-8');
  t.match((await tm('snap_create', `host01:${disk}`, '10', '16', '0')).logs, [{ level: 'warn', message: /already has snapshot 10 \(snap-10\)/ }], '10 is the snapshot 010 took');

  await tm('snap_revert', `host01:${disk}`, '0010', '16', '0');
  t.equal(contentSha(at('host01', disk)), ten, 'revert 0010 restores snap-10');
  await tm('cpds', `host01:${disk}`, `fe:${IMAGES}/saved-08`, '008', '16', '1');
  t.equal(contentSha(`${IMAGES}/saved-08`), eight, 'cpds 008 saves snap-8');
  await tm('snap_delete', `host01:${disk}`, '08', '16', '0');
  t.same(snapshotTags(at('host01', disk)), ['snap-10'], 'delete 08 removes snap-8');

  // ferry refuses these before a driver runs; the script itself, run directly, refuses them too.
  for (const id of ['x', '1.5', '-1']) {
    const refused = spawnSync(join(remotes, 'tm', 'ssh', 'snap_create'), [`host01:${disk}`, id, '16', '0'], { encoding: 'utf8', env: { ...process.env, ...env } });
    t.equal(refused.status, 1, `snap_create ${id} fails`);
    t.match(refused.stderr, `snap_id '${id}' is not a snapshot id`, `snap_create ${id} says why`);
  }
  t.same(snapshotTags(at('host01', disk)), ['snap-10'], 'no snapshot made for a bad id');
});

t.test('tm/shared and tm/ssh ask a host through the same helper: same tags, same unreachable-host message', async (t) => {
  const disk = join(DS, '17', 'disk.0');
  mkdirSync(dirname(at('host01', disk)), { recursive: true });
  run('qemu-img', ['create', '-q', '-f', 'qcow2', at('host01', disk), '1M']);
  await tmOf('shared', 'snap_create', `host01:${disk}`, '010', '17', '0');
  await tmOf('ssh', 'snap_create', `host01:${disk}`, '08', '17', '0');
  t.same(snapshotTags(at('host01', disk)), ['snap-10', 'snap-8'], 'shared and ssh tag ids the same way');
  await tmOf('ssh', 'snap_revert', `host01:${disk}`, '10', '17', '0');
  await tmOf('shared', 'snap_delete', `host01:${disk}`, '8', '17', '0');
  t.same(snapshotTags(at('host01', disk)), ['snap-10'], 'each finds the snapshot the other took');

  const gone = `host03:${DS}/17/disk.0`;
  const shared = await rejection(tmOf('shared', 'snap_create', gone, '0', '17', '0'));
  const ssh = await rejection(tmOf('ssh', 'snap_create', gone, '0', '17', '0'));
  const reason = (message: string) => /Cannot reach host .*/.exec(message)?.[0];
  t.match(reason(shared.message), /^Cannot reach host host03 over ssh \(ssh exit 255\): ssh: connect to host/, 'shared names the host');
  t.equal(reason(shared.message), reason(ssh.message), 'ssh says the same');
});

t.test('mkimage and mkswap create disks on the host', async (t) => {
  const vm = join(DS, '16');
  await tm('mkimage', '64', 'qcow2', `host01:${vm}/disk.0`, '16', '0');
  const info = qemuInfo(at('host01', `${vm}/disk.0`));
  t.equal(info.format, 'qcow2');
  t.equal(info['virtual-size'], 64 * MiB);
  await tm('mkimage', '32', 'raw', `host02:${vm}/disk.1`, '16', '0');
  t.equal(statSync(at('host02', `${vm}/disk.1`)).size, 32 * MiB);
  t.ok(blocks(at('host02', `${vm}/disk.1`)) < 64, 'a raw volatile disk is sparse');
  await tm('mkswap', '16', `host01:${vm}/disk.2`, '16', '0');
  const swap = readFileSync(at('host01', `${vm}/disk.2`));
  t.equal(swap.length, 16 * MiB);
  t.equal(swap.subarray(4096 - 10, 4096).toString('latin1'), 'SWAPSPACE2', 'has a swap signature');
  t.notOk(existsSync(at('fe', `${vm}/disk.0`)), 'nothing made on the front-end');
  const bad = await rejection(tm('mkimage', '8', 'vmdk', `host01:${vm}/disk.3`, '16', '0'));
  t.match(bad.message, /format 'vmdk' is not raw, qcow2 or swap/);
});

t.test('context builds an ISO on the front-end and copies it to the host', async (t) => {
  const files = join(scratch, 'context files');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'context.sh'), 'HOSTNAME="vm17"\n');
  writeFileSync(join(files, 'init script.sh'), '#!/bin/sh\necho hi\n');
  writeFileSync(join(files, 'key'), 'ssh-ed25519 AAAA test\n');
  const iso = join(DS, '17', 'disk.2');
  await tm('context', join(files, 'context.sh'), join(files, 'init script.sh'), `${join(files, 'key')}:'authorized_keys'`, `host02:${iso}`, '17', '0');
  t.ok(existsSync(at('host02', iso)), 'ISO on host02');
  t.notOk(existsSync(at('host01', iso)));
  const out = join(scratch, 'iso-out');
  run('xorriso', ['-osirrox', 'on', '-indev', at('host02', iso), '-extract', '/', out]);
  t.same(readdirSync(out).sort(), ['authorized_keys', 'context.sh', 'init script.sh']);
  t.equal(readFileSync(join(out, 'init script.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
  t.equal(readFileSync(join(out, 'authorized_keys'), 'utf8'), 'ssh-ed25519 AAAA test\n');
  t.match(run('xorriso', ['-indev', at('host02', iso), '-pvd_info']), /Volume Id\s*:\s*CONTEXT/);
  const missing = await rejection(tm('context', join(files, 'nope'), `host02:${iso}`, '17', '0'));
  t.match(missing.message, /nope does not exist on the front-end/);
});

t.test('resize grows raw and qcow2 disks on the host', async (t) => {
  const vm = join(DS, '18');
  await tm('mkimage', '16', 'qcow2', `host01:${vm}/disk.0`, '18', '0');
  await tm('mkimage', '16', 'raw', `host01:${vm}/disk.1`, '18', '0');
  await tm('resize', `host01:${vm}/disk.0`, '48', '18', '0');
  await tm('resize', `host01:${vm}/disk.1`, '40', '18');
  t.equal(qemuInfo(at('host01', `${vm}/disk.0`))['virtual-size'], 48 * MiB);
  t.equal(qemuInfo(at('host01', `${vm}/disk.0`)).format, 'qcow2', 'still qcow2');
  t.equal(statSync(at('host01', `${vm}/disk.1`)).size, 40 * MiB);
  const shrink = await rejection(tm('resize', `host01:${vm}/disk.0`, '8', '18', '0'));
  t.match(shrink.message, /shrink/);
});

t.test('monitor reports the front-end file system holding BASE_PATH', async (t) => {
  const dump = buildDump({ DATASTORE: { ID: 0, NAME: 'system', DS_MAD: 'fs', TM_MAD: 'ssh', TYPE: 1, BASE_PATH: DS } });
  const result = await runner.run({ kind: 'datastore', action: 'monitor', dump, id: 0 });
  t.equal(result.driver, 'ssh', 'routed to the TM of the system datastore');
  const [total, used, free] = run('df', ['-P', '-B1M', '--', lab.mountPoint]).split('\n')[1]?.trim().split(/\s+/).slice(1, 4).map(Number) ?? [];
  t.equal(result.result.totalMb, total);
  t.ok(Math.abs(result.result.usedMb - (used ?? 0)) < 256 && Math.abs(result.result.freeMb - (free ?? 0)) < 256, 'df figures');
  const gone = buildDump({ DATASTORE: { ID: 0, DS_MAD: 'fs', TM_MAD: 'ssh', TYPE: 1, BASE_PATH: join(lab.root, 'nope') } });
  t.match((await rejection(runner.run({ kind: 'datastore', action: 'monitor', dump: gone, id: 0 }))).message, /does not exist on the front-end/);
});

t.test('premigrate, postmigrate and failmigrate succeed and say mv moves the disks', async (t) => {
  const template = Buffer.from('<VM><ID>7</ID></VM>').toString('base64');
  for (const action of ['premigrate', 'postmigrate', 'failmigrate']) {
    const result = await tm(action, 'host01', 'host02', join(DS, '7'), '7', '0', template);
    t.ok(result.logs.some((log) => /moved by mv/.test(log.message)), action);
  }
});

t.test('delete is idempotent and refuses paths outside <ds_path>/<vm_id>', async (t) => {
  const vm = join(DS, '19');
  await tm('mkimage', '1', 'raw', `host01:${vm}/disk.0`, '19', '0');
  await tm('mkimage', '1', 'raw', `host01:${vm}/disk.1`, '19', '0');
  await tm('delete', `host01:${vm}/disk.0`, '19', '0');
  t.notOk(existsSync(at('host01', `${vm}/disk.0`)));
  t.ok(existsSync(at('host01', `${vm}/disk.1`)));
  await tm('delete', `host01:${vm}`, '19', '0');
  t.notOk(existsSync(at('host01', vm)), 'folder deleted');
  const again = await tm('delete', `host01:${vm}`, '19', '0');
  t.ok(again.logs.some((log) => /nothing to delete/.test(log.message)), 'a second delete succeeds');
  mkdirSync(at('host01', join(DS, '3')), { recursive: true });
  for (const path of [DS, join(DS, '20'), `${vm}/../3`, '/19', lab.mountPoint]) {
    const refused = await rejection(tm('delete', `host01:${path}`, '19', '0'));
    t.match(refused.message, /Refusing to delete/, path);
  }
  t.match((await rejection(tm('delete', `host01:${DS}`, '0', '0'))).message, /refusing to delete .*: it holds folder \d+, as a datastore of VM folders does/, 'a datastore is never taken for VM 0\'s folder');
  t.ok(existsSync(at('host01', join(DS, '3'))));
});

t.test('paths with spaces and quotes survive every hop', async (t) => {
  const source = join(IMAGES, "o'neil image 1");
  const imageSha = sparseImageSha(source, 8 * MiB, [[MiB, MiB]]);
  const vm = join(lab.mountPoint, 'my ds', '0', '20');
  await tm('clone', `fe:${source}`, `host01:${vm}/disk 0`, '20', '0');
  t.equal(sha256(at('host01', `${vm}/disk 0`)), imageSha, 'clone');
  await tm('mv', `host01:${vm}`, `host02:${vm}`, '20', '0');
  t.equal(sha256(at('host02', `${vm}/disk 0`)), imageSha, 'mv of the folder');
  await tm('mvds', `host02:${vm}/disk 0`, `fe:${source}`, '20', '1');
  t.equal(sha256(source), imageSha, 'mvds');
  await tm('delete', `host02:${vm}`, '20', '0');
  t.notOk(existsSync(at('host02', vm)), 'delete');
});

t.test('an unreachable host fails fast with a message naming it', async (t) => {
  const source = join(IMAGES, 'clone-src');
  for (const [name, args] of [
    ['clone to host03', ['clone', `fe:${source}`, `host03:${DS}/30/disk.0`, '30', '0']],
    ['mv from host03', ['mv', `host03:${DS}/30/disk.0`, `host01:${DS}/30/disk.0`, '30', '0']],
    ['mv to host03', ['mv', `fe:${source}`, `host03:${DS}/30/disk.0`, '30', '0']],
    ['delete on host03', ['delete', `host03:${DS}/30`, '30', '0']],
    ['mkimage on host03', ['mkimage', '1', 'raw', `host03:${DS}/30/disk.1`, '30', '0']],
  ] as const) {
    const started = Date.now();
    const [action, ...rest] = args;
    const error = await rejection(tm(action, ...rest));
    t.match(error.message, /Cannot reach host host03 over ssh \(ssh exit 255\)/, name);
    t.ok(Date.now() - started < 5000, `${name} failed in ${Date.now() - started} ms`);
  }
  t.ok(existsSync(source), 'mv to an unreachable host keeps the source');

  const hung = Date.now();
  const error = await rejection(tm('clone', `fe:${source}`, `host04:${DS}/30/disk.0`, '30', '0'));
  t.match(error.message, /Cannot reach host host04/);
  t.ok(Date.now() - hung < 8000, `a host that never answers fails after ConnectTimeout (${Date.now() - hung} ms)`);
});

t.test("the spec's example VM: CREATE, STOP, RESUME, MIGRATE host01 -> host02, SHUTDOWN", async (t) => {
  const np = join(IMAGES, 'a1b2c3-nonpersistent');
  const pers = join(IMAGES, 'd4e5f6-persistent');
  const npSha = sparseImageSha(np, 64 * MiB, [[0, MiB], [63 * MiB, MiB]]);
  let persSha = sparseImageSha(pers, 16 * MiB, [[0, 64 * 1024]]);
  const vm = join(DS, '7');
  const transfer = (text: string) => runTransfer(runner, text, { timeoutSec: 60 });
  const places = ['host01', 'fe', 'host02'] as const;
  /** Which places hold the VM folder and each disk; checks the disks' content and holes wherever they are. */
  const expectAt = (where: (typeof places)[number] | undefined, step: string): void => {
    for (const place of places) {
      const folder = at(place, vm);
      if (place !== where) {
        t.notOk(existsSync(folder), `${step}: nothing of VM 7 on ${place}`);
        continue;
      }
      t.same(readdirSync(folder).sort(), ['deployment.0', 'disk.0', 'disk.1'], `${step}: VM 7 on ${place}`);
      t.equal(sha256(join(folder, 'disk.0')), npSha, `${step}: disk.0 content on ${place}`);
      t.ok(blocks(join(folder, 'disk.0')) < (3 * MiB) / 512, `${step}: disk.0 sparse on ${place}`);
      t.equal(sha256(join(folder, 'disk.1')), persSha, `${step}: disk.1 content on ${place}`);
    }
  };
  /** A guest write to the persistent disk on `place`. */
  const guestWrite = (place: (typeof places)[number], offset: number): void => {
    writeAt(at(place, `${vm}/disk.1`), offset, randomBytes(8192));
    persSha = sha256(at(place, `${vm}/disk.1`));
  };

  const create = await transfer(`
    # CREATE
    CLONE ssh fe:${np} host01:${vm}/disk.0 7 0
    LN    ssh fe:${pers} host01:${vm}/disk.1 7 0
  `);
  t.equal(create.results.length, 2);
  // The hypervisor driver writes its deployment file into the VM folder.
  writeFileSync(at('host01', `${vm}/deployment.0`), '<domain type="kvm"/>\n');
  expectAt('host01', 'CREATE');
  guestWrite('host01', MiB);

  // STOP, RESUME and MIGRATE each move both disks, then the VM folder; a running VM (not a stopped one) writes disk.1.
  for (const [step, from, to, writeOffset] of [
    ['STOP', 'host01', 'fe', undefined],
    ['RESUME', 'fe', 'host01', 2 * MiB],
    ['MIGRATE', 'host01', 'host02', 3 * MiB],
  ] as const) {
    await transfer(`
    # ${step}
    MV ssh ${from}:${vm}/disk.0 ${to}:${vm}/disk.0 7 0
    MV ssh ${from}:${vm}/disk.1 ${to}:${vm}/disk.1 7 0
    MV ssh ${from}:${vm} ${to}:${vm} 7 0
  `);
    expectAt(to, step);
    if (writeOffset !== undefined) guestWrite(to, writeOffset);
  }
  t.not(persSha, sha256(pers), 'the persistent image changed on the host only');

  const shutdown = await transfer(`
    # SHUTDOWN
    DELETE ssh host02:${vm}/disk.0 7 0
    MVDS   ssh host02:${vm}/disk.1 ${pers} 7 1
    DELETE ssh host02:${vm} 7 0
  `);
  t.equal(shutdown.results.length, 3);
  expectAt(undefined, 'SHUTDOWN');
  t.equal(sha256(pers), persSha, 'SOURCE of the persistent image holds every write made on the hosts');
  t.equal(sha256(np), npSha, 'the non-persistent image is unchanged');
  t.same(leftovers(IMAGES), [], 'no temporary files in the image datastore');

  const again = await transfer(`DELETE ssh host02:${vm} 7 0\nDELETE ssh host02:${vm} 7 0`);
  t.equal(again.results.length, 2, 'delete twice succeeds');
});
