/**
 * runSuite: sets up the datastore, hosts and scratch folder, runs the
 * checks of the driver's kind in order through the production Runner, and
 * always cleans up: every image source and VM folder it made is removed
 * through the drivers, temporary folders it made are removed whole, and
 * nothing that was there before is touched.
 */
import { SecretMask } from '../log/mask.js';
import { mkdtemp, mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inside } from '../fs/inside.js';
import type { Datastore } from '../model.js';
import { hostsEnv, localHosts } from '../config/hosts.js';
import type { Kind } from '../contract/table.js';
import { listDrivers, type DriverInfo } from '../driver/inventory.js';
import { API_VERSIONS } from '../driver/manifest.js';
import type { Runner } from '../driver/runner.js';
import { FerryError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { DATASTORE_CHECKS } from './checks-datastore.js';
import { TM_CHECKS } from './checks-tm.js';
import { CheckContext, describe } from './check-context.js';
import { capabilityClaimed, entries, Suite, type SuiteSetup } from './context.js';
import { defaultSettings, type DatastoreSettings } from './datastore-file.js';
import { localHost, removeLocal, sshHost, type HostView } from './hosts.js';
import type { SuiteStart } from './report.js';
import { CheckFailure, CheckSkip, SetupFailure, type Check, type CheckResult, type SuiteReport } from './types.js';

export interface SuiteOptions {
  /** The production runner (remotes, logger, kill grace); the suite adds its hosts' environment. */
  runner: Runner;
  driver: string;
  /** Needed only when the name is both a datastore and a TM driver (dummy). */
  kind?: Kind;
  /** The TM datastore checks deploy with: a name, null for none, undefined for shared when present. */
  tm?: string | null;
  /** The datastore driver that registers images for a TM under test (default fs). */
  ds?: string;
  settings?: DatastoreSettings;
  /** Seconds each action may run (default twice its declared timeout). */
  timeoutCapSec?: number;
  signal?: AbortSignal;
  /** Where drivers' log records go; default nowhere. */
  logger?: Logger;
  /** Called once the set-up is known, before the first check. */
  onStart?: (start: SuiteStart) => void;
  /** Called as each check ends (progress for people). */
  onResult?: (result: CheckResult) => void;
  /** Run only the checks whose id starts with one of these (plus the clean-up). */
  only?: readonly string[];
}

export const CHECKS: Record<Kind, readonly Check[]> = { datastore: DATASTORE_CHECKS, tm: TM_CHECKS };

const DEFAULT_TM = 'shared';
const DEFAULT_DS = 'fs';

/** The driver under test and its kind; E_DRIVER_NOT_FOUND or E_USAGE when the name is unknown or ambiguous. */
export function pickDriver(found: readonly DriverInfo[], name: string, kind: Kind | undefined, remotes: string): DriverInfo {
  let wanted = name;
  let wantedKind = kind;
  const slash = /^(datastore|tm)\/(.+)$/.exec(name);
  if (slash) {
    wantedKind = slash[1] as Kind;
    wanted = slash[2] as string;
  }
  const matches = found.filter((driver) => driver.name === wanted && (wantedKind === undefined || driver.kind === wantedKind));
  if (matches.length === 1) return matches[0] as DriverInfo;
  if (matches.length > 1) {
    throw new FerryError('E_USAGE', `${wanted} is both a datastore and a TM driver in ${remotes}`, { hint: `say which: ferry drivers test datastore/${wanted} or tm/${wanted}` });
  }
  const known = found.map((driver) => `${driver.kind}/${driver.name}`).join(', ') || 'none';
  throw new FerryError('E_DRIVER_NOT_FOUND', `no ${wantedKind ? `${wantedKind} ` : ''}driver ${wanted} in ${remotes}`, { hint: `drivers found: ${known}` });
}

function pairedDriver(found: readonly DriverInfo[], kind: Kind, name: string, flag: string): string {
  if (!found.some((driver) => driver.kind === kind && driver.name === name)) {
    const known = found.filter((driver) => driver.kind === kind).map((driver) => driver.name).join(', ') || 'none';
    throw new FerryError('E_USAGE', `${flag} ${name}: no ${kind} driver ${name} in the remotes folder`, { hint: `${kind} drivers found: ${known}` });
  }
  return name;
}

export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const remotes = await options.runner.remotesPath();
  const found = await listDrivers(remotes);
  const info = pickDriver(found, options.driver, options.kind, remotes);
  const kind = info.kind;
  const settings = options.settings ?? defaultSettings();
  let dsDriver: string | null;
  let tmDriver: string | null;
  if (kind === 'datastore') {
    dsDriver = info.name;
    if (options.tm === null || options.tm === 'none') tmDriver = null;
    else if (options.tm !== undefined) tmDriver = pairedDriver(found, 'tm', options.tm, '--tm');
    else tmDriver = found.some((driver) => driver.kind === 'tm' && driver.name === DEFAULT_TM) ? DEFAULT_TM : null;
  } else {
    tmDriver = info.name;
    dsDriver = pairedDriver(found, 'datastore', options.ds ?? DEFAULT_DS, '--ds');
  }
  const manifest = await options.runner.manifest(info.dir);
  // What the runner would refuse on every action is refused once, up front (exit 2: nothing to test).
  if (manifest.api !== undefined && (manifest.api < API_VERSIONS.min || manifest.api > API_VERSIONS.max)) {
    throw new FerryError('E_BAD_MANIFEST', `${kind} driver ${info.name} targets driver API ${manifest.api}; this ferry runs API ${API_VERSIONS.min}..${API_VERSIONS.max}`, {
      hint: 'upgrade ferry, or use a driver built for this API version',
    });
  }
  if (manifest.kind !== undefined && manifest.kind !== kind) {
    throw new FerryError('E_BAD_MANIFEST', `${info.dir}/driver.yaml says kind: ${manifest.kind}, but the driver is in the ${kind} folder`, {
      hint: `fix kind: in driver.yaml, or move the driver to ${manifest.kind}/`,
    });
  }
  const pairedName = kind === 'datastore' ? tmDriver : dsDriver;
  const pairedKind: Kind = kind === 'datastore' ? 'tm' : 'datastore';
  const pairedManifest = pairedName ? await options.runner.manifest(join(remotes, pairedKind, pairedName)) : {};
  const dsManifest = kind === 'datastore' ? manifest : pairedManifest;
  for (const [name, attr] of Object.entries(dsManifest.config ?? {})) {
    if (attr.required !== true || attr.default !== undefined || name === 'BASE_PATH') continue;
    if (Object.hasOwn(settings.template, name) || Object.hasOwn(settings.secrets, name)) continue;
    throw new FerryError('E_USAGE', `datastore driver ${dsDriver} requires ${attr.secret ? 'the secret ' : ''}${name} (config in its driver.yaml)`, {
      hint: `give it in a --datastore FILE under ${attr.secret ? 'secrets: (the name of the environment variable holding it)' : 'template:'}`,
    });
  }

  // Everything below is undone in the finally block, whatever happens.
  const made: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'ferry-conformance-scratch-'));
  made.push(scratch);
  let suite: Suite | undefined;
  const results: CheckResult[] = [];
  const basePath = settings.basePath ?? (await mkdtemp(join(tmpdir(), 'ferry-conformance-ds-')));
  const temporary = settings.basePath === undefined;
  if (temporary) made.push(basePath);
  const before = new Set(temporary ? [] : await entries(basePath));
  const systemBase = settings.system.basePath ?? (await mkdtemp(join(tmpdir(), 'ferry-conformance-system-')));
  if (settings.system.basePath === undefined) made.push(systemBase);
  const systemPaths: [string, string] = [join(systemBase, String(settings.system.id)), join(systemBase, String(settings.system.id + 1))];
  const systemMade: string[] = [];
  const systemBefore = new Map<string, Set<string>>();
  const secrets = Object.values(settings.secrets).filter((value) => value !== '');
  const localNames = new Set(localHosts({ frontend: settings.frontend, hosts: settings.hosts }));
  const startOf = (): SuiteStart => ({
    kind,
    driver: info.name,
    remotes,
    paired: pairedName ? { kind: pairedKind, driver: pairedName } : null,
    datastore: { basePath, temporary, file: settings.file ?? null, systemBasePath: systemBase },
    hosts: [...new Set([settings.frontend, ...Object.keys(settings.hosts)])].map((name) => ({ name, local: localNames.has(name) })),
    startedAt,
  });
  try {
    for (const dir of systemPaths) {
      systemBefore.set(dir, new Set(await entries(dir)));
      if (await stat(dir).catch(() => undefined)) continue;
      await mkdir(dir, { recursive: true });
      systemMade.push(dir);
    }
    const names = Object.keys(settings.hosts);
    const hostNames: [string, string] = [names[0] as string, (names[1] ?? names[0]) as string];
    const env = hostsEnv({ frontend: settings.frontend, hosts: settings.hosts }, scratch);
    const hosts = new Map<string, HostView>();
    for (const name of [settings.frontend, ...names]) {
      hosts.set(name, localNames.has(name) || !env.FERRY_SSH_CONFIG ? localHost(name) : sshHost(name, env.FERRY_SSH_CONFIG, scratch));
    }
    const datastore: Datastore = {
      id: settings.id,
      name: settings.name,
      type: 'IMAGE',
      dsMad: dsDriver,
      tmMad: tmDriver ?? '-',
      basePath,
      template: settings.template,
      secrets: settings.secrets,
      totalMb: null,
      freeMb: null,
      usedMb: null,
      monitoredAt: null,
      origin: 'config',
      createdAt: startedAt,
    };
    const setup: SuiteSetup = {
      runner: options.runner.withEnv(env),
      kind,
      driver: info.name,
      dsDriver,
      tmDriver,
      manifest,
      pairedManifest,
      datastore,
      system: { id: settings.system.id, paths: systemPaths },
      frontend: settings.frontend,
      hostNames,
      hosts,
      scratch,
      runId: scratch.slice(scratch.lastIndexOf('-') + 1).toLowerCase(),
      timeoutCapSec: options.timeoutCapSec,
      signal: options.signal,
      logger: options.logger ? redactingLogger(options.logger, secrets) : silentLogger,
    };
    suite = new Suite(setup, before);
    options.onStart?.(startOf());
    const checks = CHECKS[kind].filter((check) => !options.only || options.only.some((prefix) => check.id.startsWith(prefix)));
    for (const check of checks) {
      const result = options.signal?.aborted ? { id: check.id, title: check.title, status: 'skip' as const, message: 'interrupted', details: [], durationMs: 0 } : await runCheck(suite, check);
      const shown = redact(result, secrets);
      suite.results.push(result);
      results.push(shown);
      options.onResult?.(shown);
    }
  } finally {
    const cleanup = redact(await cleanUp(suite, { basePath, temporary, before, systemPaths, systemBefore, systemMade, made }), secrets);
    results.push(cleanup);
    options.onResult?.(cleanup);
  }
  const counts = {
    total: results.length,
    ok: results.filter((r) => r.status === 'ok').length,
    fail: results.filter((r) => r.status === 'fail').length,
    skip: results.filter((r) => r.status === 'skip').length,
  };
  return { ...startOf(), ok: counts.fail === 0, checks: results, counts, durationMs: Math.round(performance.now() - started) };
}

