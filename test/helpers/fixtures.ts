/**
 * Shared helpers for tests: where the fixtures are, the spec's example dump,
 * temp folders cleaned up on teardown, and a liveness probe for pids.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../src/errors.js';

/** Absolute path of fixtures/ at the repository root. */
export const fixturesRoot = fileURLToPath(new URL('../../fixtures/', import.meta.url)).replace(/\/$/, '');

/** Absolute path of fixtures/remotes (datastore/<behaviour>/, tm/<behaviour>/, fixture.sh). */
export const fixturesRemotes = join(fixturesRoot, 'remotes');

/** The spec's decoded example action dump (DS_MAD fs, TM_MAD shared). */
export function specExampleXml(): string {
  return readFileSync(join(fixturesRoot, 'dumps', 'spec-example.xml'), 'utf8');
}

/** The spec example with every DS_MAD (plain and CDATA) replaced by `driver`. */
export function dumpFor(driver: string): string {
  return specExampleXml()
    .replace(/<DS_MAD>fs<\/DS_MAD>/g, `<DS_MAD>${driver}</DS_MAD>`)
    .replace(/<DS_MAD><!\[CDATA\[fs\]\]><\/DS_MAD>/g, `<DS_MAD><![CDATA[${driver}]]></DS_MAD>`);
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
