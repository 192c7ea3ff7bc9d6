/**
 * Where a catalog lives: a SQLite file, or a PostgreSQL database named by a
 * postgres:// (or postgresql://) URL. This module parses and checks the URL;
 * config/catalog-path.ts decides which source (--catalog, $FERRY_CATALOG,
 * ferry.yaml …) gives it.
 *
 * The password never travels in the URL: --catalog is visible to every user
 * of the machine (ps), and ferry.yaml and $FERRY_CATALOG are copied into logs,
 * tickets and the drivers' environment. It comes from $PGPASSWORD or a 0600
 * pgpass file (catalog/pgpass.ts), libpq's conventions. Every message names
 * the catalog through `redactedUrl`, which drops any password.
 */
import { userInfo } from 'node:os';
import { FerryError } from '../errors.js';

/** Which setting named the catalog, as messages say it. */
export type CatalogSource = '--catalog' | '$FERRY_CATALOG' | '$FERRY_HOME' | 'ferry.yaml' | 'the default location';

export interface SqliteLocation {
  kind: 'sqlite';
  path: string;
  from: CatalogSource;
}

/** libpq's sslmode values that ferry maps faithfully onto `pg` (no fallback between TLS and clear text). */
export const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The libpq URL options ferry takes; anything else in the query is refused, not silently dropped. */
export interface PostgresOptions {
  sslmode?: SslMode;
  /** libpq's connect_timeout, in seconds. */
  connectTimeoutS?: number;
  applicationName?: string;
}

export interface PostgresLocation {
  kind: 'postgres';
  /** Canonical and password-free: postgres://user@host:port/database[?options]; safe for any message. */
  url: string;
  /** A host name or an IP address (IPv6 without brackets). */
  host: string;
  port: number;
  database: string;
  user: string;
  options: PostgresOptions;
  from: CatalogSource;
}

export type CatalogLocation = SqliteLocation | PostgresLocation;

export const DEFAULT_PG_PORT = 5432;

const HOW_TO_PASS = 'set PGPASSWORD in the environment, or add a line host:port:database:user:password to ~/.pgpass (or the file $PGPASSFILE names), mode 0600';

/** True for text ferry reads as a URL (scheme://…) rather than a file path. */
export function looksLikeUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** True for postgres:// and postgresql:// (any case). */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text);
}

/**
 * `text` with any password removed: the one in the user part
 * (postgres://user:secret@h → postgres://user@h) and a password= option.
 * Works on text that does not parse, so even a refusal can quote what it refuses.
 */
export function redactedUrl(text: string): string {
  // The user part runs to the LAST @: a password may hold an unescaped @, / or ?, and over-hiding is the safe mistake.
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)(?:(.*)@)?(.*)$/is.exec(text);
  if (!scheme) return text;
  const [, prefix = '', userPart, rest = ''] = scheme;
  const user = userPart === undefined ? '' : `${userPart.split(':')[0] ?? ''}@`;
  const shownRest = rest.replace(/([?&])password=[^&#]*&?/gi, '$1').replace(/[?&]$/, '');
  return `${prefix}${user}${shownRest}`;
}

function configError(message: string, hint: string): FerryError {
  return new FerryError('E_CONFIG', message, { hint });
}

/** Percent-decoding that reports a malformed escape as a bad URL, quoting it without its password. */
function decoded(part: string, what: string, shown: string, from: CatalogSource): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw configError(`the catalog URL ${shown} (from ${from}) has a malformed %-escape in its ${what}`, 'escape reserved characters as %XX (a space is %20, @ is %40)');
  }
}

/**
 * Parses a postgres:// or postgresql:// URL into a location, refusing a
 * password in it and anything ferry cannot honour. Defaults follow libpq: port
 * 5432, user $PGUSER else the login name, database the user's name.
 */
