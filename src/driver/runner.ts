/**
 * Runs one action: contract row -> checked arguments -> located script ->
 * process group -> typed result or FerryError. It never names an action;
 * everything action-specific comes from the contract table. The stages are
 * in run/ (bind, prepare, outcome) and launch/ (spawnGroup); the Runner
 * holds what outlives a run: located scripts, manifests, the fixed
 * environment.
 */
import { secretsOf } from '../log/mask.js';
import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRoute } from '../contract/lookup.js';
import type { Kind } from '../contract/table.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { spawnGroup, type SpawnOutcome } from './launch/spawn-group.js';
import { locate, resolveRemotes, type Located } from './locate.js';
import { ManifestCache, type Manifest } from './manifest.js';
import { bind, type Bound } from './run/bind.js';
import { settle } from './run/outcome.js';
import { fixedEnv, prepare, scriptEnv, type Prepared } from './run/prepare.js';
import { conventionOf, looksOpenNebula, type Convention } from './convention.js';
import { oneEnv, oneRootOf } from './one-env.js';
import type { ActionRequest, ActionResult, RequestResult, RunnerOptions } from './run/types.js';

export { MAX_ARG_BYTES } from './run/prepare.js';
export type { ActionRequest, ActionResult, CallOptions, DatastoreRequest, RunnerOptions, TmRequest } from './run/types.js';

export class Runner {
  readonly remotes: string;
  private remotesReal: Promise<string> | undefined;
  private readonly manifests = new ManifestCache();
  /** Scripts already located, with the file-system stamp that keeps the answer valid. */
  private readonly located = new Map<string, { located: Located; stamp: string; looksOpenNebula?: boolean }>();
  private readonly logger: Logger;
  /** Environment entries that never change for this runner, computed once. */
  private fixedEnv: Record<string, string> | undefined;
  /** The same for opennebula-convention scripts (one-env.ts). */
  private oneFixedEnv: Record<string, string> | undefined;

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

  /** bind -> route -> locate -> prepare -> launch -> outcome. */
  async runAny(request: ActionRequest): Promise<ActionResult> {
    const bound = bind(request);
    const { kind, driver, spec } = resolveRoute(request.kind, request.action, bound.dump, request.driver);
    const located = await this.locate(kind, driver, request.action);
    const manifest = await this.manifest(located.driverDir);
    const convention = await this.convention(located, manifest);
    const prepared = prepare(located, spec, manifest, bound, this.options.timeouts, request.timeoutSec, convention);
    const logger = (request.logger ?? this.logger).child({ kind, driver, action: request.action, ...(bound.id !== undefined ? { id: bound.id } : {}) });
    const outcome = await this.launch(located, prepared, bound, request, convention);
    // A driver that echoes a secret (in a log line, its message or its output) never has ferry repeat it anywhere.
    const secrets = secretsOf(request.env);
    const seen = secrets ? { ...outcome, stdout: secrets.text(outcome.stdout), stderr: secrets.text(outcome.stderr) } : outcome;
    return settle(seen, located, spec, bound.id, prepared, request.parse, logger);
  }

  /** How this driver's scripts expect to be called (convention.ts); the script is read at most once while it is unchanged. */
  async convention(located: Located, manifest: Manifest): Promise<Convention> {
    const remotes = await this.remotesPath();
    return conventionOf({
      kind: located.kind,
      driver: located.driver,
      manifest,
      choices: this.options.conventions,
      inOneRoot: this.oneRoot(remotes) !== undefined,
      scriptLooksOpenNebula: () => {
        const entry = this.located.get(`${located.kind}/${located.driver}/${located.action}`);
        if (entry?.located !== located) return looksOpenNebula(located.path);
        entry.looksOpenNebula ??= looksOpenNebula(located.path);
        return entry.looksOpenNebula;
      },
    });
  }

  private oneRootCache: { remotes: string; root: string | undefined } | undefined;

  /** The OpenNebula install root this remotes folder belongs to, if any (looked up once). */
  private oneRoot(remotes: string): string | undefined {
    if (this.oneRootCache?.remotes !== remotes) this.oneRootCache = { remotes, root: oneRootOf(remotes) };
    return this.oneRootCache.root;
  }

  /**
   * Runs an executable that is not a driver action (an alert hook) the way actions run: its own process group,
   * ferry's environment, `timeoutSec` then SIGTERM, SIGKILL after the kill grace, output capped. The caller
   * judges the outcome; nothing here parses it.
   */
  runProgram(file: string, options: { args?: readonly string[]; input?: string; timeoutSec: number; env?: Record<string, string>; signal?: AbortSignal }): Promise<SpawnOutcome> {
    this.fixedEnv ??= fixedEnv(this.options);
    const maxOutputBytes = Math.min(this.options.maxOutputBytes ?? 16 * 1024 * 1024, 1024 * 1024);
    return spawnGroup({
      file,
      args: options.args ?? [],
      ...(options.input !== undefined ? { input: options.input } : {}),
      env: { ...this.fixedEnv, ...options.env },
      timeoutMs: options.timeoutSec * 1000,
      killGraceMs: (this.options.killGraceSec ?? 5) * 1000,
      lingerMs: (this.options.lingerSec ?? 1) * 1000,
      maxStdoutBytes: maxOutputBytes,
      maxStderrBytes: maxOutputBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Starts the script in its own process group and waits for it (and its output) to finish. */
  private async launch(located: Located, prepared: Prepared, bound: Bound, request: ActionRequest, convention: Convention): Promise<SpawnOutcome> {
    this.fixedEnv ??= fixedEnv(this.options);
    if (convention === 'opennebula') {
      this.oneFixedEnv ??= { ...this.fixedEnv, ...oneEnv(this.oneRoot(await this.remotesPath()), this.fixedEnv) };
    }
    const fixed = convention === 'opennebula' ? (this.oneFixedEnv ?? this.fixedEnv) : this.fixedEnv;
    const maxOutputBytes = this.options.maxOutputBytes ?? 16 * 1024 * 1024;
    return spawnGroup({
      file: located.path,
      args: prepared.argv,
      input: prepared.input,
      env: scriptEnv(fixed, located.kind, located.driver, located.action, bound.dump, request.env),
      timeoutMs: prepared.timeoutSec * 1000,
      killGraceMs: (this.options.killGraceSec ?? 5) * 1000,
      lingerMs: (this.options.lingerSec ?? 1) * 1000,
      maxStdoutBytes: maxOutputBytes,
      maxStderrBytes: maxOutputBytes,
      signal: request.signal,
    });
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
