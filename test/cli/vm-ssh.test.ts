/**
 * The catalog commands end to end with the ssh transfer manager against real
 * ssh hosts (test/helpers/sshd.ts): the spec's example VM (CREATE, STOP,
 * RESUME, MIGRATE host01 -> host02, SHUTDOWN) through `ferry host|datastore|
 * image|vm`, with the files on every host and the catalog checked after each
 * step; then a host whose sshd cannot be reached: the VM goes FAILED at the
 * step that touched it, nothing is lost, and recover --failure / --retry
 * (once the sshd answers again) bring it back to a consistent state.
 *
 * The test process is the front-end `fe`: it holds the image datastore and
 * stopped VMs; each host has its own folder at the same path (lab.mountPoint),
 * read here through lab.hostDir(name).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { ferryIn } from '../helpers/catalog-world.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { tmpDir } from '../helpers/fixtures.js';
import { MiB, qemuInfo, run, sha256, sparseImage } from '../helpers/images.js';
import { sshLabFor } from '../helpers/sshd.js';
import { bundledRemotes } from './helpers.js';

// No silent skip: a machine that cannot run sshd fails this file, saying what to install or enable.
const lab = await sshLabFor(t, ['host01', 'host02', 'host03']);
// About a minute on an idle 2-core machine (each ssh copy is a few ssh sessions); room for a busy one.
t.setTimeout(240_000);

type Place = 'fe' | 'host01' | 'host02' | 'host03';

/** Where `path` (as every machine names it) lives on `place`, seen from the front-end. */
function at(place: Place, path: string): string {
  return place === 'fe' ? path : join(lab.hostDir(place), relative(lab.mountPoint, path));
}

