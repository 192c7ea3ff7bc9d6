/**
 * A VM's whole storage life on a ferry catalog, run by OpenNebula's own
 * drivers, unmodified: its fs datastore driver and its shared (qcow2) and
 * ssh transfer managers, over real sshd hosts on loopback (fe, host01,
 * host02). Every step goes through the ferry CLI with --json, and the files
 * each step leaves on the hosts are checked. A shared datastore lives
 * outside the lab's per-host mount point (so every host sees the same
 * files, as over NFS); the ssh system datastore lives under it (each host
 * has its own).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { FERRY_BIN, oneRoot } from '../helpers/one-lab.js';
import { sshLabFor } from '../helpers/sshd.js';

const lab = await sshLabFor(t, ['fe', 'host01', 'host02']);
/** Datastores every host shares (outside the per-host mount point). */
const SHARED = join(lab.root, 'shared');

interface Ferry {
  /** Runs ferry with --json; the envelope and the exit status. */
  run(...args: string[]): { status: number | null; json: Record<string, any>; stderr: string };
  /** Runs ferry with --json and returns `result`, failing the test when ferry fails. */
  ok(...args: string[]): any;
}

function ferryIn(t: Test, remotes: string): Ferry {
  const work = join(lab.root, `work-${Math.random().toString(16).slice(2)}`);
  mkdirSync(work);
  // ferry.yaml as an operator writes it: the frontend's name and the ssh hosts (YAML takes JSON).
  writeFileSync(join(work, 'ferry.yaml'), JSON.stringify({ frontend: 'fe', hosts: lab.hosts, remotes }));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [FERRY_BIN, '--json', ...args], { cwd: work, env: { ...process.env, FERRY_HOME: join(work, 'home') }, encoding: 'utf8' });
    let json: Record<string, any> = {};
    try {
      json = JSON.parse(r.stdout) as Record<string, any>;
    } catch {
      json = { unparsed: r.stdout };
    }
    return { status: r.status, json, stderr: r.stderr };
  };
  return {
    run,
    ok(...args) {
      const r = run(...args);
      t.equal(r.status, 0, `ferry ${args.join(' ')}`, r.status === 0 ? {} : { json: r.json, stderr: r.stderr });
      return r.json.result;
    },
  };
}

/** Where `path` (as every host names it) lives on `host`, as the test sees it. */
function on(host: string, path: string): string {
  return path.startsWith(`${lab.mountPoint}/`) ? join(lab.hostDir(host), relative(lab.mountPoint, path)) : path;
}

function qemuInfo(path: string): { format: string; 'virtual-size': number; 'backing-filename'?: string; 'full-backing-filename'?: string } {
  return JSON.parse(execFileSync('qemu-img', ['info', '--output', 'json', '-U', path]).toString());
}

/** The two bytes of an ext2/3/4 superblock magic (0xEF53 at 1080). */
function isExt(path: string): boolean {
  const fd = openSync(path, 'r');
  const magic = Buffer.alloc(2);
  readSync(fd, magic, 0, 2, 1080);
  closeSync(fd);
  return magic.readUInt16LE(0) === 0xef53;
}

