/**
 * Argument shapes of the contract, and the check that refuses a wrong
 * argument list before any script starts.
 */
import { FerryError } from '../errors.js';

export type ArgType =
  /** base64 action dump */
  | 'dump'
  /** integer, -1 allowed (image, VM, datastore and snapshot ids) */
  | 'id'
  /** non-negative integer (sizes, snapshot ids) */
  | 'uint'
  /** `host:/absolute/path` (a path in a system datastore) */
  | 'hostpath'
  /** `host:SOURCE`, where SOURCE is whatever the datastore driver named (a path, or `pool/image` for a Ceph-like driver) */
  | 'hostsource'
  /** `host:path` or a bare image source, as mvds and cpds get */
  | 'source'
  /** a host name */
  | 'host'
  /** an absolute path */
  | 'path'
  /** an image format or similar single word */
  | 'word'
  /** base64 text such as a VM template */
  | 'base64'
  /** any non-empty text */
  | 'text';

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Takes zero or more values (only one per list). */
  variadic?: boolean;
  /** May be left off at the end. */
  optional?: boolean;
}

const HOST = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*)$/;
const SHAPES: Record<ArgType, { test: (value: string) => boolean; expect: string }> = {
  dump: { test: (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v), expect: 'a base64 action dump' },
  id: { test: (v) => /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= -1, expect: 'an integer id (-1 allowed)' },
  uint: { test: (v) => /^\d+$/.test(v) && Number.isSafeInteger(Number(v)), expect: 'a non-negative integer' },
  hostpath: { test: (v) => isHostPath(v), expect: 'host:/absolute/path, e.g. host01:/var/lib/one/datastores/0/7/disk.0' },
  hostsource: { test: (v) => isHostSource(v), expect: 'host:SOURCE, e.g. fe:/var/lib/one/datastores/1/f00d' },
  source: { test: (v) => v.trim() !== '' && !/[\n\0]/.test(v), expect: 'an image source or host:path' },
  host: { test: (v) => HOST.test(v), expect: 'a host name' },
  path: { test: (v) => v.startsWith('/') && !v.includes('\0'), expect: 'an absolute path' },
  word: { test: (v) => /^[A-Za-z0-9_.-]+$/.test(v), expect: 'a single word such as raw or qcow2' },
  base64: { test: (v) => v === '-' || /^[A-Za-z0-9+/]*={0,2}$/.test(v), expect: 'base64 text' },
  text: { test: (v) => v !== '' && !v.includes('\0'), expect: 'a non-empty value' },
};

/** True for `host:/path` with a plausible host part and an absolute path part (which may itself hold `:`). */
export function isHostPath(value: string): boolean {
  const colon = value.indexOf(':');
  if (colon <= 0) return false;
  return HOST.test(value.slice(0, colon)) && value[colon + 1] === '/' && !value.includes('\0');
}

/** True for `host:SOURCE` with a plausible host part and a non-empty source (relative sources, e.g. `one/one-5`, allowed). */
export function isHostSource(value: string): boolean {
  const colon = value.indexOf(':');
  if (colon <= 0) return false;
  return HOST.test(value.slice(0, colon)) && value.length > colon + 1 && !/[\0\n]/.test(value);
}

/** The usage line of an argument list, e.g. `<fe:SOURCE> <host:path> <vm_id> <ds_id>`. */
export function usageOf(specs: readonly ArgSpec[]): string {
  return specs
    .map((spec) => {
      const name = spec.variadic ? `${spec.name}...` : spec.name;
      return spec.optional ? `[${name}]` : `<${name}>`;
    })
    .join(' ');
}

/** One value and the spec it was matched to. */
export interface BoundArg {
  spec: ArgSpec;
  value: string;
}

/**
 * Checks values against the specs, refusing with E_BAD_ARGS naming the
 * argument, what it got and what it expects. Returns each value with its
 * spec, in order (a variadic spec binds several values).
 */
export function checkArgs(specs: readonly ArgSpec[], values: readonly string[], label: string): BoundArg[] {
  const usage = `usage: ${label} ${usageOf(specs)}`;
  const variadicAt = specs.findIndex((spec) => spec.variadic);
  const fixed = specs.filter((spec) => !spec.variadic);
  const required = fixed.filter((spec) => !spec.optional).length;
  const assigned: Array<[ArgSpec, string]> = [];
  if (variadicAt >= 0) {
    const before = specs.slice(0, variadicAt);
    const after = specs.slice(variadicAt + 1);
    if (values.length < before.length + after.filter((s) => !s.optional).length) {
      throw badCount(label, usage, values.length, required);
    }
    before.forEach((spec, i) => assigned.push([spec, values[i] as string]));
    const tailStart = values.length - after.length;
    const variadic = specs[variadicAt] as ArgSpec;
    values.slice(before.length, tailStart).forEach((v) => assigned.push([variadic, v]));
    after.forEach((spec, i) => assigned.push([spec, values[tailStart + i] as string]));
  } else {
    if (values.length < required || values.length > fixed.length) throw badCount(label, usage, values.length, required, fixed.length);
    values.forEach((v, i) => assigned.push([specs[i] as ArgSpec, v]));
  }
  for (const [spec, value] of assigned) {
    if (!SHAPES[spec.type].test(value)) {
      throw new FerryError('E_BAD_ARGS', `${label}: argument ${spec.name} is ${JSON.stringify(truncate(value))}, expected ${SHAPES[spec.type].expect}`, {
        hint: usage,
      });
    }
  }
  return assigned.map(([spec, value]) => ({ spec, value }));
}

function badCount(label: string, usage: string, got: number, min: number, max?: number): FerryError {
  const want = max === undefined ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
  return new FerryError('E_BAD_ARGS', `${label}: expected ${want} arguments, got ${got}`, { hint: usage });
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
