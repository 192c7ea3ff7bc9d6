/**
 * Runs one action: contract row -> checked arguments -> located script ->
 * process group -> typed result or FerryError. It never names an action;
 * everything action-specific comes from the contract table.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { dumpEnv } from '../dump/env.js';
import { checkArgs, type BoundArg } from '../contract/args.js';
import { resolveRoute, specFor } from '../contract/lookup.js';
import type { ActionSpec, Kind, ResultOf } from '../contract/table.js';
import { buildDump, dumpFromBase64, readDump, type ActionDump, type DumpInput } from '../dump/dump.js';
import { FerryError, type RunFacts } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { checkName, locate, resolveRemotes, type Located } from './locate.js';
import { API_VERSIONS, ManifestCache, type Manifest } from './manifest.js';
import { spawnGroup, type SpawnOutcome } from './launch/spawn-group.js';
import type { LogRecord } from '../log/record.js';
import { splitStderr } from './stderr.js';

/** The kernel refuses one argument longer than this (MAX_ARG_STRLEN, 32 pages), with E2BIG. */
export const MAX_ARG_BYTES = 128 * 1024;

export interface RunnerOptions {
  /** The remotes folder (datastore/<ds_mad>/, tm/<tm_mad>/). */
  remotes: string;
  logger?: Logger;
  /** Timeouts in seconds from ferry.yaml: `default`, and per kind and action. */
  timeouts?: { default?: number; datastore?: Record<string, number>; tm?: Record<string, number> };
  /** Seconds between SIGTERM and SIGKILL. Default 5. */
  killGraceSec?: number;
  /** Seconds leftover processes may hold a finished script's output open. Default 1. */
  lingerSec?: number;
  /** Bytes kept of stdout and of stderr. Default 16 MiB. */
  maxOutputBytes?: number;
  /** Added to every script's environment (hostsEnv() output, FERRY_LOCK_DIR …). */
  env?: Record<string, string>;
}

export interface CallOptions {
  /** Seconds; overrides every other timeout. */
  timeoutSec?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Apply the contract's stdout parser (default true). The protocol mode passes stdout through as is. */
  parse?: boolean;
  /** Added to this script's environment (a datastore's secret attributes: never on a command line or in a dump). */
  env?: Record<string, string>;
}

export interface DatastoreRequest<A extends string = string> extends CallOptions {
  kind: 'datastore';
  action: A;
  /** The dump: parsed, typed sections to build it from, or XML or base64 text. */
  dump: ActionDump | DumpInput | string;
  /** The image id (the datastore id for monitor). */
  id: number | string;
  /** Defaults to the dump's DATASTORE/DS_MAD. */
  driver?: string;
}

export interface TmRequest<A extends string = string> extends CallOptions {
  kind: 'tm';
  action: A;
  driver: string;
  args: readonly string[];
}

export type ActionRequest = DatastoreRequest | TmRequest;

export interface ActionResult<R = unknown> {
  ok: true;
  kind: Kind;
  driver: string;
  action: string;
  /** The script that ran (`clone` for an asked `clone.ssh` that does not exist). */
  script: string;
  id: string | undefined;
  command: string[];
  result: R;
  stdout: string;
  stderr: string;
  logs: LogRecord[];
  exitCode: number;
  signal: null;
  timedOut: false;
  durationMs: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

type RequestResult<Q> = Q extends { kind: infer K extends Kind; action: infer A extends string } ? ActionResult<ResultOf<K, A>> : never;

function isActionDump(value: unknown): value is ActionDump {
  return typeof value === 'object' && value !== null && 'base64' in value && typeof (value as ActionDump).get === 'function';
}

function toDump(input: ActionDump | DumpInput | string): ActionDump {
  if (typeof input === 'string') return readDump(input);
  if (isActionDump(input)) return input;
  return buildDump(input);
}

/** The argv and stdin for a run, dropping dump arguments when the driver reads the dump from stdin only. */
function scriptIo(spec: ActionSpec<unknown>, bound: readonly BoundArg[], dump: ActionDump | undefined, manifest: Manifest): { argv: string[]; input?: string; shown: string[] } {
  const stdinOnly = manifest.dump === 'stdin';
  const argv: string[] = [];
  const shown: string[] = [];
  for (const { spec: arg, value } of bound) {
    if (arg.type === 'dump') {
      if (stdinOnly) continue;
      shown.push(`<dump: ${value.length} bytes>`);
    } else {
      shown.push(value);
    }
    argv.push(value);
  }
  const hasDump = dump !== undefined && bound.some(({ spec: arg }) => arg.type === 'dump');
  const input = hasDump && (spec.dumpOnStdin || stdinOnly) ? `${(dump as ActionDump).base64}\n` : undefined;
  return input === undefined ? { argv, shown } : { argv, input, shown };
}

export class Runner {
  readonly remotes: string;
  private remotesReal: Promise<string> | undefined;
  private readonly manifests = new ManifestCache();
  /** Scripts already located, with the file-system stamp that keeps the answer valid. */
  private readonly located = new Map<string, { located: Located; stamp: string }>();
  private readonly logger: Logger;
  /** Environment entries that never change for this runner, computed once. */
  private fixedEnv: Record<string, string> | undefined;

