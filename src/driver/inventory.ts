/**
 * What the remotes folder holds: every driver of each kind and the actions
 * it implements, against the contract.
 */
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTRACT, KINDS, baseAction, type Kind } from '../contract/table.js';
import { MANIFEST_FILE } from './manifest.js';

export interface DriverInfo {
  kind: Kind;
  name: string;
  dir: string;
  /** Executable files named as contract actions (including suffixed ones such as clone.ssh). */
  actions: string[];
  /** Other executables, run with their stdout returned raw. */
  extra: string[];
  /** Contract actions this driver lacks. */
  missing: string[];
  /** Files that look like actions but are not executable. */
  notExecutable: string[];
  hasManifest: boolean;
}

const IGNORED = /^(README|LICENSE|CHANGELOG)|\.(md|txt|yaml|yml|json|rb|py|sh)$/i;

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function listDrivers(remotes: string, kinds: readonly Kind[] = KINDS): Promise<DriverInfo[]> {
  const drivers: DriverInfo[] = [];
  for (const kind of kinds) {
    let names: string[] = [];
    try {
      names = (await readdir(join(remotes, kind))).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(remotes, kind, name);
      if (name.startsWith('.') || !(await stat(dir).catch(() => undefined))?.isDirectory()) continue;
      const files = (await readdir(dir)).filter((file) => !file.startsWith('.')).sort();
      const info: DriverInfo = { kind, name, dir, actions: [], extra: [], missing: [], notExecutable: [], hasManifest: files.includes(MANIFEST_FILE) };
      for (const file of files) {
        const path = join(dir, file);
        if (!(await stat(path).catch(() => undefined))?.isFile() || IGNORED.test(file)) continue;
        if (!(await executable(path))) info.notExecutable.push(file);
        else if (Object.hasOwn(CONTRACT[kind], baseAction(file))) info.actions.push(file);
        else info.extra.push(file);
      }
      // Only the exact name provides an action: asked for `clone`, the runner never runs `clone.ssh`.
      info.missing = Object.keys(CONTRACT[kind]).filter((action) => !info.actions.includes(action));
      drivers.push(info);
    }
  }
  return drivers;
}
