/**
 * What a datastore's BASE_PATH may hold. The contract's replies carry an
 * image's SOURCE as a whitespace-separated field of one line (cp and mkfs
 * print `<image_source> <size>`), so a SOURCE under a BASE_PATH with
 * whitespace or a control character cannot be read back: such a path is
 * refused when a datastore is created or changed, before any image is made.
 */
import { FerryError } from '../errors.js';

const NAMES: Record<string, string> = { ' ': 'a space', '\t': 'a tab', '\n': 'a newline', '\r': 'a carriage return' };
// Whitespace (any Unicode space) and C0/C1 control characters.
const UNREADABLE = /[\s\p{Cc}]/u;

/** Why `path` cannot be a BASE_PATH, or undefined when it can. */
export function basePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'is not an absolute path';
  const found = UNREADABLE.exec(path)?.[0];
  if (found === undefined) return undefined;
  const code = `U+${(found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  const what = NAMES[found] ?? (/\s/u.test(found) ? `whitespace (${code})` : `a control character (${code})`);
  return `has ${what}: the contract's "<image_source> <size>" reply cannot carry it, so no image made there could be read back`;
}

/** Refuses a BASE_PATH that cannot work, with the reason. */
export function checkBasePath(name: string, path: string): void {
  const problem = basePathProblem(path);
  if (problem) {
    throw new FerryError('E_USAGE', `datastore ${name}: BASE_PATH ${JSON.stringify(path)} ${problem}`, {
      hint: `pick an absolute path with no whitespace or control characters: ferry datastore update ${name} --base-path /var/lib/ferry/1`,
    });
  }
}
