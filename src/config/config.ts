/**
 * ferry.yaml: the operator's configuration. Unknown keys and wrong types are
 * errors naming the key and the file.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { NameSchema } from '../contract/names.js';
import { LEVELS, LOG_FORMATS } from '../log/logger.js';
import { FerryError } from '../errors.js';
import { basePathProblem } from '../lifecycle/base-path.js';
import { bundledRemotes } from './paths.js';
import { TimeoutSchema } from './timeout.js';
import { loadYamlFile } from './yaml.js';

export const CONFIG_FILE = 'ferry.yaml';

const seconds = v.pipe(v.number(), v.minValue(0.001));
const perAction = v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/)), TimeoutSchema);

export const ConfigSchema = v.strictObject({
  /** The catalog file; relative to this file. $FERRY_CATALOG, $FERRY_HOME and --catalog come first. */
  catalog: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Folder holding datastore/<ds_mad>/ and tm/<tm_mad>/ drivers; relative to this file. */
  remotes: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Timeouts in seconds: `default` for every action, or per kind and action. */
  timeouts: v.optional(
    v.strictObject({
      default: v.optional(TimeoutSchema),
      datastore: v.optional(perAction),
      tm: v.optional(perAction),
    }),
  ),
  /** Seconds between SIGTERM and SIGKILL when a driver is stopped. */
  kill_grace: v.optional(seconds),
  /** Bytes of stdout (and of stderr) kept per action; the rest is dropped and the result says so. */
  max_output: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024))),
  log_level: v.optional(v.picklist(LEVELS)),
  /** text (one line per record) or json (JSON lines). */
  log_format: v.optional(v.picklist(LOG_FORMATS)),
  /** Datastore figures: `max_age` seconds they are trusted before an image create, clone or save-as runs the monitor again (default 300; 0: always). */
  monitor: v.optional(v.strictObject({ max_age: v.optional(v.pipe(v.number(), v.minValue(0))) })),
  /** Folder for the lock files of the helper library's `exclusive`. */
  lock_dir: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** This machine's name in host:path arguments (the spec's `fe`); default its host name. */
  frontend: v.optional(NameSchema),
  /** How to reach each host: `transport: local`, or ssh settings rendered into an ssh_config. */
  hosts: v.optional(
    v.record(
      NameSchema,
      v.strictObject({
        transport: v.optional(v.picklist(['ssh', 'local'])),
        address: v.optional(v.pipe(v.string(), v.minLength(1))),
        port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
        user: v.optional(v.pipe(v.string(), v.minLength(1))),
        identity: v.optional(v.pipe(v.string(), v.minLength(1))),
        known_hosts: v.optional(v.pipe(v.string(), v.minLength(1))),
        options: v.optional(v.record(v.string(), v.union([v.string(), v.number()]))),
      }),
    ),
  ),
  /** Datastores synced into the catalog (by name) whenever a catalog command runs. */
  datastores: v.optional(
    v.record(
      NameSchema,
      v.strictObject({
        id: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
        type: v.optional(v.picklist(['IMAGE', 'SYSTEM', 'FILE'])),
        ds_mad: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/))),
        tm_mad: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/)),
        base_path: v.pipe(
          v.string(),
          v.check((path) => basePathProblem(path) === undefined, (issue) => `base_path ${JSON.stringify(issue.input)} ${basePathProblem(String(issue.input)) ?? ''}`),
        ),
        template: v.optional(v.record(v.string(), v.string())),
        secrets: v.optional(v.record(v.string(), v.string())),
      }),
    ),
  ),
});

export type FerryConfig = v.InferOutput<typeof ConfigSchema> & {
  /** The file it came from, if any. */
  file?: string;
};

/** Loads ferry.yaml: the given file (must exist), else ./ferry.yaml when present, else defaults. */
export async function loadConfig(file: string | undefined, cwd: string): Promise<FerryConfig> {
  const path = file !== undefined ? resolve(cwd, file) : resolve(cwd, CONFIG_FILE);
  if (file === undefined && !existsSync(path)) return {};
  if (file !== undefined && !existsSync(path)) {
    throw new FerryError('E_CONFIG', `config file ${path} does not exist`, { hint: 'pass an existing file to --config, or leave it out' });
  }
  const config = await loadYamlFile(path, ConfigSchema, 'E_CONFIG', `fix ${path}; the keys are listed in ferry's docs/configuration.md`);
  const base = dirname(path);
  const hosts = config.hosts
    ? Object.fromEntries(
        Object.entries(config.hosts).map(([name, host]) => [
          name,
          {
            ...host,
            ...(host.identity ? { identity: resolve(base, host.identity) } : {}),
            ...(host.known_hosts ? { known_hosts: resolve(base, host.known_hosts) } : {}),
          },
        ]),
      )
    : undefined;
  return {
    ...config,
    ...(config.remotes ? { remotes: resolve(base, config.remotes) } : {}),
    ...(config.catalog ? { catalog: resolve(base, config.catalog) } : {}),
    ...(config.lock_dir ? { lock_dir: resolve(base, config.lock_dir) } : {}),
    ...(hosts ? { hosts } : {}),
    file: path,
  };
}

/** The remotes folder: flag, else $FERRY_REMOTES, else ferry.yaml, else the bundled one. */
export function resolveRemotesPath(flag: string | undefined, env: Record<string, string | undefined>, config: FerryConfig, cwd: string): string {
  if (flag) return resolve(cwd, flag);
  if (env.FERRY_REMOTES) return resolve(cwd, env.FERRY_REMOTES);
  if (config.remotes) return config.remotes;
  return bundledRemotes();
}
