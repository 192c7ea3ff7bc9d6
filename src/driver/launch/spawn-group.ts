/**
 * Runs one script as the leader of its own process group, so a timeout or a
 * cancel can kill the whole group, grandchildren included. Output is captured
 * up to a cap; the rest is counted and dropped.
 *
 * Started by a launcher (choose.ts: ferry-spawn, else Node's spawn, an
 * argument array and no shell): execa cost about 2 ms of CPU per action here,
 * doubling the parent's cost of a spawn (see docs/performance.md), for
 * features this module does itself.
 */
import { setLongTimeout } from './timer.js';
import { DUMP_ENV_PATTERN } from '../../dump/env.js';
import { Capture } from './capture.js';
import { launcher } from './choose.js';
import type { Launcher } from './types.js';

/**
 * ferry's environment less the dump variables an outer ferry may have set
 * (the runner sets this action's own), plus `extra`. Read afresh each time, so
 * a variable added to process.env reaches the next script; one pass over
 * Object.keys, since each read of process.env is a call into the runtime.
 */
export function inheritedEnv(extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  const source = process.env;
  for (const name of Object.keys(source)) {
    if (DUMP_ENV_PATTERN.test(name)) continue;
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return extra ? Object.assign(env, extra) : env;
}

export interface SpawnOptions {
  file: string;
  args: readonly string[];
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Added to ferry's own environment (less inherited dump variables: see inheritedEnv). */
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  /** After SIGTERM, how long before SIGKILL. */
  killGraceMs: number;
  /** After the script exits, how long its leftover processes may keep its output open. */
  lingerMs: number;
  maxStdoutBytes: number;
  maxStderrBytes: number;
  signal?: AbortSignal;
  /** How to start the script; default ferry-spawn when built, else Node's spawn (see launcher()). */
  launcher?: Launcher;
}

export interface SpawnOutcome {
  pid: number | undefined;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /** The script exited but processes it left kept its output open; they were killed. */
  lingered: boolean;
  spawnError?: NodeJS.ErrnoException;
  durationMs: number;
}

/** Process groups still running, so ferry can take them down when it exits. */
const liveGroups = new Set<number>();

/** Sends a signal to every process group ferry started that is still running. */
export function signalAllGroups(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pgid of liveGroups) signalGroup(pgid, signal);
}

export function liveGroupCount(): number {
  return liveGroups.size;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0 as unknown as NodeJS.Signals);
}

export async function spawnGroup(options: SpawnOptions): Promise<SpawnOutcome> {
  const started = performance.now();
  const stdout = new Capture(options.maxStdoutBytes, false);
  const stderr = new Capture(options.maxStderrBytes, true);
  const launch = (options.launcher ?? launcher())({
    file: options.file,
    args: options.args,
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: inheritedEnv(options.env),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
  });
  const pid = await launch.started;

  let timedOut = false;
  let cancelled = false;
  let terminating = false;
  let lingered = false;
  let killTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  /** SIGTERM to the group now, SIGKILL after the grace period. */
  const terminate = (): void => {
    if (terminating || pid === undefined) return;
    terminating = true;
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      signalGroup(pid, 'SIGKILL');
      // Killed processes still holding the output (a stopped grandchild, say): stop reading it.
      killTimer = setTimeout(() => launch.releasePipes(), 100);
    }, options.killGraceMs);
  };

  if (pid !== undefined) liveGroups.add(pid);
  const cancelTimeout = setLongTimeout(() => {
    timedOut = true;
    terminate();
  }, options.timeoutMs);
  const onAbort = (): void => {
    cancelled = true;
    terminate();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  // The script exited: its leftovers may hold the output open for lingerMs, then the group is stopped.
  launch.onExit(() => {
    cancelTimeout();
    if (terminating) return;
    lingerTimer = setTimeout(() => {
      lingered = true;
      terminate();
    }, options.lingerMs);
  });

  const exit = await launch.closed;
  cancelTimeout();
  clearTimeout(lingerTimer);
  if (pid !== undefined && !('error' in exit) && (timedOut || cancelled || lingered)) signalGroup(pid, 'SIGKILL');
  if (killTimer) clearTimeout(killTimer);
  options.signal?.removeEventListener('abort', onAbort);
  if (pid !== undefined) liveGroups.delete(pid);

  return {
    pid,
    exitCode: 'error' in exit ? null : exit.code,
    signal: 'error' in exit ? null : exit.signal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    timedOut,
    cancelled,
    lingered,
    ...('error' in exit ? { spawnError: exit.error } : {}),
    durationMs: performance.now() - started,
  };
}
