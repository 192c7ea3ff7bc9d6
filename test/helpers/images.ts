/**
 * Disk image helpers for the transfer-manager tests: running the image tools
 * (naming the Debian package of a missing one), sparse raw files, checksums,
 * allocated blocks, qemu-img info, and the guest's view of an image.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpDir } from './fixtures.js';

/** One mebibyte in bytes. */
export const MiB = 1024 * 1024;

/** What tmpDir needs of a test: its teardown hook. */
export type Owner = Parameters<typeof tmpDir>[0];

/** Debian package of each command the tests (and the drivers) use. */
export const PACKAGE: Record<string, string> = {
  'qemu-img': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  xorriso: 'xorriso',
  mkswap: 'util-linux',
  stat: 'coreutils',
  df: 'coreutils',
  shellcheck: 'shellcheck',
};

/** The PATH commands run with: the test's own, then the sbin folders (mkswap lives there). */
const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

/** True when `cmd` is found on the PATH the helpers run commands with. */
export function isInstalled(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { env: { ...process.env, PATH } }).status === 0;
}

/** Runs a command and returns its stdout; throws naming the Debian package when it is not installed. */
export function run(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PATH } });
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} is not installed: apt-get install ${PACKAGE[cmd] ?? cmd}`);
    throw result.error;
  }
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** Hex sha256 of a file's content. */
export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Hex sha256 of a buffer. */
export const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Allocated 512-byte blocks, as `stat -c %b` reports them. */
export const blocks = (path: string): number => Number(run('stat', ['-c', '%b', path]).trim());

/** What `qemu-img info --output=json` says of an image: the fields the tests read, and the rest. */
export interface QemuInfo {
  format: string;
  'virtual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  snapshots?: Array<{ name: string }>;
  [field: string]: unknown;
}

/** `qemu-img info` of an image, parsed (-U: readable while another process holds it). */
export const qemuInfo = (path: string): QemuInfo => JSON.parse(run('qemu-img', ['info', '-U', '--output=json', path])) as QemuInfo;

/** The names (tags) of an image's internal snapshots, [] when it has none. */
export const snapshotTags = (path: string): string[] => (qemuInfo(path).snapshots ?? []).map((s) => s.name);

/** Writes a sparse file of sizeMiB with random data at each [offset, length]; returns its content. */
export function sparseImage(path: string, sizeMiB: number, chunks: Array<[offset: number, length: number]>): Buffer {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sizeMiB * MiB);
  for (const [offset, length] of chunks) writeSync(fd, randomBytes(length), 0, length, offset);
  closeSync(fd);
  return readFileSync(path);
}

/** Writes bytes into a file in place (what a VM does to a raw disk). */
export function writeAt(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The guest's view of a disk image of any format (backing chain included): its bytes as raw. */
export function guestBytes(t: Owner, path: string): Buffer {
  const out = join(tmpDir(t, 'ferry-guest-'), 'raw');
  run('qemu-img', ['convert', '-U', '-O', 'raw', path, out]);
  return readFileSync(out);
}

/** An image datastore 1 and a system datastore 0 under `name` in a fresh temp folder; VM 7's folder is system/7. */
export function datastores(t: Owner, prefix: string, name = 'datastores') {
  const root = tmpDir(t, prefix);
  const images = join(root, name, '1');
  const system = join(root, name, '0');
  mkdirSync(images, { recursive: true });
  mkdirSync(system, { recursive: true });
  return { root, images, system, vm: join(system, '7') };
}