/** Runs a shell command line on a lab host over ssh (as the guest or an operator would act there). */
function onHost(place: Exclude<Place, 'fe'>, command: string): string {
  const result = lab.ssh(place, command);
  if (result.status !== 0) throw new Error(`on ${place}: ${command} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** `length` bytes of a file at `offset`. */
function bytesAt(path: string, offset: number, length: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return buffer.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** Temporary files the ssh driver leaves when a copy goes wrong (.ferry-recv.*, ferry-*). */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.includes('ferry-'));
}

interface World {
  root: string;
  /** Image datastore BASE_PATH: only the front-end has it. */
  images: string;
  /** System datastore BASE_PATH: every machine has its own. */
  system: string;
  cli(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }>;
  json(argv: string[]): Promise<Record<string, any>>;
}

/**
 * A catalog under a temp FERRY_HOME, the bundled remotes, a ferry.yaml that
 * only names the front-end, and datastores under the lab's shared path in a
 * folder of their own (`tag`), so the tests never see each other's VM folders.
 */
function world(t: Test, tag: string): World {
  const root = tmpDir(t, 'ferry-vm-ssh-');
  const images = join(lab.mountPoint, tag, 'images');
  const system = join(lab.mountPoint, tag, 'system');
  // The front-end's own folders; the hosts' system folder is made by the driver when it first copies there.
  mkdirSync(images, { recursive: true });
  mkdirSync(system, { recursive: true });
  t.teardown(() => rmSync(join(lab.mountPoint, tag), { recursive: true, force: true }));
  return { root, images, system, ...ferryIn(root, bundledRemotes, join(root, 'home')) };
}

/** `ferry host create NAME --ssh ...` from a lab host's settings (port, user, key, known_hosts). */
async function addSshHost(w: World, name: string, port: number, knownHosts: string): Promise<Record<string, any>> {
  const settings = lab.hosts.host01;
  if (!settings?.identity || !settings.user) throw new Error('the lab gave no identity/user for host01');
  return w.json(['host', 'create', name, '--ssh', '127.0.0.1', '--port', String(port), '--user', settings.user, '--identity', settings.identity, '--known-hosts', knownHosts]);
}

function labPort(name: Place): number {
  const port = lab.hosts[name]?.port;
  if (port === undefined) throw new Error(`the lab has no port for ${name}`);
  return port;
}

function labKnownHosts(): string {
  const file = lab.hosts.host01?.known_hosts;
  if (!file) throw new Error('the lab gave no known_hosts');
  return file;
}

interface Staged {
  base: Record<string, any>;
  data: Record<string, any>;
  /** sha256 of the base image's SOURCE (a qcow2 file) as registered. */
  baseSha: string;
  /** sha256 of the persistent image's SOURCE (raw) as registered. */
  dataSha: string;
}

/**
 * The two datastores (fs + ssh, and a SYSTEM one on ssh), a qcow2 base image
 * made with qemu-img (with data written into it) and a persistent raw image.
 */
async function stage(t: Test, w: World): Promise<Staged> {
  const imagesDs = await w.json(['datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'ssh', '--base-path', w.images]);
  t.equal(imagesDs.tmMad, 'ssh', 'image datastore: fs with the ssh TM');
  const systemDs = await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'ssh', '--base-path', w.system]);
  // The ssh TM monitors the front-end's file system holding BASE_PATH.
  t.ok(systemDs.totalMb > 0 && systemDs.freeMb > 0, `system datastore monitored through tm/ssh (total ${systemDs.totalMb} MB)`);

  const baseFile = join(w.root, 'base.qcow2');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', baseFile, '32M']);
  run('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x5a 0 1M', baseFile]);
  const base = await w.json(['image', 'create', '--datastore', 'images', '--path', baseFile, '--name', 'base']);
  t.equal(base.state, 'READY', 'base image registered');
  t.ok(String(base.source).startsWith(`${w.images}/`), 'its SOURCE is in the image datastore on the front-end');
  t.equal(qemuInfo(base.source).format, 'qcow2', 'as the qcow2 file qemu-img made');

  const dataFile = join(w.root, 'data.raw');
  sparseImage(dataFile, 16, [[0, 64 * 1024]]);
  const data = await w.json(['image', 'create', '--datastore', 'images', '--path', dataFile, '--name', 'data', '--persistent']);
  t.equal(data.state, 'READY', 'persistent image registered');
  t.equal(data.persistent, true, 'and persistent');
  return { base, data, baseSha: sha256(base.source), dataSha: sha256(data.source) };
}

function vmYaml(w: World, name: string, host: string): string {
  const file = join(w.root, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nhost: ${host}\nsystem_datastore: system\ndisks:\n  - image: base\n  - image: data\n  - volatile: 4\n    format: qcow2\n`);
  return file;
}

/** The guest writes `text` at `offset` of the persistent disk, on the host it runs on. */
function guestWrite(host: Exclude<Place, 'fe'>, disk: string, offset: number, text: string): void {
  onHost(host, `printf '%s' '${text}' | dd of='${disk}' bs=1 seek=${offset} conv=notrunc status=none`);
}

