/**
 * `ferry drivers validate`: static checks of driver folders, as findings
 * with a stable code, the file and line, what is wrong and how to fix it.
 * Nothing here runs a driver; the only processes started are shellcheck
 * (once for every driver checked together) and none else. One driver that
 * cannot be checked becomes a finding; it never stops the others.
 */
import { spawn } from 'node:child_process';
import { constants, type Dirent } from 'node:fs';
import { access, lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import * as v from 'valibot';
import type { Document, LineCounter } from 'yaml';
import { KINDS, type Kind } from '../contract/table.js';
import { actionsOf, baseAction, isKind, isKnownAction, knownActionsOf, isExtraAction, rowsOf, specFor } from '../contract/lookup.js';
import { FerryError } from '../errors.js';
import { API_VERSIONS, CAPABILITIES, MANIFEST_FILE, MANIFEST_KEYS, ManifestSchema, type Capability } from './manifest.js';
import { looksLikeMessage, stdoutWrites } from './shellscan.js';

export type Severity = 'error' | 'warning' | 'info';

/** Every finding code, its usual severity and what it means (README and `--help` use this table). */
export const FINDING_CODES = {
  'not-executable': ['error', 'an action file lacks its run bit'],
  'no-shebang': ['error', 'an action script has no #! line'],
  'bad-interpreter': ['error', 'the #! interpreter does not exist here, or the line ends in \\r (CRLF)'],
  'unknown-action': ['error', 'a file named like a misspelt action (snapshot_delete, cp.sh, Clone)'],
  'missing-action': ['error', 'a required action is missing (warning: a recommended one)'],
  'optional-missing': ['info', 'optional actions the driver does not implement'],
  'extra-action': ['info', 'an executable that is no contract action: run only when asked by name'],
  'backup-file': ['warning', 'an editor or backup copy (cp~, cp.orig, cp.bak) that ferry would run if asked'],
  'stray-file': ['info', 'a file that is neither an action nor documentation'],
  'unexpected-folder': ['warning', 'a folder other than lib/'],
  'not-a-file': ['error', 'an action name that is a folder or a special file'],
  'broken-link': ['error', 'a link whose target does not exist'],
  'link-outside': ['error', 'a link that resolves outside the remotes folder (ferry refuses to run it)'],
  'bad-name': ['error', 'a driver name ferry refuses (outside [A-Za-z0-9_.-])'],
  'kind-unknown': ['error', 'neither the folder nor driver.yaml says datastore or tm'],
  'no-manifest': ['info', 'no driver.yaml: what one would add'],
  'manifest-unreadable': ['error', 'driver.yaml cannot be read'],
  'manifest-yaml': ['error', 'driver.yaml is not valid YAML (or repeats a key)'],
  'manifest-unknown-key': ['error', 'driver.yaml has a key ferry does not know'],
  'manifest-type': ['error', 'a driver.yaml value of the wrong type or out of range'],
  'api-missing': ['warning', 'driver.yaml does not pin the driver API version'],
  'api-version': ['error', 'driver.yaml targets an API version outside the window this ferry runs'],
  'kind-mismatch': ['error', 'driver.yaml kind differs from the folder the driver is in'],
  'timeout-unknown-action': ['error', 'a timeout for an action the driver does not have'],
  'capability-unknown': ['warning', 'a capability name ferry does not know'],
  'config-default-type': ['error', 'a config attribute whose default does not match its type'],
  'secret-default': ['warning', 'a secret config attribute with a default value in the file'],
  'requires-invalid': ['error', 'a requires entry that is not a command name or absolute path'],
  'requires-missing': ['warning', 'a required command not found on this machine\'s PATH'],
  'source-missing': ['error', 'a script sources a file next to it (. "$(dirname "$0")/...") that does not exist'],
  'stdout-output': ['warning', 'echo/printf to stdout where stdout is the result, or where the action returns nothing'],
  shellcheck: ['warning', 'a shellcheck finding (its own level: error, warning, info)'],
  'shellcheck-missing': ['info', 'shellcheck is not installed: shell scripts were not linted'],
  'shellcheck-off': ['info', 'shell scripts were not linted: turned off (--no-shellcheck)'],
  'shellcheck-failed': ['warning', 'shellcheck ran but its output could not be read'],
  internal: ['error', 'the check itself failed (a bug in ferry)'],
} as const satisfies Record<string, readonly [Severity, string]>;

export type FindingCode = keyof typeof FINDING_CODES;

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** Absolute path of the file (or of the driver folder, for findings about the whole driver). */
  file: string;
  /** 1-based line, where there is one. */
  line?: number;
  column?: number;
  message: string;
  /** How to fix it. */
  fix: string;
  /** The tool's own rule id (shellcheck's SC2086). */
  rule?: string;
}

export interface DriverReport {
  kind: Kind | null;
  name: string;
  /** Real path of the driver folder. */
  dir: string;
  /** No error findings. */
  ok: boolean;
  counts: Record<Severity, number>;
  findings: Finding[];
}

export interface ValidationReport {
  ok: boolean;
  counts: Record<Severity, number>;
  drivers: DriverReport[];
}

export interface ValidateOptions {
  /** The driver's kind; default: the folder it is in (datastore/ or tm/), else driver.yaml's kind. */
  kind?: Kind;
  /** Shown name; default the folder's name. */
  name?: string;
  /** Links must resolve inside this folder (the remotes folder); default: the remotes-shaped folder around the driver, else the driver folder. */
  root?: string;
  /** shellcheck command (default `shellcheck`); false to skip linting (reported as an info finding). */
  shellcheck?: string | false;
  /** PATH to look `requires` and `#!/usr/bin/env` commands up in (default: this process's). */
  path?: string;
}

