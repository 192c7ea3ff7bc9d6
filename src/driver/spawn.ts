/**
 * Runs one script as the leader of its own process group, so a timeout or a
 * cancel can kill the whole group, grandchildren included. Output is captured
 * up to a cap; the rest is counted and dropped.
 *
 * node:child_process.spawn with an argument array and no shell: execa cost
 * about 2 ms of CPU per action here, doubling the parent's cost of a spawn
 * (see README, Performance), for features this module does itself.
 */
import { spawn } from 'node:child_process';
import { DUMP_ENV_PATTERN } from '../dump/env.js';
import { FerryError } from '../errors.js';
import { helperPath, SpawnHelper, type Closed, type Launcher } from './spawn-helper.js';

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

/** Keeps the first half and the last half of a capped stream. */
class Capture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  total = 0;

  constructor(
    private readonly cap: number,
    private readonly keepTail: boolean,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headCap = this.keepTail ? Math.floor(this.cap / 2) : this.cap;
    if (this.headBytes < headCap) {
      const take = chunk.subarray(0, headCap - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (!this.keepTail || chunk.length === 0) return;
    const tailCap = this.cap - headCap;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= tailCap && this.tail.length > 1) {
      this.tailBytes -= (this.tail.shift() as Buffer).length;
    }
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    if (!this.keepTail || this.tail.length === 0) return head;
    let tail = Buffer.concat(this.tail);
    const tailCap = this.cap - Math.floor(this.cap / 2);
    const cut = this.total - this.headBytes - Math.min(tail.length, tailCap);
    if (tail.length > tailCap) tail = tail.subarray(tail.length - tailCap);
    return cut > 0 ? `${head}\n[... ${cut} bytes cut ...]\n${tail.toString('utf8')}` : head + tail.toString('utf8');
  }
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

/** Starts a script with Node's own spawn: the fallback when ferry-spawn is not there. */
export const launchWithNode: Launcher = (request) => {
  const subprocess = spawn(request.file, request.args, {
    detached: true,
    stdio: [request.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    shell: false,
    env: request.env,
    ...(request.cwd ? { cwd: request.cwd } : {}),
  });
  // 'close' comes once the script has exited and its output pipes are closed: the one event the usual run waits for.
  const closed = new Promise<Closed>((resolve) => {
    subprocess.once('close', (code, signal) => resolve({ code, signal }));
    subprocess.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
  });
  subprocess.stdout?.on('data', request.onStdout);
  subprocess.stderr?.on('data', request.onStderr);
  if (request.input !== undefined && subprocess.stdin) {
    // A script that exits without reading stdin closes the pipe: EPIPE is expected, not an error.
    subprocess.stdin.on('error', () => undefined);
    subprocess.stdin.end(request.input);
  }
  let exited = false;
  subprocess.once('exit', () => (exited = true));
  return {
    started: Promise.resolve(subprocess.pid),
    closed,
    onExit: (callback) => (exited ? callback() : subprocess.once('exit', callback)),
    releasePipes: () => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    },
  };
};

let helper: SpawnHelper | undefined;
let helperLaunch: Launcher | undefined;

/** FERRY_SPAWN, checked: 'node' forces Node's spawn; unset or 'helper' is the default. */
function spawnSetting(): 'node' | 'helper' {
  const value = process.env.FERRY_SPAWN;
  if (value === undefined || value === '' || value === 'helper') return 'helper';
  if (value === 'node') return 'node';
  throw new FerryError('E_USAGE', `FERRY_SPAWN=${JSON.stringify(value)} is not a way to start scripts`, {
    hint: 'FERRY_SPAWN=node starts them with Node\'s spawn; unset it (or FERRY_SPAWN=helper) for ferry-spawn',
  });
}

/** How scripts start: through ferry-spawn when it is built, else Node's spawn (and always with FERRY_SPAWN=node). */
function launcher(): Launcher {
  if (spawnSetting() === 'node') return launchWithNode;
  if (helperLaunch === undefined) {
    const path = helperPath();
    if (path === undefined) return launchWithNode;
    const started = new SpawnHelper(path, launchWithNode);
    helper = started;
    helperLaunch = (request) => started.launch(request);
  }
  return helperLaunch;
}

/** Which way scripts start in this process: 'helper', or 'node' with the reason. */
export function spawnMode(): { mode: 'helper' | 'node'; reason?: string } {
  if (spawnSetting() === 'node') return { mode: 'node', reason: 'FERRY_SPAWN=node' };
  if (helper?.unusable !== undefined) return { mode: 'node', reason: `ferry-spawn could not start: ${helper.unusable}` };
  if (helper === undefined && helperPath() === undefined) return { mode: 'node', reason: 'ferry-spawn is not built (npm run build compiles it)' };
  return { mode: 'helper' };
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
  const timer = setTimeout(() => {
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
    clearTimeout(timer);
    if (terminating) return;
    lingerTimer = setTimeout(() => {
      lingered = true;
      terminate();
    }, options.lingerMs);
  });

  const exit = await launch.closed;
  clearTimeout(timer);
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
