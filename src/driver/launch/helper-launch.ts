/**
 * The client of ferry-spawn (ferry-spawn.c), ferry's fork server: one helper
 * process per ferry, started on the first script, which starts every script
 * after it and passes back their output. Node forks its whole heap for each
 * child; the helper does not (see the C file and docs/performance.md).
 *
 * If the helper cannot start (not built, built for another machine), the
 * scripts it was asked for, and every later one, start with Node's spawn
 * instead. If it dies once started, the scripts it was running are killed and
 * fail with ESPAWNHELPER, and the next script starts a new helper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { libexecPath } from '../../config/paths.js';
import type { Closed, Launch, Launcher, LaunchRequest } from './types.js';

/** The protocol version the helper greets with: both sides are built from one tree. */
const PROTOCOL = 1;
/** A helper greets within a millisecond or two; one silent this long is not ours. */
const GREETING_MS = 5000;
/** The greeting frame's length (9: type, token, version) and type. */
const GREETING_START = Buffer.from([9, 0, 0, 0, 0x48]);

/** Signal names by number, the first of aliases (SIGABRT, not SIGIOT), as Node names a child's signal. */
const signalNames = new Map<number, string>();
for (const [name, number] of Object.entries(osConstants.signals)) if (!signalNames.has(number)) signalNames.set(number, name);
const errnoNames = new Map<number, string>();
for (const [name, number] of Object.entries(osConstants.errno)) if (!errnoNames.has(number)) errnoNames.set(number, name);

/** An errno's name as Node's spawn gives it (libuv's, EAGAIN not EWOULDBLOCK); libuv lacks some (ENOEXEC). */
function errnoName(errno: number): string {
  const name = getSystemErrorName(-errno);
  return name.startsWith('Unknown') ? (errnoNames.get(errno) ?? `E${errno}`) : name;
}

