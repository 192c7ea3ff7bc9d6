/**
 * Shared helpers for tests: where the fixtures are, the spec's example dump,
 * temp folders cleaned up on teardown, and a liveness probe for pids.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { FerryError, type ErrorCode } from '../../src/errors.js';

/** Absolute path of fixtures/ at the repository root. */
export const fixturesRoot = fileURLToPath(new URL('../../fixtures/', import.meta.url)).replace(/\/$/, '');

/** Absolute path of fixtures/remotes (datastore/<behaviour>/, tm/<behaviour>/, fixture.sh). */
export const fixturesRemotes = join(fixturesRoot, 'remotes');

/** The spec's example action dump, decoded (DS_MAD fs, TM_MAD shared). */
export const specExamplePath = join(fixturesRoot, 'dumps', 'spec-example.xml');

export function specExampleXml(): string {
  return readFileSync(specExamplePath, 'utf8');
}

/** The spec example with every DS_MAD (plain and CDATA) replaced by `driver`. */
export function dumpFor(driver: string): string {
  const xml = specExampleXml()
    .replace(/<DS_MAD>fs<\/DS_MAD>/g, `<DS_MAD>${driver}</DS_MAD>`)
    .replace(/<DS_MAD><!\[CDATA\[fs\]\]><\/DS_MAD>/g, `<DS_MAD><![CDATA[${driver}]]></DS_MAD>`);
  if (!xml.includes(`<DS_MAD>${driver}</DS_MAD>`)) throw new Error('spec-example.xml no longer has <DS_MAD>fs</DS_MAD>');
  return xml;
}

/** Anything with tap's teardown hook. */
interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

/** A fresh temp folder, removed when the test ends. */
export function tmpDir(t: Teardownable, prefix = 'ferry-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * True while a process with this pid runs. A zombie (killed, not yet reaped by
 * an init that may never reap it) counts as dead.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may hold spaces).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    // Gone between the two looks, or no /proc (then trust kill(0)).
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Process group of a pid, from /proc; 0 when the process is gone. */
export function pgidOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return 0;
  }
}

/** Polls until `check` is true or `ms` pass; resolves to the last result. */
export async function waitFor(check: () => boolean, ms = 2000, every = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= end) return check();
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** The error a promise rejects with; throws (failing the test) when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    if (!(error instanceof FerryError)) throw error;
    return error;
  }
  throw new Error(`expected a FerryError, resolved with ${JSON.stringify(value)?.slice(0, 200)}`);
}

/** The FerryError a function throws; throws (failing the test) when it returns. */
export function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof FerryError)) throw error;
    return error;
  }
  throw new Error('expected a FerryError to be thrown');
}

/** What a refusal must carry: its code, its exit status when given, and a hint (any string unless given). */
export interface Refusal {
  code: ErrorCode;
  exitStatus?: number;
  /** The hint equals this string, or matches this pattern. */
  hint?: string | RegExp;
}

/** Checks that `error` is the refusal `expected` describes, and returns it. */
export function checkRefusal(t: Test, error: unknown, expected: Refusal): FerryError {
  t.type(error, FerryError, 'a FerryError');
  const refusal = error as FerryError;
  t.equal(refusal.code, expected.code, `code ${expected.code}`);
  if (expected.exitStatus !== undefined) t.equal(refusal.exitStatus, expected.exitStatus, `exit status ${expected.exitStatus}`);
  if (expected.hint === undefined) t.type(refusal.hint, 'string', 'has a hint');
  else if (typeof expected.hint === 'string') t.equal(refusal.hint, expected.hint, 'the hint');
  else t.match(refusal.hint, expected.hint, 'the hint');
  return refusal;
}

/** Pids of the running (not zombie) processes in process group `pgid`, read from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state, fields[2] the process group.
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(entry));
  }
  return members;
}

/** A FIXTURE_RECORD file: fixture drivers append "<action> <argc> [args]..." to it for each run. */
export function recordFile(t: Teardownable): { file: string; lines(): string[] } {
  const file = join(tmpDir(t, 'ferry-record-'), 'record');
  return { file, lines: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []) };
}
