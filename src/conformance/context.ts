/**
 * What checks run against: the production Runner with the suite's hosts,
 * the datastore (temporary or from --datastore), test images, and a record
 * of every action run (for the timeout and stdout checks) and of every
 * resource made (for the clean-up). Checks never spawn drivers themselves.
 */
import { SECRET_ENV_PREFIX } from '../log/mask.js';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Datastore, Image } from '../model.js';
import type { Capability } from '../contract/capabilities.js';
import { specFor, type Kind } from '../contract/table.js';
import type { ActionResult, Runner } from '../driver/runner.js';
import type { Manifest } from '../driver/manifest.js';
import type { Logger } from '../log/logger.js';
import { FerryError, isFerryError } from '../errors.js';
import { envName } from '../dump/env.js';
import { datastoreDump, secretEnv } from '../dump/from-catalog.js';
import type { HostView } from './hosts.js';
import { convertToQcow2, makeRawImage, sha256 } from './tools.js';
import { describe } from './check-context.js';
import { CheckFailure, SetupFailure, type CheckResult } from './types.js';

/** One action the suite ran, kept for the timeout and stdout checks. */
export interface RunRecord {
  kind: Kind;
  driver: string;
  action: string;
  /** The script that ran (clone for a clone.ssh that does not exist). */
  script: string;
  durationMs: number;
  declaredSec: number;
  /** Where the declared timeout comes from, for messages. */
  declaredFrom: string;
  capSec: number;
  ok: boolean;
  timedOut: boolean;
  code: string | null;
  /** The failure's message (the driver's words), null on success. */
  message: string | null;
  stdout: string;
  stderrLines: number;
  /** Whether the action returns a result (its stdout is parsed). */
  returns: boolean;
  /** Run with tracing on to make stderr noisy (the stdout check). */
  noisy: boolean;
}

/** A generated image: its file, a raw file with the same guest bytes (for comparisons), and its size. */
export interface TestImage {
  path: string;
  raw: string;
  format: 'raw' | 'qcow2';
  sizeMb: number;
  sha256: string;
}

/** An image registered in the datastore. */
export interface Registered {
  id: number;
  source: string;
  sizeMb: number | undefined;
  /** The format cp printed, if any. */
  format?: string;
  image: TestImage;
}

export interface SuiteSetup {
  runner: Runner;
  kind: Kind;
  /** The driver under test. */
  driver: string;
  dsDriver: string | null;
  tmDriver: string | null;
  manifest: Manifest;
  /** Manifest of the other driver in play, if any. */
  pairedManifest: Manifest;
  datastore: Datastore;
  system: { id: number; paths: [string, string] };
  frontend: string;
  hostNames: [string, string];
  hosts: Map<string, HostView>;
  scratch: string;
  runId: string;
  timeoutCapSec: number | undefined;
  signal: AbortSignal | undefined;
  /** Where drivers' log records go (default: nowhere; the report carries what matters). */
  logger: Logger;
}

/**
 * True when the manifest claims one of the capabilities (names of
 * src/contract/capabilities.ts, exactly as driver.yaml writes them: an
 * unknown spelling counts for nothing here, as `ferry drivers validate` warns).
 */
export function capabilityClaimed(manifest: Manifest, anyOf: readonly Capability[]): boolean {
  return anyOf.some((capability) => manifest.capabilities?.includes(capability) === true);
}

export class Suite {
  readonly runs: RunRecord[] = [];
  readonly results: CheckResult[] = [];
  /** Image sources made through the datastore driver: removed at the end unless a check removed them. */
  readonly sources = new Map<string, { driver: string; id: number; removed: boolean }>();
  /** VM folders on hosts: [host, folder, vm id, system ds id]. */
  readonly vmFolders: Array<{ host: string; folder: string; vm: number; dsId: number }> = [];
  private readonly memo = new Map<string, Promise<unknown>>();
  /** What one check made for later ones (the registered image, say). */
  private readonly state = new Map<string, unknown>();
  private nextImageId: number;
  private nextVm: number;

  /** `before`: the names in BASE_PATH when the suite started, which it never removes. */
  constructor(
    readonly setup: SuiteSetup,
    private readonly before: ReadonlySet<string> = new Set(),
  ) {
    // Ids spread per run, so two suites sharing a datastore or system folder never pick the same.
    const base = randomBytes(3).readUIntBE(0, 3) % 800_000;
    this.nextImageId = 100_000 + base;
    this.nextVm = 100_000 + base;
  }

  get runner(): Runner {
    return this.setup.runner;
  }

  get ds(): Datastore {
    return this.setup.datastore;
  }

  put(key: string, value: unknown): void {
    this.state.set(key, value);
  }

