/**
 * Runs for the launch tests (spawnGroup with and without ferry-spawn): a
 * /bin/sh -c script or a script file with test limits; and the pids a script
 * or a fixture driver writes to a file, for the tests that kill them.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { spawnGroup, type SpawnOptions } from '../../src/driver/launch/spawn-group.js';
import { pgidOf, processAlive, tmpDir, waitFor } from './fixtures.js';

/** Runs `script` with /bin/sh -c: 5 s, 1 MiB of stdout and of stderr, unless `options` say otherwise. */
export function sh(script: string, options: Partial<SpawnOptions> = {}) {
  return spawnGroup({
    file: '/bin/sh',
    args: ['-c', script],
    timeoutMs: 5000,
    killGraceMs: 500,
    lingerMs: 200,
    maxStdoutBytes: 1024 * 1024,
    maxStderrBytes: 1024 * 1024,
    ...options,
  });
}

/** Writes `text` to `file` with `mode` (executable by default); returns `file`. */
export function writeScript(file: string, text: string, mode = 0o755): string {
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

/** Writes `text` to a fresh file with `mode` and runs it without arguments, with short limits (1 s, 1 KiB). */
export function runScript(t: Parameters<typeof tmpDir>[0], text: string, mode: number, options: Partial<SpawnOptions> = {}) {
  const file = writeScript(join(tmpDir(t), 'script'), text, mode);
  return spawnGroup({ file, args: [], timeoutMs: 1000, killGraceMs: 100, lingerMs: 100, maxStdoutBytes: 1024, maxStderrBytes: 1024, ...options });
}

/** Waits (up to `ms`) for a pid file a script writes and returns the pid in it. */
export async function pidFrom(file: string, ms = 5000): Promise<number> {
  await waitFor(() => {
    try {
      return /^\d+\s*$/.test(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
  }, ms);
  return Number(readFileSync(file, 'utf8').trim());
}

/** Asserts `what` (by default that the grandchild is dead): the pid a script wrote to `pidfile` is gone within 2 s; returns that pid. */
export async function grandchildDies(t: Test, pidfile: string, what = 'grandchild is dead'): Promise<number> {
  const grandchild = await pidFrom(pidfile);
  t.ok(await waitFor(() => !processAlive(grandchild), 2000), what);
  return grandchild;
}

/** Waits for the pid a fixture driver's grandchild writes to `pidfile` (asserting that the driver started); its process group is killed on teardown. */
export async function startedGroup(t: Test, pidfile: string): Promise<{ grandchild: number; pgid: number }> {
  t.ok(await waitFor(() => existsSync(pidfile) && readFileSync(pidfile, 'utf8').trim() !== '', 5000), 'the driver started');
  const grandchild = Number(readFileSync(pidfile, 'utf8'));
  const pgid = pgidOf(grandchild);
  t.teardown(() => {
    // 0 (the group already gone) would signal our own group.
    if (pgid <= 1) return;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  return { grandchild, pgid };
}