export function parsePostgresUrl(text: string, from: CatalogSource, env: Readonly<Record<string, string | undefined>> = process.env): PostgresLocation {
  const shown = redactedUrl(text);
  const where = `the catalog URL ${shown} (from ${from})`;
  const form = 'the form is postgres://user@host:port/database (port 5432 by default); the password comes from PGPASSWORD or ~/.pgpass';
  // As in redactedUrl, the user part runs to the last @.
  const match = /^(postgres(?:ql)?):\/\/(?:(.*)@)?([^@/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/is.exec(text);
  if (!match) throw configError(`${where} is not a PostgreSQL URL`, form);
  const [, , userInfoPart, hostPort = '', path = '', query = '', fragment] = match;
  if (fragment !== undefined) throw configError(`${where} has a #fragment, which means nothing to PostgreSQL`, form);
  if (userInfoPart !== undefined && /[/?#@]/.test(userInfoPart)) {
    throw configError(`${where} is malformed: a reserved character (@ / ? #) stands unescaped before the host`, 'escape reserved characters as %XX (@ is %40, / is %2F, ? is %3F, # is %23)');
  }
  const colon = userInfoPart?.indexOf(':') ?? -1;
  const rawUser = userInfoPart === undefined ? undefined : colon < 0 ? userInfoPart : userInfoPart.slice(0, colon);
  const rawPassword = userInfoPart === undefined || colon < 0 ? '' : userInfoPart.slice(colon + 1);
  if (rawPassword !== '') refusePassword(shown, from);

  const { host, port } = hostAndPort(hostPort, where, form);
  const user = (rawUser ? decoded(rawUser, 'user name', shown, from) : '') || env.PGUSER || userInfo().username;
  const database = decoded(path.replace(/^\//, ''), 'database name', shown, from) || user;
  if (database.includes('/')) throw configError(`${where} names the database ${JSON.stringify(database)}, which has a /`, form);
  const options = optionsOf(query, where, shown, from);
  return { kind: 'postgres', url: canonicalUrl(host, port, database, user, options), host, port, database, user, options, from };
}

function refusePassword(shown: string, from: CatalogSource): never {
  const why =
    from === '--catalog'
      ? 'the command line is visible to every user of this machine (ps, /proc)'
      : from === 'ferry.yaml'
        ? 'ferry.yaml is read by everyone who reads the configuration, and copied with it'
        : 'ferry passes $FERRY_CATALOG on to every driver it runs';
  throw configError(`the catalog URL ${shown} (from ${from}) carries a password, which ferry refuses there: ${why}`, `remove the password from the URL and ${HOW_TO_PASS}`);
}

function hostAndPort(hostPort: string, where: string, form: string): { host: string; port: number } {
  if (hostPort.includes(',')) throw configError(`${where} names several hosts; ferry connects to one`, form);
  const bracketed = /^\[([0-9a-f:.]+)\](?::(.*))?$/i.exec(hostPort);
  const plain = /^([^:[\]]*)(?::(.*))?$/.exec(hostPort);
  const parts = bracketed ?? plain;
  if (!parts) throw configError(`${where} has a malformed host ${JSON.stringify(hostPort)}`, `${form}; an IPv6 address goes in brackets: postgres://user@[::1]:5432/db`);
  const [, host = '', portText] = parts;
  if (host === '') throw configError(`${where} names no host`, `${form}; ferry connects over TCP, so name the host (127.0.0.1 for this machine)`);
  if (host.includes('%')) throw configError(`${where} names a unix socket or an escaped host; ferry connects over TCP`, `${form}; use 127.0.0.1 for a server on this machine`);
  if (!bracketed && !/^[a-z0-9._-]+$/i.test(host)) throw configError(`${where} has a malformed host ${JSON.stringify(host)}`, form);
  if (portText === undefined || portText === '') return { host, port: DEFAULT_PG_PORT };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw configError(`${where} has the port ${JSON.stringify(portText)}, which is not a port number (1-65535)`, form);
  return { host, port };
}

function optionsOf(query: string, where: string, shown: string, from: CatalogSource): PostgresOptions {
  const options: PostgresOptions = {};
  if (query === '' || query === '?') return options;
  for (const pair of query.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decoded(eq < 0 ? pair : pair.slice(0, eq), 'options', shown, from);
    const value = decoded(eq < 0 ? '' : pair.slice(eq + 1), 'options', shown, from);
    if (key === 'password') refusePassword(shown, from);
    if (key === 'sslmode') {
      if (!(SSL_MODES as readonly string[]).includes(value)) throw configError(`${where} has sslmode=${value}, which ferry does not take`, `sslmode is one of ${SSL_MODES.join(', ')} (libpq's prefer and allow fall back to clear text, which ferry does not do)`);
      options.sslmode = value as SslMode;
    } else if (key === 'connect_timeout') {
      const seconds = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
      if (!(seconds >= 1)) throw configError(`${where} has connect_timeout=${value}, which is not a whole number of seconds`, 'connect_timeout is in seconds, at least 1 (ferry waits 5 s by default)');
      options.connectTimeoutS = seconds;
    } else if (key === 'application_name') {
      options.applicationName = value;
    } else {
      throw configError(`${where} has the option ${JSON.stringify(key)}, which ferry does not take`, 'the options ferry takes are sslmode, connect_timeout and application_name');
    }
  }
  return options;
}

function canonicalUrl(host: string, port: number, database: string, user: string, options: PostgresOptions): string {
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const query = [
    ...(options.sslmode !== undefined ? [`sslmode=${options.sslmode}`] : []),
    ...(options.connectTimeoutS !== undefined ? [`connect_timeout=${options.connectTimeoutS}`] : []),
    ...(options.applicationName !== undefined ? [`application_name=${encodeURIComponent(options.applicationName)}`] : []),
  ];
  return `postgres://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

/** How a message names the catalog: its file path, or its password-free URL. */
export function shownLocation(location: CatalogLocation): string {
  return location.kind === 'sqlite' ? location.path : location.url;
}