  /** What an earlier check put; it passed, or the check asking would have been skipped by need(). */
  get<T>(key: string): T {
    if (!this.state.has(key)) throw new Error(`suite state ${key} is missing`);
    return this.state.get(key) as T;
  }

  imageId(): number {
    return this.nextImageId++;
  }

  /** Caches a set-up step, so every check that needs it shares one run. */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let promise = this.memo.get(key) as Promise<T> | undefined;
    if (!promise) {
      promise = make();
      this.memo.set(key, promise);
    }
    return promise;
  }

  /** A generated image, made once per name: random bytes (so every copy is checkable), raw or qcow2. */
  testImage(name: string, sizeMiB: number, format: 'raw' | 'qcow2' = 'raw'): Promise<TestImage> {
    return this.once(`image:${name}:${format}`, async () => {
      const raw = join(this.setup.scratch, `${name}.raw`);
      const data = await this.once(`raw:${name}`, () => makeRawImage(raw, sizeMiB));
      const path = format === 'raw' ? raw : join(this.setup.scratch, `${name}.qcow2`);
      if (format === 'qcow2') await convertToQcow2(raw, path);
      return { path, raw, format, sizeMb: sizeMiB, sha256: sha256(data) };
    });
  }

  /** Where the declared timeout of an action comes from: driver.yaml per action, its default, else the contract. */
  async declared(kind: Kind, driver: string, action: string): Promise<{ sec: number; from: string; script: string }> {
    const located = await this.runner.locate(kind, driver, action);
    const manifest = await this.runner.manifest(located.driverDir);
    const own = manifest.timeouts?.[located.script];
    if (own !== undefined) return { sec: own, from: `driver.yaml timeouts.${located.script}`, script: located.script };
    if (manifest.timeouts?.default !== undefined) return { sec: manifest.timeouts.default, from: 'driver.yaml timeouts.default', script: located.script };
    return { sec: specFor(kind, action).timeoutSec, from: 'the contract default', script: located.script };
  }

  /** The suite's timeout for an action: --timeout when given, else twice the declared one (at least 5 s more), so a slow action still finishes and the timeout check can say by how much it was late. */
  private cap(declaredSec: number): number {
    return this.setup.timeoutCapSec ?? Math.max(declaredSec * 2, declaredSec + 5);
  }

  private async record<R extends ActionResult>(kind: Kind, driver: string, action: string, noisy: boolean, run: (timeoutSec: number) => Promise<R>): Promise<R> {
    const declared = await this.declared(kind, driver, action);
    // An action that ran into the suite's timeout once is not run again: a hung driver would cost the whole timeout per check.
    const hung = this.runs.find((r) => r.kind === kind && r.driver === driver && r.action === action && r.timedOut);
    if (hung) {
      throw new FerryError('E_TIMEOUT', `${kind} ${driver}/${hung.script} already ran past the suite's ${hung.capSec} s timeout once; not run again`, { kind, driver, action, timedOut: true });
    }
    const capSec = this.cap(declared.sec);
    const base = { kind, driver, action, script: declared.script, declaredSec: declared.sec, declaredFrom: declared.from, capSec, returns: specFor(kind, action).returns, noisy };
    try {
      const result = await run(capSec);
      this.runs.push({ ...base, durationMs: result.durationMs, ok: true, timedOut: false, code: null, message: null, stdout: result.stdout, stderrLines: lineCount(result.stderr) });
      return result;
    } catch (error) {
      if (isFerryError(error) && error.durationMs !== undefined) {
        this.runs.push({
          ...base,
          durationMs: error.durationMs,
          ok: false,
          timedOut: error.timedOut === true,
          code: error.code,
          message: describe(error),
          stdout: error.stdout ?? '',
          stderrLines: lineCount(error.stderr ?? ''),
        });
      }
      throw error;
    }
  }

  /**
   * Runs a datastore action with the dump datastoreDump builds for the
   * suite's datastore; `edit` may change the dump's XML (the robustness
   * checks drop or spoil fields). Secrets go in the environment only.
   */
  async dsRun(
    action: string,
    options: { image?: Partial<Image> & { id: number }; extra?: Record<string, string | number>; edit?: (xml: string) => string; env?: Record<string, string>; noisy?: boolean; driver?: string; dropSecrets?: string[] } = {},
  ): Promise<ActionResult> {
    const driver = options.driver ?? this.setup.dsDriver;
    if (!driver) throw new SetupFailure('no datastore driver in play');
    const dump = datastoreDump(this.ds, options.image, options.extra ?? {});
    const xml = options.edit ? options.edit(dump.xml) : dump.xml;
    const secrets = secretEnv(this.ds);
    for (const name of options.dropSecrets ?? []) delete secrets[`${SECRET_ENV_PREFIX}${envName(name)}`];
    return this.record('datastore', driver, action, options.noisy === true, (timeoutSec) =>
      this.runner.run({
        kind: 'datastore',
        action,
        driver,
        dump: xml,
        id: options.image?.id ?? this.ds.id,
        env: { ...secrets, ...(options.noisy ? NOISE : {}), ...options.env },
        timeoutSec,
        logger: this.setup.logger,
        ...(this.setup.signal ? { signal: this.setup.signal } : {}),
      }),
    );
  }

  /** Runs a TM action of the TM in play. */
  async tmRun(action: string, args: readonly string[], options: { noisy?: boolean; driver?: string } = {}): Promise<ActionResult> {
    const driver = options.driver ?? this.setup.tmDriver;
    if (!driver) throw new SetupFailure('no TM driver in play');
    return this.record('tm', driver, action, options.noisy === true, (timeoutSec) =>
      this.runner.run({
        kind: 'tm',
        action,
        driver,
        args,
        timeoutSec,
        env: options.noisy ? NOISE : {},
        logger: this.setup.logger,
        ...(this.setup.signal ? { signal: this.setup.signal } : {}),
      }),
    );
  }

  /** True for a path in BASE_PATH that was there before the suite started (never the suite's to remove). */
  preexisting(source: string): boolean {
    if (!isAbsolute(source)) return false;
    const rel = relative(this.ds.basePath, source);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return false;
    return this.before.has(rel.split(sep)[0] as string);
  }

  /**
   * Keeps a source the datastore driver made, to remove it at the end. A
   * source that was in BASE_PATH before the suite started is refused (the
   * check fails): the suite must never remove it.
   */
  adopt(source: string, id: number, driver = this.setup.dsDriver ?? ''): void {
    if (this.preexisting(source)) {
      throw new CheckFailure(`the driver printed ${source} as a new source, but it was in BASE_PATH before the suite started; the suite leaves it alone`);
    }
    if (!this.sources.has(source)) this.sources.set(source, { driver, id, removed: false });
  }

  removed(source: string): void {
    const entry = this.sources.get(source);
    if (entry) entry.removed = true;
  }

  /** cp of a test image; the source is adopted for the clean-up whatever the checks do with it. */
  async register(image: TestImage, options: { noisy?: boolean; driver?: string } = {}): Promise<Registered> {
    const id = this.imageId();
    try {
      const result = await this.dsRun('cp', {
        image: { id, name: `ferry-conformance-${this.setup.runId}-${id}`, path: image.path, format: image.format, sizeMb: image.sizeMb },
        ...options,
      });
      const made = result.result as { source: string; sizeMb?: number; format?: string };
      this.adopt(made.source, id, options.driver);
      return { id, source: made.source, sizeMb: made.sizeMb, ...(made.format !== undefined ? { format: made.format } : {}), image };
    } catch (error) {
      // A cp that made an image but printed a bad result still made it: remove it at the end.
      if (isFerryError(error) && error.code === 'E_MALFORMED_OUTPUT') {
        const first = (error.stdout ?? '').trim().split(/\s+/)[0];
        if (first) this.adopt(first, id, options.driver);
      }
      throw error;
    }
  }

  /** A new VM id and its folder in system datastore `which` (0 or 1) on `host`, kept for the clean-up. */
  vm(): number {
    return this.nextVm++;
  }

  folder(host: string, which: 0 | 1, vm: number): string {
    const folder = join(this.setup.system.paths[which], String(vm));
    if (!this.vmFolders.some((entry) => entry.host === host && entry.folder === folder)) {
      this.vmFolders.push({ host, folder, vm, dsId: this.setup.system.id + which });
    }
    return folder;
  }

  host(name: string): HostView {
    const view = this.setup.hosts.get(name);
    if (!view) throw new Error(`no host view for ${name}`);
    return view;
  }

  /** A source that is a file on this machine (fs-style datastores), else undefined. */
  async localSource(source: string): Promise<string | undefined> {
    if (!isAbsolute(source)) return undefined;
    const info = await stat(source).catch(() => undefined);
    return info?.isFile() ? source : undefined;
  }

  /** A new source path in BASE_PATH for a TM to write (cpds), unique to this run and adopted for the clean-up. */
  newSourcePath(label: string): string {
    const id = this.imageId();
    const path = join(this.ds.basePath, `ferry-conformance-${this.setup.runId}-${label}-${id}`);
    this.adopt(path, id);
    return path;
  }
}

/** bash traces every command to stderr when SHELLOPTS holds xtrace: stderr gets noisy, stdout must not change. */
export const NOISE: Record<string, string> = { SHELLOPTS: 'xtrace', PS4: '+ ferry-conformance-trace: ' };

function lineCount(text: string): number {
  return text === '' ? 0 : text.split('\n').filter((line) => line !== '').length;
}

/** Names in a folder, [] when it does not exist. */
export async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}
