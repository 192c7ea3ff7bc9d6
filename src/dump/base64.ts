/** Strict base64, as the action dump travels: standard alphabet, padding, line breaks tolerated. */
import { FerryError } from '../errors.js';
import { checkDumpSize, MAX_DUMP_BYTES } from './xml.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** True when text (ignoring line breaks) is well-formed base64. */
export function isBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  return compact.length > 0 && compact.length % 4 === 0 && BASE64.test(compact);
}

export function decodeBase64(text: string, what = 'dump'): string {
  // Refused before the copy without line breaks is made: base64 is 4/3 of the bytes it carries.
  if (text.length > (MAX_DUMP_BYTES * 4) / 3 + 1024) checkDumpSize((text.length * 3) / 4, what, 'base64-encoded XML');
  const compact = text.replace(/\s+/g, '');
  if (!isBase64(compact)) {
    throw new FerryError('E_BAD_DUMP', `${what} is not base64 (${describe(compact)})`, {
      hint: 'pass the XML action dump, or its base64 encoding (ferry dump encode FILE)',
    });
  }
  const bytes = Buffer.from(compact, 'base64');
  let text8: string;
  try {
    text8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new FerryError('E_BAD_DUMP', `${what} decodes to bytes that are not UTF-8 text`, { hint: 'encode the XML dump with base64' });
  }
  return text8;
}

function describe(compact: string): string {
  if (compact.length === 0) return 'it is empty';
  if (compact.length % 4 !== 0) return `length ${compact.length} is not a multiple of 4`;
  const bad = /[^A-Za-z0-9+/=]/.exec(compact);
  return bad ? `character ${JSON.stringify(bad[0])} at offset ${bad.index}` : 'misplaced padding';
}
