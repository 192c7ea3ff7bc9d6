// The bundled fs datastore driver (remotes/datastore/fs) doing real work through the Runner:
// images as files under BASE_PATH, atomic and sparse copies, checksums, URLs, a full
// datastore, mkfs, rm, stat, clone, monitor, and qcow2 internal snapshots.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DS_ACTIONS, type DsAction, type ResultOf } from '../../src/contract/table.js';
import { listDrivers } from '../../src/driver/inventory.js';
import { ManifestCache } from '../../src/driver/manifest.js';
import { Runner, type ActionResult, type CallOptions } from '../../src/driver/runner.js';
import { buildDump, type ImageFields } from '../../src/dump/dump.js';
import { rejection, tmpDir, waitFor } from '../helpers/fixtures.js';
import { snapshotTags } from '../helpers/images.js';

type Tap = Parameters<typeof tmpDir>[0];
type Image = Omit<ImageFields, 'ID'> & { ID?: number };

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const remotes = join(root, 'remotes');
const driverDir = join(remotes, 'datastore', 'fs');
const bin = join(root, 'dist', 'bin', 'ferry.js');
const MiB = 1024 * 1024;
const ACTIONS = [...DS_ACTIONS];

const runner = new Runner({ remotes, killGraceSec: 2, lingerSec: 0.5, env: { NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' } });

/** Debian packages of the tools these tests (and the driver) run. */
const PACKAGES: Record<string, string> = {
  'qemu-img': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  curl: 'curl',
  openssl: 'openssl',
  'mkfs.ext4': 'e2fsprogs',
  mkswap: 'util-linux',
  blkid: 'util-linux',
  unshare: 'util-linux',
  mount: 'mount',
  df: 'coreutils',
  shellcheck: 'shellcheck',
};

/** Fails the test, naming the Debian package, for each tool not on PATH; true when all are there. */
function need(t: Tap & { fail(message: string): void }, ...tools: string[]): boolean {
  let ok = true;
  for (const tool of tools) {
    const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
    if (!found) {
      t.fail(`${tool} is not installed: apt-get install ${PACKAGES[tool] ?? tool}`);
      ok = false;
    }
  }
  return ok;
}

/** A dump for the fs driver over datastore folder `base`. */
function dumpOf(base: string, image: Image = {}, extra: Record<string, unknown> = {}) {
  return buildDump({
    IMAGE: { ID: 7, NAME: 'img', ...image },
    DATASTORE: { ID: 100, NAME: 'files', DS_MAD: 'fs', TM_MAD: 'shared', TYPE: 0, BASE_PATH: base },
    ...extra,
  });
}

/** Runs one fs action on datastore `base`; resolves to its typed result. */
function ds<A extends DsAction>(action: A, base: string, image: Image = {}, extra: Record<string, unknown> = {}, options: CallOptions = {}): Promise<ActionResult<ResultOf<'datastore', A>>> {
  return runner.runAny({ kind: 'datastore', action, dump: dumpOf(base, image, extra), id: 7, ...options }) as Promise<ActionResult<ResultOf<'datastore', A>>>;
}

/** cp on datastore `base`; resolves to `{source, sizeMb}`. */
async function cp(base: string, image: Image, options: CallOptions = {}): Promise<ResultOf<'datastore', 'cp'>> {
  return (await ds('cp', base, image, {}, options)).result;
}

/** Names in a folder, sorted (hidden temporary files included). */
function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function digest(algo: 'md5' | 'sha1', data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

/** 512-byte blocks allocated to a file (`stat -c %b`). */
function blocks(file: string): number {
  return statSync(file).blocks;
}

/** Writes a sparse file of `size` bytes holding `parts` (offset -> data) and holes elsewhere. */
function sparseFile(path: string, size: number, parts: Array<[number, Buffer]>): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    for (const [offset, data] of parts) writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Runs a command; throws with its stderr when it fails. */
function run(file: string, args: string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function qemuInfo(file: string): { format: string; 'virtual-size': number; snapshots?: Array<{ name: string }>; 'backing-filename'?: string } {
  return JSON.parse(run('qemu-img', ['info', '--output=json', file])) as ReturnType<typeof qemuInfo>;
}

/** The first `length` bytes of an image's guest view (qcow2 or raw), through a raw conversion. */
function guestBytes(t: Tap, image: string, length: number): Buffer {
  const raw = join(tmpDir(t, 'ferry-fs-raw-'), 'guest.raw');
  run('qemu-img', ['convert', '-O', 'raw', image, raw]);
  const fd = openSync(raw, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, 0);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** The byte filling the guest's first MiB, or -1 when it is not one repeated byte. */
function firstMiBPattern(t: Tap, image: string): number {
  const head = guestBytes(t, image, MiB);
  const first = head[0] as number;
  return head.every((byte) => byte === first) ? first : -1;
}

/** The ext2/3/4 superblock magic (0xEF53, little-endian at byte 1080) of a raw image. */
function extMagic(rawFile: string): number {
  const fd = openSync(rawFile, 'r');
  try {
    const buffer = Buffer.alloc(2);
    readSync(fd, buffer, 0, 2, 1080);
    return buffer.readUInt16LE(0);
  } finally {
    closeSync(fd);
  }
}

const SOURCE_RE = (base: string) => new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[0-9a-f]{32}$`);

/** A loopback http server for the URL tests; closed (connections too) when the test ends. */
async function serve(t: Tap, routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>): Promise<string> {
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] as string];
    if (route) route(req, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A route serving `body` with its Content-Length (HEAD too). */
function bodyRoute(body: Buffer) {
  return (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

// 64 MiB sparse with known data: 1 MiB random at 0, at 32 MiB and 4 KiB at the end; holes elsewhere.
function sparse64(dir: string): { path: string; data: Buffer } {
  const data = randomBytes(MiB);
  const path = sparseFile(join(dir, 'sparse64.img'), 64 * MiB, [
    [0, data],
    [32 * MiB, data],
    [64 * MiB - 4096, data.subarray(0, 4096)],
  ]);
  return { path, data };
}

t.test('the fs driver implements every datastore action and has a valid driver.yaml', async (t) => {
  const drivers = await listDrivers(remotes, ['datastore']);
  const fs = drivers.find((driver) => driver.name === 'fs');
  t.ok(fs, 'remotes/datastore/fs is listed');
  t.same(fs?.missing, [], 'no contract action missing');
  t.same([...(fs?.actions ?? [])].sort(), [...ACTIONS].sort(), 'exactly the contract actions');
  t.same(fs?.notExecutable, [], 'every action is executable');
  t.ok(fs?.hasManifest, 'driver.yaml present');
  const manifest = await new ManifestCache().load(driverDir);
  t.equal(manifest.api, 1);
  t.equal(manifest.kind, 'datastore');
  t.ok(manifest.description);
  t.ok(manifest.config?.BASE_PATH?.required, 'BASE_PATH is a required setting');
  t.ok(manifest.requires?.includes('qemu-img') && manifest.requires.includes('curl'), 'requires qemu-img and curl');
  for (const action of ACTIONS) {
    const text = readFileSync(join(driverDir, action), 'utf8');
    const lines = text.split('\n');
    t.equal(lines[0], '#!/bin/bash', `${action}: bash, stated in the shebang`);
    t.match(lines[1], new RegExp(`^# fs datastore driver, ${action}: `), `${action}: header comment`);
    t.ok(lines.includes('set -eu -o pipefail'), `${action}: set -eu`);
  }
  if (!need(t, 'shellcheck')) return;
  const files = [
    ...readdirSync(driverDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name !== 'README.md' && entry.name !== 'driver.yaml')
      .map((entry) => join(driverDir, entry.name)),
    join(driverDir, 'lib', 'fs_common.sh'),
  ];
  const check = spawnSync('shellcheck', ['--external-sources', '--format=gcc', ...files], { cwd: '/', encoding: 'utf8' });
  t.equal(check.stdout, '', 'shellcheck finds nothing, from any working folder');
  t.equal(check.status, 0);
});

t.test('BASE_PATH must be an existing absolute folder', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'file');
  writeFileSync(file, 'x');
  const src = join(dir, 'src.img');
  writeFileSync(src, 'data');
  const cases: Array<[string, RegExp]> = [
    ['', /has no BASE_PATH/],
    [join(dir, 'missing'), /does not exist/],
    [file, /is not a folder/],
    ['relative/ds', /not an absolute path/],
  ];
  for (const [base, message] of cases) {
    for (const action of ['cp', 'mkfs', 'monitor', 'rm', 'clone'] as const) {
      const error = await rejection(ds(action, base, { PATH: src, SOURCE: src, SIZE: 1 }));
      t.equal(error.code, 'E_DRIVER_FAILED', `${action} with BASE_PATH '${base}' fails`);
      t.match(error.message, message, `${action} with BASE_PATH '${base}' says why`);
    }
  }
  t.same(entries(dir), ['file', 'src.img'], 'nothing created');
  // Older dumps carry BASE_PATH only in the datastore template.
  const base = join(dir, 'ds');
  mkdirSync(base);
  const dump = buildDump({ IMAGE: { ID: 1, PATH: src }, DATASTORE: { ID: 100, DS_MAD: 'fs', TEMPLATE: { BASE_PATH: base } } });
  const result = await runner.run({ kind: 'datastore' as const, action: 'cp' as const, dump, id: 1 });
  t.match(result.result.source, SOURCE_RE(base), 'DATASTORE/TEMPLATE/BASE_PATH is used when DATASTORE/BASE_PATH is absent');
});

t.test('cp copies a sparse 64 MiB file: same content, still sparse, an md5 name, nothing else left', async (t) => {
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const { path } = sparse64(dir);
  const result = await cp(base, { PATH: path });
  t.match(result.source, SOURCE_RE(base), 'source is BASE_PATH/<md5>');
  t.equal(result.sizeMb, 64, 'size in MB');
  t.equal(statSync(result.source).size, 64 * MiB, 'same length');
  t.equal(sha256(result.source), sha256(path), 'same content');
  const allocated = blocks(result.source);
  t.ok(allocated <= blocks(path) + 256, `still sparse: ${allocated} blocks allocated (source ${blocks(path)}, 131072 if dense)`);
  t.same(entries(base), [basename(result.source)], 'only the image in BASE_PATH: no temporary file left');
  t.equal((statSync(result.source).mode & 0o777).toString(8), (0o666 & ~process.umask()).toString(8), 'mode follows the umask, not mktemp 0600');
  const again = await cp(base, { PATH: `file://${path}` });
  t.not(again.source, result.source, 'a second copy of the same file gets another source');
  t.equal(sha256(again.source), sha256(path), 'file:// paths are copied too');
});

t.test('cp downloads an http URL, keeping zeros as holes and following redirects', async (t) => {
  if (!need(t, 'curl')) return;
  const base = tmpDir(t);
  // 8 MiB: data, a 5 MiB hole, data, and a trailing 1 MiB of zeros (the last block must still count in the size).
  const body = Buffer.alloc(8 * MiB);
  randomBytes(MiB).copy(body, 0);
  randomBytes(MiB).copy(body, 6 * MiB);
  const url = await serve(t, {
    '/img': bodyRoute(body),
    '/moved': (_req, res) => {
      res.writeHead(302, { location: '/img' });
      res.end();
    },
  });
  const expected = createHash('sha256').update(body).digest('hex');
  for (const path of [`${url}/img`, `${url}/moved`]) {
    const result = await cp(base, { PATH: path });
    t.match(result.source, SOURCE_RE(base), `${path}: source in BASE_PATH`);
    t.equal(result.sizeMb, 8, `${path}: size 8 MB`);
    t.equal(statSync(result.source).size, 8 * MiB, `${path}: whole length, trailing zeros included`);
    t.equal(sha256(result.source), expected, `${path}: same content`);
    t.ok(blocks(result.source) <= (2 * MiB) / 512 + 256, `${path}: zeros written as holes (${blocks(result.source)} blocks)`);
  }
  t.equal(entries(base).length, 2, 'two images, no temporary files');
});

t.test('cp verifies MD5 and SHA1 from the image template', async (t) => {
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const data = randomBytes(300 * 1024);
  const src = join(dir, 'img.raw');
  writeFileSync(src, data);
  const md5 = digest('md5', data);
  const sha1 = digest('sha1', data);
  const good = await cp(base, { PATH: src, TEMPLATE: { MD5: md5, SHA1: sha1 } });
  t.equal(sha256(good.source), sha256(src), 'right MD5 and SHA1: copied');
  const upper = await cp(base, { PATH: src, TEMPLATE: { SHA1: sha1.toUpperCase() } });
  t.ok(existsSync(upper.source), 'upper-case SHA1 accepted');
  const kept = entries(base);
  t.equal(kept.length, 2);
  const wrongMd5 = await rejection(cp(base, { PATH: src, TEMPLATE: { MD5: digest('md5', Buffer.from('other')) } }));
  t.equal(wrongMd5.code, 'E_DRIVER_FAILED');
  t.match(wrongMd5.message, /MD5 checksum mismatch/, 'wrong MD5 fails');
  t.match(wrongMd5.message, md5, 'and names the actual MD5');
  const wrongSha1 = await rejection(cp(base, { PATH: src, TEMPLATE: { MD5: md5, SHA1: digest('sha1', Buffer.from('other')) } }));
  t.match(wrongSha1.message, /SHA1 checksum mismatch/, 'wrong SHA1 fails even with a right MD5');
  const malformed = await rejection(cp(base, { PATH: src, TEMPLATE: { MD5: 'xyz' } }));
  t.match(malformed.message, /not a 32-digit hexadecimal checksum/);
  t.same(entries(base), kept, 'failed copies removed');
});

t.test('cp of a missing file, a folder, a 404 URL or an ftp URL fails and leaves nothing', async (t) => {
  if (!need(t, 'curl')) return;
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const url = await serve(t, {});
  const missing = await rejection(cp(base, { PATH: join(dir, 'nope.img') }));
  t.equal(missing.code, 'E_DRIVER_FAILED');
  t.match(missing.message, `Cannot copy ${join(dir, 'nope.img')}: source file does not exist`);
  const folder = await rejection(cp(base, { PATH: dir }));
  t.match(folder.message, /not a regular file/);
  const notFound = await rejection(cp(base, { PATH: `${url}/nope.img` }));
  t.match(notFound.message, `Cannot download ${url}/nope.img`);
  t.match(notFound.message, /404/, 'names the HTTP status');
  const refused = await rejection(cp(base, { PATH: 'http://127.0.0.1:1/x.img' }));
  t.match(refused.message, /Cannot download .*(Couldn't connect|Failed to connect)/, 'unreachable URL');
  const ftp = await rejection(cp(base, { PATH: 'ftp://127.0.0.1/x.img' }));
  t.match(ftp.message, /unsupported URL scheme/);
  const noPath = await rejection(cp(base, {}));
  t.match(noPath.message, /has no PATH/);
  t.same(entries(base), [], 'nothing left in BASE_PATH');
});

t.test('cp killed by its timeout leaves no partial file', async (t) => {
  if (!need(t, 'curl')) return;
  const base = tmpDir(t);
  let requests = 0;
  const url = await serve(t, {
    // 100 MiB announced, 256 KiB every 50 ms: enough for dd to write a few blocks, far from the end.
    '/slow': (_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': 100 * MiB });
      const chunk = randomBytes(256 * 1024);
      const timer = setInterval(() => res.write(chunk), 50);
      res.on('close', () => clearInterval(timer));
    },
  });
  const running = cp(base, { PATH: `${url}/slow` }, { timeoutSec: 2.5 });
  const partial = await waitFor(() => entries(base).some((name) => name.includes('.ferry-tmp.') && statSync(join(base, name)).size > 0), 2300);
  t.ok(partial, 'a partial temporary file was being written in BASE_PATH');
  t.equal(entries(base).filter((name) => /^[0-9a-f]{32}$/.test(name)).length, 0, 'no image under its final name while copying');
  const error = await rejection(running);
  t.equal(error.code, 'E_TIMEOUT', 'ferry timed the copy out');
  t.equal(requests, 1);
  t.same(entries(base), [], 'the trap removed the partial file');
});

t.test('cp into a full datastore fails naming the lack of space and leaves nothing', async (t) => {
  if (!need(t, 'unshare', 'mount', 'df')) return;
  if (!existsSync(bin)) {
    t.fail(`${bin} is missing: run npm run build (node scripts/build.mjs) first`);
    return;
  }
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const src = join(dir, 'big.img');
  writeFileSync(src, randomBytes(8 * MiB));
  const dumpFile = join(dir, 'dump.xml');
  writeFileSync(dumpFile, dumpOf(base, { PATH: src }).xml);
  const out = join(dir, 'out');
  // A 4 MB tmpfs over BASE_PATH in a private mount namespace, so only this ferry run sees it; what is left is listed before the namespace goes.
  const script = [
    'mount -t tmpfs -o size=4m tmpfs "$1" || exit 90',
    'stat -f -c %T "$1" > "$2.fstype"',
    '"$3" "$4" ds cp "$5" 7 --remotes "$6" --json > "$2.json"',
    'echo $? > "$2.status"',
    'ls -A "$1" > "$2.left"',
    'df -B1K --output=used "$1" | tail -n 1 > "$2.used"',
  ].join('\n');
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's loaders are for this process, not for the ferry command
  const ns = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', base, out, process.execPath, bin, dumpFile, remotes], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  t.equal(ns.status, 0, `unshare and mount worked (needs root): ${ns.stderr}`);
  if (ns.status !== 0) return;
  t.equal(readFileSync(`${out}.fstype`, 'utf8').trim(), 'tmpfs', 'BASE_PATH was the 4 MB tmpfs');
  t.equal(readFileSync(`${out}.status`, 'utf8').trim(), '1', 'ferry exited 1 (driver failed)');
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { ok: boolean; error: { code: string; message: string } };
  t.equal(report.ok, false);
  t.equal(report.error.code, 'E_DRIVER_FAILED');
  t.match(report.error.message, /no space left on device/i, 'says no space');
  t.match(report.error.message, `datastore ${base} is full`, 'names the full datastore');
  t.equal(readFileSync(`${out}.left`, 'utf8'), '', 'nothing left in BASE_PATH');
  t.ok(Number(readFileSync(`${out}.used`, 'utf8').trim()) < 64, 'the tmpfs is empty again');
  t.same(entries(base), [], 'and nothing under the real folder either');
});

t.test('cp honours RESTRICTED_DIRS / SAFE_DIRS and refuses qcow2 images with a backing file', async (t) => {
  if (!need(t, 'qemu-img')) return;
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  const secret = join(dir, 'secret');
  const safe = join(secret, 'safe');
  mkdirSync(base);
  mkdirSync(safe, { recursive: true });
  writeFileSync(join(secret, 'a.img'), 'a');
  writeFileSync(join(safe, 'b.img'), 'b');
  const run1 = (path: string, template: Record<string, string>) =>
    runner.run({
      kind: 'datastore' as const,
      action: 'cp' as const,
      id: 7,
      dump: buildDump({ IMAGE: { ID: 7, PATH: path }, DATASTORE: { ID: 100, DS_MAD: 'fs', BASE_PATH: base, TEMPLATE: template } }),
    });
  const restricted = await rejection(run1(join(secret, 'a.img'), { RESTRICTED_DIRS: `/nowhere ${secret}` }));
  t.match(restricted.message, `Not allowed to copy images from ${secret}`);
  const viaDots = await rejection(run1(join(safe, '..', 'a.img'), { RESTRICTED_DIRS: secret, SAFE_DIRS: safe }));
  t.match(viaDots.message, /Not allowed/, 'a path through .. is resolved first');
  const allowed = await run1(join(safe, 'b.img'), { RESTRICTED_DIRS: '/', SAFE_DIRS: safe });
  t.equal(readFileSync(allowed.result.source, 'utf8'), 'b', 'SAFE_DIRS wins over RESTRICTED_DIRS /');
  const everything = await rejection(run1(join(secret, 'a.img'), { RESTRICTED_DIRS: '/', SAFE_DIRS: safe }));
  t.match(everything.message, /Not allowed to copy images from \//);

  const backing = join(dir, 'backing.qcow2');
  const overlay = join(dir, 'overlay.qcow2');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', backing, '4M']);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2', overlay]);
  const chained = await rejection(cp(base, { PATH: overlay }));
  t.match(chained.message, /qcow2 image with a backing file/);
  t.same(entries(base), [basename(allowed.result.source)], 'refused copies left nothing');
});

t.test('mkfs creates raw and qcow2 images, with or without a filesystem', async (t) => {
  if (!need(t, 'qemu-img', 'mkfs.ext4', 'mkswap')) return;
  const base = tmpDir(t);
  const raw = await ds('mkfs', base, { SIZE: 16 });
  t.match(raw.result.source, SOURCE_RE(base));
  t.equal(raw.result.sizeMb, 16);
  t.equal(statSync(raw.result.source).size, 16 * MiB, 'raw: 16 MiB long');
  t.equal(qemuInfo(raw.result.source).format, 'raw', 'FORMAT defaults to raw');
  t.ok(blocks(raw.result.source) < 64, 'an empty raw image is sparse');

  const qcow = await ds('mkfs', base, { SIZE: 20, FORMAT: 'qcow2' });
  t.equal(qcow.result.sizeMb, 20);
  const info = qemuInfo(qcow.result.source);
  t.equal(info.format, 'qcow2');
  t.equal(info['virtual-size'], 20 * MiB, 'qcow2: 20 MiB virtual');

  const ext4 = await ds('mkfs', base, { SIZE: 32, FSTYPE: 'ext4' });
  t.equal(extMagic(ext4.result.source), 0xef53, 'raw ext4: superblock magic 0xEF53 at 1080');
  if (need(t, 'blkid')) t.equal(run('blkid', ['-o', 'value', '-s', 'TYPE', ext4.result.source]).trim(), 'ext4', 'blkid sees ext4');

  const qext4 = await ds('mkfs', base, { SIZE: 32, FORMAT: 'qcow2', FSTYPE: 'ext4' });
  const qinfo = qemuInfo(qext4.result.source);
  t.equal(qinfo.format, 'qcow2');
  t.equal(qinfo['virtual-size'], 32 * MiB);
  const guest = join(tmpDir(t), 'guest.raw');
  run('qemu-img', ['convert', '-O', 'raw', qext4.result.source, guest]);
  t.equal(extMagic(guest), 0xef53, 'qcow2 ext4: the guest sees an ext4 filesystem');

  const swap = await ds('mkfs', base, { SIZE: 8, FSTYPE: 'swap' });
  t.equal(readFileSync(swap.result.source).subarray(4096 - 10, 4096).toString('latin1'), 'SWAPSPACE2', 'swap signature');

  const made = [raw, qcow, ext4, qext4, swap].map((r) => basename(r.result.source)).sort();
  t.same(entries(base), made, 'only the images: no temporary or intermediate .raw files');
});

t.test('mkfs refuses bad sizes, formats and filesystems, leaving nothing', async (t) => {
  const base = tmpDir(t);
  const cases: Array<[Image, RegExp]> = [
    [{ SIZE: 'abc' }, /SIZE 'abc' is not a whole number of MB/],
    [{}, /SIZE '' is not a whole number/],
    [{ SIZE: 0 }, /at least 1 MB/],
    [{ SIZE: 4, FORMAT: 'vmdk' }, /FORMAT 'vmdk' is not supported/],
    [{ SIZE: 4, FSTYPE: 'ext4;reboot' }, /not a plain name/],
    [{ SIZE: 4, FSTYPE: 'nosuchfs' }, /mkfs\.nosuchfs is not installed on \S+: install the package that provides it$/],
    [{ SIZE: 4, FORMAT: 'qcow2', FSTYPE: 'swap' }, /swap image must be raw/],
  ];
  for (const [image, message] of cases) {
    const error = await rejection(ds('mkfs', base, image));
    t.equal(error.code, 'E_DRIVER_FAILED');
    t.match(error.message, message, JSON.stringify(image));
  }
  t.same(entries(base), []);
});

t.test('rm removes images inside BASE_PATH only, idempotently, snapshots too', async (t) => {
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const src = join(dir, 'img.raw');
  writeFileSync(src, 'image');
  const { source } = await cp(base, { PATH: src });
  mkdirSync(`${source}.snap`);
  writeFileSync(`${source}.snap/0`, 'snapshot 0');
  const other = (await cp(base, { PATH: src })).source;
  await ds('rm', base, { SOURCE: source });
  t.notOk(existsSync(source), 'image removed');
  t.notOk(existsSync(`${source}.snap`), 'its snapshot folder removed');
  t.ok(existsSync(other), 'another image untouched');
  const again = await ds('rm', base, { SOURCE: source });
  t.equal(again.exitCode, 0, 'rm of a removed image succeeds');
  t.match(again.logs.map((l) => l.message).join('\n'), /already removed/);

  const outside = join(dir, 'outside.img');
  writeFileSync(outside, 'keep me');
  symlinkSync(outside, join(base, 'link'));
  const refused: string[] = [outside, join(base, '..', 'outside.img'), join(base, 'link'), base, `${base}/`];
  for (const path of refused) {
    const error = await rejection(ds('rm', base, { SOURCE: path }));
    t.equal(error.code, 'E_DRIVER_FAILED');
    t.match(error.message, /is not inside the datastore folder/, `refuses ${path}`);
  }
  t.equal(readFileSync(outside, 'utf8'), 'keep me', 'the file outside is kept');
  t.ok(existsSync(base), 'BASE_PATH itself is kept');
  mkdirSync(join(base, 'folder'));
  const folder = await rejection(ds('rm', base, { SOURCE: join(base, 'folder') }));
  t.match(folder.message, /is a folder/);
  const none = await ds('rm', base, {});
  t.match(none.logs.map((l) => l.message).join('\n'), /no SOURCE/, 'an image without SOURCE has nothing to remove');
  t.same(entries(base), [basename(other), 'folder', 'link'].sort());
});

t.test('stat measures files, qcow2 images, URLs, and SOURCE when PATH is empty', async (t) => {
  if (!need(t, 'qemu-img', 'curl')) return;
  const dir = tmpDir(t);
  const { path } = sparse64(dir);
  const odd = join(dir, 'odd.img');
  writeFileSync(odd, Buffer.alloc(1.5 * MiB));
  const tiny = join(dir, 'tiny.img');
  writeFileSync(tiny, 'x');
  const qcow = join(dir, 'disk.qcow2');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '20M']);
  const url = await serve(t, { '/img': bodyRoute(Buffer.alloc(3 * MiB + 1)) });
  const cases: Array<[Image, number]> = [
    [{ PATH: path }, 64],
    [{ PATH: odd }, 2],
    [{ PATH: tiny }, 1],
    [{ PATH: qcow }, 20],
    [{ PATH: `${url}/img` }, 4],
    [{ PATH: '', SOURCE: odd }, 2],
    [{ PATH: tiny, SOURCE: path }, 1],
  ];
  for (const [image, size] of cases) {
    const result = await ds('stat', dir, image);
    t.equal(result.result, size, `${JSON.stringify(image)} -> ${size} MB`);
  }
  const missing = await rejection(ds('stat', dir, { PATH: join(dir, 'nope') }));
  t.match(missing.message, /no such file/);
  const notFound = await rejection(ds('stat', dir, { PATH: `${url}/nope` }));
  t.match(notFound.message, `Cannot get the size of ${url}/nope`);
  const nothing = await rejection(ds('stat', dir, {}));
  t.match(nothing.message, /neither PATH nor SOURCE/);
});