t.test("a VM's life with OpenNebula's fs and shared (qcow2) drivers", async (t) => {
  const one = oneRoot(t);
  const ferry = ferryIn(t, one.remotes);
  const files = join(lab.root, 'files-shared');
  mkdirSync(files);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(files, 'base.qcow2'), '32M']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(files, 'tools.raw'), '12M']);
  mkdirSync(join(SHARED, '1'), { recursive: true });
  mkdirSync(join(SHARED, '2'), { recursive: true });

  // OpenNebula's drivers name a datastore's folder by its id: BASE_PATH ends with it.
  t.match(ferry.ok('datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', join(SHARED, '1')), { id: 1 });
  t.match(ferry.ok('datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'shared', '--base-path', join(SHARED, '2')), { id: 2 });
  for (const host of ['host01', 'host02']) {
    const h = lab.hosts[host]!;
    ferry.ok('host', 'create', host, '--ssh', h.address!, '--port', String(h.port), '--user', 'root', '--identity', h.identity!, '--known-hosts', h.known_hosts!);
  }

  const base = ferry.ok('image', 'create', '--datastore', 'images', '--path', join(files, 'base.qcow2'), '--name', 'base');
  t.match(base, { state: 'READY', format: 'qcow2', sizeMb: 32 }, 'a qcow2 file: its format from cp, its size from stat (as oned does before cp)');
  t.match(base.source, new RegExp(`^${join(SHARED, '1')}/[0-9a-f]{32}$`));
  t.equal(qemuInfo(base.source).format, 'qcow2');
  const tools = ferry.ok('image', 'create', '--datastore', 'images', '--path', join(files, 'tools.raw'), '--name', 'tools');
  t.match(tools, { state: 'READY', format: 'raw', sizeMb: 12 }, 'a raw file');
  const data = ferry.ok('image', 'create', '--datastore', 'images', '--size', '8', '--name', 'data', '--persistent');
  t.match(data, { state: 'READY', sizeMb: 8, persistent: true }, 'an empty image: mkfs prints only the source, the size is the one asked for');
  t.equal(statSync(data.source).size, 8 * 1024 * 1024, 'a raw 8 MB file (FORMAT raw in the dump, as oned gives it)');
  const scratch = ferry.ok('image', 'create', '--datastore', 'images', '--size', '16', '--fs', 'ext4', '--name', 'scratch');
  t.ok(isExt(scratch.source), 'an empty image with --fs ext4 holds an ext4 file system (IMAGE/FS in the dump)');

  const vm = ferry.ok('vm', 'create', '--name', 'vm01', '--host', 'host01', '--system-ds', 'system', '--disk', 'base', '--disk', 'tools', '--disk', 'data');
  t.match(vm, { id: 1, state: 'RUNNING', host: 'host01' });
  const dir = join(SHARED, '2', '1');
  const disk0 = qemuInfo(join(dir, 'disk.0'));
  t.equal(disk0.format, 'qcow2', 'clone of a qcow2 image: an overlay');
  t.equal(disk0['full-backing-filename'] ?? disk0['backing-filename'], base.source, 'backed by the image');
  t.ok(readFileSync(join(dir, 'disk.1')).equals(readFileSync(tools.source)), 'clone of a raw image: a copy');
  t.equal(readlinkSync(join(dir, 'disk.2')), data.source, 'the persistent raw image: linked');
  t.match(ferry.ok('image', 'show', 'base'), { state: 'USED' });

  // Disk snapshots, offline: qcow2 keeps them as overlays in disk.0.snap.
  t.match(ferry.ok('vm', 'disk-snapshot', 'create', 'vm01', '0'), { disks: [{ snapshots: [0] }] });
  t.match(ferry.ok('vm', 'disk-snapshot', 'create', 'vm01', '0'), { disks: [{ snapshots: [0, 1] }] });
  t.ok(existsSync(join(dir, 'disk.0.snap', '1')) && existsSync(join(dir, 'disk.0.snap', '2')), 'one overlay per snapshot');
  t.ok(lstatSync(join(dir, 'disk.0')).isSymbolicLink(), 'disk.0 points at the newest');
  ferry.ok('vm', 'disk-snapshot', 'revert', 'vm01', '0', '0');
  // qcow2's snap_delete sources etc/vmm/kvm/kvmrc, which the import provides (ferry's, empty) when the sources lack it.
  t.match(ferry.ok('vm', 'disk-snapshot', 'delete', 'vm01', '0', '1'), { state: 'RUNNING', disks: [{ snapshots: [0] }] }, 'snapshot 1 deleted');
  // Without the file the load guard stops it, saying what is missing, and recover rolls the VM back.
  const kvmrc = join(one.remotes, 'etc', 'vmm', 'kvm', 'kvmrc');
  renameSync(kvmrc, `${kvmrc}.away`);
  ferry.ok('vm', 'disk-snapshot', 'create', 'vm01', '0');
  const deleted = ferry.run('vm', 'disk-snapshot', 'delete', 'vm01', '0', '0');
  renameSync(`${kvmrc}.away`, kvmrc);
  t.equal(deleted.status, 1, 'snap_delete without kvmrc fails');
  t.match(deleted.json.error?.message, /could not load .*etc\/vmm\/kvm\/kvmrc/, 'saying what is missing');
  t.match(ferry.ok('vm', 'recover', 'vm01', '--failure'), { state: 'RUNNING', disks: [{ snapshots: [0, 2] }] }, 'rolled back: the snapshots stay');

  t.match(ferry.ok('vm', 'stop', 'vm01'), { state: 'STOPPED' });
  t.ok(existsSync(join(dir, 'disk.0')), 'shared storage: stop leaves the files where they are');
  t.match(ferry.ok('vm', 'resume', 'vm01'), { state: 'RUNNING', host: 'host01' });
  t.match(ferry.ok('vm', 'migrate', 'vm01', 'host02'), { state: 'RUNNING', host: 'host02' });
  t.equal(qemuInfo(join(dir, 'disk.1')).format, 'raw', 'the disks are still there for host02');

  t.match(ferry.ok('vm', 'terminate', 'vm01'), { state: 'DONE' });
  t.notOk(existsSync(dir), 'the VM folder is gone');
  t.ok(existsSync(data.source), 'the persistent image stays');
  for (const name of ['base', 'tools', 'data', 'scratch']) t.match(ferry.ok('image', 'show', name), { state: 'READY' }, `${name} READY again`);
  for (const image of [base, tools, data, scratch]) {
    ferry.ok('image', 'delete', image.name);
    t.notOk(existsSync(image.source), `${image.name}: its file is gone (OpenNebula's rm)`);
  }
  for (const ds of ['images', 'system']) t.match(ferry.ok('datastore', 'check', ds), { unowned: [], missing: [] }, `${ds}: nothing left behind`);
});
