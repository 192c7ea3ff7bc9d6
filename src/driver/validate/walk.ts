/**
 * The walk of one driver folder: the folder itself (a folder, a name ferry
 * runs, inside the remotes folder), its entries with links resolved and
 * kept inside the remotes folder, and what each entry is: an action,
 * documentation, lib/, a backup copy, a misspelt action or something else.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Kind } from '../../contract/table.js';
import { isName } from '../../contract/names.js';
import { inside } from '../../fs/inside.js';
import { isExtraAction, isKnownAction, knownActionsOf, specFor } from '../../contract/lookup.js';
import { MANIFEST_FILE } from '../manifest.js';
import type { Add } from './findings.js';
import { nearest } from '../../config/nearest.js';
import { openNebulaHelper } from './opennebula.js';
import { isExecutable } from './scripts.js';

/** `path` is `root` or inside it (a link to the remotes folder itself stays in). */
function within(root: string, path: string): boolean {
  return path === root || inside(root, path);
}

/** Files that are documentation, not actions. */
const DOC = /^(README|LICENSE|LICENCE|COPYING|CHANGELOG|NOTICE|AUTHORS)([.-].*)?$|\.(md|txt|rst|adoc)$/i;
/** An extension that names a language: `cp.sh` is not run for `cp`. */
const SCRIPT_EXT = /\.(sh|bash|dash|ksh|zsh|py|rb|pl|js|mjs|ts|php|lua|tcl)$/i;
/** Editor and patch leftovers. */
const BACKUP = /(~|\.(bak|orig|old|rej|swp|swo|tmp|save|dpkg-[a-z]+|rpm[a-z]+))$/i;

/** One file of a driver as validation sees it. */
export interface Entry {
  name: string;
  path: string;
  /** Where it resolves (itself unless a link). */
  real: string;
}

/** The driver folder itself; false when it is no folder (nothing more to check). */
export async function checkFolder(dir: string, root: string, add: Add): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    add('error', 'not-a-file', dir, `${dir} is not a folder`, 'a driver is a folder holding one executable per action');
    return false;
  }
  if (!isName(basename(dir))) {
    add('error', 'bad-name', dir, `driver name '${basename(dir)}' is not one ferry runs`, 'rename the folder to letters, digits, _ . and - (not starting with . or -)');
  }
  if (root !== dir && !within(root, dir)) {
    add('error', 'link-outside', dir, `the driver folder resolves to ${dir}, outside the remotes folder ${root}`, 'drivers must live inside the remotes folder; copy the folder in instead of linking out');
  }
  return true;
}

/** The entries of a driver folder, links resolved and checked to stay inside `root`. */
export async function readEntries(dir: string, root: string, add: Add): Promise<Entry[]> {
  const entries: Entry[] = [];
  const dirents: Dirent[] = (await readdir(dir, { withFileTypes: true })).filter((dirent) => !dirent.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const dirent of dirents) {
    const path = join(dir, dirent.name);
    let real = path;
    if ((await lstat(path)).isSymbolicLink()) {
      try {
        real = await realpath(path);
      } catch {
        add('error', 'broken-link', path, `${dirent.name} is a link to something that does not exist`, `fix the link (ls -l ${path}) or remove it`);
        continue;
      }
      if (!within(root, real)) {
        add('error', 'link-outside', path, `${dirent.name} resolves to ${real}, outside the remotes folder ${root}: ferry refuses to run it`, `copy the script into ${root}, or link to a file inside it (links between drivers and to remotes/scripts_common.sh are fine)`);
        continue;
      }
    }
    entries.push({ name: dirent.name, path, real });
  }
  return entries;
}

/** What an entry is for the checks that follow: nothing more to check, lib/'s shell files to lint, or a script to check. */
export type Role = { role: 'done' } | { role: 'lib'; shellFiles: string[] } | { role: 'script'; executable: boolean };

const DONE: Role = { role: 'done' };