t.test('clone copies SOURCE (or PATH, as oned sends it) to a new sparse source', async (t) => {
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const { path } = sparse64(dir);
  const { source } = await cp(base, { PATH: path });
  const clone = await ds('clone', base, { SOURCE: source });
  t.match(clone.result, SOURCE_RE(base));
  t.not(clone.result, source, 'a new source');
  t.equal(sha256(clone.result), sha256(source), 'same content');
  t.ok(blocks(clone.result) <= blocks(source) + 256, 'still sparse');
  const oned = await ds('clone', base, { SOURCE: '', PATH: source });
  t.equal(sha256(oned.result), sha256(source), 'PATH used when SOURCE is empty');
  const missing = await rejection(ds('clone', base, { SOURCE: join(base, 'nope') }));
  t.match(missing.message, /image file does not exist/);
  t.same(entries(base), [basename(source), basename(clone.result), basename(oned.result)].sort(), 'no temporary files');
});

t.test('monitor reports the df figures of BASE_PATH', async (t) => {
  if (!need(t, 'df')) return;
  const base = tmpDir(t);
  const { result } = await ds('monitor', base, {});
  t.ok(result.totalMb > 0, `total ${result.totalMb} MB`);
  t.ok(result.usedMb >= 0 && result.freeMb >= 0);
  t.ok(result.usedMb + result.freeMb <= result.totalMb, 'used + free <= total');
  const [used, total, free] = run('df', ['-B1M', '--output=used,size,avail', base]).trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
  t.equal(result.totalMb, total, 'TOTAL_MB is df size');
  t.ok(Math.abs(result.usedMb - (used as number)) <= 64, 'USED_MB is df used (within 64 MB of churn)');
  t.ok(Math.abs(result.freeMb - (free as number)) <= 64, 'FREE_MB is df avail (within 64 MB of churn)');
  t.same(result.other, []);
});