/** Files that are documentation, not actions. */
const DOC = /^(README|LICENSE|LICENCE|COPYING|CHANGELOG|NOTICE|AUTHORS)([.-].*)?$|\.(md|txt|rst|adoc)$/i;
/** An extension that names a language: `cp.sh` is not run for `cp`. */
const SCRIPT_EXT = /\.(sh|bash|dash|ksh|zsh|py|rb|pl|js|mjs|ts|php|lua|tcl)$/i;
/** Editor and patch leftovers. */
const BACKUP = /(~|\.(bak|orig|old|rej|swp|swo|tmp|save|dpkg-[a-z]+|rpm[a-z]+))$/i;
/** What locate.ts accepts as a driver or action name. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const SHELL_INTERPRETER = /^(sh|bash|dash|ksh|ash|busybox)$/;
const README_HINT = "see the driver.yaml section of ferry's README";

/** A driver to validate: its folder, shown name, kind when known, and the folder links must stay in. */
export interface Target {
  dir: string;
  name: string;
  kind: Kind | undefined;
  root: string;
}

/** One file of a driver as validation sees it. */
interface Entry {
  name: string;
  path: string;
  /** Where it resolves (itself unless a link). */
  real: string;
  isLink: boolean;
}

/** What one driver's static pass leaves for the shellcheck pass. */
interface Pending {
  report: DriverReport;
  /** Real paths of the shell scripts to lint. */
  shellFiles: string[];
}

// ---------------------------------------------------------------- entry points

/** Validates one driver folder. */
export async function validateDriver(dir: string, options: ValidateOptions = {}): Promise<DriverReport> {
  const target = await targetOf(dir, options);
  const [report] = (await validateTargets([target], options)).drivers;
  return report as DriverReport;
}

/** Validates every driver of a remotes folder, or those named (`fs`, `tm/shared`). */
export async function validateRemotes(remotes: string, names?: readonly string[], options: Omit<ValidateOptions, 'kind' | 'name' | 'root'> = {}): Promise<ValidationReport> {
  const root = await realRemotes(remotes);
  const targets = names && names.length > 0 ? await namedTargets(root, names) : await allTargets(root);
  return validateTargets(targets, options);
}

/**
 * The drivers that command-line arguments name: `NAME` (both kinds),
 * `datastore/NAME`, `tm/NAME`, or a path to a driver folder. No arguments:
 * every driver of the remotes folder. `remotes` is read only when needed,
 * so a folder path works without one.
 */
export async function resolveTargets(remotes: () => Promise<string>, args: readonly string[], cwd: string, kind?: Kind): Promise<Target[]> {
  if (args.length === 0) return allTargets(await remotes());
  const targets: Target[] = [];
  for (const arg of args) {
    const named = /^(datastore|tm)\/([^/]+)\/?$/.exec(arg);
    const plainName = !arg.includes('/') && arg !== '.' && arg !== '..';
    if (named || plainName) {
      let root: string | undefined;
      try {
        root = await remotes();
      } catch (error) {
        // No remotes folder: a plain name can still be a folder here.
        if (!(await isDir(resolve(cwd, arg)))) throw error;
      }
      if (root !== undefined) {
        const found = await driversNamed(root, named ? (named[2] as string) : arg, named ? [named[1] as Kind] : kind ? [kind] : KINDS);
        if (found.length > 0) {
          targets.push(...found);
          continue;
        }
      }
      if (!(await isDir(resolve(cwd, arg)))) throw await notFound(root, arg);
    }
    const dir = resolve(cwd, arg);
    if (!(await isDir(dir))) throw await notFound(await remotes().catch(() => undefined), arg);
    targets.push(await targetOf(dir, kind ? { kind } : {}));
  }
  // The same driver named twice is checked once.
  const seen = new Set<string>();
  return targets.filter((target) => !seen.has(target.dir) && seen.add(target.dir));
}

/** Validates resolved targets: the static checks per driver, then one shellcheck run for all. */
export async function validateTargets(targets: readonly Target[], options: ValidateOptions = {}): Promise<ValidationReport> {
  const pending: Pending[] = [];
  for (const target of targets) {
    const report: DriverReport = { kind: target.kind ?? null, name: target.name, dir: target.dir, ok: true, counts: { error: 0, warning: 0, info: 0 }, findings: [] };
    const item: Pending = { report, shellFiles: [] };
    try {
      await checkDriver(target, item, options);
    } catch (error) {
      report.findings.push({
        severity: 'error',
        code: 'internal',
        file: target.dir,
        message: `validation of ${target.name} stopped: ${(error as Error).message}`,
        fix: 'report this as a bug in ferry, with the driver folder',
      });
    }
    pending.push(item);
  }
  await lintShell(pending, options.shellcheck ?? 'shellcheck');
  const counts = { error: 0, warning: 0, info: 0 };
  for (const { report } of pending) {
    report.findings.sort(byPlace);
    for (const finding of report.findings) {
      report.counts[finding.severity] += 1;
      counts[finding.severity] += 1;
    }
    report.ok = report.counts.error === 0;
  }
  return { ok: counts.error === 0, counts, drivers: pending.map((item) => item.report) };
}

// ---------------------------------------------------------------- targets

async function realRemotes(remotes: string): Promise<string> {
  try {
    const real = await realpath(remotes);
    if ((await stat(real)).isDirectory()) return real;
  } catch {
    // reported below
  }
  throw new FerryError('E_CONFIG', `remotes folder ${remotes} does not exist or is not a folder`, {
    hint: 'pass --remotes DIR, set $FERRY_REMOTES, or set remotes: in ferry.yaml',
  });
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

async function driverDirs(root: string, kind: Kind): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(join(root, kind))).sort();
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const name of names) if (!name.startsWith('.') && (await isDir(join(root, kind, name)))) dirs.push(name);
  return dirs;
}

