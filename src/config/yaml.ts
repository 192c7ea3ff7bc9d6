/**
 * Reads a YAML file and checks it against a valibot schema. The parsed
 * document stays `unknown` until the schema passes; errors name the file and
 * the key.
 */
import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { FerryError, type ErrorCode } from '../errors.js';
import { explainIssues } from './explain.js';

export type Schema<T> = v.GenericSchema<unknown, T>;

/** Checks an already parsed value. */
export function checkDocument<T>(schema: Schema<T>, value: unknown, file: string, code: ErrorCode, hint: string): T {
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new FerryError(code, `${file}: expected a mapping of keys at the top level, got ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`, { hint });
  }
  const result = v.safeParse(schema, value ?? {});
  if (result.success) return result.output;
  const problems = explainIssues(schema, value ?? {});
  throw new FerryError(code, `${file}: ${problems.join('; ')}`, { hint });
}

/** Reads, parses and checks a YAML file. */
export async function loadYamlFile<T>(file: string, schema: Schema<T>, code: ErrorCode, hint: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new FerryError(code, `cannot read ${file}: ${(error as Error).message}`, { hint, cause: error });
  }
  // yaml is CommonJS: bundled, its namespace may hold only `default`.
  const imported = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
  const YAML = typeof imported.parse === 'function' ? imported : (imported.default as typeof import('yaml'));
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    throw new FerryError(code, `${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, { hint, cause: error });
  }
  return checkDocument(schema, doc, file, code, hint);
}