/** The built helper binary, or undefined when this install has none. */
export function helperPath(): string | undefined {
  const path = libexecPath('ferry-spawn');
  try {
    accessSync(path, fsConstants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/** An error shaped as Node's spawn makes them, so the runner reads both alike. */
function spawnError(code: string, file: string, args: readonly string[], message?: string, errno?: number): NodeJS.ErrnoException {
  return Object.assign(new Error(message ?? `spawn ${file} ${code}`), {
    code,
    ...(errno !== undefined ? { errno: -errno } : {}),
    syscall: `spawn ${file}`,
    path: file,
    spawnargs: [...args],
  });
}

/** One script run by the helper, from request to close. */
class HelperRun implements Launch {
  pid: number | undefined;
  exited = false;
  stdoutOpen = true;
  stderrOpen = true;
  exit: { code: number | null; signal: string | null } | undefined;
  private exitCallbacks: Array<() => void> = [];
  resolveStarted!: (pid: number | undefined) => void;
  resolveClosed!: (closed: Closed) => void;
  readonly started = new Promise<number | undefined>((resolve) => (this.resolveStarted = resolve));
  readonly closed = new Promise<Closed>((resolve) => (this.resolveClosed = resolve));

  constructor(
    readonly token: number,
    readonly request: LaunchRequest,
    private readonly release: (token: number) => void,
  ) {}

  onExit(callback: () => void): void {
    if (this.exited) callback();
    else this.exitCallbacks.push(callback);
  }

  markExited(exit: { code: number | null; signal: string | null }): void {
    this.exit = exit;
    this.exited = true;
    for (const callback of this.exitCallbacks.splice(0)) callback();
  }

  releasePipes(): void {
    if (this.stdoutOpen || this.stderrOpen) this.release(this.token);
  }

  /** Resolves closed once the script exited and both pipes closed. */
  settleIfDone(): boolean {
    if (!this.exit || this.stdoutOpen || this.stderrOpen) return false;
    this.resolveClosed(this.exit);
    return true;
  }
}

/** Reads whole frames (u32 length, u8 type, u32 token, payload) out of a byte stream. */
class FrameReader {
  private pending: Buffer | undefined;

  constructor(private readonly onFrame: (type: number, token: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32LE(offset);
      if (data.length - offset - 4 < length) break;
      this.onFrame(data[offset + 4] as number, data.readUInt32LE(offset + 5), data.subarray(offset + 9, offset + 4 + length));
      offset += 4 + length;
    }
    data = data.subarray(offset);
    this.pending = data.length > 0 ? Buffer.from(data) : undefined;
  }
}

/** A started helper process and the runs it holds. */
class HelperProcess {
  readonly runs = new Map<number, HelperRun>();
  greeted = false;
  /** The helper process has exited (its last replies may still be unread). */
  exited = false;
  private ended = false;
  /** Start requests held until the greeting: nothing is started by a helper that turns out not to be ours. */
  private held: Buffer[] | undefined = [];
  private greetingBytes = 0;
  private stderr = '';
  private readonly child: ChildProcess;
  private readonly greetingTimer: NodeJS.Timeout;

  constructor(
    path: string,
    private readonly onGone: (helper: HelperProcess, runsNeverStarted: HelperRun[], reason: string) => void,
  ) {
    this.child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const reader = new FrameReader((type, token, payload) => this.frame(type, token, payload));
    this.child.stdout?.on('data', (chunk: Buffer) => {
      // Not our greeting's first bytes: not our helper (a binary for another machine run by sh, say). Stop it now.
      if (this.greetingBytes < GREETING_START.length) {
        const length = Math.min(chunk.length, GREETING_START.length - this.greetingBytes);
        if (chunk.compare(GREETING_START, this.greetingBytes, this.greetingBytes + length, 0, length) !== 0) {
          this.child.kill('SIGKILL');
          return;
        }
        this.greetingBytes += length;
      }
      reader.push(chunk);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString('utf8');
    });
    // EPIPE when it died: the exit handler below settles every run.
    this.child.stdin?.on('error', () => undefined);
    this.child.once('error', (error) => this.gone(`${error.message}`));
    // A helper that neither greets nor dies would hold its runs forever: give up on it.
    this.greetingTimer = setTimeout(() => this.child.kill('SIGKILL'), GREETING_MS).unref();
    const reason = (code: number | null, signal: string | null): string => (signal ? `killed by ${signal}` : `exited with status ${code}`);
    // A helper that never greeted is done with at its exit (what it left may hold its stdout); ours, at close,
    // once every reply it sent has been read.
    this.child.once('exit', (code, signal) => {
      this.exited = true;
      if (!this.greeted) this.gone(reason(code, signal));
    });
    this.child.once('close', (code, signal) => this.gone(reason(code, signal)));
    // An idle helper must not keep ferry running: only its replies to runs in flight do (see track).
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /** Adds or drops a run; the helper holds the event loop open exactly while runs are in flight. */
  track(run: HelperRun, add: boolean): void {
    const before = this.runs.size;
    if (add) this.runs.set(run.token, run);
    else this.runs.delete(run.token);
    // Both: the helper's exit must be seen too, or a helper that dies with runs in flight would go unnoticed.
    const stdout = this.child.stdout as unknown as { ref(): void; unref(): void } | null;
    if (before === 0 && this.runs.size > 0) {
      this.child.ref();
      stdout?.ref();
    } else if (before > 0 && this.runs.size === 0) {
      this.child.unref();
      stdout?.unref();
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(frame: Buffer): void {
    if (this.held) this.held.push(frame);
    else this.child.stdin?.write(frame);
  }

  private frame(type: number, token: number, payload: Buffer): void {
    if (!this.greeted) {
      // Anything but our greeting first is not our helper talking (a binary for another machine run by sh, say).
      this.greeted = type === 0x48 /* H */ && payload.length >= 4 && payload.readUInt32LE(0) === PROTOCOL;
      if (!this.greeted) {
        this.child.kill('SIGKILL');
        return;
      }
      clearTimeout(this.greetingTimer);
      const held = this.held ?? [];
      this.held = undefined;
      if (held.length > 0) this.child.stdin?.write(Buffer.concat(held));
      return;
    }
    const run = this.runs.get(token);
    if (!run) return;
    switch (type) {
      case 0x50 /* P */:
        run.pid = payload.readInt32LE(0);
        run.resolveStarted(run.pid);
        return;
      case 0x46 /* F */: {
        const errno = payload.readInt32LE(0);
        const code = errnoName(errno);
        this.track(run, false);
        run.resolveStarted(undefined);
        run.resolveClosed({ error: spawnError(code, run.request.file, run.request.args, undefined, errno) });
        return;
      }
      case 0x4f /* O */:
        run.request.onStdout(payload);
        return;
      case 0x45 /* E */:
        run.request.onStderr(payload);
        return;
      case 0x6f /* o */:
        run.stdoutOpen = false;
        break;
      case 0x65 /* e */:
        run.stderrOpen = false;
        break;
      case 0x58 /* X */: {
        const code = payload.readInt32LE(0);
        const signal = payload.readInt32LE(4);
        run.markExited(signal ? { code: null, signal: signalNames.get(signal) ?? `SIG${signal}` } : { code, signal: null });
        break;
      }
      default:
        return;
    }
    if (run.settleIfDone()) this.track(run, false);
  }

  private gone(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.greetingTimer);
    const detail = this.stderr.trim() ? `${reason}: ${this.stderr.trim()}` : reason;
    const runs = [...this.runs.values()];
    this.runs.clear();
    this.onGone(
      this,
      runs.filter((run) => run.pid === undefined && !this.greeted),
      detail,
    );
    for (const run of runs) {
      if (run.pid === undefined && !this.greeted) continue;
      // Nothing reads its output any more: stop the script rather than leave it running unseen.
      if (run.pid !== undefined) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      run.resolveStarted(run.pid);
      run.markExited({ code: null, signal: null });
      const what =
        run.pid !== undefined
          ? `while ${run.request.file} ran; the script was killed`
          : `before it reported starting ${run.request.file}; the script may not have run`;
      run.resolveClosed({ error: spawnError('ESPAWNHELPER', run.request.file, run.request.args, `ferry's spawn helper ${detail} ${what}`) });
    }
  }
}

/**
 * Starts scripts through one shared helper process. `fallback` starts them
 * when the helper cannot: not built, or not runnable on this machine.
 */
export class SpawnHelper {
  private helper: HelperProcess | undefined;
  private broken: string | undefined;
  private nextToken = 1;

  constructor(
    private readonly path: string,
    private readonly fallback: Launcher,
  ) {}

  /** The running helper's pid, if one runs. */
  get pid(): number | undefined {
    return this.helper?.pid;
  }

  /** Why the helper is not used, once it failed to start; undefined while it is. */
  get unusable(): string | undefined {
    return this.broken;
  }

  launch(request: LaunchRequest): Launch {
    if (this.broken !== undefined) return this.fallback(request);
    const frame = encodeStart(0, request);
    // A helper that exited is not sent more: its close, which settles its runs, may still be coming.
    if (this.helper?.exited) this.helper = undefined;
    const helper = (this.helper ??= new HelperProcess(this.path, (gone, neverStarted, reason) => this.gone(gone, neverStarted, reason)));
    const token = this.nextToken;
    this.nextToken = this.nextToken >= 0xfffffffe ? 1 : this.nextToken + 1;
    frame.writeUInt32LE(token, 5);
    const run = new HelperRun(token, request, (releasing) => helper.write(encodeRelease(releasing)));
    helper.track(run, true);
    helper.write(frame);
    return run;
  }

  private gone(helper: HelperProcess, neverStarted: HelperRun[], reason: string): void {
    if (this.helper === helper) this.helper = undefined;
    if (helper.greeted) return;
    // It never started: use Node's spawn from now on, for these runs too.
    this.broken = reason;
    for (const run of neverStarted) {
      let launch: Launch;
      try {
        launch = this.fallback(run.request);
      } catch (error) {
        // Node's spawn throws for some errors (E2BIG, say) instead of reporting them: this run fails, the others go on.
        run.resolveStarted(undefined);
        run.markExited({ code: null, signal: null });
        run.resolveClosed({ error: error as NodeJS.ErrnoException });
        continue;
      }
      void launch.started.then((pid) => run.resolveStarted(pid));
      launch.onExit(() => run.markExited({ code: null, signal: null }));
      void launch.closed.then((closed) => run.resolveClosed(closed));
      run.releasePipes = () => launch.releasePipes();
    }
  }
}

/** The 'S' request for one script; the token (offset 5) is filled in by the caller. */
function encodeStart(token: number, request: LaunchRequest): Buffer {
  const strings = [request.file, ...request.args];
  for (const name of Object.keys(request.env)) strings.push(`${name}=${request.env[name]}`);
  // ferry's working folder now, as Node's spawn gives, not the one the helper started in.
  strings.push(request.cwd ?? process.cwd());
  if (strings.some((value) => value.includes('\0'))) {
    throw Object.assign(new TypeError(`The argument 'args' must be a string without null bytes; one of ${request.file}'s arguments or environment values has one`), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
  }
  const body = Buffer.from(`${strings.join('\0')}\0`, 'utf8');
  const input = request.input !== undefined ? Buffer.from(request.input, 'utf8') : undefined;
  const header = Buffer.allocUnsafe(21);
  header.writeUInt32LE(17 + body.length + (input?.length ?? 0), 0);
  header[4] = 0x53; /* S */
  header.writeUInt32LE(token, 5);
  header.writeUInt32LE(input !== undefined ? 1 : 0, 9);
  header.writeUInt32LE(1 + request.args.length, 13);
  header.writeUInt32LE(strings.length - 2 - request.args.length, 17);
  return Buffer.concat(input ? [header, body, input] : [header, body]);
}

function encodeRelease(token: number): Buffer {
  const frame = Buffer.allocUnsafe(9);
  frame.writeUInt32LE(5, 0);
  frame[4] = 0x52; /* R */
  frame.writeUInt32LE(token, 5);
  return frame;
}
