/**
 * Runs for the launch tests (spawnGroup with and without ferry-spawn): a
 * /bin/sh -c script or a script file with test limits, and the pid a script
 * writes to a file.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup, type SpawnOptions } from '../../src/driver/launch/spawn-group.js';
import { tmpDir, waitFor } from './fixtures.js';

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

/** Writes `text` to a fresh file with `mode` and runs it without arguments, with short limits (1 s, 1 KiB). */
export function runScript(t: Parameters<typeof tmpDir>[0], text: string, mode: number, options: Partial<SpawnOptions> = {}) {
  const file = join(tmpDir(t), 'script');
  writeFileSync(file, text);
  chmodSync(file, mode);
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
