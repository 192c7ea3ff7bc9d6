/**
 * What to validate: the drivers that a remotes folder holds, or that
 * command-line arguments name (NAME, kind/NAME, a folder path), each as a
 * Target with its kind and the folder its links must stay inside.
 */
import { realpath, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KINDS, type Kind } from '../../contract/table.js';
import { isKind } from '../../contract/lookup.js';
import { FerryError } from '../../errors.js';

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

/** A driver to validate: its folder, shown name, kind when known, and the folder links must stay in. */
export interface Target {
  dir: string;
  name: string;
  kind: Kind | undefined;
  root: string;
}

/** `kind/NAME` as given on the command line. */
const KIND_NAME = /^(datastore|tm)\/([^/]+)\/?$/;

/**
 * The drivers that command-line arguments name: `NAME` (both kinds),
 * `datastore/NAME`, `tm/NAME`, or a path to a driver folder. No arguments:
 * every driver of the remotes folder. `remotes` is read only when needed,
 * so a folder path works without one.
 */
export async function resolveTargets(remotes: () => Promise<string>, args: readonly string[], cwd: string, kind?: Kind): Promise<Target[]> {
  if (args.length === 0) return allTargets(await remotes());
  const targets: Target[] = [];
  for (const arg of args) targets.push(...(await targetsOfArg(remotes, arg, cwd, kind)));
  // The same driver named twice is checked once.
  const seen = new Set<string>();
  return targets.filter((target) => !seen.has(target.dir) && seen.add(target.dir));
}

/** One argument: drivers of that name in the remotes folder, else a folder of that path. */
async function targetsOfArg(remotes: () => Promise<string>, arg: string, cwd: string, kind: Kind | undefined): Promise<Target[]> {
  const named = KIND_NAME.exec(arg);
  const plainName = !arg.includes('/') && arg !== '.' && arg !== '..';
  const dir = resolve(cwd, arg);
  if (named || plainName) {
    let root: string | undefined;
    try {
      root = await remotes();
    } catch (error) {
      // No remotes folder: a plain name can still be a folder here.
      if (!(await isDir(dir))) throw error;
    }
    if (root !== undefined) {
      const found = await driversNamed(root, named ? (named[2] as string) : arg, named ? [named[1] as Kind] : kind ? [kind] : KINDS);
      if (found.length > 0) return found;
    }
    if (!(await isDir(dir))) throw await notFound(root, arg);
  }
  if (!(await isDir(dir))) throw await notFound(await remotes().catch(() => undefined), arg);
  return [await targetOf(dir, kind ? { kind } : {})];
}

/** Every driver of a remotes folder, or those named (`fs`, `tm/shared`). */
export async function remotesTargets(remotes: string, names?: readonly string[]): Promise<Target[]> {
  const root = await realRemotes(remotes);
  if (!names || names.length === 0) return allTargets(root);
  const targets: Target[] = [];
  for (const name of names) {
    const named = KIND_NAME.exec(name);
    const found = await driversNamed(root, named ? (named[2] as string) : name, named ? [named[1] as Kind] : KINDS);
    if (found.length === 0) throw await notFound(root, name);
    targets.push(...found);
  }
  return targets;
}

/** A driver folder given by path: its kind and remotes folder from where it sits, if it sits in one. */
export async function targetOf(dir: string, options: ValidateOptions): Promise<Target> {
  const real = await realpath(dir).catch(() => resolve(dir));
  const parent = basename(dirname(real));
  const inKindFolder = isKind(parent);
  const root = options.root !== undefined ? await realpath(options.root).catch(() => resolve(options.root as string)) : inKindFolder ? dirname(dirname(real)) : real;
  const kind = options.kind ?? (inKindFolder ? parent : undefined);
  return { dir: real, name: options.name ?? (inKindFolder ? `${parent}/${basename(real)}` : basename(real)), kind, root };
}

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

async function notFound(root: string | undefined, arg: string): Promise<FerryError> {
  const known: string[] = [];
  if (root !== undefined) for (const kind of KINDS) for (const name of await driverDirs(root, kind)) known.push(`${kind}/${name}`);
  return new FerryError('E_DRIVER_NOT_FOUND', `no driver or folder '${arg}'${root ? ` (looked in ${join(root, 'datastore')}, ${join(root, 'tm')} and for a folder of that path)` : ''}`, {
    hint: `${known.length ? `drivers here: ${known.join(', ')}. ` : ''}Name a driver (NAME, datastore/NAME, tm/NAME) or give the path of a driver folder`,
  });
}
