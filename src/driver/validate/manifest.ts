/**
 * Checks of driver.yaml: YAML syntax, unknown keys (with a suggestion), the
 * runtime schema, then what the values mean here (API window, kind,
 * timeouts of real actions, known capabilities, required commands on PATH,
 * config defaults). Every finding carries the line and column of its key.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import * as v from 'valibot';
import type { Document, LineCounter } from 'yaml';
import type { Kind } from '../../contract/table.js';
import { baseAction, isKind, knownActionsOf } from '../../contract/lookup.js';
import { API_VERSIONS, CAPABILITIES, MANIFEST_FILE, MANIFEST_KEYS, ManifestSchema, type Capability } from '../manifest.js';
import type { Add } from './findings.js';
import { nearest } from '../../config/nearest.js';
import { onPath } from './scripts.js';

/** What driver.yaml tells the other checks. */
export interface ManifestFacts {
  kind?: Kind;
  capabilities: string[];
}

const README_HINT = 'see "Driver folders and driver.yaml" in ferry\'s docs/driver-contract.md';
const CONFIG_KEYS = ['type', 'default', 'required', 'secret', 'description'];

/** Per top-level key: what a right value looks like. */
const KEY_HINTS: Record<string, string> = {
  api: `a whole number: api: ${API_VERSIONS.max}`,
  kind: 'kind: datastore or kind: tm',
  description: 'a string',
  dump: 'dump: argv (the dump as argument 1 and on stdin) or dump: stdin (stdin only)',
  timeouts: 'seconds above 0 per action name or default: timeouts: { default: 600, cp: 7200 }',
  capabilities: `a list of names: capabilities: [snapshots, sparse] (known: ${Object.keys(CAPABILITIES).join(', ')})`,
  config: 'attributes by name: config: { BASE_PATH: { type: path, required: true }, PASSWORD: { type: string, secret: true } }',
  requires: 'a list of commands: requires: [qemu-img, ssh]',
};

/** Where a key (or its value) is in the file. */
type Where = (path: readonly PropertyKey[], key?: boolean) => { line?: number; col?: number };

/** A parsed driver.yaml mapping, and where to file findings about it. */
interface Checked {
  file: string;
  raw: Record<string, unknown>;
  where: Where;
  add: Add;
}

/** A driver without driver.yaml: a note saying what one would add. */
export function noManifest(dir: string, add: Add): void {
  add(
    'info',
    'no-manifest',
    dir,
    'no driver.yaml: the driver runs with the defaults',
    `add ${join(dir, MANIFEST_FILE)} with api: ${API_VERSIONS.max} (pins the driver API it targets), kind, timeouts per action, requires (commands checked here), config attributes (secret: true keeps credentials out of logs) and capabilities`,
  );
}

/**
 * Checks driver.yaml of a driver whose folder has `files`; `kind` is the
 * folder's (undefined when not in one), `path` the PATH for `requires`.
 */
export async function checkManifest(file: string, kind: Kind | undefined, files: ReadonlySet<string>, add: Add, path: string | undefined): Promise<ManifestFacts> {
  const text = await readManifest(file, add);
  const doc = text === undefined ? undefined : await parseManifest(file, text, kind, add);
  if (!doc) return { capabilities: [] };
  checkKeys(doc);
  checkSchema(doc);
  checkApi(doc);
  const said = checkKind(doc, kind);
  checkTimeouts(doc, kind ?? said, files);
  const facts: ManifestFacts = { capabilities: checkCapabilities(doc) };
  if (said !== undefined) facts.kind = said;
  await checkRequires(doc, path);
  checkConfigDefaults(doc);
  return facts;
}

async function readManifest(file: string, add: Add): Promise<string | undefined> {
  try {
    // Never read a FIFO or a device: validation must not hang on a driver folder.
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
    return await readFile(file, 'utf8');
  } catch (error) {
    add('error', 'manifest-unreadable', file, `cannot read driver.yaml: ${(error as Error).message}`, `make ${file} readable (chmod 644)`);
    return undefined;
  }
}

/** The YAML as a mapping, with positions; undefined (reported) when it is not one. */
async function parseManifest(file: string, text: string, kind: Kind | undefined, add: Add): Promise<Checked | undefined> {
  const YAML = await loadYaml();
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = error.linePos?.[0];
      add('error', 'manifest-yaml', file, `not valid YAML: ${error.message.split('\n')[0]}`, 'fix the YAML syntax (indentation, quotes, a key given twice)', at?.line, at?.col);
    }
    return undefined;
  }
  const value: unknown = doc.toJS() ?? {};
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    add('error', 'manifest-type', file, `driver.yaml must be a mapping of keys, not ${got}`, `start from: api: ${API_VERSIONS.max} / kind: ${kind ?? 'datastore'}; ${README_HINT}`, 1);
    return undefined;
  }
  return { file, raw: value, add, where: (path, key = false) => lineOf(doc, lineCounter, path, key) };
}

