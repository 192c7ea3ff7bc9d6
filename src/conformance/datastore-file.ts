/**
 * `ferry drivers test --datastore FILE`: the datastore (and, for TM checks,
 * the system datastore and hosts) the conformance suite runs against.
 * Checked with valibot like ferry.yaml. Secret values never live in the
 * file: it names the environment variable holding each one.
 *
 *     base_path: /srv/ferry-test/images   # image datastore BASE_PATH (must exist)
 *     id: 100                             # DATASTORE/ID in dumps
 *     name: conformance                   # DATASTORE/NAME
 *     template: { RESTRICTED_DIRS: /etc } # more DATASTORE/TEMPLATE attributes
 *     secrets: { API_TOKEN: MY_TOKEN }    # attribute: environment variable with its value
 *     system: { base_path: /srv/ferry-test/system, id: 0 }
 *     frontend: fe
 *     hosts:                              # one or two hosts for TM checks, as in ferry.yaml
 *       host01: { transport: local }
 *       host02: { address: 10.0.0.12, user: oneadmin, identity: ~/.ssh/id_ed25519 }
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import type { HostConfig } from '../config/hosts.js';
import { loadYamlFile } from '../config/yaml.js';
import { NameSchema } from '../contract/names.js';
import { FerryError } from '../errors.js';

const NAME = NameSchema;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ATTRIBUTE = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/));
const path = v.pipe(v.string(), v.minLength(1));
const id = v.pipe(v.number(), v.integer(), v.minValue(0));

const HostSchema = v.strictObject({
  transport: v.optional(v.picklist(['ssh', 'local'])),
  address: v.optional(v.pipe(v.string(), v.minLength(1))),
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
  user: v.optional(v.pipe(v.string(), v.minLength(1))),
  identity: v.optional(path),
  known_hosts: v.optional(path),
  options: v.optional(v.record(v.string(), v.union([v.string(), v.number()]))),
});

export const DatastoreFileSchema = v.strictObject({
  base_path: v.optional(path),
  id: v.optional(id),
  name: v.optional(NAME),
  template: v.optional(v.record(ATTRIBUTE, v.union([v.string(), v.number()]))),
  secrets: v.optional(v.record(ATTRIBUTE, v.string())),
  system: v.optional(v.strictObject({ base_path: v.optional(path), id: v.optional(id) })),
  frontend: v.optional(NAME),
  hosts: v.optional(v.record(NAME, HostSchema)),
});

/** The suite's datastore settings, paths resolved and secrets read. */
export interface DatastoreSettings {
  /** The file they came from, if any. */
  file?: string;
  /** Image datastore folder; undefined: the suite makes a temporary one. */
  basePath?: string;
  id: number;
  name: string;
  template: Record<string, string>;
  /** Attribute -> value: for drivers' environment only (FERRY_DS_SECRET_<NAME>). */
  secrets: Record<string, string>;
  system: { basePath?: string; id: number };
  frontend: string;
  /** One or two hosts; the first is where disks go, the second where they move to. */
  hosts: Record<string, HostConfig>;
}

export const DEFAULT_HOSTS: Record<string, HostConfig> = { host01: { transport: 'local' }, host02: { transport: 'local' } };

export function defaultSettings(): DatastoreSettings {
  return { id: 100, name: 'ferry-conformance', template: {}, secrets: {}, system: { id: 0 }, frontend: 'fe', hosts: { ...DEFAULT_HOSTS } };
}

const HINT = 'see "ferry drivers test --help" and "The --datastore file" in ferry\'s docs/driver-kit.md for the keys';

function expand(base: string, file: string): string {
  const home = file === '~' || file.startsWith('~/') ? homedir() + file.slice(1) : file;
  return isAbsolute(home) ? home : resolve(base, home);
}