async function runCheck(suite: Suite, check: Check): Promise<CheckResult> {
  const t = new CheckContext(suite, check.id);
  const started = performance.now();
  const end = (status: CheckResult['status'], message?: string): CheckResult => ({
    id: check.id,
    title: check.title,
    status,
    ...(message !== undefined ? { message } : {}),
    details: t.details,
    durationMs: Math.round(performance.now() - started),
  });
  const { manifest, tmDriver } = suite.setup;
  if (check.needs && !capabilityClaimed(manifest, check.needs)) {
    const named = check.needs.join(' or ');
    return end('skip', manifest.capabilities ? `no ${named} capability in driver.yaml` : `no ${named} capability (the driver has no driver.yaml capabilities)`);
  }
  if (check.needsTm && !tmDriver) return end('skip', 'no TM to deploy with (pass --tm NAME)');
  try {
    await check.run(t);
    return end('ok');
  } catch (error) {
    if (error instanceof CheckSkip) return end('skip', error.message);
    if (error instanceof CheckFailure) return end('fail', error.message);
    if (error instanceof SetupFailure) return end('fail', `set-up failed: ${error.message}`);
    return end('fail', describe(error));
  }
}


/** Driver log records pass through here when --log-level asks for them: a driver (or bash tracing) may echo a secret. */
function redactingLogger(logger: Logger, secrets: readonly string[]): Logger {
  if (secrets.length === 0) return logger;
  const mask = new SecretMask(secrets);
  return {
    child: (bindings) => redactingLogger(logger.child(bindings), secrets),
    error: (obj, msg) => logger.error(mask.deep(obj), msg === undefined ? msg : mask.text(msg)),
    warn: (obj, msg) => logger.warn(mask.deep(obj), msg === undefined ? msg : mask.text(msg)),
    info: (obj, msg) => logger.info(mask.deep(obj), msg === undefined ? msg : mask.text(msg)),
    debug: (obj, msg) => logger.debug(mask.deep(obj), msg === undefined ? msg : mask.text(msg)),
  };
}