type YamlModule = typeof import('yaml');

let yamlModule: Promise<YamlModule> | undefined;

/** yaml is CommonJS: bundled, its namespace may hold only `default` (as in config/yaml.ts). */
function loadYaml(): Promise<YamlModule> {
  yamlModule ??= import('yaml').then((imported) => {
    const mod = imported as YamlModule & { default?: YamlModule };
    return typeof mod.parseDocument === 'function' ? mod : (mod.default as YamlModule);
  });
  return yamlModule;
}

/** Unknown keys, all of them (the schema stops at the first one of a mapping). */
function checkKeys({ file, raw, where, add }: Checked): void {
  const unknownKey = (path: readonly string[], known: readonly string[]): void => {
    const at = where(path, true);
    const suggestion = nearest(path[path.length - 1] as string, known);
    const otherwise = path.length > 1 ? `a config attribute has ${CONFIG_KEYS.join(', ')}` : `driver.yaml keys are ${MANIFEST_KEYS.join(', ')}`;
    add('error', 'manifest-unknown-key', file, `unknown key "${path.join('.')}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`, suggestion ? `rename it to ${suggestion}` : `remove it; ${otherwise}`, at.line, at.col);
  };
  for (const key of Object.keys(raw)) if (!MANIFEST_KEYS.includes(key)) unknownKey([key], MANIFEST_KEYS);
  if (!isPlainObject(raw.config)) return;
  for (const [name, attribute] of Object.entries(raw.config)) {
    if (isPlainObject(attribute)) for (const key of Object.keys(attribute)) if (!CONFIG_KEYS.includes(key)) unknownKey(['config', name, key], CONFIG_KEYS);
  }
}

/** The runtime schema's complaints, each at its key. */
function checkSchema({ file, raw, where, add }: Checked): void {
  const parsed = v.safeParse(ManifestSchema, raw);
  if (parsed.success) return;
  for (const issue of parsed.issues) {
    if (issue.expected === 'never') continue; // unknown keys: reported by checkKeys
    const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
    const isKey = issue.path?.[issue.path.length - 1]?.origin === 'key';
    const at = where(path, isKey);
    const top = String(path[0] ?? '');
    if (isKey && top === 'timeouts') {
      add('error', 'manifest-type', file, `timeouts: "${String(path[path.length - 1] ?? '')}" is not an action name`, 'use an action name (cp, clone.ssh) or default', at.line, at.col);
    } else {
      const label = path.length === 0 ? 'top level' : path.map(String).join('.');
      add('error', 'manifest-type', file, `${label}: expected ${issue.expected ?? 'a valid value'}, got ${issue.received}`, `${KEY_HINTS[top] ?? 'fix the value'}; ${README_HINT}`, at.line, at.col);
    }
  }
}

/** api: given, and inside the window this ferry runs. */
function checkApi({ file, raw, where, add }: Checked): void {
  const api = raw.api;
  if (api === undefined) {
    add('warning', 'api-missing', file, 'driver.yaml does not say which driver API the driver targets', `add api: ${API_VERSIONS.max}, so a ferry that no longer runs it refuses it with a clear message instead of running it wrongly`, 1);
    return;
  }
  if (typeof api !== 'number' || !Number.isInteger(api) || (api >= API_VERSIONS.min && api <= API_VERSIONS.max)) return;
  const at = where(['api']);
  const window = `${API_VERSIONS.min}..${API_VERSIONS.max}`;
  const fix = api > API_VERSIONS.max ? `upgrade ferry to one that runs API ${api}, or use a version of the driver built for API ${API_VERSIONS.max}` : `update the driver to API ${window} and set api: ${API_VERSIONS.max}`;
  add('error', 'api-version', file, `driver.yaml targets driver API ${api}; this ferry runs API ${window}, so it refuses the driver`, fix, at.line, at.col);
}

/** The kind driver.yaml says, checked against the folder's; undefined when it says none. */
function checkKind({ file, raw, where, add }: Checked, folderKind: Kind | undefined): Kind | undefined {
  if (!isKind(raw.kind)) return undefined;
  if (folderKind !== undefined && raw.kind !== folderKind) {
    const at = where(['kind']);
    add('error', 'kind-mismatch', file, `driver.yaml says kind: ${raw.kind}, but the driver is in the ${folderKind}/ folder`, `set kind: ${folderKind}, or move the driver to ${raw.kind}/`, at.line, at.col);
  }
  return raw.kind;
}

