/**
 * The password for a PostgreSQL catalog, found as libpq finds it: $PGPASSWORD,
 * else the first matching line of the pgpass file ($PGPASSFILE, else
 * ~/.pgpass). A line is hostname:port:database:username:password; a field
 * that is exactly `*` matches anything; `\:` and `\\` escape a colon and a
 * backslash. libpq warns about a file that group or others may read and
 * ignores it; ferry refuses it, so a leaked password is fixed, not shrugged off.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors.js';

/** What a password is looked up for (libpq compares the host as written, not resolved). */
export interface PasswordTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

export interface FoundPassword {
  password: string;
  /** Where it came from, for messages: `$PGPASSWORD`, or the pgpass file and line number. */
  source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The pgpass file libpq would read: $PGPASSFILE, else ~/.pgpass. */
export function pgpassFile(env: Env = process.env): string {
  return env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
}

/** The password for `target`, or undefined when neither $PGPASSWORD nor the pgpass file has one. */
export function findPassword(target: PasswordTarget, env: Env = process.env): FoundPassword | undefined {
  // libpq treats an empty PGPASSWORD as unset.
  if (env.PGPASSWORD) return { password: env.PGPASSWORD, source: '$PGPASSWORD' };
  const file = pgpassFile(env);
  const text = readPgpass(file);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    const [host, port, database, user, password] = fields as [Field, Field, Field, Field, Field];
    if (matches(host, target.host) && matches(port, String(target.port)) && matches(database, target.database) && matches(user, target.user)) {
      return { password: password.text, source: `${file} line ${index + 1}` };
    }
  }
  return undefined;
}

/** The file's text; undefined when it is not there (as libpq: no file, no password). */
function readPgpass(file: string): string | undefined {
  let mode: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new FerryError('E_CONFIG', `the pgpass file ${file} is not a regular file`, { hint: 'point PGPASSFILE at a file of host:port:database:user:password lines, mode 0600' });
    mode = stat.mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error instanceof FerryError ? error : new FerryError('E_CONFIG', `the pgpass file ${file} cannot be read: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new FerryError('E_CONFIG', `the pgpass file ${file} has mode ${octal}: group or others may read it, so ferry will not take a password from it`, {
      hint: `chmod 600 ${file}`,
    });
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new FerryError('E_CONFIG', `the pgpass file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** One field of a line: its unescaped text, and whether it was exactly an unescaped `*`. */
interface Field {
  text: string;
  wildcard: boolean;
}

/**
 * The line's fields. As libpq: a backslash takes the next character as it is;
 * the password is the fifth field and ends at the next unescaped colon.
 */
function splitFields(line: string): Field[] {
  const fields: Field[] = [];
  let text = '';
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (char === '\\' && i + 1 < line.length) {
      text += line[++i];
      escaped = true;
    } else if (char === ':') {
      fields.push({ text, wildcard: text === '*' && !escaped });
      text = '';
      escaped = false;
    } else {
      text += char;
    }
  }
  fields.push({ text, wildcard: text === '*' && !escaped });
  return fields;
}

function matches(field: Field, value: string): boolean {
  return field.wildcard || field.text === value;
}