function existingFolder(dir: string, key: string, file: string): string {
  const info = statSync(dir, { throwIfNoEntry: false });
  if (!info?.isDirectory()) {
    throw new FerryError('E_USAGE', `${file}: ${key} ${dir} ${info ? 'is not a folder' : 'does not exist'}`, {
      hint: `create the folder first, or leave ${key} out and the suite makes a temporary one`,
    });
  }
  return dir;
}

/** Reads and checks FILE; `env` is where secrets are read from (by variable name). */
export async function loadDatastoreFile(file: string, cwd: string, env: Record<string, string | undefined>): Promise<DatastoreSettings> {
  const full = resolve(cwd, file);
  if (!statSync(full, { throwIfNoEntry: false })?.isFile()) {
    throw new FerryError('E_USAGE', `datastore file ${full} does not exist`, { hint: 'pass an existing YAML file to --datastore, or leave it out' });
  }
  const doc = await loadYamlFile(full, DatastoreFileSchema, 'E_USAGE', HINT);
  const base = dirname(full);
  const settings = defaultSettings();
  settings.file = full;
  if (doc.base_path !== undefined) settings.basePath = existingFolder(expand(base, doc.base_path), 'base_path', full);
  if (doc.id !== undefined) settings.id = doc.id;
  if (doc.name !== undefined) settings.name = doc.name;
  settings.template = Object.fromEntries(Object.entries(doc.template ?? {}).map(([key, value]) => [key, String(value)]));
  for (const [attribute, variable] of Object.entries(doc.secrets ?? {})) {
    // Never echo what was written: a value that is not a variable name may be the secret itself.
    if (!ENV_VAR.test(variable)) {
      throw new FerryError('E_USAGE', `${full}: secrets.${attribute} is not the name of an environment variable`, {
        hint: `secrets: maps an attribute to the variable holding its value (TOKEN: MY_TOKEN), never to the value; if the file holds the secret itself, remove it and rotate the secret`,
      });
    }
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new FerryError('E_USAGE', `${full}: secrets.${attribute} reads $${variable}, which is not set`, {
        hint: `export ${variable}=... before the command: secret values come from the environment, never from the file`,
      });
    }
    if (Object.hasOwn(settings.template, attribute)) {
      throw new FerryError('E_USAGE', `${full}: ${attribute} is both a template attribute and a secret`, { hint: 'keep a secret only under secrets:' });
    }
    settings.secrets[attribute] = value;
  }
  if (doc.system?.id !== undefined) settings.system.id = doc.system.id;
  if (doc.system?.base_path !== undefined) settings.system.basePath = existingFolder(expand(base, doc.system.base_path), 'system.base_path', full);
  if (settings.system.id === settings.id || settings.system.id + 1 === settings.id) {
    throw new FerryError('E_USAGE', `${full}: system.id ${settings.system.id} clashes with id ${settings.id}`, {
      hint: 'the suite uses system.id and system.id + 1 for its two system datastores; pick ids apart from the image datastore id',
    });
  }
  if (doc.frontend !== undefined) settings.frontend = doc.frontend;
  if (doc.hosts !== undefined) {
    const names = Object.keys(doc.hosts);
    if (names.length < 1 || names.length > 2) {
      throw new FerryError('E_USAGE', `${full}: hosts has ${names.length} entries; give one or two`, { hint: 'the first host gets the disks, the second is where mv moves them' });
    }
    if (names.includes(settings.frontend)) {
      throw new FerryError('E_USAGE', `${full}: host ${settings.frontend} is also the frontend`, { hint: 'name the hosts VMs run on, not the front-end' });
    }
    settings.hosts = Object.fromEntries(
      Object.entries(doc.hosts).map(([name, host]) => [
        name,
        {
          ...host,
          ...(host.identity ? { identity: expand(base, host.identity) } : {}),
          ...(host.known_hosts ? { known_hosts: expand(base, host.known_hosts) } : {}),
        },
      ]),
    );
  }
  return settings;
}