t.test("the spec's example VM over ssh: CREATE, STOP, RESUME, MIGRATE host01 -> host02, SHUTDOWN", async (t) => {
  const w = world(t, 'lifecycle');
  const knownHosts = labKnownHosts();
  for (const name of ['host01', 'host02'] as const) {
    const host = await addSshHost(w, name, labPort(name), knownHosts);
    t.match(host, { name, transport: 'ssh', address: '127.0.0.1', port: labPort(name), user: 'root', knownHosts }, `${name} in the catalog as an ssh host`);
  }
  const { base, data, baseSha, dataSha } = await stage(t, w);
  // The ssh TM keeps a system datastore per host: measured on each (over ssh), the tightest host's figures its own.
  await w.json(['datastore', 'monitor', 'system']);
  const catalog = Catalog.open(join(w.root, 'home', 'catalog.db'));
  const system = catalog.datastore('system');
  const latest = catalog.latestSamples(system.id);
  catalog.close();
  t.ok(['used_mb', 'free_mb', 'total_mb'].every((attribute) => `${attribute}@host01` in latest && `${attribute}@host02` in latest), 'the ssh system datastore measured on host01 and on host02');
  t.equal(system.freeMb, Math.min(latest['free_mb@host01']?.value ?? NaN, latest['free_mb@host02']?.value ?? NaN), 'its free space is its tightest host\'s');

  const file = vmYaml(w, 'vm01', 'host01');
  const plan = await w.json(['vm', 'create', file, '--dry-run']);
  const folder = join(w.system, '1');
  t.same(
    plan.plan.map((step: any) => step.line),
    [
      `CLONE ssh fe:${base.source} host01:${folder}/disk.0 1 1`,
      `LN ssh fe:${data.source} host01:${folder}/disk.1 1 1`,
      `MKIMAGE ssh 4 qcow2 host01:${folder}/disk.2 1 2`,
    ],
    "dry run: the spec's CREATE lines with the ssh TM, plus the volatile disk on the system datastore's TM",
  );
  t.notOk(existsSync(at('host01', folder)), 'a dry run copies nothing');

  // What each machine should hold after a step; disk contents are tracked as the guest changes them.
  let disk0Sha = baseSha;
  let disk1Sha = dataSha;
  const places = ['fe', 'host01', 'host02'] as const;
  const expectFiles = (where: (typeof places)[number] | undefined, step: string): void => {
    for (const place of places) {
      const dir = at(place, folder);
      if (place !== where) {
        t.notOk(existsSync(dir), `${step}: no folder of VM 1 on ${place}`);
        continue;
      }
      t.same(readdirSync(dir).sort(), ['disk.0', 'disk.1', 'disk.2'], `${step}: VM 1's disks on ${place}, no temporary files`);
      const disk0 = qemuInfo(join(dir, 'disk.0'));
      t.equal(disk0.format, 'qcow2', `${step}: disk.0 on ${place} is qcow2`);
      t.equal(disk0['backing-filename'], undefined, `${step}: a full copy, no backing file on the image datastore (hosts cannot see it)`);
      t.equal(sha256(join(dir, 'disk.0')), disk0Sha, `${step}: disk.0 content on ${place}`);
      t.equal(sha256(join(dir, 'disk.1')), disk1Sha, `${step}: disk.1 (persistent) content on ${place}`);
      const disk2 = qemuInfo(join(dir, 'disk.2'));
      t.match(disk2, { format: 'qcow2', 'virtual-size': 4 * MiB }, `${step}: volatile disk.2 on ${place}`);
    }
  };
  const expectCatalog = async (step: string, vmState: string, host: string, images: string): Promise<Record<string, any>> => {
    const vm = await w.json(['vm', 'show', 'vm01']);
    t.match(vm, { id: 1, state: vmState, host, operation: null, plan: null, step: null, error: null }, `${step}: vm show says ${vmState} on ${host}`);
    for (const name of ['base', 'data']) t.equal((await w.json(['image', 'show', name])).state, images, `${step}: image ${name} is ${images}`);
    return vm;
  };

  // CREATE
  const created = await w.json(['vm', 'create', file]);
  t.match(created, { id: 1, name: 'vm01', state: 'RUNNING', host: 'host01' }, 'create: RUNNING on host01');
  t.same(
    created.disks.map((disk: any) => disk.target),
    [0, 1, 2].map((i) => `${folder}/disk.${i}`),
    'the disks are <system BASE_PATH>/<vm id>/disk.<i>',
  );
  expectFiles('host01', 'CREATE');
  await expectCatalog('CREATE', 'RUNNING', 'host01', 'USED');
  t.notOk(existsSync(at('host01', w.images)), 'host01 never sees the image datastore: the disks were copied over ssh');
  t.notOk(existsSync(at('host02', w.system)), 'host02 got nothing');

  // The running guest writes both its disks on host01: qcow2 through qemu-io, the raw persistent one with dd.
  const disk0 = `${folder}/disk.0`;
  const disk1 = `${folder}/disk.1`;
  onHost('host01', `qemu-io -f qcow2 -c 'write -q -P 0xcd 2M 64k' '${disk0}'`);
  guestWrite('host01', disk1, MiB, 'written on host01');
  disk0Sha = sha256(at('host01', disk0));
  disk1Sha = sha256(at('host01', disk1));
  t.not(disk0Sha, baseSha, 'the guest changed its copy of the base image');

  // STOP: disks and folder go to the front-end.
  t.equal((await w.json(['vm', 'stop', 'vm01'])).state, 'STOPPED', 'stop: STOPPED');
  expectFiles('fe', 'STOP');
  await expectCatalog('STOP', 'STOPPED', 'host01', 'USED');

  // RESUME: back to host01, where the guest writes again.
  t.equal((await w.json(['vm', 'resume', 'vm01'])).state, 'RUNNING', 'resume: RUNNING');
  expectFiles('host01', 'RESUME');
  await expectCatalog('RESUME', 'RUNNING', 'host01', 'USED');
  guestWrite('host01', disk1, 2 * MiB, 'host01 after resume');
  disk1Sha = sha256(at('host01', disk1));

  // MIGRATE host01 -> host02: a host-to-host copy through the front-end.
  t.match(await w.json(['vm', 'migrate', 'vm01', 'host02']), { state: 'RUNNING', host: 'host02' }, 'migrate: RUNNING on host02');
  expectFiles('host02', 'MIGRATE');
  await expectCatalog('MIGRATE', 'RUNNING', 'host02', 'USED');
  t.same(readdirSync(at('host01', w.system)), [], 'host01 keeps no VM folder after the migrate');
  guestWrite('host02', disk1, 3 * MiB, 'written on host02');
  disk1Sha = sha256(at('host02', disk1));

  // SHUTDOWN: disk.0 and disk.2 deleted, disk.1 back over the persistent image's SOURCE (mvds), folder deleted.
  t.equal((await w.json(['vm', 'shutdown', 'vm01'])).state, 'DONE', 'shutdown: DONE');
  expectFiles(undefined, 'SHUTDOWN');
  const done = await w.json(['vm', 'show', 'vm01']);
  t.match(done, { state: 'DONE', host: 'host02', operation: null, error: null }, 'SHUTDOWN: vm show says DONE');
  const dataAfter = await w.json(['image', 'show', 'data']);
  t.match(dataAfter, { state: 'READY', source: data.source }, 'the persistent image is READY again, SOURCE unchanged');
  t.equal((await w.json(['image', 'show', 'base'])).state, 'READY', 'the base image is READY again');
  t.equal(sha256(data.source), disk1Sha, "the persistent image's SOURCE on the front-end is the disk as the guest left it on host02");
  t.equal(bytesAt(data.source, MiB, 17), 'written on host01', 'with the write made on host01');
  t.equal(bytesAt(data.source, 2 * MiB, 19), 'host01 after resume', 'the write made after resume');
  t.equal(bytesAt(data.source, 3 * MiB, 17), 'written on host02', 'and the one made on host02');
  t.equal(sha256(base.source), baseSha, 'the non-persistent base image is untouched');
  t.same(readdirSync(w.images).filter((name) => name !== '.ferry-datastore.json').sort(), [base.source, data.source].map((source: string) => relative(w.images, source)).sort(), 'the image datastore holds the two images (and its owner marker), no temporary files');

  const vm = await w.json(['vm', 'show', 'vm01', '--journal']);
  t.same(
    vm.journal.map((entry: any) => `${entry.operation}:${entry.action}`),
    ['create:clone', 'create:ln', 'create:mkimage', 'stop:mv', 'stop:mv', 'stop:mv', 'stop:mv', 'resume:mv', 'resume:mv', 'resume:mv', 'resume:mv', 'migrate:mv', 'migrate:mv', 'migrate:mv', 'migrate:mv', 'shutdown:delete', 'shutdown:mvds', 'shutdown:delete', 'shutdown:delete'],
    'the journal holds every action in order',
  );
  t.ok(vm.journal.every((entry: any) => entry.ok && entry.exitCode === 0 && entry.driver === 'ssh'), 'all ran with tm/ssh and succeeded');
});

