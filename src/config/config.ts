/**
 * ferry.yaml: the operator's configuration. Unknown keys and wrong types are
 * errors naming the key and the file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { NameSchema } from '../contract/names.js';
import { LEVELS, LOG_FORMATS } from '../log/logger.js';
import { FerryError } from '../errors.js';
import { basePathProblem } from '../lifecycle/base-path.js';
import { isPostgresUrl } from '../catalog/location.js';
import { bundledRemotes } from './paths.js';
import { TimeoutSchema } from './timeout.js';
import { loadYamlFile } from './yaml.js';
import { CONVENTIONS } from '../driver/convention.js';
import { AlertsSchema } from '../monitor/rules.js';

export const CONFIG_FILE = 'ferry.yaml';

const seconds = v.pipe(v.number(), v.minValue(0.001));
const perAction = v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/)), TimeoutSchema);

/** A datastore secret in ferry.yaml: the value itself, or where to read it (an environment variable, or a 0600 file relative to ferry.yaml). */
const SecretSourceSchema = v.union(
  [
    v.string(),
    v.strictObject({ env: v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env: must be an environment variable name')) }),
    v.strictObject({ file: v.pipe(v.string(), v.minLength(1)) }),
  ],
  'a secret is a string, { env: VARIABLE } or { file: PATH }',
);
export type SecretSource = v.InferOutput<typeof SecretSourceSchema>;

const DriverSettingsSchema = v.strictObject({ convention: v.picklist(CONVENTIONS) });

export const ConfigSchema = v.strictObject({
  /** The catalog file, relative to this file, or a postgres:// URL. $FERRY_CATALOG, $FERRY_HOME and --catalog come first. */
  catalog: v.optional(v.pipe(v.string(), v.minLength(1))),
  /**
   * With a PostgreSQL catalog, VM and image operations are queued to `ferry worker`s (true, the default); false: each
   * command runs its operations itself, as on SQLite (docs/workers.md).
   */
  queue: v.optional(v.boolean()),
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
  /** Per driver folder: `convention: opennebula` for one of OpenNebula's copied in unmodified (ferry also recognises them itself). */
  drivers: v.optional(
    v.strictObject({
      datastore: v.optional(v.record(NameSchema, DriverSettingsSchema)),
      tm: v.optional(v.record(NameSchema, DriverSettingsSchema)),
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
  monitor: v.optional(
    v.strictObject({
      max_age: v.optional(v.pipe(v.number(), v.minValue(0))),
      /** Seconds between a datastore's monitor runs; the alert rules count missed samples in it (default 300; a datastore's MONITOR_INTERVAL attribute wins). */
      interval: v.optional(v.pipe(v.number(), v.minValue(1))),
      /** Seconds one monitor run of `ferry serve` may take before it is killed (default: its interval, at most 300). */
      timeout: v.optional(seconds),
      /** Seconds between `ferry serve`'s refreshes of image sizes (stat) and VM disk sizes, per datastore (default 3600). */
      sizes: v.optional(v.pipe(v.number(), v.minValue(1))),
      /** Monitor runs `ferry serve` keeps going at once (default 8). */
      concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256))),
    }),
  ),
  /** How long the monitor's history is kept: raw samples (hours, default 48), then hourly rollups (days, default 400). */
  history: v.optional(
    v.strictObject({
      raw_hours: v.optional(v.pipe(v.number(), v.minValue(1))),
      rollup_days: v.optional(v.pipe(v.number(), v.minValue(1))),
    }),
  ),
  /** Alert hooks (remotes/hooks/alert/): seconds each may run before it is killed (default 30). */
  hooks: v.optional(v.strictObject({ timeout: v.optional(seconds) })),
  /** `ferry serve`: where it listens (HOST:PORT, default 127.0.0.1:9469), and the file holding the API's token (0600; required off loopback). */
  serve: v.optional(
    v.strictObject({
      listen: v.optional(v.pipe(v.string(), v.minLength(1))),
      token_file: v.optional(v.pipe(v.string(), v.minLength(1))),
    }),
  ),
  /** Alert rules for every datastore, over the built-in ones (docs/monitoring.md). */
  alerts: v.optional(AlertsSchema),
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
        secrets: v.optional(v.record(v.string(), SecretSourceSchema)),
        /** Alert rules for this datastore, over everyone else's. */
        alerts: v.optional(AlertsSchema),
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
  const datastores = config.datastores
    ? Object.fromEntries(Object.entries(config.datastores).map(([name, ds]) => [name, ds.secrets ? { ...ds, secrets: secretFilesFrom(base, ds.secrets) } : ds]))
    : undefined;
  return {
    ...config,
    ...(config.remotes ? { remotes: resolve(base, config.remotes) } : {}),
    // A postgres:// URL is kept as written; a file is relative to this file.
    ...(config.catalog ? { catalog: isPostgresUrl(config.catalog) ? config.catalog : resolve(base, config.catalog) } : {}),
    ...(config.lock_dir ? { lock_dir: resolve(base, config.lock_dir) } : {}),
    ...(config.serve?.token_file ? { serve: { ...config.serve, token_file: resolve(base, config.serve.token_file) } } : {}),
    ...(hosts ? { hosts } : {}),
    ...(datastores ? { datastores } : {}),
    file: path,
  };
}

/** Secret files named relative to ferry.yaml, made absolute. */
function secretFilesFrom(base: string, secrets: Record<string, SecretSource>): Record<string, SecretSource> {
  return Object.fromEntries(Object.entries(secrets).map(([name, source]) => [name, typeof source === 'object' && 'file' in source ? { file: resolve(base, source.file) } : source]));
}

/**
 * A ferry.yaml datastore's secret values, read from where they are named: when a catalog command syncs the
 * datastore, not when any command loads ferry.yaml. Errors name the datastore, the secret and its source, never a value.
 */
export function resolveSecrets(datastore: string, secrets: Record<string, SecretSource> | undefined, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, source] of Object.entries(secrets ?? {})) {
    const what = `datastore ${datastore}'s secret ${name} in ferry.yaml`;
    if (typeof source === 'string') values[name] = source;
    else if ('env' in source) values[name] = secretFromEnv(what, source.env, env);
    else values[name] = secretFromFile(what, source.file);
  }
  return values;
}

function secretFromEnv(what: string, variable: string, env: Readonly<Record<string, string | undefined>>): string {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new FerryError('E_CONFIG', `${what} is read from the environment variable ${variable}, which is not set (or empty)`, { hint: `export ${variable} before running ferry, or name another source in ferry.yaml` });
  }
  return value;
}

/** The file's text, without the one newline an editor ends it with; refused when others than its owner can read or write it. */
function secretFromFile(what: string, file: string): string {
  if (!existsSync(file)) throw new FerryError('E_CONFIG', `${what} is read from the file ${file}, which does not exist`, { hint: 'create it (mode 0600) or fix the path; it is relative to ferry.yaml' });
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FerryError('E_CONFIG', `${what} is read from the file ${file}, whose mode ${mode.toString(8).padStart(4, '0')} lets others than its owner at it`, { hint: `chmod 600 ${file}` });
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new FerryError('E_CONFIG', `${what}: cannot read the file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'check its owner and permissions', cause: error });
  }
}

/** The remotes folder: flag, else $FERRY_REMOTES, else ferry.yaml, else the bundled one. */
export function resolveRemotesPath(flag: string | undefined, env: Record<string, string | undefined>, config: FerryConfig, cwd: string): string {
  if (flag) return resolve(cwd, flag);
  if (env.FERRY_REMOTES) return resolve(cwd, env.FERRY_REMOTES);
  if (config.remotes) return config.remotes;
  return bundledRemotes();
}
