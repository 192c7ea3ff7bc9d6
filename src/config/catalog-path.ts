/**
 * Where the catalog is, found the same way from any folder: --catalog, else
 * $FERRY_CATALOG, else $FERRY_HOME/catalog.db, else `catalog:` in
 * ferry.yaml, else the per-user data folder ($XDG_DATA_HOME/ferry, by
 * default ~/.local/share/ferry). Never the current folder by default, so
 * two shells in two folders never make two catalogs of one datastore.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { FerryError } from '../errors.js';

export const CATALOG_FILE = 'catalog.db';

export function catalogPath(flag: string | undefined, env: Record<string, string | undefined>, cwd: string, configured?: string): string {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new FerryError('E_USAGE', '--catalog is empty', { hint: 'name the catalog file (--catalog /var/lib/ferry/catalog.db), or leave the flag out' });
    return resolve(cwd, flag);
  }
  if (env.FERRY_CATALOG) return resolve(cwd, env.FERRY_CATALOG);
  if (env.FERRY_HOME) return resolve(cwd, env.FERRY_HOME, CATALOG_FILE);
  if (configured) return configured;
  return join(dataHome(env), 'ferry', CATALOG_FILE);
}

/** $XDG_DATA_HOME when it is an absolute path (the spec ignores a relative one), else ~/.local/share. */
function dataHome(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return xdg;
  return join(env.HOME || homedir(), '.local', 'share');
}