t.test('an unreachable host: the VM goes FAILED at that step, nothing is lost; recover --failure, then --retry once sshd answers', async (t) => {
  const w = world(t, 'unreachable');
  // host03 is recorded at a loopback port nothing listens on (its sshd is down). known_hosts already
  // has that port with the lab's host key, so once a sshd answers there ssh trusts it.
  const dead = await lab.deadHost();
  const deadPort = dead.port as number;
  const labKnown = readFileSync(labKnownHosts(), 'utf8');
  const hostKey = labKnown.split('\n')[0]?.split(' ').slice(1).join(' ');
  const knownHosts = join(w.root, 'known_hosts');
  writeFileSync(knownHosts, `${labKnown}[127.0.0.1]:${deadPort} ${hostKey}\n`, { mode: 0o600 });
  await addSshHost(w, 'host01', labPort('host01'), knownHosts);
  await addSshHost(w, 'host03', deadPort, knownHosts);
  // host03's sshd "coming back" at the address the catalog has: a relay from the dead port to the lab's third sshd.
  const host03 = relay(t, deadPort, labPort('host03'));
  const { data, dataSha } = await stage(t, w);
  const created = await w.json(['vm', 'create', vmYaml(w, 'vm02', 'host01')]);
  t.match(created, { id: 1, state: 'RUNNING', host: 'host01' }, 'vm02 RUNNING on host01');
  const folder = join(w.system, '1');
  guestWrite('host01', `${folder}/disk.1`, MiB, 'before the failures');
  const disksOn = (place: Place): Record<string, string> => Object.fromEntries(['disk.0', 'disk.1', 'disk.2'].map((disk) => [disk, sha256(at(place, join(folder, disk)))]));
  const disks = disksOn('host01');

  /** A migrate from -> to with host03 down fails at its first step, naming host03 and the step; `from` still has everything. */
  const failedMigrate = async (what: string, from: 'host01' | 'host03', to: 'host01' | 'host03'): Promise<void> => {
    const started = Date.now();
    const failed = await w.cli(['vm', 'migrate', 'vm02', to]);
    t.equal(failed.status, 1, `${what}: the driver failure is exit 1`);
    t.ok(Date.now() - started < 20_000, `${what}: failed in ${Date.now() - started} ms, not at a timeout`);
    // Whichever end of the host-to-host copy is down, the message names host03, never the reachable host01.
    t.match(failed.stderr, /Cannot reach host host03 over ssh \(ssh exit 255\): ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused/, `${what}: with the driver's message`);
    t.notMatch(failed.stderr, /Cannot reach host host01/, `${what}: not blaming host01`);
    const vm = await w.json(['vm', 'show', 'vm02']);
    t.match(vm, { state: 'FAILED', host: from, operation: 'migrate', step: 0, targetHost: to }, `${what}: FAILED at step 1, still on ${from}`);
    t.match(
      vm.error,
      new RegExp(`^migrate step 1/4 \\(MV ssh ${from}:${folder}/disk\\.0 ${to}:${folder}/disk\\.0 1 1\\): .*Cannot reach host host03 over ssh`, 's'),
      `${what}: the error names the step and the driver's message`,
    );
    t.same(disksOn(from), disks, `${what}: every disk still on ${from}, unchanged`);
    t.notOk(existsSync(at('fe', folder)) || existsSync(at(to, folder)), `${what}: nothing half-copied elsewhere`);
    t.same(leftovers(at(from, folder)), [], `${what}: no temporary files on ${from}`);
    t.equal((await w.json(['image', 'show', 'data'])).state, 'USED', `${what}: the persistent image stays claimed`);
  };

  // host03 down as the destination.
  await failedMigrate('migrate to host03', 'host01', 'host03');
  const busy = await w.cli(['vm', 'stop', 'vm02']);
  t.equal(busy.status, 2, 'a FAILED VM refuses other operations');
  t.match(busy.stderr, /recover/, 'and says how to recover');
  const shown = await w.cli(['vm', 'show', 'vm02']);
  t.match(shown.stdout, /FAILED[\s\S]*migrate: 0 of 4 steps done; next:\n\s+MV ssh host01:\S+ host03:\S+[\s\S]*ferry vm recover 1 --retry \| --success \| --failure/, 'vm show lists what is left and the way out');

  // Roll back: no step succeeded, so nothing runs and the VM is RUNNING on host01 again.
  t.same((await w.json(['vm', 'recover', 'vm02', '--failure', '--dry-run'])).plan, [], '--failure --dry-run: nothing to undo');
  t.match(await w.json(['vm', 'recover', 'vm02', '--failure']), { state: 'RUNNING', host: 'host01', operation: null, error: null }, '--failure: back to RUNNING on host01');
  t.same(disksOn('host01'), disks, 'the disks on host01 are as they were');

  // Again, then host03's sshd answers and --retry finishes the migrate.
  await failedMigrate('migrate to host03 again', 'host01', 'host03');
  await host03.start();
  t.match(await w.json(['vm', 'recover', 'vm02', '--retry']), { state: 'RUNNING', host: 'host03', operation: null, error: null, targetHost: null }, '--retry finishes the migrate: RUNNING on host03');
  t.notOk(existsSync(at('host01', folder)), 'nothing left on host01');
  t.same(readdirSync(at('host03', folder)).sort(), ['disk.0', 'disk.1', 'disk.2'], 'VM 1 is on host03');
  t.same(disksOn('host03'), disks, 'every disk arrived unchanged');

  // host03 goes down while the VM runs there: now the sending end of the migrate is the one that cannot be reached.
  await host03.stop();
  await failedMigrate('migrate from host03', 'host03', 'host01');
  await host03.start();
  t.match(await w.json(['vm', 'recover', 'vm02', '--retry']), { state: 'RUNNING', host: 'host01', operation: null, error: null }, '--retry once host03 is back: RUNNING on host01');
  t.notOk(existsSync(at('host03', folder)), 'nothing left on host03');
  t.same(disksOn('host01'), disks, 'every disk back on host01, unchanged');

  const journal = (await w.json(['vm', 'show', 'vm02', '--journal'])).journal as Array<Record<string, any>>;
  t.same(
    journal.filter((entry) => entry.operation === 'migrate').map((entry) => `${entry.ok ? 'ok' : 'FAIL'}:${entry.step}`),
    ['FAIL:0', 'FAIL:0', 'ok:0', 'ok:1', 'ok:2', 'ok:3', 'FAIL:0', 'ok:0', 'ok:1', 'ok:2', 'ok:3'],
    'the journal: each failed first step, and each finished migrate ran every step once',
  );

  // Consistent again: a shutdown brings the guest's write back to the persistent image.
  t.equal((await w.json(['vm', 'shutdown', 'vm02'])).state, 'DONE', 'shutdown: DONE');
  t.notOk(existsSync(at('host01', folder)), 'shutdown removed the VM folder from host01');
  t.equal(bytesAt(data.source, MiB, 19), 'before the failures', 'the write made on host01 reached SOURCE through every failure');
  t.equal(sha256(data.source), disks['disk.1'], 'SOURCE is the disk as it was on the hosts');
  t.not(sha256(data.source), dataSha, 'which differs from the image as registered');
  t.equal((await w.json(['image', 'show', 'data'])).state, 'READY', 'the persistent image is READY again');
});

interface Relay {
  /** Listens on the port (the host is reachable). */
  start(): Promise<void>;
  /** Closes the port and every connection through it (the host is down: connection refused). */
  stop(): Promise<void>;
}

/** A TCP relay from 127.0.0.1:port to 127.0.0.1:target, down until started; stopped when the test ends. */
function relay(t: Test, port: number, target: number): Relay {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const stop = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    const closing = server;
    server = undefined;
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  t.teardown(stop);
  return {
    stop,
    async start() {
      const listening = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
          socket.on('close', () => sockets.delete(socket));
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        listening.once('error', (error) => reject(new Error(`the relay for host03 cannot listen on ${port}: ${error.message}`)));
        listening.listen(port, '127.0.0.1', resolve);
      });
      server = listening;
    },
  };
}
