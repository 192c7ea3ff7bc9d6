/**
 * `ferry drivers new`: a new driver folder, ready to fill in. Either every
 * action of the kind as a commented script on the helper library (each says
 * what it gets and what it must print, then refuses until written), or a
 * copy of an existing driver (`from`) to change. Always with driver.yaml and
 * a README. Built in a temporary folder and renamed into place, so a
 * failure leaves nothing half-made.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { NAME_BODY } from '../contract/names.js';
import { CONTRACT, type ActionSpec, type Kind } from '../contract/table.js';
import { FerryError } from '../errors.js';
import { checkName } from './locate.js';
import { API_VERSIONS, MANIFEST_FILE } from './manifest.js';

export interface ScaffoldOptions {
  /** The remotes folder the driver goes in (`<remotes>/<kind>/<name>`). */
  remotes: string;
  kind: Kind;
  name: string;
  /** An existing driver of the same kind to copy, from `fromRemotes` (default: `remotes`). */
  from?: string;
  fromRemotes?: string;
  /** The helper library to copy into `remotes` when it has none. */
  helperLibrary?: string;
}

export interface Scaffolded {
  dir: string;
  /** Files written, relative to `dir`, sorted. */
  files: string[];
}

/** What an action's script must print, from the contract. */
function prints(kind: Kind, action: string, spec: ActionSpec<unknown>): string {
  if (!spec.returns) return 'nothing (exit 0 is success)';
  const shapes: Record<string, string> = {
    'datastore/cp': '"<image_source> <size MB> [format]"',
    'datastore/mkfs': '"<image_source> <size MB>" (FSTYPE save_as: name a new source for a TM cpds to fill)',
    'datastore/stat': '"<size MB>"',
    'datastore/clone': '"<new image_source>"',
    'datastore/monitor': 'USED_MB=<n>, TOTAL_MB=<n> and FREE_MB=<n>, one per line',
    'tm/monitor': 'USED_MB=<n>, TOTAL_MB=<n> and FREE_MB=<n>, one per line',
  };
  return shapes[`${kind}/${action}`] ?? 'its result on one line';
}

/** The usage line of an action: its arguments as the contract names them. */
function usage(spec: ActionSpec<unknown>): string {
  return spec.args.map((arg) => (arg.variadic ? `${arg.name}...` : arg.optional ? `[${arg.name}]` : arg.name)).join(' ');
}

/** A commented action script that says what it gets and must print, then refuses until it is written. */
function actionScript(kind: Kind, name: string, action: string, spec: ActionSpec<unknown>): string {
  const required = spec.args.filter((arg) => !arg.optional && !arg.variadic).length;
  const gets =
    kind === 'datastore'
      ? [
          '# Gets: <dump> <id>: the base64 action dump (also on stdin) and the image or datastore id.',
          '# Its well-known fields are in the environment: FERRY_IMAGE_SOURCE, FERRY_IMAGE_PATH,',
          '# FERRY_IMAGE_SIZE, FERRY_DS_BASE_PATH, FERRY_TARGET_SNAPSHOT ...; any other with',
          '# "$FERRY" xpath --stdin /DS_DRIVER_ACTION_DATA/...; secrets as FERRY_DS_SECRET_<NAME>.',
        ]
      : [`# Gets: ${usage(spec)}`, '# host:path arguments: split them with arg_host and arg_path; run on a host with on_host.'];
  return `${[
    '#!/bin/sh',
    `# ${kind} driver ${name}, ${action}: ${spec.summary}.`,
    ...gets,
    `# Prints on stdout: ${prints(kind, action, spec)}. Logs go to stderr (log_info, log_error);`,
    '# on failure say why with die, which exits non-zero. Helpers: remotes/scripts_common.sh.',
    'set -eu',
    '# shellcheck source-path=SCRIPTDIR source=../../scripts_common.sh',
    '. "$(dirname "$0")/../../scripts_common.sh"',
    '',
    `[ "$#" -ge ${required} ] || die "usage: ${action} ${usage(spec)}"`,
    '',
    '# Write the action here, then delete the line below. For example:',
    kind === 'datastore' ? '#   exec_and_log "Cannot copy $FERRY_IMAGE_PATH" cp -- "$FERRY_IMAGE_PATH" "$DST"' : '#   ssh_exec_and_log "$HOST" "Cannot remove $DST_PATH" rm -rf -- "$DST_PATH"',
    `die "${kind} driver ${name}: ${action} is not written yet (edit $0)"`,
    '',
  ].join('\n')}`;
}

function manifestFor(kind: Kind, name: string): string {
  return `# ${name}: a ${kind} driver for ferry. See ferry's docs/driver-contract.md, "Driver folders and driver.yaml".
