/**
 * Finds the script for kind/driver/action inside the remotes folder, and
 * refuses names or links that would leave it. Checks use synchronous fs
 * calls: a handful of local stats cost microseconds, where the promise
 * versions' thread-pool round trips cost more than the spawn budget allows.
 */
import { accessSync, constants, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isName } from '../contract/names.js';
import { baseAction, type Kind } from '../contract/table.js';
import { FerryError } from '../errors.js';
import { inside } from '../fs/inside.js';

export interface Located {
  kind: Kind;
  driver: string;
  /** The action asked for (`clone.ssh`). */
  action: string;
  /** The script that runs (`clone` when `clone.ssh` does not exist). */
  script: string;
  /** Path run: inside the remotes folder as named, so the script's \$0 and dirname are what its author expects. */
  path: string;
  /** Where that path resolves, checked to be inside the remotes folder. */
  realPath: string;
  /** Real path of the driver folder. */
  driverDir: string;
}

/** Refuses a driver or action name that is not a plain file name. */
export function checkName(value: string, what: string): void {
  if (!isName(value)) {
    throw new FerryError('E_USAGE', `${what} name ${JSON.stringify(value)} is not allowed`, {
      hint: `${what} names use letters, digits, _ . and - (not starting with . or -), and never contain /`,
    });
  }
}

/** Whether `remotes/<kind>/<name>` is a driver folder right now (no throw: a name that is not allowed is simply not one). */
export function isDriverFolder(remotes: string, kind: Kind, name: string): boolean {
  if (!isName(name)) return false;
  return statSync(join(remotes, kind, name), { throwIfNoEntry: false })?.isDirectory() === true;
}

/** Real path of the remotes folder, or E_CONFIG naming it. */
export async function resolveRemotes(remotes: string): Promise<string> {
  try {
    const real = realpathSync.native(remotes);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch {
    throw new FerryError('E_CONFIG', `remotes folder ${remotes} does not exist or is not a folder`, {
      hint: 'pass --remotes DIR, set $FERRY_REMOTES, or set remotes: in ferry.yaml',
    });
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter(isName).sort();
  } catch {
    return [];
  }
}

/** Locates a script; `remotesReal` must already be a real path (resolveRemotes). */
export async function locate(remotesReal: string, kind: Kind, driver: string, action: string): Promise<Located> {
  checkName(driver, 'driver');
  checkName(action, 'action');
  const kindDir = join(remotesReal, kind);
  const wanted = join(kindDir, driver);
  let driverDir: string;
  try {
    driverDir = realpathSync.native(wanted);
    if (!statSync(driverDir).isDirectory()) throw new Error('not a directory');
  } catch {
    const found = listDir(kindDir);
    throw new FerryError('E_DRIVER_NOT_FOUND', `no ${kind} driver '${driver}': ${wanted} does not exist`, {
      hint: `${found.length ? `${kind} drivers here: ${found.join(', ')}. ` : ''}Create the folder, or point --remotes at the folder that has it`,
      kind,
      driver,
      action,
    });
  }
  if (!inside(remotesReal, driverDir)) {
    throw new FerryError('E_DRIVER_NOT_FOUND', `${kind} driver '${driver}' resolves to ${driverDir}, outside the remotes folder ${remotesReal}`, {
      hint: 'drivers must live inside the remotes folder; copy it in instead of linking out',
      kind,
      driver,
      action,
    });
  }
  const candidates = baseAction(action) === action ? [action] : [action, baseAction(action)];
  for (const script of candidates) {
    const path = join(driverDir, script);
    if (!lstatSync(path, { throwIfNoEntry: false })) continue;
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch {
      throw new FerryError('E_ACTION_NOT_FOUND', `${path} is a broken link`, { hint: 'fix or remove the link', kind, driver, action });
    }
    if (!inside(remotesReal, real)) {
      throw new FerryError('E_ACTION_NOT_FOUND', `${path} resolves to ${real}, outside the remotes folder`, {
        hint: 'action scripts must live inside the remotes folder',
        kind,
        driver,
        action,
      });
    }
    if (!statSync(real).isFile()) {
      throw new FerryError('E_ACTION_NOT_FOUND', `${path} is not a file`, { hint: 'an action is an executable file', kind, driver, action });
    }
    try {
      accessSync(real, constants.X_OK);
    } catch {
      throw new FerryError('E_NOT_EXECUTABLE', `${path} is not executable`, { hint: `chmod +x ${path}`, kind, driver, action });
    }
    return { kind, driver, action, script, path, realPath: real, driverDir };
  }
  // Only what could be run is offered: lib/, driver.yaml and documents are not actions.
  const present = listDir(driverDir).filter((name) => isExecutableFile(join(driverDir, name)));
  throw new FerryError('E_ACTION_NOT_FOUND', `${kind} driver '${driver}' has no action '${action}' (looked for ${candidates.map((c) => join(driverDir, c)).join(' and ')})`, {
    hint: `${present.length ? `it has: ${present.join(', ')}. ` : ''}Add an executable script named ${baseAction(action)} to ${driverDir}`,
    kind,
    driver,
    action,
  });
}
