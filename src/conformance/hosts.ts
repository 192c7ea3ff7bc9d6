/**
 * How the suite looks at files on the hosts TM checks deploy to: a local
 * host's files directly, an ssh host's through ssh with the ssh_config
 * ferry renders for drivers. Remote commands are fixed scripts with every
 * path passed as a separately quoted argument (ssh joins its arguments into
 * one command line, so each is single-quoted here).
 */
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec, imageInfo, imageInfoOf, ToolError, writePattern, type ImageInfo } from './tools.js';

/** One argument single-quoted for the remote shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface HostView {
  name: string;
  local: boolean;
  /** True when something (a link too) is at `path`. */
  exists(path: string): Promise<boolean>;
  /** A local file with the bytes at `path` (a local host's path itself; an ssh host's fetched into the scratch folder). */
  localCopy(path: string): Promise<string>;
  /** qemu-img info of the image at `path`, read on the host. */
  info(path: string): Promise<ImageInfo>;
  /** Writes a byte pattern into the guest view of the image at `path`, on the host (qemu-io). */
  writePattern(path: string, offset: number, length: number, pattern: number): Promise<void>;
}

export function localHost(name: string): HostView {
  return {
    name,
    local: true,
    exists: async (path) => (await lstat(path).catch(() => undefined)) !== undefined,
    localCopy: async (path) => path,
    info: (path) => imageInfo(path),
    writePattern: async (path, offset, length, pattern) => writePattern(path, (await imageInfo(path)).format, offset, length, pattern),
  };
}

export function sshHost(name: string, sshConfig: string, scratch: string): HostView {
  let fetched = 0;
  const ssh = async (script: string, ...args: string[]) => {
    const command = ['sh', '-c', shellQuote(script), 'sh', ...args.map(shellQuote)].join(' ');
    const result = await exec('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '--', name, command]);
    if (result.status === 255) throw new ToolError(`cannot reach host ${name} over ssh to check the result: ${result.stderr || 'ssh exit 255'}`);
    return result;
  };
  const must = async (what: string, script: string, ...args: string[]) => {
    const result = await ssh(script, ...args);
    if (result.status !== 0) throw new ToolError(`${what} on host ${name} failed (status ${result.status}): ${result.stderr || 'no message'}`);
    return result.stdout;
  };
  return {
    name,
    local: false,
    exists: async (path) => (await ssh('test -e "$1" || test -L "$1"', path)).status === 0,
    localCopy: async (path) => {
      fetched += 1;
      const file = join(scratch, `from-${name}-${fetched}`);
      await writeFile(file, await must(`reading ${path}`, 'cat -- "$1"', path));
      return file;
    },
    info: async (path) => imageInfoOf(await must(`qemu-img info ${path}`, 'qemu-img info -U --output=json -- "$1"', path)),
    writePattern: async (path, offset, length, pattern) => {
      const script = 'f=$(qemu-img info -U --output=json -- "$1" | sed -n \'s/^ *"format": "\\([^"]*\\)".*/\\1/p\' | head -n 1) && qemu-io -f "$f" -c "write -P $2 $3 $4" -- "$1"';
      await must(`writing into ${path}`, script, path, String(pattern), String(offset), String(length));
    },
  };
}

/** Removes a local file or folder the suite made (never follows a link out). */
export async function removeLocal(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
