/**
 * driver.yaml: what a driver folder says about itself. Optional; a driver
 * without one runs with defaults, as the seed's drivers do.
 */
import { TimeoutSchema } from '../config/timeout.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { loadYamlFile } from '../config/yaml.js';
import { CONVENTIONS } from './convention.js';
import { AlertsSchema } from '../monitor/rules.js';

export const MANIFEST_FILE = 'driver.yaml';
/** Driver API versions this ferry runs. */
export const API_VERSIONS = { min: 1, max: 1 } as const;


const ConfigAttribute = v.strictObject({
  type: v.optional(v.picklist(['string', 'integer', 'number', 'boolean', 'path'])),
  default: v.optional(v.union([v.string(), v.number(), v.boolean()])),
  required: v.optional(v.boolean()),
  secret: v.optional(v.boolean()),
  description: v.optional(v.string()),
});

export const ManifestSchema = v.strictObject({
  api: v.optional(v.pipe(v.number(), v.integer())),
  kind: v.optional(v.picklist(['datastore', 'tm'])),
  description: v.optional(v.string()),
  /** `argv` (default): dump as argument 1 and on stdin. `stdin`: dump on stdin only, arguments `<id>`. */
  dump: v.optional(v.picklist(['argv', 'stdin'])),
  /** `opennebula`: called as OpenNebula's driver processes call their scripts (see convention.ts); default decided by ferry. */
  convention: v.optional(v.picklist(CONVENTIONS)),
  /** Seconds: `default` for every action, or per action name. */
  timeouts: v.optional(v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/)), TimeoutSchema)),
  capabilities: v.optional(v.array(v.string())),
  config: v.optional(v.record(v.string(), ConfigAttribute)),
  requires: v.optional(v.array(v.string())),
  /** Alert rules for the datastores using this driver (docs/monitoring.md). */
  alerts: v.optional(AlertsSchema),
});

export type Manifest = v.InferOutput<typeof ManifestSchema>;

/** Top-level keys of driver.yaml, for suggestions on a misspelt one. */
export const MANIFEST_KEYS = Object.keys(ManifestSchema.entries);

export { CAPABILITIES, type Capability } from '../contract/capabilities.js';

const EMPTY: Manifest = Object.freeze({});

/** Loads driver.yaml of a driver folder, cached until the file changes. */
export class ManifestCache {
  private readonly entries = new Map<string, { mtimeMs: number; manifest: Manifest }>();

  async load(driverDir: string): Promise<Manifest> {
    const file = join(driverDir, MANIFEST_FILE);
    // No throw for the usual case of no driver.yaml: building an ENOENT error costs more than the stat.
    const info = statSync(file, { throwIfNoEntry: false });
    if (!info) {
      this.entries.delete(file);
      return EMPTY;
    }
    const mtimeMs = info.mtimeMs;
    const cached = this.entries.get(file);
    if (cached && cached.mtimeMs === mtimeMs) return cached.manifest;
    const manifest = await loadYamlFile(file, ManifestSchema, 'E_BAD_MANIFEST', `fix ${file}; see "Driver folders and driver.yaml" in ferry's docs/driver-contract.md`);
    this.entries.set(file, { mtimeMs, manifest });
    return manifest;
  }
}

/** What a datastore gives a driver: its template attributes, secret attributes and BASE_PATH. */
export interface DatastoreAttributes {
  template: Record<string, string>;
  secrets: Record<string, string>;
  basePath: string;
}

const TYPE_CHECKS: Record<string, { test: (value: string) => boolean; expect: string }> = {
  integer: { test: (value) => /^-?\d+$/.test(value), expect: 'a whole number' },
  number: { test: (value) => value.trim() !== '' && Number.isFinite(Number(value)), expect: 'a number' },
  boolean: { test: (value) => /^(yes|no|true|false|1|0)$/i.test(value), expect: 'YES or NO' },
  path: { test: (value) => value.startsWith('/'), expect: 'an absolute path' },
  string: { test: () => true, expect: 'text' },
};

/**
 * Checks a datastore's attributes against what a driver's driver.yaml says
 * it reads (`config`): a secret given as a plain attribute (it would land in
 * every dump and in `show`), a required one missing, a value of the wrong
 * type. Returns one line per problem, naming the attribute and the fix.
 */
export function configProblems(manifest: Manifest, driver: string, attributes: DatastoreAttributes): string[] {
  const problems: string[] = [];
  const values: Record<string, string> = { BASE_PATH: attributes.basePath, ...attributes.template };
  for (const [name, spec] of Object.entries(manifest.config ?? {})) {
    if (spec.secret && name in attributes.template) {
      problems.push(`${name} is a secret of driver ${driver} (driver.yaml): give it with --secret ${name}, which reads $${name}, so it never shows on a command line or in a dump`);
      continue;
    }
    const present = name in values || name in attributes.secrets;
    if (spec.required && !present && spec.default === undefined) {
      problems.push(`driver ${driver} needs ${name}${spec.description ? ` (${spec.description})` : ''}: ${spec.secret ? `--secret ${name}` : `--attr ${name}=...`}`);
      continue;
    }
    const value = values[name];
    const check = TYPE_CHECKS[spec.type ?? 'string'];
    if (value !== undefined && check && !check.test(value)) problems.push(`${name}=${JSON.stringify(value)} is not ${check.expect}, as driver ${driver} expects`);
  }
  return problems;
}
