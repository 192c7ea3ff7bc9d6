/**
 * The action dump: DS_DRIVER_ACTION_DATA with IMAGE and DATASTORE sections,
 * built from typed objects or read from XML or base64 text.
 */
import { FerryError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { buildXml, cdata } from './serialize.js';
import { isElement, parseXml, textOf, type XmlElement, type XmlValue } from './xml.js';

export const DUMP_ROOT = 'DS_DRIVER_ACTION_DATA';

export type Scalar = string | number | bigint;
/** Template attributes: single values, vector attributes (nested), or repeated ones (arrays). */
export interface TemplateAttributes {
  [name: string]: Scalar | TemplateAttributes | Array<Scalar | TemplateAttributes>;
}

/** Fields are uppercase as in OpenNebula; unknown ones pass through. */
export interface ImageFields {
  ID: Scalar;
  NAME?: string;
  UID?: Scalar;
  GID?: Scalar;
  UNAME?: string;
  GNAME?: string;
  TYPE?: Scalar;
  DISK_TYPE?: Scalar;
  PERSISTENT?: Scalar;
  SOURCE?: string;
  PATH?: string;
  FORMAT?: string;
  FSTYPE?: string;
  SIZE?: Scalar;
  STATE?: Scalar;
  DATASTORE_ID?: Scalar;
  DATASTORE?: string;
  TEMPLATE?: TemplateAttributes;
  [field: string]: unknown;
}

export interface DatastoreFields {
  ID: Scalar;
  NAME?: string;
  DS_MAD?: string;
  TM_MAD?: string;
  /** 0 image, 1 system, 2 file. */
  TYPE?: Scalar;
  BASE_PATH?: string;
  TEMPLATE?: TemplateAttributes;
  [field: string]: unknown;
}

export interface DumpInput {
  IMAGE?: ImageFields;
  DATASTORE: DatastoreFields;
  /** Snapshot id for snap_delete, snap_flatten and snap_revert. */
  TARGET_SNAPSHOT?: Scalar;
  [section: string]: unknown;
}

/** A decoded dump: its text both ways and a reader for its fields. */
export interface ActionDump {
  readonly root: string;
  readonly xml: string;
  readonly base64: string;
  readonly body: XmlElement;
  /** Text of the first element at a slash path below the root (`DATASTORE/DS_MAD`), or undefined. */
  get(path: string): string | undefined;
}

class Dump implements ActionDump {
  private encoded: string | undefined;
  constructor(
    readonly root: string,
    readonly xml: string,
    readonly body: XmlElement,
    encoded?: string,
  ) {
    this.encoded = encoded;
  }

  get base64(): string {
    this.encoded ??= encodeBase64(this.xml);
    return this.encoded;
  }

  get(path: string): string | undefined {
    let relative = path.startsWith('/') ? path.replace(/^\/+/, '') : path;
    if (relative.startsWith(`${this.root}/`)) relative = relative.slice(this.root.length + 1);
    const node = walk(this.body, relative.split('/'));
    return node === undefined ? undefined : textOf(node);
  }
}

function walk(start: XmlValue, steps: string[]): XmlValue | undefined {
  let node: XmlValue | undefined = start;
  for (const step of steps) {
    if (step === '') continue;
    if (Array.isArray(node)) node = node[0];
    if (!isElement(node) || !Object.hasOwn(node, step)) return undefined;
    node = (node as XmlElement)[step];
  }
  return Array.isArray(node) ? node[0] : node;
}

export { textOf };

/** Reads a dump given as XML text. */
/** `expectRoot` null accepts any root element (a VM template, say). */
export function dumpFromXml(xml: string, expectRoot: string | null = DUMP_ROOT, encoded?: string): ActionDump {
  const { root, body } = parseXml(xml, 'dump');
  if (expectRoot !== null && root !== expectRoot) {
    throw new FerryError('E_BAD_DUMP', `dump root element is <${root}>, expected <${expectRoot}>`, {
      hint: `an action dump looks like <${expectRoot}><IMAGE>...</IMAGE><DATASTORE>...</DATASTORE></${expectRoot}>`,
    });
  }
  return new Dump(root, xml, body, encoded);
}

/** Reads a dump given as base64 text. */
export function dumpFromBase64(text: string, expectRoot: string | null = DUMP_ROOT): ActionDump {
  const compact = text.replace(/\s+/g, '');
  return dumpFromXml(decodeBase64(compact), expectRoot, compact);
}

/** Reads a dump given as XML or base64 text, telling them apart by the leading `<`. */
export function readDump(text: string, expectRoot: string | null = DUMP_ROOT): ActionDump {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw new FerryError('E_BAD_DUMP', 'dump is empty', { hint: 'pass the XML action dump, or its base64 encoding' });
  return trimmed.startsWith('<') ? dumpFromXml(trimmed, expectRoot) : dumpFromBase64(trimmed, expectRoot);
}

/** Builds a dump from typed sections; values under TEMPLATE become CDATA as OpenNebula writes them. */
export function buildDump(input: DumpInput): ActionDump {
  const body = toElement(input as Record<string, unknown>, false, '');
  const xml = `${buildXml(DUMP_ROOT, body)}`;
  return new Dump(DUMP_ROOT, xml, body);
}

function toElement(fields: Record<string, unknown>, inTemplate: boolean, at: string): XmlElement {
  const element: XmlElement = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) {
      throw new FerryError('E_BAD_DUMP', `dump field name ${JSON.stringify(`${at}${name}`)} is not a valid XML element name`, {
        hint: 'use letters, digits, _ . and -, starting with a letter',
      });
    }
    element[name] = toValue(value, inTemplate || name === 'TEMPLATE', `${at}${name}/`);
  }
  return element;
}

function toValue(value: unknown, inTemplate: boolean, at: string): XmlValue {
  if (Array.isArray(value)) return value.map((item) => toValue(item, inTemplate, at));
  if (typeof value === 'object' && value !== null) return toElement(value as Record<string, unknown>, inTemplate, at);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    const text = String(value);
    return inTemplate ? cdata(text) : text;
  }
  throw new FerryError('E_BAD_DUMP', `dump field ${at.slice(0, -1)} has a value of type ${value === null ? 'null' : typeof value}`, {
    hint: 'dump values are strings or numbers',
  });
}
