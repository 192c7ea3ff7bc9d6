/**
 * Where `ferry serve` listens and who may ask it: `--listen HOST:PORT` parsed, loopback told from the rest, and
 * the bearer token read from a file only its owner can read (never from argv, where `ps` shows it to every user).
 * Listening beyond loopback without a token is refused: the API shows the whole catalog (secrets excepted).
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { FerryError } from '../errors.js';

/** `ferry serve`'s default address: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/** `ferry serve`'s default port (docs/monitoring.md). */
export const DEFAULT_PORT = 9469;

export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN_HINT = `give --listen PORT, HOST:PORT or [IPv6]:PORT (${DEFAULT_HOST}:${DEFAULT_PORT}, [::1]:${DEFAULT_PORT})`;

function portOf(text: string, given: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new FerryError('E_USAGE', `--listen ${JSON.stringify(given)}: port ${JSON.stringify(text)} is not a number from 0 to 65535`, { hint: LISTEN_HINT });
  return port;
}

/** `PORT` (on 127.0.0.1), `HOST:PORT`, or `[IPv6]:PORT`; a bare IPv6 address is refused (its colons would be ambiguous). */
export function parseListen(value: string): ListenAddress {
  const given = String(value).trim();
  if (/^\d+$/.test(given)) return { host: DEFAULT_HOST, port: portOf(given, given) };
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(given);
  if (bracketed) {
    if (isIP(bracketed[1]!) !== 6) throw new FerryError('E_USAGE', `--listen ${JSON.stringify(given)}: ${bracketed[1]} is not an IPv6 address`, { hint: LISTEN_HINT });
    return { host: bracketed[1]!, port: portOf(bracketed[2]!, given) };
  }
  const at = given.lastIndexOf(':');
  if (at <= 0 || given.indexOf(':') !== at) {
    throw new FerryError('E_USAGE', `--listen ${JSON.stringify(given)} is not PORT, HOST:PORT or [IPv6]:PORT`, { hint: at > 0 ? `an IPv6 address goes in brackets: [${given.slice(0, at)}]:${given.slice(at + 1)}` : LISTEN_HINT });
  }
  const host = given.slice(0, at);
  if (isIP(host) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host)) {
    throw new FerryError('E_USAGE', `--listen ${JSON.stringify(given)}: ${JSON.stringify(host)} is not a host name or an IP address`, { hint: LISTEN_HINT });
  }
  return { host, port: portOf(given.slice(at + 1), given) };
}

/** True for an address only this machine reaches: localhost, 127.0.0.0/8, ::1 (and 127/8 mapped into IPv6). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (/^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

const MAKE_TOKEN = (path: string): string => `(umask 077; head -c 32 /dev/urandom | base64 > ${path})`;

/**
 * The bearer token in the file at `path`: a regular file no one but its owner may read or write (mode & 077 == 0),
 * one line of printable characters (a trailing newline is dropped). Read through one open descriptor, so what is
 * checked is what is read.
 */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FerryError('E_CONFIG', `cannot read the token file ${path}: ${code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`, {
      hint: `make it: ${MAKE_TOKEN(path)}`,
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FerryError('E_CONFIG', `the token file ${path} is not a regular file`, { hint: `give the path of a file holding the token; make one: ${MAKE_TOKEN(path)}` });
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new FerryError('E_CONFIG', `the token file ${path} has mode ${mode.toString(8).padStart(4, '0')}: others than its owner may read or change it`, { hint: `chmod 600 ${path}` });
    }
    const token = readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (token === '') throw new FerryError('E_CONFIG', `the token file ${path} is empty`, { hint: `put a token in it: ${MAKE_TOKEN(path)}` });
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new FerryError('E_CONFIG', `the token in ${path} is not one line of printable ASCII without spaces (what an Authorization: Bearer header can carry)`, { hint: `make one: ${MAKE_TOKEN(path)}` });
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

/** Refuses a host beyond loopback without a token: anyone who reaches it would read the catalog. */
export function checkListen(host: string, token: string | undefined): void {
  if (token !== undefined || isLoopback(host)) return;
  throw new FerryError('E_CONFIG', `ferry serve will not listen on ${host} without a token: anyone who reaches it could read the catalog`, {
    hint: `give a token file, readable by its owner only: --token-file PATH, or in ferry.yaml serve: {token_file: PATH}; make one with ${MAKE_TOKEN('PATH')}; or listen on 127.0.0.1`,
  });
}