/** A qcow2 in `base` whose guest's first MiB is 0xaa at snap-0, 0xbb at snap-1, 0xcc now. */
function snapshotImage(t: Tap, base: string, name: string): string {
  const rawFile = sparseFile(join(tmpDir(t, 'ferry-fs-src-'), 'a.raw'), 4 * MiB, [[0, Buffer.alloc(MiB, 0xaa)]]);
  const image = join(base, name);
  run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', rawFile, image]);
  run('qemu-img', ['snapshot', '-c', 'snap-0', image]);
  run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xbb 0 1M', image]);
  run('qemu-img', ['snapshot', '-c', 'snap-1', image]);
  run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcc 0 1M', image]);
  return image;
}

t.test('snap_revert, snap_delete and snap_flatten work on qcow2 internal snapshots snap-N', async (t) => {
  if (!need(t, 'qemu-img', 'qemu-io')) return;
  const base = tmpDir(t);
  const image = snapshotImage(t, base, 'a'.repeat(32));
  t.same(snapshotTags(image), ['snap-0', 'snap-1'], 'two snapshots to start with');
  t.equal(firstMiBPattern(t, image), 0xcc, 'current content');

  await ds('snap_revert', base, { SOURCE: image }, { TARGET_SNAPSHOT: 0 });
  t.equal(firstMiBPattern(t, image), 0xaa, 'revert to 0 restores snap-0');
  t.same(snapshotTags(image), ['snap-0', 'snap-1'], 'revert keeps the snapshots');
  await ds('snap_revert', base, { SOURCE: image }, { TARGET_SNAPSHOT: 1 });
  t.equal(firstMiBPattern(t, image), 0xbb, 'revert to 1 restores snap-1');

  await ds('snap_delete', base, { SOURCE: image }, { TARGET_SNAPSHOT: 0 });
  t.same(snapshotTags(image), ['snap-1'], 'delete 0 removes snap-0 only');
  t.equal(firstMiBPattern(t, image), 0xbb, 'delete leaves the content alone');
  const gone = await ds('snap_delete', base, { SOURCE: image }, { TARGET_SNAPSHOT: 0 });
  t.ok(gone.logs.some((log) => log.level === 'warn' && /has no snapshot 0 \(snap-0\): nothing to delete/.test(log.message)), 'deleting it again (a retry) succeeds with a warning');
  t.same(snapshotTags(image), ['snap-1'], 'and leaves the others');
  // Ids are decimal: 01 is snap-1, and 08 asks for snap-8 (not an octal error).
  await ds('snap_revert', base, { SOURCE: image }, { TARGET_SNAPSHOT: '01' });
  t.equal(firstMiBPattern(t, image), 0xbb, 'revert to 01 restores snap-1');
  const eight = await rejection(ds('snap_revert', base, { SOURCE: image }, { TARGET_SNAPSHOT: '08' }));
  t.match(eight.message, /Snapshot 08 not found in .*tagged snap-8 /, '08 is snapshot 8');
  // qemu-img numbers snapshots itself (snap-1 is its ID 2): id 2 must not reach snap-1.
  const byQemuId = await rejection(ds('snap_revert', base, { SOURCE: image }, { TARGET_SNAPSHOT: 2 }));
  t.match(byQemuId.message, /Snapshot 2 not found/, 'ids are snapshot tags, never qemu-img IDs');

  const flat = snapshotImage(t, base, 'b'.repeat(32));
  const mode = 0o640;
  spawnSync('chmod', [mode.toString(8), flat]);
  await ds('snap_flatten', base, { SOURCE: flat }, { TARGET_SNAPSHOT: 0 });
  t.same(snapshotTags(flat), [], 'flatten drops every snapshot');
  t.equal(firstMiBPattern(t, flat), 0xaa, 'and keeps the contents of snapshot 0');
  t.equal(qemuInfo(flat).format, 'qcow2');
  t.equal(qemuInfo(flat)['virtual-size'], 4 * MiB, 'same virtual size');
  t.equal(statSync(flat).mode & 0o777, mode, 'same file mode');
  const flat1 = snapshotImage(t, base, 'c'.repeat(32));
  await ds('snap_flatten', base, { SOURCE: flat1 }, { TARGET_SNAPSHOT: 1 });
  t.equal(firstMiBPattern(t, flat1), 0xbb, 'flatten to 1 keeps snap-1');
  t.same(snapshotTags(flat1), []);
  t.same(entries(base), [image, flat, flat1].map((p) => basename(p)).sort(), 'no temporary files');
});

