/**
 * Connecting to a PostgreSQL catalog, once, to check it: the client settings
 * built from a location (so `pg` reads nothing from the environment behind
 * ferry's back), and every failure turned into a FerryError (E_CATALOG) that
 * names the catalog by its password-free URL. No string this module makes,
 * message, hint or cause, ever holds the password: the server's own text is
 * passed through a scrubber as well, in case it ever quotes one.
 */
import pg from 'pg';
import { FerryError } from '../../errors.js';
import type { PostgresLocation } from '../location.js';

export const DEFAULT_CONNECT_TIMEOUT_S = 5;

const HOW_TO_PASS = 'ferry takes the password from PGPASSWORD, else from a line host:port:database:user:password in ~/.pgpass (or the file $PGPASSFILE names), mode 0600';

/** Thrown by the password callback when the server asks for a password ferry does not have. */
class NoPassword extends Error {}

/**
 * `pg` client settings for `location`. Every field `pg` would otherwise take
 * from PG* variables is set; the password is given as a function, so `pg`
 * never falls back to its own (deprecated, mode-blind) pgpass reader.
 */
export function clientConfig(location: PostgresLocation, password: string | undefined): pg.ClientConfig {
  const { sslmode, connectTimeoutS, applicationName } = location.options;
  return {
    host: location.host,
    port: location.port,
    user: location.user,
    database: location.database,
    password: () => {
      if (password === undefined) throw new NoPassword('no password');
      return password;
    },
    ssl: sslmode === 'require' ? { rejectUnauthorized: false } : sslmode === 'verify-full' ? { rejectUnauthorized: true, servername: location.host } : false,
    connectionTimeoutMillis: (connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S) * 1000,
    application_name: applicationName ?? 'ferry',
  };
}

export interface ConnectCheck {
  /** The server's version, as `SHOW server_version` says it. */
  serverVersion: string;
  /** From the connect call to the answer, in milliseconds. */
  ms: number;
}

export interface ConnectCheckOptions {
  /** Where the password came from ($PGPASSWORD, a pgpass file and line), named in the hint of a refusal. */
  passwordSource?: string;
}

/** Connects, asks the server's version, disconnects; any failure is a FerryError E_CATALOG. */
export async function connectCheck(location: PostgresLocation, password: string | undefined, options: ConnectCheckOptions = {}): Promise<ConnectCheck> {
  const started = performance.now();
  const client = new pg.Client(clientConfig(location, password));
  // A socket error after connect() settled must not become an unhandled 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return { serverVersion: result.rows[0]?.server_version ?? '', ms: performance.now() - started };
  } catch (error) {
    throw connectError(error, location, password, options.passwordSource);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `error`, from connecting to `location`, as a FerryError free of the password. */
export function connectError(error: unknown, location: PostgresLocation, password: string | undefined, passwordSource?: string): FerryError {
  // Already ferry's own (the executor's thread failed or gave no answer): it names the catalog and the fix.
  if (error instanceof FerryError) return error;
  const scrub = (text: string): string => (password ? text.split(password).join('***') : text);
  const { url, host, port, user, database } = location;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const serverText = scrub(error instanceof Error ? error.message : String(error));
  const cause = Object.assign(new Error(serverText), code !== undefined ? { code } : {});
  const fail = (message: string, hint: string): FerryError => new FerryError('E_CATALOG', scrub(message), { hint: scrub(hint), cause });
  const reach = `is the server running and listening on ${host}:${port}? (pg_isready -h ${host} -p ${port})`;

  if (error instanceof NoPassword) return fail(`PostgreSQL asks a password for user ${user} on ${url}, and ferry has none`, HOW_TO_PASS);
  switch (code) {
    case '28P01':
      return fail(`password authentication failed for user ${user} on ${url}`, `check the password; ${HOW_TO_PASS}${passwordSource ? ` (this one came from ${passwordSource})` : ''}`);
    case '28000':
      return fail(`PostgreSQL refused user ${user} on ${url}: ${serverText}`, 'check the user name in the catalog URL, and that pg_hba.conf lets it connect from this machine');
    case '3D000':
      return fail(`the database ${database} does not exist on ${url}`, `create it (createdb -h ${host} -p ${port} -U ${user} ${database}), or name another database in the catalog URL`);
    case '57P03':
      return fail(`PostgreSQL at ${url} is starting up or shutting down: ${serverText}`, 'retry in a moment');
    case '53300':
      return fail(`PostgreSQL at ${url} has too many connections: ${serverText}`, 'retry later, or raise max_connections on the server');
    case 'ECONNREFUSED':
      return fail(`cannot reach PostgreSQL at ${url}: connection refused`, reach);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`cannot reach PostgreSQL at ${url}: the host ${host} is not known`, 'check the host name in the catalog URL');
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'EPIPE':
      return fail(`cannot reach PostgreSQL at ${url}: ${code}`, reach);
  }
  if (/timeout/i.test(serverText)) {
    const seconds = location.options.connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S;
    return fail(`cannot reach PostgreSQL at ${url}: no answer within ${seconds} s`, `${reach}; connect_timeout=N in the URL waits N seconds`);
  }
  if (/Connection terminated/i.test(serverText)) return fail(`cannot reach PostgreSQL at ${url}: the connection was closed (${serverText})`, reach);
  if (/SSL/i.test(serverText)) return fail(`cannot open a TLS connection to PostgreSQL at ${url}: ${serverText}`, 'check sslmode in the catalog URL against the server\'s ssl setting');
  return fail(`cannot open the catalog ${url}: ${serverText}`, reach);
}
