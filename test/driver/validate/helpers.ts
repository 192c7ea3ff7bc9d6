/**
 * Shared by the validate tests: where the defect fixtures and bundled
 * drivers are, drivers written here (correct ones to break one thing of),
 * and reading a report.
 */
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type t from 'tap';
import type { DriverReport, Finding } from '../../../src/driver/validate/index.js';
import { fixturesRoot, tmpDir } from '../../helpers/fixtures.js';

export type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

export const defects = realpathSync(join(fixturesRoot, 'defects'));
export const bundled = realpathSync(join(fixturesRoot, '..', 'remotes'));

/** Errors and warnings as `code file[:line]`, the file relative to `base`. */
export function problems(report: DriverReport, base: string): string[] {
  return report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} ${f.file.startsWith(`${base}/`) ? f.file.slice(base.length + 1) : f.file}${f.line !== undefined ? `:${f.line}` : ''}`);
}

export function only(report: DriverReport, code: string): Finding[] {
  return report.findings.filter((f) => f.code === code);
}

/** Writes a file with an explicit mode (never the umask's). */
export function put(path: string, text: string, mode: number): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

export const SH = (body: string): string => `#!/bin/sh\nset -eu\n${body}\n`;

/** A correct datastore driver: every required and recommended action, each printing a valid result. */
export function datastoreDriver(dir: string, skip: readonly string[] = []): string {
  const results: Record<string, string> = {
    cp: 'echo "/ds/1/f00d 40"',
    mkfs: 'echo "/ds/1/f00d 40"',
    rm: ':',
    stat: 'echo 40',
    clone: 'echo /ds/1/beef',
    monitor: "printf 'USED_MB=1\\nTOTAL_MB=10\\nFREE_MB=9\\n'",
  };
  mkdirSync(dir, { recursive: true });
  for (const [action, body] of Object.entries(results)) if (!skip.includes(action)) put(join(dir, action), SH(body), 0o755);
  return dir;
}

/** A correct TM driver with the required, recommended and system actions. */
export function tmDriver(dir: string, skip: readonly string[] = []): string {
  mkdirSync(dir, { recursive: true });
  for (const action of ['clone', 'ln', 'mv', 'mvds', 'delete', 'cpds', 'context', 'mkimage', 'mkswap', 'premigrate', 'postmigrate']) {
    if (!skip.includes(action)) put(join(dir, action), SH(':'), 0o755);
  }
  return dir;
}

/** A remotes folder with one datastore driver `name`. */
export function remotesWith(t: Tap, name = 'mine'): { remotes: string; dir: string } {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const dir = datastoreDriver(join(remotes, 'datastore', name));
  return { remotes, dir };
}

export const noLint = { shellcheck: false as const };
/** This PATH plus the system folders, where mkswap and mkfs.ext4 live: a user's PATH may lack them, which validate rightly warns about. */
export const systemPath = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].join(':');