async function allTargets(root: string): Promise<Target[]> {
  const targets: Target[] = [];
  for (const kind of KINDS) for (const name of await driverDirs(root, kind)) targets.push(await remotesTarget(root, kind, name));
  return targets;
}

async function remotesTarget(root: string, kind: Kind, name: string): Promise<Target> {
  const wanted = join(root, kind, name);
  // The folder itself may be a link: keep the real path when it stays inside the remotes folder, so findings name real files.
  const real = await realpath(wanted).catch(() => wanted);
  return { dir: real, name: `${kind}/${name}`, kind, root };
}

async function driversNamed(root: string, name: string, kinds: readonly Kind[]): Promise<Target[]> {
  const found: Target[] = [];
  for (const kind of kinds) if (await isDir(join(root, kind, name))) found.push(await remotesTarget(root, kind, name));
  return found;
}

async function namedTargets(root: string, names: readonly string[]): Promise<Target[]> {
  const targets: Target[] = [];
  for (const name of names) {
    const named = /^(datastore|tm)\/([^/]+)$/.exec(name);
    const found = await driversNamed(root, named ? (named[2] as string) : name, named ? [named[1] as Kind] : KINDS);
    if (found.length === 0) throw await notFound(root, name);
    targets.push(...found);
  }
  return targets;
}

async function notFound(root: string | undefined, arg: string): Promise<FerryError> {
  const known: string[] = [];
  if (root !== undefined) for (const kind of KINDS) for (const name of await driverDirs(root, kind)) known.push(`${kind}/${name}`);
  return new FerryError('E_DRIVER_NOT_FOUND', `no driver or folder '${arg}'${root ? ` (looked in ${join(root, 'datastore')}, ${join(root, 'tm')} and for a folder of that path)` : ''}`, {
    hint: `${known.length ? `drivers here: ${known.join(', ')}. ` : ''}Name a driver (NAME, datastore/NAME, tm/NAME) or give the path of a driver folder`,
  });
}

/** A driver folder given by path: its kind and remotes folder from where it sits, if it sits in one. */
async function targetOf(dir: string, options: ValidateOptions): Promise<Target> {
  const real = await realpath(dir).catch(() => resolve(dir));
  const parent = basename(dirname(real));
  const inKindFolder = isKind(parent);
  const root = options.root !== undefined ? await realpath(options.root).catch(() => resolve(options.root as string)) : inKindFolder ? dirname(dirname(real)) : real;
  const kind = options.kind ?? (inKindFolder ? (parent as Kind) : undefined);
  return { dir: real, name: options.name ?? (inKindFolder ? `${parent}/${basename(real)}` : basename(real)), kind, root };
}

// ---------------------------------------------------------------- one driver

const finding = (severity: Severity, code: FindingCode, file: string, message: string, fix: string, line?: number, column?: number): Finding => ({
  severity,
  code,
  file,
  ...(line !== undefined ? { line } : {}),
  ...(column !== undefined ? { column } : {}),
  message,
  fix,
});

