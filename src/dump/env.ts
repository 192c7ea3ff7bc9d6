/**
 * The dump's well-known fields as environment variables, so a driver reads
 * them without spawning a process per field. Anything else: `$FERRY xpath`.
 */
import { isCdata, isElement, textOf, type XmlElement, type XmlValue } from './xml.js';
import type { ActionDump } from './dump.js';

/** Variable -> dump path; always set, empty when the dump lacks the field. */
export const DUMP_ENV = {
  FERRY_IMAGE_ID: 'IMAGE/ID',
  FERRY_IMAGE_NAME: 'IMAGE/NAME',
  FERRY_IMAGE_SOURCE: 'IMAGE/SOURCE',
  FERRY_IMAGE_PATH: 'IMAGE/PATH',
  FERRY_IMAGE_SIZE: 'IMAGE/SIZE',
  FERRY_IMAGE_FORMAT: 'IMAGE/FORMAT',
  FERRY_IMAGE_FSTYPE: 'IMAGE/FSTYPE',
  FERRY_IMAGE_PERSISTENT: 'IMAGE/PERSISTENT',
  FERRY_IMAGE_TYPE: 'IMAGE/TYPE',
  FERRY_DS_ID: 'DATASTORE/ID',
  FERRY_DS_NAME: 'DATASTORE/NAME',
  FERRY_DS_BASE_PATH: 'DATASTORE/BASE_PATH',
  FERRY_DS_MAD: 'DATASTORE/DS_MAD',
  FERRY_TM_MAD: 'DATASTORE/TM_MAD',
  FERRY_DS_TYPE: 'DATASTORE/TYPE',
  FERRY_TARGET_SNAPSHOT: 'TARGET_SNAPSHOT',
  // A system datastore kept per host (the ssh TM's): which host's share its monitor measures (the front-end's when empty).
  FERRY_DS_MONITOR_HOST: 'MONITOR_HOST',
} as const;

/** TEMPLATE attributes go under these prefixes, names upper-cased with other characters as `_`. */
export const TEMPLATE_PREFIX = { IMAGE: 'FERRY_IMAGE_TEMPLATE_', DATASTORE: 'FERRY_DS_TEMPLATE_' } as const;

/** Variables ferry sets from a dump, to be cleared from an inherited environment. */
export const DUMP_ENV_PATTERN = /^FERRY_(IMAGE|DS|TM|TARGET)_/;

/** Longer values stay out of the environment (each variable counts against the kernel's 128 KiB limit); read them with xpath. */
export const MAX_ENV_VALUE = 32 * 1024;

export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

export function dumpEnv(dump: ActionDump): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, path] of Object.entries(DUMP_ENV)) env[name] = dump.get(path) ?? '';
  // Newer dumps have DATASTORE/BASE_PATH; older ones only the template's.
  if (env.FERRY_DS_BASE_PATH === '') env.FERRY_DS_BASE_PATH = dump.get('DATASTORE/TEMPLATE/BASE_PATH') ?? '';
  for (const [section, prefix] of Object.entries(TEMPLATE_PREFIX)) {
    const sectionNode = dump.body[section];
    const template = isElement(sectionNode) ? (sectionNode as XmlElement).TEMPLATE : undefined;
    if (!isElement(template)) continue;
    for (const [name, value] of Object.entries(template as XmlElement)) {
      if (!isScalar(value)) continue;
      const text = textOf(value);
      if (text.length <= MAX_ENV_VALUE && !text.includes('\0')) env[prefix + envName(name)] = text;
    }
  }
  return env;
}

/** A single text or CDATA value (not a vector attribute, not repeated). */
function isScalar(value: XmlValue): boolean {
  return typeof value === 'string' || isCdata(value);
}