/** A timeout for an action the driver has (a contract action, a known extra, or a file of the folder). */
function checkTimeouts({ file, raw, where, add }: Checked, kind: Kind | undefined, files: ReadonlySet<string>): void {
  if (!isPlainObject(raw.timeouts) || kind === undefined) return;
  const known = knownActionsOf(kind);
  for (const action of Object.keys(raw.timeouts)) {
    if (action === 'default' || known.includes(baseAction(action)) || files.has(action)) continue;
    const at = where(['timeouts', action], true);
    const close = nearest(action, [...known, 'default']);
    add('error', 'timeout-unknown-action', file, `timeouts.${action}: the driver has no action '${action}', so this timeout never applies`, close ? `rename it to ${close}` : `use default or one of the driver's actions (${known.join(', ')})`, at.line, at.col);
  }
}

/** Known capabilities (returned); unknown ones are a warning. */
function checkCapabilities({ file, raw, where, add }: Checked): string[] {
  const known: string[] = [];
  if (!Array.isArray(raw.capabilities)) return known;
  raw.capabilities.forEach((capability: unknown, index) => {
    if (typeof capability !== 'string') return;
    if (Object.hasOwn(CAPABILITIES, capability)) {
      known.push(capability);
      return;
    }
    const at = where(['capabilities', index]);
    const close = nearest(capability, Object.keys(CAPABILITIES)) as Capability | undefined;
    const fix = close ? `write it as ${close} (${CAPABILITIES[close]})` : `use a known capability (${Object.keys(CAPABILITIES).join(', ')}) and say anything else in description`;
    add('warning', 'capability-unknown', file, `capability "${capability}" is not one ferry knows, so nothing checks or tests it`, fix, at.line, at.col);
  });
  return known;
}

/** requires: command names or absolute paths, found on `path`. */
async function checkRequires({ file, raw, where, add }: Checked, path: string | undefined): Promise<void> {
  if (!Array.isArray(raw.requires)) return;
  for (const [index, command] of (raw.requires as unknown[]).entries()) {
    if (typeof command !== 'string') continue;
    const at = where(['requires', index]);
    if (!/^[A-Za-z0-9_+.@-]+$/.test(command) && !(isAbsolute(command) && !/\s/.test(command))) {
      add('error', 'requires-invalid', file, `requires: "${command}" is not a command name`, 'list commands by name (qemu-img) or absolute path (/usr/sbin/rbd), one per entry', at.line, at.col);
    } else if (!(await onPath(command, path))) {
      add('warning', 'requires-missing', file, `requires ${command}, which is not on this machine's PATH: actions that run it will fail here`, `install ${command} (its package), or drop it from requires if the driver does not need it`, at.line, at.col);
    }
  }
}

/** Config defaults: of their type, and none for a secret. */
function checkConfigDefaults({ file, raw, where, add }: Checked): void {
  if (!isPlainObject(raw.config)) return;
  for (const [name, attribute] of Object.entries(raw.config)) {
    if (!isPlainObject(attribute) || attribute.default === undefined) continue;
    const at = where(['config', name, 'default']);
    if (attribute.secret === true) {
      add('warning', 'secret-default', file, `config.${name} is secret but has a default in driver.yaml, where anyone reading the driver sees it`, 'remove the default; give the value in the datastore template or ferry.yaml', at.line, at.col);
    }
    const { type, default: value } = attribute;
    if (typeof type === 'string' && !fitsType(type, value)) {
      add('error', 'config-default-type', file, `config.${name}: default ${JSON.stringify(value)} is not a ${type}`, `make the default a ${type}, or change type`, at.line, at.col);
    }
  }
}

/** `value` is a `type` (string and path: a string). */
function fitsType(type: string, value: unknown): boolean {
  if (type === 'integer') return typeof value === 'number' && Number.isInteger(value);
  if (type === 'number') return typeof value === 'number';
  if (type === 'boolean') return typeof value === 'boolean';
  return typeof value === 'string';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Line and column of a key (or of its value) in the YAML document; the closest known parent when it has no node. */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[], wantKey: boolean): { line?: number; col?: number } {
  type YamlNode = { range?: [number, number, number] | null; items?: unknown[] };
  let node = doc.contents as YamlNode | null;
  let last: number | undefined;
  for (let index = 0; index < path.length && node; index += 1) {
    const segment = path[index];
    const items = node.items;
    if (!Array.isArray(items)) break;
    const pairs = items as Array<{ key?: { value?: unknown; range?: [number, number, number] }; value?: YamlNode | null }>;
    if (pairs.length > 0 && pairs[0] && typeof pairs[0] === 'object' && 'key' in pairs[0]) {
      const pair = pairs.find((item) => item.key !== undefined && String(item.key?.value) === String(segment));
      if (!pair) break;
      last = pair.key?.range?.[0] ?? last;
      if (index === path.length - 1 && wantKey) return position(lineCounter, last);
      node = pair.value ?? null;
      if (node?.range) last = node.range[0];
    } else {
      const element = (items as YamlNode[])[Number(segment)];
      if (!element) break;
      node = element;
      if (node.range) last = node.range[0];
    }
  }
  return position(lineCounter, last);
}

function position(lineCounter: LineCounter, offset: number | undefined): { line?: number; col?: number } {
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}