async function checkDriver(target: Target, item: Pending, options: ValidateOptions): Promise<void> {
  const { report } = item;
  const findings = report.findings;
  const add = (...args: Parameters<typeof finding>): void => {
    findings.push(finding(...args));
  };
  const dir = target.dir;
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    add('error', 'not-a-file', dir, `${dir} is not a folder`, 'a driver is a folder holding one executable per action');
    return;
  }
  if (!NAME.test(basename(dir))) {
    add('error', 'bad-name', dir, `driver name '${basename(dir)}' is not one ferry runs`, 'rename the folder to letters, digits, _ . and - (not starting with . or -)');
  }
  if (target.root !== dir && !inside(target.root, dir)) {
    add('error', 'link-outside', dir, `the driver folder resolves to ${dir}, outside the remotes folder ${target.root}`, 'drivers must live inside the remotes folder; copy the folder in instead of linking out');
  }

  const entries = await readEntries(dir, target.root, add);
  const manifestEntry = entries.find((entry) => entry.name === MANIFEST_FILE);
  const files = new Set(entries.map((entry) => entry.name));

  // The manifest first: its kind and capabilities shape the other checks.
  let manifest: ManifestFacts = { capabilities: [] };
  if (manifestEntry) manifest = await checkManifest(manifestEntry.path, target, files, add, options);
  else {
    add(
      'info',
      'no-manifest',
      dir,
      'no driver.yaml: the driver runs with the defaults',
      `add ${join(dir, MANIFEST_FILE)} with api: ${API_VERSIONS.max} (pins the driver API it targets), kind, timeouts per action, requires (commands checked here), config attributes (secret: true keeps credentials out of logs) and capabilities`,
    );
  }
  const kind = target.kind ?? manifest.kind;
  report.kind = kind ?? null;
  if (kind === undefined) {
    add('error', 'kind-unknown', dir, `cannot tell whether ${basename(dir)} is a datastore or a tm driver`, 'put it in a datastore/ or tm/ folder, add kind: datastore or kind: tm to driver.yaml, or pass --kind');
  }

  const actions: Array<Entry & { action: string | undefined }> = [];
  for (const entry of entries) {
    if (entry.name === MANIFEST_FILE || DOC.test(entry.name)) continue;
    const info = await stat(entry.path).catch(() => undefined);
    if (!info) continue; // a broken link, already reported
    if (info.isDirectory()) {
      if (entry.name === 'lib') {
        item.shellFiles.push(...(await libShellFiles(entry.real)));
        continue;
      }
      if (kind && isContractAction(kind, entry.name)) add('error', 'not-a-file', entry.path, `${entry.name} is a folder, not an action script`, `an action is an executable file: replace the folder ${entry.path} with a script`);
      else add('warning', 'unexpected-folder', entry.path, `folder ${entry.name} is not used by ferry`, 'shared code goes in lib/ (sourced by the actions); remove or move this folder');
      continue;
    }
    if (!info.isFile()) {
      add('error', 'not-a-file', entry.path, `${entry.name} is not a regular file`, 'an action is an executable file');
      continue;
    }
    const verdict = kind ? classify(kind, entry.name) : { kind: 'action' as const, action: undefined };
    const executable = await isExecutable(entry.path);
    switch (verdict.kind) {
      case 'backup':
        add('warning', 'backup-file', entry.path, `${entry.name} looks like an editor or backup copy; ferry would run it if asked for action '${entry.name}'`, `remove ${entry.path}`);
        continue;
      case 'typo':
        add('error', 'unknown-action', entry.path, verdict.message, verdict.fix);
        break;
      case 'extra':
        if (!executable && !verdict.known) {
          add('info', 'stray-file', entry.path, `${entry.name} is not an action (no contract action has that name, and it is not executable)`, 'shared code goes in lib/, documentation in README.md; remove it if it is unused');
          continue;
        }
        if (!verdict.known) {
          add('info', 'extra-action', entry.path, `${entry.name} is not a ${kind} contract action: ferry runs it only when asked for '${entry.name}' by name, with the arguments given, and returns its stdout as printed`, verdict.nearest ? `if it is meant to be ${verdict.nearest}, rename it` : 'nothing to do if it is a driver-specific action');
        }
        break;
      case 'action':
        break;
    }
    if (!executable) {
      add('error', 'not-executable', entry.path, `${entry.name} is not executable, so ferry refuses to run it`, `chmod +x ${entry.path}`);
    }
    actions.push({ ...entry, action: verdict.kind === 'action' ? verdict.action : undefined });
    const head = await readHead(entry.path);
    const shell = await checkShebang(entry, head, add, options.path);
    if (shell) {
      item.shellFiles.push(entry.real);
      await checkSources(entry, add);
      if (kind) await checkStdout(kind, entry, entries, add);
    }
  }

  if (kind) checkMissing(kind, dir, files, manifest.capabilities, add);
}

/** The entries of a driver folder, links resolved and checked to stay inside `root`. */
async function readEntries(dir: string, root: string, add: (...args: Parameters<typeof finding>) => void): Promise<Entry[]> {
  const entries: Entry[] = [];
  const dirents: Dirent[] = (await readdir(dir, { withFileTypes: true })).filter((dirent) => !dirent.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const dirent of dirents) {
    const path = join(dir, dirent.name);
    const link = (await lstat(path)).isSymbolicLink();
    let real = path;
    if (link) {
      try {
        real = await realpath(path);
      } catch {
        add('error', 'broken-link', path, `${dirent.name} is a link to something that does not exist`, `fix the link (ls -l ${path}) or remove it`);
        continue;
      }
      if (!inside(root, real)) {
        add('error', 'link-outside', path, `${dirent.name} resolves to ${real}, outside the remotes folder ${root}: ferry refuses to run it`, `copy the script into ${root}, or link to a file inside it (links between drivers and to remotes/scripts_common.sh are fine)`);
        continue;
      }
    }
    entries.push({ name: dirent.name, path, real, isLink: link });
  }
  return entries;
}

type Verdict =
  | { kind: 'action'; action: string | undefined }
  | { kind: 'extra'; known: boolean; nearest: string | undefined }
  | { kind: 'typo'; message: string; fix: string }
  | { kind: 'backup' };

const isContractAction = isKnownAction;

/** What a file name in a driver folder of `kind` is. */
function classify(kind: Kind, name: string): Verdict {
  if (BACKUP.test(name)) return { kind: 'backup' };
  const names = knownActionsOf(kind);
  const ext = SCRIPT_EXT.exec(name);
  if (ext) {
    const stem = name.slice(0, ext.index);
    const target = names.includes(stem) ? stem : nearest(stem, names);
    if (target !== undefined) {
      return {
        kind: 'typo',
        message: `${name} is not an action name: ferry runs the file named exactly '${target}', so ${name} never runs for ${target}`,
        fix: `rename ${name} to ${target}`,
      };
    }
    return { kind: 'extra', known: false, nearest: undefined };
  }
  if (isContractAction(kind, name)) return { kind: 'action', action: baseAction(name) };
  if (isExtraAction(kind, name)) return { kind: 'extra', known: true, nearest: undefined };
  const close = nearest(name, names);
  if (close !== undefined) {
    return {
      kind: 'typo',
      message: `${name} is not a ${kind} action; did you mean ${close}?`,
      fix: `rename ${name} to ${close}${isContractAction(kind, close) ? ` (${specFor(kind, close).summary})` : ''}`,
    };
  }
  return { kind: 'extra', known: false, nearest: undefined };
}

/** The action name a misspelling most likely stands for, or undefined when none is close. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const norm = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  const wanted = norm(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, norm(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const longest = Math.max(wanted.length, norm(best).length);
  // Close: same letters (Clone, snap-delete), or a few edits for the length (snapshot_delete -> snap_delete).
  return bestDistance <= Math.max(1, Math.floor(longest * 0.4)) && !(wanted.length <= 2 && bestDistance > 0) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      let value = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = value;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Checks the #! line; returns true for a shell script (to lint). */