  constructor(private readonly options: RunnerOptions) {
    this.remotes = options.remotes;
    this.logger = options.logger ?? silentLogger;
  }

  /** The same runner with `env` added to every script's environment. */
  withEnv(env: Record<string, string>): Runner {
    return new Runner({ ...this.options, env: { ...this.options.env, ...env } });
  }

  /** Real path of the remotes folder (checked once). */
  remotesPath(): Promise<string> {
    this.remotesReal ??= resolveRemotes(this.remotes).catch((error: unknown) => {
      this.remotesReal = undefined;
      throw error;
    });
    return this.remotesReal;
  }

  /**
   * Locates a script without running it. A located script is reused while
   * its folder, its link and its file are unchanged (a new file, a moved
   * link or a chmod all change the stamp), so a busy runner skips the
   * path walk.
   */
  async locate(kind: Kind, driver: string, action: string): Promise<Located> {
    const remotes = await this.remotesPath();
    const key = `${kind}/${driver}/${action}`;
    const cached = this.located.get(key);
    if (cached && cached.stamp === stampOf(remotes, cached.located)) return cached.located;
    const located = await locate(remotes, kind, driver, action);
    const stamp = stampOf(remotes, located);
    if (stamp !== undefined) this.located.set(key, { located, stamp });
    return located;
  }

  /** driver.yaml of a driver folder (empty when it has none). */
  manifest(driverDir: string): Promise<Manifest> {
    return this.manifests.load(driverDir);
  }

  /** Runs one action. Resolves to the typed result; rejects with a FerryError carrying everything known. */
  async run<Q extends ActionRequest>(request: Q): Promise<RequestResult<Q>> {
    return (await this.runAny(request)) as RequestResult<Q>;
  }

