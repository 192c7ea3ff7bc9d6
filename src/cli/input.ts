/** Reading the files and dumps commands are given. */
import { NO_TIMEOUT } from '../config/timeout.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FerryError } from '../errors.js';
import type { Io } from './io.js';

/** Text of a file argument, or of stdin for `-`. */
export async function readInput(io: Io, file: string, what: string): Promise<string> {
  if (file === '-') return io.readStdin();
  const path = resolve(io.cwd, file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FerryError('E_USAGE', code === 'ENOENT' ? `${what} file ${path} does not exist` : `cannot read ${what} file ${path}: ${(error as Error).message}`, {
      hint: `pass an existing file, or - to read the ${what} from stdin`,
      cause: error,
    });
  }
}

/** A number of seconds from a flag. */
export function parseSeconds(value: string, flag: string): number {
  if (value === NO_TIMEOUT) return Number.POSITIVE_INFINITY;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds > 0)) {
    throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(value)} is not a number of seconds`, { hint: `${flag} 30, ${flag} 0.5, or ${flag} ${NO_TIMEOUT} for no timeout` });
  }
  return seconds;
}

/** A whole number (an id, a size) from an argument or flag, at least `min`. */
export function parseWhole(value: string, what: string, hint: string, min = 0): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min) throw new FerryError('E_USAGE', `${what} ${JSON.stringify(value)} is not a whole number${min > 0 ? ` of at least ${min}` : ''}`, { hint });
  return number;
}