async function checkShebang(entry: Entry, head: Buffer, add: (...args: Parameters<typeof finding>) => void, path: string | undefined): Promise<boolean> {
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return false; // ELF: a compiled program
  const text = head.toString('utf8');
  if (!text.startsWith('#!')) {
    add(
      'error',
      'no-shebang',
      entry.path,
      `${entry.name} has no #! line: exec() refuses it (ENOEXEC) and it runs only through the C library's fallback to /bin/sh`,
      `make its first line #!/bin/sh (or #!/bin/bash, or the interpreter it is written for)`,
      1,
    );
    return false;
  }
  const first = text.split('\n')[0] as string;
  if (first.endsWith('\r')) {
    add('error', 'bad-interpreter', entry.path, `${entry.name} has Windows line endings: the kernel looks for an interpreter named "${first.slice(2).trim()}\\r"`, `convert it to Unix line endings: sed -i 's/\\r$//' ${entry.path}`, 1);
    return false;
  }
  const words = first.slice(2).trim().split(/\s+/);
  const interpreter = words[0] ?? '';
  let program = basename(interpreter);
  if (interpreter === '' || !isAbsolute(interpreter)) {
    add('error', 'bad-interpreter', entry.path, `the #! line of ${entry.name} names ${interpreter === '' ? 'no interpreter' : `"${interpreter}", not an absolute path`}`, 'write the interpreter\'s full path: #!/bin/sh, #!/usr/bin/env bash', 1);
    return false;
  }
  if (!(await isExecutable(interpreter))) {
    add('error', 'bad-interpreter', entry.path, `the interpreter ${interpreter} on the #! line of ${entry.name} does not exist on this machine (running it fails with ENOENT)`, `fix the #! line (e.g. #!/bin/sh), or install ${program}`, 1);
    return false;
  }
  if (program === 'env') {
    const rest = words.slice(1).filter((word) => !word.startsWith('-'));
    program = rest[0] ?? '';
    if (program !== '' && !(await onPath(program, path))) {
      add('warning', 'bad-interpreter', entry.path, `${entry.name} runs ${program} (#!${first.slice(2).trim()}), which is not on this machine's PATH`, `install ${program}, or name an interpreter that exists`, 1);
    }
  }
  return SHELL_INTERPRETER.test(program);
}

async function onPath(command: string, path: string | undefined): Promise<boolean> {
  if (command.includes('/')) return isExecutable(command);
  for (const folder of (path ?? process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, command);
    if ((await stat(candidate).catch(() => undefined))?.isFile() && (await isExecutable(candidate))) return true;
  }
  return false;
}

async function libShellFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[])) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) found.push(...(await libShellFiles(path)));
    else if (dirent.isFile() && /\.(sh|bash)$/.test(dirent.name)) found.push(path);
  }
  return found;
}

/**
 * stdout is the result for actions that return one (cp, stat, monitor ...)
 * and ignored for the others. So: in an action that returns nothing, any
 * echo/printf to stdout is reported; in one that returns something, only
 * those that read like log messages. A script linked under several action
 * names is held to the lenient rule when any of them returns something.
 */
