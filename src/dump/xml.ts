/**
 * XML text -> element tree, with fast-xml-parser. Values stay strings (ids
 * such as "007" survive), CDATA is kept as `{ '#cdata': text }` so a dump
 * round-trips byte for byte (serialize.ts writes it back). Kept free of the
 * builder so `ferry xpath` loads only the parser.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { FerryError } from '../errors.js';

export const CDATA = '#cdata';
export type XmlCdata = { [CDATA]: string };
export type XmlValue = string | XmlCdata | XmlElement | XmlValue[];
export interface XmlElement {
  [tag: string]: XmlValue;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(?:#(\d{1,7})|#x([\da-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;

/** A code point XML allows in a document, written as text. */
function character(code: number, reference: string): string {
  const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  return allowed ? String.fromCodePoint(code) : reference;
}

/**
 * XML's own entities and character references, nothing else: a dump has no
 * DTD (parseXml refuses one), so there is nothing to declare or expand.
 * One stateless decoder serves every parse; the library's default builds
 * its entity tables again on each call, the main cost of a small parse.
 */
const xmlEntities = {
  setExternalEntities: (): void => undefined,
  addInputEntities: (): void => undefined,
  reset: (): void => undefined,
  setXmlVersion: (): void => undefined,
  decode: (text: string): string =>
    text.includes('&')
      ? text.replace(REFERENCE, (reference, decimal: string | undefined, hex: string | undefined, name: string | undefined) =>
          name !== undefined ? (NAMED[name] as string) : character(decimal !== undefined ? Number(decimal) : Number.parseInt(hex as string, 16), reference),
        )
      : text,
};

/** Largest dump ferry reads: real ones are kilobytes; past this, parsing alone would cost gigabytes of memory. */
export const MAX_DUMP_BYTES = 8 * 1024 * 1024;
/** Deepest element nesting ferry reads: a dump or VM template nests about five deep. */
export const MAX_DUMP_DEPTH = 64;

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  cdataPropName: CDATA,
  processEntities: true,
  entityDecoder: xmlEntities,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DUMP_DEPTH,
});

/** Refuses text over MAX_DUMP_BYTES before any work is done on it. */
export function checkDumpSize(length: number, what: string, form: string): void {
  if (length > MAX_DUMP_BYTES) {
    throw new FerryError('E_BAD_DUMP', `${what} is ${(length / 1024 / 1024).toFixed(1)} MiB of ${form}, over ferry's ${MAX_DUMP_BYTES / 1024 / 1024} MiB limit for an action dump`, {
      hint: 'an action dump is a few kilobytes: pass the dump itself, not an image or a log',
    });
  }
}

export function isCdata(value: unknown): value is XmlCdata {
  // `in` first: most nodes are elements without CDATA, and Object.keys allocates.
  return typeof value === 'object' && value !== null && CDATA in value && !Array.isArray(value) && Object.keys(value).length === 1;
}

export function isElement(value: unknown): value is XmlElement {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isCdata(value);
}

/** Parses one XML document, refusing anything that is not a single well-formed element. */
export function parseXml(text: string, what = 'XML'): { root: string; body: XmlElement } {
  checkDumpSize(text.length, what, 'XML');
  if (/<!DOCTYPE/i.test(text)) {
    throw new FerryError('E_BAD_DUMP', `${what} has a DOCTYPE; action dumps never do, and entity declarations are refused`, {
      hint: 'remove the <!DOCTYPE ...> declaration',
    });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new FerryError('E_BAD_DUMP', `${what} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`, {
      hint: 'pass the XML action dump, or its base64 encoding',
    });
  }
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (error) {
    const deep = /nested/i.test((error as Error).message);
    throw new FerryError('E_BAD_DUMP', deep ? `${what} nests elements more than ${MAX_DUMP_DEPTH} deep; action dumps nest about five` : `${what} cannot be read: ${(error as Error).message}`, {
      hint: 'pass the XML action dump, or its base64 encoding',
      cause: error,
    });
  }
  const roots = isElement(doc) ? Object.keys(doc) : [];
  const repeated = roots.length === 1 && Array.isArray((doc as XmlElement)[roots[0] as string]);
  if (roots.length !== 1 || repeated) {
    const found = repeated ? ((doc as XmlElement)[roots[0] as string] as XmlValue[]).length : roots.length;
    throw new FerryError('E_BAD_DUMP', `${what} must have exactly one root element, found ${found}`, {
      hint: 'an action dump is one <DS_DRIVER_ACTION_DATA> element',
    });
  }
  const root = roots[0] as string;
  const body = (doc as XmlElement)[root];
  return { root, body: isElement(body) ? body : {} };
}

/** Text of a node: its value, its CDATA, or empty for an element with children. */
export function textOf(node: XmlValue): string {
  if (typeof node === 'string') return node;
  if (isCdata(node)) {
    const text: unknown = node[CDATA];
    return Array.isArray(text) ? text.join('') : (text as string);
  }
  if (Array.isArray(node)) return node.length > 0 ? textOf(node[0] as XmlValue) : '';
  return typeof node['#text'] === 'string' ? node['#text'] : '';
}
