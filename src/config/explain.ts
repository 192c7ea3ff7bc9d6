/**
 * Schema failures written for a person: the key path, what was expected,
 * what was given, and for an unknown key the nearest valid one. Where a
 * value could be one of several shapes (a vm.yaml disk is an image, a
 * volatile disk, swap or context), the shape it resembles most (the most
 * keys in common) is the one it is checked against, so `persistant: true`
 * on a volatile disk is named, not reported as "expected Object, got Object".
 */
import * as v from 'valibot';
import { nearest } from './nearest.js';

type AnySchema = v.GenericSchema<unknown, unknown>;
type Key = string | number;

/** The problems of `value` against `schema`, one line each; empty when it passes. */
export function explainIssues(schema: AnySchema, value: unknown): string[] {
  const result = v.safeParse(schema, value);
  if (result.success) return [];
  return result.issues.flatMap((issue) => explainIssue(schema, value, issue));
}

function explainIssue(root: AnySchema, value: unknown, issue: v.BaseIssue<unknown>): string[] {
  const path: Key[] = (issue.path ?? []).map((item) => item.key as Key);
  if (issue.type === 'union') {
    const here = valueAt(value, path);
    const options = unionOptions(schemaAt(root, path));
    const best = options && isPlainObject(here) ? closestOption(options, here) : undefined;
    if (best) return explainIssues(best, here).map((line) => prefixed(path, line));
    const shapes = options?.map((option) => objectKeys(unwrap(option))).filter((keys): keys is string[] => keys !== undefined) ?? [];
    // A scalar that matched an option's type but failed its check (a size written "lots"): that check says what is wanted.
    const checked = issue.issues?.find((sub) => sub.kind === 'validation');
    if (checked && !isPlainObject(here)) return [`${path.length === 0 ? 'top level' : path.join('.')}: expected ${checked.message}, got ${issue.received}`];
    if (shapes.length > 0 && isPlainObject(here)) {
      return [`${path.length === 0 ? 'top level' : path.join('.')}: expected one of ${shapes.map((keys) => `{${keys.join(', ')}}`).join(', ')}, got ${Object.keys(here).length === 0 ? 'an empty mapping' : `keys ${Object.keys(here).join(', ')}`}`];
    }
  }
  const where = path.length === 0 ? 'top level' : path.join('.');
  if (issue.expected === 'never' && path.length > 0) {
    const key = String(path[path.length - 1]);
    const known = objectKeys(schemaAt(root, path.slice(0, -1)));
    const close = known ? nearest(key, known) : undefined;
    const list = known && known.length > 0 ? ` (valid keys here: ${known.join(', ')})` : '';
    return [`${where}: unknown key "${key}"${close ? `; did you mean "${close}"?` : ''}${list}`];
  }
  if (issue.received === 'undefined') return [`${where}: required, but missing`];
  return [`${where}: expected ${issue.expected ?? 'a valid value'}, got ${issue.received}`];
}

function prefixed(path: Key[], line: string): string {
  if (path.length === 0) return line;
  return line.startsWith('top level: ') ? `${path.join('.')}: ${line.slice('top level: '.length)}` : `${path.join('.')}.${line}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(value: unknown, path: readonly Key[]): unknown {
  let node = value;
  for (const key of path) node = isPlainObject(node) || Array.isArray(node) ? (node as Record<Key, unknown>)[key] : undefined;
  return node;
}

/** The schema under pipes, optional and nullable wrappers. */
function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let node = schema as (AnySchema & { pipe?: AnySchema[]; wrapped?: AnySchema }) | undefined;
  for (let depth = 0; node && depth < 16; depth++) {
    if (Array.isArray(node.pipe) && node.pipe[0] && node.pipe[0] !== node) node = node.pipe[0] as typeof node;
    else if (node.wrapped) node = node.wrapped as typeof node;
    else break;
  }
  return node;
}

/** The schema for the value at `path`, where it can be told without the value (not through a union). */
function schemaAt(root: AnySchema, path: readonly Key[]): AnySchema | undefined {
  let node = unwrap(root);
  for (const key of path) {
    const shaped = node as { entries?: Record<string, AnySchema>; item?: AnySchema; value?: AnySchema } | undefined;
    if (shaped?.entries) node = unwrap(shaped.entries[String(key)]);
    else if (shaped?.item) node = unwrap(shaped.item);
    else if (shaped?.value) node = unwrap(shaped.value);
    else return undefined;
  }
  return node;
}

function objectKeys(schema: AnySchema | undefined): string[] | undefined {
  const entries = (schema as { entries?: Record<string, AnySchema> } | undefined)?.entries;
  return entries ? Object.keys(entries) : undefined;
}

function unionOptions(schema: AnySchema | undefined): AnySchema[] | undefined {
  const options = (schema as { type?: string; options?: AnySchema[] } | undefined)?.options;
  return Array.isArray(options) ? options : undefined;
}

/** The option whose keys the value shares most (the first on a tie); undefined when it shares none with any. */
function closestOption(options: readonly AnySchema[], value: Record<string, unknown>): AnySchema | undefined {
  let best: AnySchema | undefined;
  let bestScore = 0;
  for (const option of options) {
    const keys = objectKeys(unwrap(option));
    if (!keys) continue;
    const score = keys.filter((key) => Object.hasOwn(value, key)).length;
    if (score > bestScore) {
      best = option;
      bestScore = score;
    }
  }
  return best;
}