/** `. "$(dirname "$0")/x"` or `source ...`: a file sourced relative to the script, as the helper library and lib/ are. */
const SOURCED = /^\s*(?:\.|source)\s+"?\$\(dirname\s+"?\$0"?\)"?\/([^"\s;|&]+)"?/;

/**
 * Files a script sources next to itself must exist: a driver copied or
 * renamed keeps paths such as ../shared/lib/tm_lib.sh that point at
 * another driver's folder. Resolved from the script's path as ferry runs it
 * (inside the remotes folder, links not followed), as "$0" is.
 */
async function checkSources(entry: Entry, add: (...args: Parameters<typeof finding>) => void): Promise<void> {
  const text = await readFile(entry.path, 'utf8').catch(() => '');
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const match = SOURCED.exec(line);
    if (!match) continue;
    const sourced = join(dirname(entry.path), match[1] as string);
    if (await stat(sourced).then((info) => info.isFile()).catch(() => false)) continue;
    add('error', 'source-missing', entry.path, `${entry.name} sources ${match[1]}, which does not exist (${sourced})`, 'fix the path, or copy the file it needs into the driver (lib/ for shared code)', index + 1);
  }
}

async function checkStdout(kind: Kind, entry: Entry, entries: readonly Entry[], add: (...args: Parameters<typeof finding>) => void): Promise<void> {
  const table = rowsOf(kind);
  // Driver-specific actions print what they like; a script linked under several names is read once, for all of them.
  const sharing = entries.filter((other) => other.real === entry.real && Object.hasOwn(table, baseAction(other.name)));
  if (sharing[0] !== entry) return;
  const names = [...new Set(sharing.map((other) => baseAction(other.name)))];
  const returning = names.filter((name) => table[name]?.returns);
  const text = await readFile(entry.real, 'utf8').catch(() => '');
  for (const write of stdoutWrites(text)) {
    if (returning.length > 0) {
      if (!looksLikeMessage(write.args)) continue;
      const only = returning.length === 1 ? ` (${table[returning[0] as string]?.summary})` : '';
      add(
        'warning',
        'stdout-output',
        entry.real,
        `${write.command} ${write.args.slice(0, 60)} prints a message to stdout, where ${returning.join('/')} must print only its result${only}`,
        `send messages to stderr: ${write.command} ... >&2`,
        write.line,
      );
    } else {
      add(
        'warning',
        'stdout-output',
        entry.real,
        `${write.command} ${write.args.slice(0, 60)} prints to stdout, but ${names.join('/')} returns nothing: the text ends up as the action's result`,
        `send it to stderr (${write.command} ... >&2), where ferry logs it, or drop it`,
        write.line,
      );
    }
  }
}

function checkMissing(kind: Kind, dir: string, files: ReadonlySet<string>, capabilities: readonly string[], add: (...args: Parameters<typeof finding>) => void): void {
  const claimed = new Set(capabilities);
  const optional: string[] = [];
  for (const action of actionsOf(kind)) {
    const need = specFor(kind, action).need;
    // Only the exact name serves the action: asked for `clone`, ferry never runs `clone.ssh`.
    if (files.has(action)) continue;
    const claim = need.claimedBy?.find((capability) => claimed.has(capability));
    if (claim) {
      add('error', 'missing-action', dir, `no ${action} action, but driver.yaml claims capability ${claim}: ${need.breaks}`, `add an executable ${action} to ${dir}, or drop ${claim} from capabilities`);
    } else if (need.need === 'required') {
      add('error', 'missing-action', dir, `no ${action} action: ${need.breaks}`, `add an executable script named ${action} to ${dir}`);
    } else if (need.need === 'recommended' || need.need === 'system') {
      add('warning', 'missing-action', dir, `no ${action} action: ${need.breaks}${need.need === 'system' ? ' (needed when this TM serves a system datastore)' : ''}`, `add an executable script named ${action} to ${dir}`);
    } else {
      optional.push(action);
    }
  }
  if (optional.length > 0) {
    add('info', 'optional-missing', dir, `optional actions not implemented: ${optional.join(', ')} (${optional.map((action) => specFor(kind, action).need.breaks).join('; ')})`, 'nothing to do unless the driver should support them; claim them in capabilities when it does');
  }
}

// ---------------------------------------------------------------- driver.yaml

interface ManifestFacts {
  kind?: Kind;
  capabilities: string[];
}

type YamlModule = typeof import('yaml');

let yamlModule: Promise<YamlModule> | undefined;

/** yaml is CommonJS: bundled, its namespace may hold only `default` (as in config/yaml.ts). */
function loadYaml(): Promise<YamlModule> {
  yamlModule ??= import('yaml').then((imported) => {
    const mod = imported as YamlModule & { default?: YamlModule };
    return typeof mod.parseDocument === 'function' ? mod : (mod.default as YamlModule);
  });
  return yamlModule;
}

/** Per top-level key: what a right value looks like. */
const KEY_HINTS: Record<string, string> = {
  api: `a whole number: api: ${API_VERSIONS.max}`,
  kind: 'kind: datastore or kind: tm',
  description: 'a string',
  dump: 'dump: argv (the dump as argument 1 and on stdin) or dump: stdin (stdin only)',
  timeouts: 'seconds above 0 per action name or default: timeouts: { default: 600, cp: 7200 }',
  capabilities: `a list of names: capabilities: [snapshots, sparse] (known: ${Object.keys(CAPABILITIES).join(', ')})`,
  config: 'attributes by name: config: { BASE_PATH: { type: path, required: true }, PASSWORD: { type: string, secret: true } }',
  requires: 'a list of commands: requires: [qemu-img, ssh]',
};
const CONFIG_KEYS = ['type', 'default', 'required', 'secret', 'description'];

async function checkManifest(
  file: string,
  target: Target,
  files: ReadonlySet<string>,
  add: (...args: Parameters<typeof finding>) => void,
  options: ValidateOptions,
): Promise<ManifestFacts> {
  const facts: ManifestFacts = { capabilities: [] };
  let text: string;
  try {
    // Never read a FIFO or a device: validation must not hang on a driver folder.
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    add('error', 'manifest-unreadable', file, `cannot read driver.yaml: ${(error as Error).message}`, `make ${file} readable (chmod 644)`);
    return facts;
  }
  const YAML = await loadYaml();
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = error.linePos?.[0];
      add('error', 'manifest-yaml', file, `not valid YAML: ${error.message.split('\n')[0]}`, 'fix the YAML syntax (indentation, quotes, a key given twice)', at?.line, at?.col);
    }
    return facts;
  }
  const value: unknown = doc.toJS() ?? {};
  const where = (path: readonly PropertyKey[], key = false): { line?: number; col?: number } => lineOf(doc, lineCounter, path, key);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    add('error', 'manifest-type', file, `driver.yaml must be a mapping of keys, not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`, `start from: api: ${API_VERSIONS.max} / kind: ${target.kind ?? 'datastore'}; ${README_HINT}`, 1);
    return facts;
  }
  const raw = value as Record<string, unknown>;

  // Unknown keys, all of them (the schema stops at the first one of a mapping).
  const unknownKey = (path: readonly string[], known: readonly string[]): void => {
    const at = where(path, true);
    const suggestion = nearestWord(path[path.length - 1] as string, known);
    add(
      'error',
      'manifest-unknown-key',
      file,
      `unknown key "${path.join('.')}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      suggestion ? `rename it to ${suggestion}` : `remove it; ${path.length > 1 ? `a config attribute has ${CONFIG_KEYS.join(', ')}` : `driver.yaml keys are ${MANIFEST_KEYS.join(', ')}`}`,
      at.line,
      at.col,
    );
  };
  for (const key of Object.keys(raw)) if (!MANIFEST_KEYS.includes(key)) unknownKey([key], MANIFEST_KEYS);
  if (isPlainObject(raw.config)) {
    for (const [name, attribute] of Object.entries(raw.config)) {
      if (isPlainObject(attribute)) for (const key of Object.keys(attribute)) if (!CONFIG_KEYS.includes(key)) unknownKey(['config', name, key], CONFIG_KEYS);
    }
  }
  const parsed = v.safeParse(ManifestSchema, raw);
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      if (issue.expected === 'never') continue; // unknown keys: reported above
      const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
      const isKey = issue.path?.[issue.path.length - 1]?.origin === 'key';
      const at = where(path, isKey);
      const top = String(path[0] ?? '');
      const keyName = String(path[path.length - 1] ?? '');
      if (isKey && top === 'timeouts') {
        add('error', 'manifest-type', file, `timeouts: "${keyName}" is not an action name`, 'use an action name (cp, clone.ssh) or default', at.line, at.col);
      } else {
        const label = path.length === 0 ? 'top level' : path.map(String).join('.');
        add('error', 'manifest-type', file, `${label}: expected ${issue.expected ?? 'a valid value'}, got ${issue.received}`, `${KEY_HINTS[top] ?? 'fix the value'}; ${README_HINT}`, at.line, at.col);
      }
    }
  }

  // Checks of meaning, on whatever parts are well-formed.
  if (raw.api === undefined) {
    add('warning', 'api-missing', file, 'driver.yaml does not say which driver API the driver targets', `add api: ${API_VERSIONS.max}, so a ferry that no longer runs it refuses it with a clear message instead of running it wrongly`, 1);
  } else if (typeof raw.api === 'number' && Number.isInteger(raw.api) && (raw.api < API_VERSIONS.min || raw.api > API_VERSIONS.max)) {
    const at = where(['api']);
    add(
      'error',
      'api-version',
      file,
      `driver.yaml targets driver API ${raw.api}; this ferry runs API ${API_VERSIONS.min}..${API_VERSIONS.max}, so it refuses the driver`,
      raw.api > API_VERSIONS.max ? `upgrade ferry to one that runs API ${raw.api}, or use a version of the driver built for API ${API_VERSIONS.max}` : `update the driver to API ${API_VERSIONS.min}..${API_VERSIONS.max} and set api: ${API_VERSIONS.max}`,
      at.line,
      at.col,
    );
  }
  if (isKind(raw.kind)) {
    facts.kind = raw.kind;
    if (target.kind !== undefined && raw.kind !== target.kind) {
      const at = where(['kind']);
      add('error', 'kind-mismatch', file, `driver.yaml says kind: ${raw.kind}, but the driver is in the ${target.kind}/ folder`, `set kind: ${target.kind}, or move the driver to ${raw.kind}/`, at.line, at.col);
    }
  }
  const kind = target.kind ?? facts.kind;
  if (isPlainObject(raw.timeouts) && kind !== undefined) {
    const known = knownActionsOf(kind);
    for (const action of Object.keys(raw.timeouts)) {
      if (action === 'default' || known.includes(baseAction(action)) || files.has(action)) continue;
      const at = where(['timeouts', action], true);
      const close = nearestWord(action, [...known, 'default']);
      add('error', 'timeout-unknown-action', file, `timeouts.${action}: the driver has no action '${action}', so this timeout never applies`, close ? `rename it to ${close}` : `use default or one of the driver's actions (${known.join(', ')})`, at.line, at.col);
    }
  }
  if (Array.isArray(raw.capabilities)) {
    raw.capabilities.forEach((capability, index) => {
      if (typeof capability !== 'string') return;
      if (Object.hasOwn(CAPABILITIES, capability)) {
        facts.capabilities.push(capability);
        return;
      }
      const at = where(['capabilities', index]);
      const close = nearestWord(capability, Object.keys(CAPABILITIES), true);
      add(
        'warning',
        'capability-unknown',
        file,
        `capability "${capability}" is not one ferry knows, so nothing checks or tests it`,
        close ? `write it as ${close} (${CAPABILITIES[close as Capability]})` : `use a known capability (${Object.keys(CAPABILITIES).join(', ')}) and say anything else in description`,
        at.line,
        at.col,
      );
    });
  }
  if (Array.isArray(raw.requires)) {
    for (const [index, command] of raw.requires.entries()) {
      if (typeof command !== 'string') continue;
      const at = where(['requires', index]);
      if (!/^[A-Za-z0-9_+.@-]+$/.test(command) && !(isAbsolute(command) && !/\s/.test(command))) {
        add('error', 'requires-invalid', file, `requires: "${command}" is not a command name`, 'list commands by name (qemu-img) or absolute path (/usr/sbin/rbd), one per entry', at.line, at.col);
      } else if (!(await onPath(command, options.path))) {
        add('warning', 'requires-missing', file, `requires ${command}, which is not on this machine's PATH: actions that run it will fail here`, `install ${command} (its package), or drop it from requires if the driver does not need it`, at.line, at.col);
      }
    }
  }
  if (isPlainObject(raw.config)) {
    for (const [name, attribute] of Object.entries(raw.config)) {
      if (!isPlainObject(attribute) || attribute.default === undefined) continue;
      const at = where(['config', name, 'default']);
      if (attribute.secret === true) {
        add('warning', 'secret-default', file, `config.${name} is secret but has a default in driver.yaml, where anyone reading the driver sees it`, 'remove the default; give the value in the datastore template or ferry.yaml', at.line, at.col);
      }
      const type = attribute.type;
      const value = attribute.default;
      const fits =
        type === undefined ||
        typeof type !== 'string' ||
        (type === 'integer' ? typeof value === 'number' && Number.isInteger(value) : type === 'number' ? typeof value === 'number' : type === 'boolean' ? typeof value === 'boolean' : typeof value === 'string');
      if (!fits) {
        add('error', 'config-default-type', file, `config.${name}: default ${JSON.stringify(value)} is not a ${type}`, `make the default a ${type}, or change type`, at.line, at.col);
      }
    }
  }
  return facts;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A close word from `candidates` (hyphens read as underscores when `dashes`). */