${stringify({
  api: API_VERSIONS.max,
  kind,
  description: `TODO: what the ${name} driver stores, and where`,
  // The contract's defaults, written out to be tuned.
  timeouts: Object.fromEntries(Object.entries(CONTRACT[kind]).map(([action, spec]) => [action, spec.timeoutSec])),
  capabilities: [],
  config: kind === 'datastore' ? { BASE_PATH: { type: 'path', required: true, description: 'where the datastore keeps its images' } } : {},
  requires: ['sh'],
})}`;
}

function readme(kind: Kind, name: string, from: string | undefined, actions: string[]): string {
  return `# ${kind} driver: ${name}

${from ? `Started as a copy of the \`${from}\` driver.` : 'Every action is a commented script that refuses until it is written.'}
Each action is an executable in this folder named after the contract's action;
shell code they share goes in \`lib/\`. driver.yaml says what the driver needs
(\`requires\`), reads (\`config\`, with \`secret: true\` for credentials) and can
do (\`capabilities\`).

Check it as you go:

\`\`\`sh
ferry drivers validate ${kind}/${name}     # files, manifest, shellcheck
ferry drivers test ${kind}/${name}         # the conformance suite, against a temporary datastore
\`\`\`

| action | what it does |
| --- | --- |
${actions.map((action) => `| \`${action}\` | ${(CONTRACT[kind] as Record<string, ActionSpec<unknown>>)[action]?.summary ?? 'driver-specific action'} |`).join('\n')}
`;
}

/** The copy of driver `from`: its files (links resolved, so it stands alone), its driver.yaml with a new description. */
function copyDriver(source: string, target: string, kind: Kind, name: string, from: string): void {
  cpSync(source, target, { recursive: true, dereference: true });
  rmSync(join(target, 'README.md'), { force: true });
  // Scripts that reach a lib/ through a driver's name (../shared/lib/tm_lib.sh: tm/shared's own, which tm/qcow2
  // uses too) get that lib/ copied into the new driver's and reach it there, so the copy stands alone.
  const LIB = new RegExp(`\\.\\./(${NAME_BODY})/lib/`, 'g');
  for (const file of readdirSync(target)) {
    const path = join(target, file);
    if (!statSync(path).isFile()) continue;
    const text = readFileSync(path, 'utf8');
    const drivers = new Set([...text.matchAll(LIB)].map((match) => match[1] as string));
    if (drivers.size === 0) continue;
    for (const driver of drivers) {
      const lib = join(source, '..', driver, 'lib');
      if (driver !== from && existsSync(lib)) cpSync(lib, join(target, 'lib'), { recursive: true, dereference: true, force: false });
    }
    writeFileSync(path, text.replace(LIB, 'lib/'));
  }
  const manifest = join(target, MANIFEST_FILE);
  if (existsSync(manifest)) {
    const doc = parseDocument(readFileSync(manifest, 'utf8'));
    doc.set('description', `TODO: what the ${name} driver stores, and where (copied from ${from})`);
    doc.commentBefore = ` ${name}: a ${kind} driver for ferry, copied from ${from}. See ferry's docs/driver-contract.md, "Driver folders and driver.yaml".`;
    writeFileSync(manifest, doc.toString());
  } else {
    writeFileSync(manifest, manifestFor(kind, name));
  }
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`]))
    .sort();
}

export function scaffoldDriver(options: ScaffoldOptions): Scaffolded {
  const { remotes, kind, name } = options;
  checkName(name, 'driver');
  const parent = join(remotes, kind);
  const dir = join(parent, name);
  if (existsSync(dir)) throw new FerryError('E_CONFLICT', `${dir} exists`, { hint: 'pick another name, or remove that folder first' });
  let source: string | undefined;
  if (options.from !== undefined) {
    checkName(options.from, 'driver');
    source = join(options.fromRemotes ?? remotes, kind, options.from);
    if (!existsSync(source) || !statSync(source).isDirectory()) {
      throw new FerryError('E_DRIVER_NOT_FOUND', `no ${kind} driver ${JSON.stringify(options.from)} to copy (${source})`, { hint: 'ferry drivers list shows the drivers there are' });
    }
  }
  mkdirSync(parent, { recursive: true });
  const library = join(remotes, 'scripts_common.sh');
  if (!existsSync(library) && options.helperLibrary) copyFileSync(options.helperLibrary, library);
  const work = mkdtempSync(join(parent, `.${name}.new-`));
  try {
    const target = join(work, name);
    if (source && options.from) {
      copyDriver(source, target, kind, name, options.from);
    } else {
      mkdirSync(target);
      for (const [action, spec] of Object.entries(CONTRACT[kind])) {
        writeFileSync(join(target, action), actionScript(kind, name, action, spec));
        chmodSync(join(target, action), 0o755);
      }
      writeFileSync(join(target, MANIFEST_FILE), manifestFor(kind, name));
    }
    const actions = readdirSync(target).filter((file) => file !== MANIFEST_FILE && file !== 'lib' && !file.endsWith('.md')).sort();
    writeFileSync(join(target, 'README.md'), readme(kind, name, options.from, actions));
    renameSync(target, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { dir, files: filesUnder(dir) };
}