  async runAny(request: ActionRequest): Promise<ActionResult> {
    const action = request.action;
    if (request.timeoutSec !== undefined && !(Number.isFinite(request.timeoutSec) && request.timeoutSec > 0)) {
      throw new FerryError('E_USAGE', `timeout ${request.timeoutSec} is not a positive number of seconds`, { hint: 'pass timeoutSec > 0, e.g. 30 or 0.5' });
    }
    checkName(action, 'action');
    const asked = specFor(request.kind, action);
    let dump: ActionDump | undefined;
    let bound: BoundArg[];
    const label = `${request.kind === 'datastore' ? 'ds' : 'tm'} ${action}`;
    if (request.kind === 'datastore') {
      dump = toDump(request.dump);
      bound = checkArgs(asked.args, [dump.base64, String(request.id)], label);
    } else {
      bound = checkArgs(asked.args, request.args, `${label} ${request.driver}`);
      const dumpArg = bound.find((arg) => arg.spec.type === 'dump');
      if (dumpArg) dump = dumpFromBase64(dumpArg.value);
    }
    const id = asked.idArg === undefined ? undefined : bound.find((arg) => arg.spec.name === asked.idArg)?.value;
    const { kind, driver, spec } = resolveRoute(request.kind, action, dump, request.driver);
    const located = await this.locate(kind, driver, action);
    const manifest = await this.manifest(located.driverDir);
    if (manifest.api !== undefined && (manifest.api < API_VERSIONS.min || manifest.api > API_VERSIONS.max)) {
      throw new FerryError('E_BAD_MANIFEST', `${kind} driver '${driver}' targets driver API ${manifest.api}; this ferry runs API ${API_VERSIONS.min}..${API_VERSIONS.max}`, {
        hint: 'upgrade ferry, or use a driver built for this API version',
        kind,
        driver,
        action,
      });
    }
    if (manifest.kind !== undefined && manifest.kind !== kind) {
      throw new FerryError('E_BAD_MANIFEST', `${kind} driver '${driver}' says kind: ${manifest.kind} in its driver.yaml, but it is in the ${kind} folder`, {
        hint: `move it to remotes/${manifest.kind}/, or fix kind: in ${join(located.driverDir, 'driver.yaml')}`,
        kind,
        driver,
        action,
      });
    }
    const io = scriptIo(spec, bound, dump, manifest);
    const tooLong = io.argv.find((arg) => Buffer.byteLength(arg) >= MAX_ARG_BYTES);
    if (tooLong !== undefined) {
      throw new FerryError(
        'E_DUMP_TOO_LARGE',
        `the dump is ${Buffer.byteLength(tooLong)} bytes of base64, over the kernel's ${MAX_ARG_BYTES}-byte limit for one argument (E2BIG)`,
        { hint: `set "dump: stdin" in ${located.driverDir}/driver.yaml so the driver reads the dump from stdin`, kind, driver, action, id },
      );
    }
    const timeoutSec = this.timeoutFor(kind, located.script, spec, manifest, request.timeoutSec);
    const logger = (request.logger ?? this.logger).child({ kind, driver, action, ...(id !== undefined ? { id } : {}) });
    const outcome = await spawnGroup({
      file: located.path,
      args: io.argv,
      ...(io.input !== undefined ? { input: io.input } : {}),
      env: this.scriptEnv(kind, driver, action, dump, request.env),
      timeoutMs: timeoutSec * 1000,
      killGraceMs: (this.options.killGraceSec ?? 5) * 1000,
      lingerMs: (this.options.lingerSec ?? 1) * 1000,
      maxStdoutBytes: this.options.maxOutputBytes ?? 16 * 1024 * 1024,
      maxStderrBytes: this.options.maxOutputBytes ?? 16 * 1024 * 1024,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const { logs, message } = splitStderr(outcome.stderr);
    for (const record of logs) logger[record.level]({ source: 'driver' }, record.message);
    if (outcome.lingered) logger.warn({ source: 'ferry' }, 'the script exited but processes it started kept its output open; they were killed');
    const facts: RunFacts = {
      kind,
      driver,
      action,
      ...(id !== undefined ? { id } : {}),
      command: [located.path, ...io.shown],
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      logs,
      timedOut: outcome.timedOut,
      durationMs: Math.round(outcome.durationMs * 10) / 10,
      stdoutTruncated: outcome.stdoutTruncated,
      stderrTruncated: outcome.stderrTruncated,
    };
    const failure = this.failureOf(outcome, message, located, timeoutSec, facts);
    if (failure) {
      logger.debug({ source: 'ferry', code: failure.code, exitCode: outcome.exitCode, durationMs: facts.durationMs }, failure.message);
      throw failure;
    }
    let result: unknown = outcome.stdout;
    if (request.parse !== false) {
      const parsed = outcome.stdoutTruncated && spec.returns ? { ok: false as const, reason: 'its output was cut at the capture limit' } : spec.parse(outcome.stdout);
      if (!parsed.ok) {
        throw new FerryError('E_MALFORMED_OUTPUT', `driver returned malformed output: ${parsed.reason}; it printed ${printed(outcome.stdout)}`, {
          hint: `${located.path} must print only its result on stdout; logs go to stderr`,
          ...facts,
        });
      }
      result = parsed.value;
    }
    return {
      ok: true,
      kind,
      driver,
      action,
      script: located.script,
      id,
      command: facts.command as string[],
      result,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      logs,
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: facts.durationMs as number,
      stdoutTruncated: outcome.stdoutTruncated,
      stderrTruncated: outcome.stderrTruncated,
    };
  }

  /** What a script gets on top of ferry's environment: the runner's additions, what the script is, the dump's fields, and the call's own. */
  private scriptEnv(kind: Kind, driver: string, action: string, dump: ActionDump | undefined, extra: Record<string, string> | undefined): Record<string, string> {
    this.fixedEnv ??= {
      FERRY: join(packageRoot(), 'dist', 'bin', 'ferry.js'),
      FERRY_LOCK_DIR: join(tmpdir(), `ferry-${process.getuid?.() ?? 'user'}`, 'locks'),
      ...this.options.env,
      FERRY_REMOTES: this.remotes,
    };
    return { ...this.fixedEnv, FERRY_KIND: kind, FERRY_DRIVER: driver, FERRY_ACTION: action, ...(dump ? dumpEnv(dump) : {}), ...extra };
  }

  /**
   * Call > ferry.yaml per action (the operator's word on this action) >
   * driver.yaml per action > driver.yaml default > ferry.yaml default > contract.
   */
  private timeoutFor(kind: Kind, script: string, spec: ActionSpec<unknown>, manifest: Manifest, call: number | undefined): number {
    const fromConfig = this.options.timeouts;
    return (
      call ??
      fromConfig?.[kind]?.[script] ??
      manifest.timeouts?.[script] ??
      manifest.timeouts?.default ??
      fromConfig?.default ??
      spec.timeoutSec
    );
  }

  private failureOf(outcome: SpawnOutcome, message: string, located: Located, timeoutSec: number, facts: RunFacts): FerryError | undefined {
    if (outcome.spawnError?.code === 'ESPAWNHELPER') {
      return new FerryError('E_SPAWN', outcome.spawnError.message, {
        hint: 'run it again; if the helper keeps dying, set FERRY_SPAWN=node and report it',
        cause: outcome.spawnError,
        ...facts,
      });
    }
    if (outcome.spawnError) {
      const errno = outcome.spawnError.code ?? 'unknown error';
      const interpreter = shebangOf(located.path);
      const hint =
        errno === 'ENOENT'
          ? `the interpreter on the first line (#!) of ${located.path} does not exist on this machine`
          : errno === 'EACCES'
            ? `chmod +x ${located.path}, and check the interpreter on its first line (#!) is executable`
            : `check the first line (#!) of ${located.path}`;
      const why = errno === 'ENOENT' && interpreter ? `its interpreter ${interpreter} does not exist (ENOENT)` : errno;
      return new FerryError('E_SPAWN', `cannot start ${located.path}: ${why}`, { hint, cause: outcome.spawnError, ...facts });
    }
    if (outcome.timedOut) {
      return new FerryError('E_TIMEOUT', `${located.kind} ${located.driver}/${located.script} timed out after ${timeoutSec} s${message ? `: ${message}` : ''}`, {
        hint: 'raise the timeout (--timeout, timeouts: in driver.yaml or ferry.yaml) or find what the driver waits on',
        ...facts,
      });
    }
    if (outcome.cancelled) return new FerryError('E_CANCELLED', `${located.kind} ${located.driver}/${located.script} was cancelled`, facts);
    if (outcome.exitCode !== 0) {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${outcome.exitCode}`;
      // A script that only logged (ERROR: lines) still said why: its errors are the message.
      const errors = (facts.logs ?? []).filter((record) => record.level === 'error').map((record) => record.message).join('\n');
      return new FerryError('E_DRIVER_FAILED', message || (errors ? `${errors} (${located.kind} ${located.driver}/${located.script} ${how})` : `${located.kind} ${located.driver}/${located.script} ${how}`), facts);
    }
    return undefined;
  }
}

/** What must not change for a located script to stay valid; undefined when any part is gone. */
function stampOf(remotes: string, located: Located): string | undefined {
  const dir = statSync(join(remotes, located.kind, located.driver), { throwIfNoEntry: false });
  const link = lstatSync(located.path, { throwIfNoEntry: false });
  const file = statSync(located.path, { throwIfNoEntry: false });
  if (!dir || !link || !file) return undefined;
  return `${dir.ino}:${dir.mtimeMs}:${link.ino}:${link.ctimeMs}:${file.ino}:${file.ctimeMs}:${file.mode}`;
}

/** The interpreter named on a script's `#!` line, if it has one. */
function shebangOf(path: string): string | undefined {
  try {
    const head = readFileSync(path, { encoding: 'utf8' }).slice(0, 256);
    return /^#!\s*(\S+)/.exec(head)?.[1];
  } catch {
    return undefined;
  }
}

/** stdout as shown in a malformed-output error: quoted, cut to a readable length. */
function printed(stdout: string): string {
  if (stdout.trim() === '') return 'nothing';
  const cut = stdout.length > 200 ? `${stdout.slice(0, 200)}...` : stdout;
  return JSON.stringify(cut);
}