function nearestWord(word: string, candidates: readonly string[], dashes = false): string | undefined {
  if (candidates.length === 0) return undefined;
  const wanted = dashes ? word.replace(/-/g, '_') : word;
  if (candidates.includes(wanted)) return wanted;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(Math.max(wanted.length, best.length) * 0.34)) ? best : undefined;
}

/** Line and column of a key (or of its value) in the YAML document; the closest known parent when it has no node. */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[], wantKey: boolean): { line?: number; col?: number } {
  type YamlNode = { range?: [number, number, number] | null; items?: unknown[] };
  let node = doc.contents as YamlNode | null;
  let last: number | undefined;
  for (let index = 0; index < path.length && node; index += 1) {
    const segment = path[index];
    const items = node.items;
    if (!Array.isArray(items)) break;
    const pairs = items as Array<{ key?: { value?: unknown; range?: [number, number, number] }; value?: YamlNode | null }>;
    if (pairs.length > 0 && pairs[0] && typeof pairs[0] === 'object' && 'key' in pairs[0]) {
      const pair = pairs.find((item) => item.key !== undefined && String(item.key?.value) === String(segment));
      if (!pair) break;
      last = pair.key?.range?.[0] ?? last;
      if (index === path.length - 1 && wantKey) return position(lineCounter, last);
      node = pair.value ?? null;
      if (node?.range) last = node.range[0];
    } else {
      const element = (items as YamlNode[])[Number(segment)];
      if (!element) break;
      node = element;
      if (node.range) last = node.range[0];
    }
  }
  return position(lineCounter, last);
}