t.test('snapshot actions refuse raw images, bad ids, unknown snapshots (but snap_delete) and sources outside BASE_PATH', async (t) => {
  if (!need(t, 'qemu-img', 'qemu-io')) return;
  const dir = tmpDir(t);
  const base = join(dir, 'ds');
  mkdirSync(base);
  const image = snapshotImage(t, base, 'd'.repeat(32));
  const rawImage = join(base, 'e'.repeat(32));
  writeFileSync(rawImage, Buffer.alloc(MiB));
  const outside = snapshotImage(t, dir, 'outside.qcow2');
  for (const action of ['snap_delete', 'snap_revert', 'snap_flatten'] as const) {
    const raw = await rejection(ds(action, base, { SOURCE: rawImage }, { TARGET_SNAPSHOT: 0 }));
    t.match(raw.message, /is raw, not qcow2/, `${action}: raw image refused`);
    // snap_delete of a snapshot already gone is a repeated run: it succeeds (the test of snap_delete above).
    if (action !== 'snap_delete') {
      const unknown = await rejection(ds(action, base, { SOURCE: image }, { TARGET_SNAPSHOT: 7 }));
      t.match(unknown.message, /Snapshot 7 not found .*\(it has: snap-0 snap-1\)/, `${action}: unknown id`);
    }
    const noId = await rejection(ds(action, base, { SOURCE: image }));
    t.match(noId.message, /no TARGET_SNAPSHOT/, `${action}: missing id`);
    const badId = await rejection(ds(action, base, { SOURCE: image }, { TARGET_SNAPSHOT: '-1' }));
    t.match(badId.message, /TARGET_SNAPSHOT '-1' is not a snapshot id/, `${action}: bad id`);
    const out = await rejection(ds(action, base, { SOURCE: outside }, { TARGET_SNAPSHOT: 0 }));
    t.match(out.message, /is not inside the datastore folder/, `${action}: outside BASE_PATH`);
    const missing = await rejection(ds(action, base, { SOURCE: join(base, 'f'.repeat(32)) }, { TARGET_SNAPSHOT: 0 }));
    t.match(missing.message, /does not exist/, `${action}: missing image`);
  }
  t.same(snapshotTags(image), ['snap-0', 'snap-1'], 'the image is unchanged');
  t.equal(firstMiBPattern(t, image), 0xcc);
  t.same(snapshotTags(outside), ['snap-0', 'snap-1'], 'the image outside is unchanged');
  t.same(entries(base), ['d'.repeat(32), 'e'.repeat(32)]);
});

