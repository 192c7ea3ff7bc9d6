/**
 * The image tools the suite itself uses to make and inspect test images:
 * qemu-img and qemu-io (qemu-utils). Commands run through execa from
 * argument arrays (never a shell string); a missing tool fails the check that
 * needs it with the package to install.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';

export const MiB = 1024 * 1024;

/** Debian package of each command the suite runs. */
const PACKAGE: Record<string, string> = { 'qemu-img': 'qemu-utils', 'qemu-io': 'qemu-utils', ssh: 'openssh-client' };

/** A tool the suite needs is missing or failed: the check fails with this message. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

export interface ToolOutput {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/** The PATH tools run with: ferry's own, then the sbin folders. */
const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

/**
 * Runs a command (execa, from an argument array); resolves with its output
 * whatever the exit status; rejects (ToolError) when it cannot start or ends
 * without one (killed by a signal).
 */
export async function exec(cmd: string, args: readonly string[], options: { input?: Buffer } = {}): Promise<ToolOutput> {
  const result = await execa(cmd, args, { input: options.input ?? '', env: { PATH }, encoding: 'buffer', stripFinalNewline: false, reject: false });
  if (result.exitCode === undefined) {
    throw new ToolError(
      result.code === 'ENOENT'
        ? `${cmd} is not installed: the conformance suite needs it (apt-get install ${PACKAGE[cmd] ?? cmd})`
        : `${cmd} could not run: ${result.shortMessage ?? 'no exit status'}`,
    );
  }
  const stderr = Buffer.from(result.stderr).toString('utf8').slice(-8000).trim();
  return { status: result.exitCode, stdout: Buffer.from(result.stdout), stderr };
}

/** Runs a command that must succeed; returns its stdout. */
export async function must(cmd: string, args: readonly string[], options: { input?: Buffer } = {}): Promise<Buffer> {
  const result = await exec(cmd, args, options);
  if (result.status !== 0) throw new ToolError(`${cmd} ${args.join(' ')} failed (status ${result.status}): ${result.stderr || 'no message'}`);
  return result.stdout;
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
  snapshots: string[];
  backing?: string;
}

/** `qemu-img info` of a local image (-U: readable while another process holds it). */
export async function imageInfo(file: string): Promise<ImageInfo> {
  return imageInfoOf(await must('qemu-img', ['info', '-U', '--output=json', '--', file]));
}

/** The fields the checks use from `qemu-img info --output=json`, wherever it ran. */
export function imageInfoOf(json: Buffer | string): ImageInfo {
  const raw = JSON.parse(json.toString()) as {
    format: string;
    'virtual-size': number;
    'backing-filename'?: string;
    snapshots?: Array<{ name: string }>;
  };
  return {
    format: raw.format,
    virtualSize: raw['virtual-size'],
    snapshots: (raw.snapshots ?? []).map((snapshot) => snapshot.name),
    ...(raw['backing-filename'] ? { backing: raw['backing-filename'] } : {}),
  };
}

/**
 * Whether two images show the guest the same bytes (`qemu-img compare`,
 * which reads through formats and backing files); undefined when equal,
 * else qemu-img's words.
 */
export async function compareImages(actual: string, expected: string): Promise<string | undefined> {
  const result = await exec('qemu-img', ['compare', '-U', '--', actual, expected]);
  if (result.status === 0) return undefined;
  const said = `${result.stdout.toString('utf8').trim()} ${result.stderr}`.trim();
  if (result.status === 1) return said || 'the contents differ';
  throw new ToolError(`qemu-img compare ${actual} ${expected} failed (status ${result.status}): ${said}`);
}

/** Writes `length` bytes of `pattern` at `offset` into the guest view of an image, any format (qemu-io). */
export async function writePattern(file: string, format: string, offset: number, length: number, pattern: number): Promise<void> {
  await must('qemu-io', ['-f', format, '-c', `write -P ${pattern} ${offset} ${length}`, '--', file]);
}

/** Writes `base` with its first MiB set to `pattern` (the raw bytes a guest write of it leaves) to `file`, for compareImages. */
export async function writePatterned(file: string, base: Buffer, pattern: number): Promise<string> {
  const bytes = Buffer.from(base);
  bytes.fill(pattern, 0, MiB);
  await writeFile(file, bytes);
  return file;
}

/** A raw image of sizeMiB holding random data; resolves to its content. */
export async function makeRawImage(file: string, sizeMiB: number): Promise<Buffer> {
  const data = randomBytes(sizeMiB * MiB);
  await writeFile(file, data);
  return data;
}

/** Converts a raw image to qcow2 (same guest bytes). */
export async function convertToQcow2(raw: string, qcow2: string): Promise<void> {
  await must('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '--', raw, qcow2]);
}

/** Creates an internal snapshot tagged `tag` (the snap-N convention of fs-style datastores). */
export async function createSnapshot(file: string, tag: string): Promise<void> {
  await must('qemu-img', ['snapshot', '-c', tag, '--', file]);
}

/** Hex sha256 of a file. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