/** Sorts one entry out and reports what is wrong with it as a file of the folder (kind undefined: not known, every file an action). */
export async function walkEntry(kind: Kind | undefined, entry: Entry, add: Add): Promise<Role> {
  if (entry.name === MANIFEST_FILE || DOC.test(entry.name)) return DONE;
  const info = await stat(entry.path).catch(() => undefined);
  if (!info) return DONE; // a broken link, already reported
  if (info.isDirectory()) return folderRole(kind, entry, add);
  if (!info.isFile()) {
    add('error', 'not-a-file', entry.path, `${entry.name} is not a regular file`, 'an action is an executable file');
    return DONE;
  }
  const executable = await isExecutable(entry.path);
  const helper = kind ? openNebulaHelper(kind, entry.name) : undefined;
  if (helper) {
    add('info', 'opennebula-file', entry.path, helper.what, 'nothing to do: it is part of OpenNebula\'s driver, kept as OpenNebula ships it');
    return helper.runs ? { role: 'script', executable } : DONE;
  }
  const verdict = kind ? classify(kind, entry.name) : ({ kind: 'action' } as const);
  switch (verdict.kind) {
    case 'backup':
      add('warning', 'backup-file', entry.path, `${entry.name} looks like an editor or backup copy; ferry would run it if asked for action '${entry.name}'`, `remove ${entry.path}`);
      return DONE;
    case 'typo':
      add('error', 'unknown-action', entry.path, verdict.message, verdict.fix);
      break;
    case 'extra':
      if (verdict.known) {
        add('info', 'extra-action', entry.path, `${entry.name} is an action OpenNebula knows that ferry's ${kind} contract does not define (${specFor(kind as Kind, entry.name).summary}): ferry runs it only when asked for '${entry.name}' by name, with the arguments given, and returns its stdout as printed`, 'nothing to do');
        break;
      }
      if (!executable) {
        add('info', 'stray-file', entry.path, `${entry.name} is not an action (no contract action has that name, and it is not executable)`, 'shared code goes in lib/, documentation in README.md; remove it if it is unused');
        return DONE;
      }
      add('info', 'extra-action', entry.path, `${entry.name} is not a ${kind} contract action: ferry runs it only when asked for '${entry.name}' by name, with the arguments given, and returns its stdout as printed`, 'nothing to do if it is a driver-specific action');
      break;
    case 'action':
      break;
  }
  return { role: 'script', executable };
}

/** lib/ holds shared code (linted); any other folder is unused, or an action that should be a file. */
async function folderRole(kind: Kind | undefined, entry: Entry, add: Add): Promise<Role> {
  if (entry.name === 'lib') return { role: 'lib', shellFiles: await libShellFiles(entry.real) };
  if (kind && isKnownAction(kind, entry.name)) add('error', 'not-a-file', entry.path, `${entry.name} is a folder, not an action script`, `an action is an executable file: replace the folder ${entry.path} with a script`);
  else add('warning', 'unexpected-folder', entry.path, `folder ${entry.name} is not used by ferry`, 'shared code goes in lib/ (sourced by the actions); remove or move this folder');
  return DONE;
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

type Verdict = { kind: 'action' } | { kind: 'extra'; known: boolean } | { kind: 'typo'; message: string; fix: string } | { kind: 'backup' };

/** What a file name in a driver folder of `kind` is. */
export function classify(kind: Kind, name: string): Verdict {
  if (BACKUP.test(name)) return { kind: 'backup' };
  const names = knownActionsOf(kind);
  const ext = SCRIPT_EXT.exec(name);
  if (ext) {
    const stem = name.slice(0, ext.index);
    const target = names.includes(stem) ? stem : nearest(stem, names);
    if (target === undefined) return { kind: 'extra', known: false };
    return {
      kind: 'typo',
      message: `${name} is not an action name: ferry runs the file named exactly '${target}', so ${name} never runs for ${target}`,
      fix: `rename ${name} to ${target}`,
    };
  }
  if (isKnownAction(kind, name)) return { kind: 'action' };
  if (isExtraAction(kind, name)) return { kind: 'extra', known: true };
  const close = nearest(name, names);
  if (close === undefined) return { kind: 'extra', known: false };
  return {
    kind: 'typo',
    message: `${name} is not a ${kind} action; did you mean ${close}?`,
    fix: `rename ${name} to ${close}${isKnownAction(kind, close) ? ` (${specFor(kind, close).summary})` : ''}`,
  };
}
