/**
 * Where the catalog is, found the same way from any folder: --catalog, else
 * $FERRY_CATALOG, else $FERRY_HOME/catalog.db, else `catalog:` in
 * ferry.yaml, else the per-user data folder ($XDG_DATA_HOME/ferry, by
 * default ~/.local/share/ferry). Never the current folder by default, so
 * two shells in two folders never make two catalogs of one datastore.
 *
 * --catalog, $FERRY_CATALOG and `catalog:` may also be a postgres:// URL
 * (catalog/location.ts parses it and refuses a password in it).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { FerryError } from '../errors.js';
import { isPostgresUrl, looksLikeUrl, parsePostgresUrl, redactedUrl, type CatalogLocation, type CatalogSource } from '../catalog/location.js';

export const CATALOG_FILE = 'catalog.db';

type Env = Readonly<Record<string, string | undefined>>;

/** The catalog's location: a SQLite file or a PostgreSQL database, with the setting that named it. */
export function catalogLocation(flag: string | undefined, env: Env, cwd: string, configured?: string): CatalogLocation {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new FerryError('E_USAGE', '--catalog is empty', { hint: 'name the catalog file (--catalog /var/lib/ferry/catalog.db) or a postgres:// URL, or leave the flag out' });
    return locationOf(flag, '--catalog', cwd, env);
  }
  if (env.FERRY_CATALOG) return locationOf(env.FERRY_CATALOG, '$FERRY_CATALOG', cwd, env);
  if (env.FERRY_HOME) return { kind: 'sqlite', path: resolve(cwd, env.FERRY_HOME, CATALOG_FILE), from: '$FERRY_HOME' };
  if (configured) return isPostgresUrl(configured) ? locationOf(configured, 'ferry.yaml', cwd, env) : { kind: 'sqlite', path: configured, from: 'ferry.yaml' };
  return { kind: 'sqlite', path: join(dataHome(env), 'ferry', CATALOG_FILE), from: 'the default location' };
}

/** What names the catalog to a driver ($FERRY_CATALOG) and in messages: its file, or its URL without a password. */
export function catalogName(location: CatalogLocation): string {
  return location.kind === 'sqlite' ? location.path : location.url;
}

function locationOf(text: string, from: CatalogSource, cwd: string, env: Env): CatalogLocation {
  if (isPostgresUrl(text)) return parsePostgresUrl(text, from, env);
  if (looksLikeUrl(text) || /^postgres(?:ql)?:/i.test(text)) {
    throw new FerryError('E_CONFIG', `the catalog ${redactedUrl(text)} (from ${from}) is neither a file path nor a postgres:// URL`, {
      hint: 'name a catalog file (./catalog.db, /var/lib/ferry/catalog.db) or a PostgreSQL database: postgres://user@host:5432/database',
    });
  }
  return { kind: 'sqlite', path: resolve(cwd, text), from };
}

/** $XDG_DATA_HOME when it is an absolute path (the spec ignores a relative one), else ~/.local/share. */
export function dataHome(env: Env): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return xdg;
  return join(env.HOME || homedir(), '.local', 'share');
}

/** ferry's own folder for files beside the catalog: $FERRY_HOME, else the per-user data folder's ferry/. */
export function ferryHome(env: Env, cwd = process.cwd()): string {
  return env.FERRY_HOME ? resolve(cwd, env.FERRY_HOME) : join(dataHome(env), 'ferry');
}
