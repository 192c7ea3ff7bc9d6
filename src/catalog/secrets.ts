/**
 * A datastore's secret attributes at rest: each value sealed with AES-256-GCM
 * (a random 12-byte IV per value) under a 32-byte key kept in a file of its
 * own, beside the catalog but never in it, so a copied or backed-up catalog
 * leaks nothing. The key is `<catalog>.key`, or the file $FERRY_SECRET_KEY_FILE
 * names; it is made (0600) the first time a secret is sealed. A catalog on
 * PostgreSQL has no file to sit beside: its key is `catalog-<catalog id>.key`
 * in ferry's home ($FERRY_HOME, else ~/.local/share/ferry), on the machine that
 * runs ferry, never in the database.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ferryHome } from '../config/catalog-path.js';
import { FerryError } from '../errors.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A sealed value: this prefix, then base64 of IV, tag and ciphertext. Stored values from schema 7 on are all sealed. */
export const SEALED_PREFIX = 'ferry-aes256gcm:';

/** The key file of the catalog at `catalogPath`: $FERRY_SECRET_KEY_FILE, else `<catalog>.key`. */
export function keyFileOf(catalogPath: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const named = env.FERRY_SECRET_KEY_FILE;
  return named ? resolve(named) : `${catalogPath}.key`;
}

/**
 * The key file of the PostgreSQL catalog whose id is `catalogId`: $FERRY_SECRET_KEY_FILE, else
 * `catalog-<id>.key` in $FERRY_HOME (else the per-user data folder's ferry/). Named by the id (meta.catalog_id),
 * not the URL: one database reached by two names keeps one key, and two databases never share one.
 */
export function pgKeyFileOf(catalogId: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const named = env.FERRY_SECRET_KEY_FILE;
  if (named) return resolve(named);
  if (!/^[0-9a-f-]{8,}$/i.test(catalogId)) throw new FerryError('E_CATALOG', `the catalog's id ${JSON.stringify(catalogId)} cannot name its key file`, { hint: 'set FERRY_SECRET_KEY_FILE to the key file of this catalog' });
  return join(ferryHome(env), `catalog-${catalogId}.key`);
}

/** Seals and opens secret values with one catalog's key, read (or made) on first need. */
export class SecretBox {
  private key: Buffer | undefined;

  constructor(readonly keyFile: string) {}

  /** Every value of `secrets` sealed; the names stay readable. */
  seal(secrets: Readonly<Record<string, string>>): Record<string, string> {
    const sealed: Record<string, string> = {};
    for (const [name, value] of Object.entries(secrets)) sealed[name] = this.sealOne(value);
    return sealed;
  }

  /** Every value of `stored` opened; `what` (a datastore) names the owner in errors, never a value. */
  open(stored: Readonly<Record<string, string>>, what: string): Record<string, string> {
    const opened: Record<string, string> = {};
    for (const [name, value] of Object.entries(stored)) opened[name] = this.openOne(value, `${what}'s secret ${name}`);
    return opened;
  }

  private sealOne(value: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keyToSeal(), iv);
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  private openOne(sealed: string, what: string): string {
    if (!sealed.startsWith(SEALED_PREFIX)) {
      throw new FerryError('E_CATALOG', `cannot read ${what}: it is not sealed as ferry stores secrets (the catalog was changed by hand?)`, { hint: 'set the secret again: ferry datastore update --secret NAME' });
    }
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    const key = this.existingKey(what);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new FerryError('E_CATALOG', `cannot read ${what}: the key file ${this.keyFile} is not the key it was sealed with`, {
        hint: 'restore the key file backed up with this catalog (or set $FERRY_SECRET_KEY_FILE to it), or set the secret again: ferry datastore update --secret NAME',
        cause: error,
      });
    }
  }

  /** The key, made when there is none yet: sealing the first secret is what creates it. */
  private keyToSeal(): Buffer {
    if (this.key === undefined && !existsSync(this.keyFile)) createKeyFile(this.keyFile);
    return this.existingKey('a secret');
  }

  private existingKey(what: string): Buffer {
    if (this.key !== undefined) return this.key;
    if (!existsSync(this.keyFile)) {
      throw new FerryError('E_CATALOG', `cannot read ${what}: its key file ${this.keyFile} is missing`, {
        hint: 'restore the key file backed up with this catalog next to it (or set $FERRY_SECRET_KEY_FILE to it), or set the secret again: ferry datastore update --secret NAME',
      });
    }
    this.key = readKeyFile(this.keyFile);
    return this.key;
  }
}

/** What a failed read or write of the key file says: the file and the errno, never more. */
function keyFileError(file: string, doing: string, error: unknown): FerryError {
  return new FerryError('E_CATALOG', `cannot ${doing} the secret key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
    hint: 'check the file, its folder and their permissions, or set $FERRY_SECRET_KEY_FILE to the key',
    cause: error,
  });
}

function readKeyFile(file: string): Buffer {
  let stat: ReturnType<typeof statSync>;
  let key: Buffer;
  try {
    stat = statSync(file);
    key = readFileSync(file);
  } catch (error) {
    throw keyFileError(file, 'read', error);
  }
  const mode = Number(stat.mode) & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FerryError('E_CATALOG', `the secret key file ${file} is mode ${mode.toString(8).padStart(4, '0')}, open to others than its owner`, {
      hint: `chmod 600 ${file}`,
    });
  }
  if (key.length !== KEY_BYTES) {
    throw new FerryError('E_CATALOG', `the secret key file ${file} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key`, {
      hint: 'restore the key file backed up with this catalog, or set $FERRY_SECRET_KEY_FILE to it',
    });
  }
  return key;
}

/** Writes a new key whole to a private temporary file (O_EXCL, 0600), then links it in: two ferry processes never see half a key, and the first one's key wins. */
function createKeyFile(file: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    // A PostgreSQL catalog's key goes in ferry's home, which may not be there yet (a file catalog's folder is).
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(KEY_BYTES));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw keyFileError(file, 'create', error);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw keyFileError(file, 'create', error);
  } finally {
    unlinkSync(temporary);
  }
}