t.test('cp of an https URL: the certificate is checked (a CA the driver trusts passes, an unknown one fails with curl\'s reason)', async (t) => {
  if (!need(t, 'curl', 'openssl')) return;
  const base = tmpDir(t);
  const dir = tmpDir(t);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  // A self-signed certificate for the loopback address, made for this test.
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  t.equal(made.status, 0, made.status === 0 ? 'openssl made a certificate' : made.stderr);
  const body = randomBytes(2 * MiB + 17);
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => bodyRoute(body)(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/img`;

  const trusted = await cp(base, { PATH: url }, { env: { CURL_CA_BUNDLE: cert } });
  t.match(trusted.source, SOURCE_RE(base), 'copied into BASE_PATH');
  t.equal(trusted.sizeMb, 3, 'size rounded up to 3 MB');
  t.equal(sha256(trusted.source), createHash('sha256').update(body).digest('hex'), 'same bytes');

  const before = entries(base);
  // Trusting another certificate only: the server's is not signed by anything curl trusts.
  const other = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'other.key'), '-out', join(dir, 'other.pem'), '-days', '1', '-subj', '/CN=other'], { encoding: 'utf8' });
  t.equal(other.status, 0, other.status === 0 ? 'and another' : other.stderr);
  const refused = await rejection(cp(base, { PATH: url }, { env: { CURL_CA_BUNDLE: join(dir, 'other.pem') } }));
  t.equal(refused.code, 'E_DRIVER_FAILED', 'an untrusted certificate fails the copy');
  t.match(refused.message, /certificate/i, `with curl's reason: ${refused.message}`);
  t.same(entries(base), before, 'and leaves nothing in the datastore');
});