function position(lineCounter: LineCounter, offset: number | undefined): { line?: number; col?: number } {
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}

// ---------------------------------------------------------------- shellcheck

interface ShellcheckComment {
  file: string;
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

/** Lints every driver's shell scripts in one shellcheck run (a script shared by links is read once) and files the findings under each driver that uses it. */
async function lintShell(pending: readonly Pending[], command: string | false): Promise<void> {
  const users = new Map<string, Pending[]>();
  for (const item of pending) {
    for (const file of new Set(item.shellFiles)) {
      const list = users.get(file) ?? [];
      list.push(item);
      users.set(file, list);
    }
  }
  const files = [...users.keys()].sort();
  if (files.length === 0) return;
  const everyone = (make: (item: Pending) => Finding): void => {
    for (const item of pending) if (item.shellFiles.length > 0) item.report.findings.push(make(item));
  };
  if (command === false) {
    everyone((item) => finding('info', 'shellcheck-off', item.report.dir, 'shell scripts were not linted (shellcheck turned off)', 'run without --no-shellcheck to lint them'));
    return;
  }
  const run = await runShellcheck(command, files);
  if (run.kind === 'missing') {
    everyone((item) =>
      finding('info', 'shellcheck-missing', item.report.dir, `shellcheck is not installed (${command} not found), so the shell scripts were not linted`, 'install it (apt-get install shellcheck, dnf install ShellCheck, brew install shellcheck) and validate again'),
    );
    return;
  }
  if (run.kind === 'failed') {
    everyone((item) => finding('warning', 'shellcheck-failed', item.report.dir, `shellcheck failed: ${run.reason}`, `run ${command} on the scripts by hand to see why`));
    return;
  }
  const seen = new Set<string>();
  for (const comment of run.comments) {
    const file = resolve(comment.file);
    const key = `${file}:${comment.line}:${comment.column}:${comment.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const severity: Severity = comment.level === 'error' ? 'error' : comment.level === 'warning' ? 'warning' : 'info';
    const rule = `SC${comment.code}`;
    // shellcheck reports only on the files it was given, never on the files they source.
    for (const item of users.get(file) ?? []) {
      item.report.findings.push({ ...finding(severity, 'shellcheck', file, `${rule}: ${comment.message}`, `see https://www.shellcheck.net/wiki/${rule}`, comment.line, comment.column), rule });
    }
  }
}

type ShellcheckRun = { kind: 'ok'; comments: ShellcheckComment[] } | { kind: 'missing' } | { kind: 'failed'; reason: string };

function runShellcheck(command: string, files: readonly string[]): Promise<ShellcheckRun> {
  return new Promise((done) => {
    // An argument array, never a shell: file names go to shellcheck as they are.
    const child = spawn(command, ['--format=json1', '--external-sources', '--', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done(error.code === 'ENOENT' ? { kind: 'missing' } : { kind: 'failed', reason: error.message });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      try {
        const parsed = JSON.parse(stdout) as { comments?: ShellcheckComment[] };
        done({ kind: 'ok', comments: parsed.comments ?? [] });
      } catch {
        const stderr = Buffer.concat(err).toString('utf8').trim().split('\n')[0] ?? '';
        done({ kind: 'failed', reason: signal ? `killed by ${signal}` : `exit status ${status}${stderr ? `: ${stderr}` : ''}` });
      }
    });
  });
}

// ---------------------------------------------------------------- helpers

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then notes; each by file and line. */
function byPlace(a: Finding, b: Finding): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1);
}

/** Counts as words: `1 error, 0 warnings, 2 notes`; `brief` leaves out the zeros. */
export function describeCounts(counts: Record<Severity, number>, brief = false): string {
  const part = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts: Array<[number, string]> = [
    [counts.error, 'error'],
    [counts.warning, 'warning'],
    [counts.info, 'note'],
  ];
  return parts
    .filter(([n]) => !brief || n > 0)
    .map(([n, word]) => part(n, word))
    .join(', ');
}