/** Secret values never reach a report: each is replaced wherever a driver echoed it. */
function redact(result: CheckResult, secrets: readonly string[]): CheckResult {
  if (secrets.length === 0) return result;
  const mask = new SecretMask(secrets);
  const clean = (text: string): string => mask.text(text);
  return {
    ...result,
    ...(result.message !== undefined ? { message: clean(result.message) } : {}),
    details: result.details.map(clean),
  };
}

interface Made {
  basePath: string;
  temporary: boolean;
  before: Set<string>;
  systemPaths: [string, string];
  systemBefore: Map<string, Set<string>>;
  systemMade: string[];
  /** Folders the suite created, removed whole at the end. */
  made: string[];
}

/**
 * Removes what the suite made: VM folders through the TM's delete, image
 * sources through the datastore driver's rm, then the folders it created.
 * Reports what was left behind (in a --datastore folder, anything new) and
 * what it could not remove; never touches a file that was there before.
 */
async function cleanUp(suite: Suite | undefined, what: Made): Promise<CheckResult> {
  const started = performance.now();
  const problems: string[] = [];
  const details: string[] = [];
  if (suite) {
    // No signal from here on: an interrupted suite still cleans up.
    suite.setup.signal = undefined;
    const { tmDriver } = suite.setup;
    let folders = 0;
    for (const entry of [...suite.vmFolders].reverse()) {
      const view = suite.host(entry.host);
      if (!(await view.exists(entry.folder).catch(() => false))) continue;
      if (tmDriver) {
        try {
          await suite.tmRun('delete', [`${entry.host}:${entry.folder}`, String(entry.vm), String(entry.dsId)]);
        } catch (error) {
          details.push(`tm ${tmDriver} delete ${entry.host}:${entry.folder} failed: ${describe(error)}`);
        }
      }
      const still = await view.exists(entry.folder).catch(() => true);
      if (!still) folders += 1;
      else if (!(view.local && what.made.some((dir) => inside(dir, entry.folder)))) problems.push(`VM folder ${entry.host}:${entry.folder} is still there`);
    }
    let sources = 0;
    for (const [source, entry] of suite.sources) {
      if (entry.removed) continue;
      if (suite.preexisting(source)) {
        problems.push(`the driver printed ${source}, which was in BASE_PATH before the suite ran, as a source it made; the suite left it alone`);
        continue;
      }
      try {
        await suite.dsRun('rm', { image: { id: entry.id, source }, driver: entry.driver });
        sources += 1;
      } catch (error) {
        const local = await suite.localSource(source);
        if (local && !(what.temporary && inside(what.basePath, local))) problems.push(`could not remove image ${source}: ${describe(error)}`);
        else details.push(`rm of ${source} failed (${describe(error)}); it goes with the temporary datastore folder`);
      }
    }
    details.push(`removed ${sources} image source(s) and ${folders} VM folder(s) through the drivers`);
  }
  const left = (await entries(what.basePath)).filter((name) => !what.before.has(name));
  if (left.length > 0) problems.push(`left in BASE_PATH ${what.basePath} after every image the suite made was removed: ${left.join(', ')}`);
  for (const dir of what.systemPaths) {
    const had = what.systemBefore.get(dir) ?? new Set<string>();
    const leftover = (await entries(dir)).filter((name) => !had.has(name));
    if (leftover.length > 0) problems.push(`left in system datastore folder ${dir}: ${leftover.join(', ')}`);
  }
  // System datastore folders made inside a given system base path: removed when empty, never otherwise.
  for (const dir of what.systemMade) {
    if (!what.made.some((base) => inside(base, dir))) await rmdir(dir).catch(() => undefined);
  }
  for (const dir of [...what.made].reverse()) {
    try {
      await removeLocal(dir);
    } catch (error) {
      problems.push(`could not remove ${dir}: ${describe(error)}`);
    }
  }
  return {
    id: 'cleanup',
    title: 'everything the suite made is removed (through the drivers), and nothing it did not make is touched',
    status: problems.length > 0 ? 'fail' : 'ok',
    ...(problems.length > 0 ? { message: problems.join('; ') } : {}),
    details,
    durationMs: Math.round(performance.now() - started),
  };
}

