/**
 * Sizes as an operator writes them: a bare number is MB (OpenNebula's unit),
 * else a number with a binary unit (K, M, G, T, P; an optional `B` or `iB`,
 * any case). The result is whole MB, rounded up so an image never comes out
 * smaller than asked.
 */
import { FerryError } from '../errors.js';

const UNIT_MB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([KMGTP])(?:i?B)?)?$/i;

/** `1G` -> 1024, `512M` -> 512, `100` -> 100; undefined when `text` is not a size of at least 1 MB. */
export function sizeMbOf(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const mb = Math.ceil(Number(match[1]) * (UNIT_MB[(match[2] ?? 'M').toUpperCase()] as number));
  return Number.isSafeInteger(mb) && mb >= 1 ? mb : undefined;
}

/** `1G` -> 1024, `512M` -> 512, `2T` -> 2097152, `100` -> 100; refuses anything else naming `flag`. */
export function parseSizeMb(text: string, flag: string): number {
  const mb = sizeMbOf(text);
  if (mb === undefined) {
    throw new FerryError('E_USAGE', `${flag} ${JSON.stringify(text)} is not a size`, {
      hint: `write MB as a number (${flag} 1024) or add a unit: ${flag} 512M, ${flag} 1G, ${flag} 2T`,
    });
  }
  return mb;
}
