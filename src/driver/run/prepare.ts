/**
 * Stage 3 of a run, once the script is located: what driver.yaml says is
 * checked (API version, kind), the argv and stdin made, the argument size
 * checked against the kernel's limit, the timeout chosen, and the script's
 * environment built. Nothing here starts a process.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libexecPath, packageRoot } from '../../config/paths.js';
import type { ActionSpec, Kind } from '../../contract/spec.js';
import type { ActionDump } from '../../dump/dump.js';
import { dumpEnv } from '../../dump/env.js';
import { FerryError } from '../../errors.js';
import type { Convention } from '../convention.js';
import type { Located } from '../locate.js';
import { API_VERSIONS, type Manifest } from '../manifest.js';
import type { Bound } from './bind.js';
import type { RunnerOptions } from './types.js';

/** The kernel refuses one argument longer than this (MAX_ARG_STRLEN, 32 pages), with E2BIG. */
export const MAX_ARG_BYTES = 128 * 1024;

export interface Prepared {
  /** The script's arguments (after its path). */
  argv: string[];
  /** Written to its stdin; undefined for /dev/null. */
  input: string | undefined;
  /** The arguments as errors and results show them: the dump as `<dump: N bytes>`. */
  shown: string[];
  timeoutSec: number;
}

/** Readies a located script's run; E_BAD_MANIFEST or E_DUMP_TOO_LARGE when it cannot run as asked. */
export function prepare(
  located: Located,
  spec: ActionSpec,
  manifest: Manifest,
  bound: Bound,
  timeouts: RunnerOptions['timeouts'],
  callTimeoutSec: number | undefined,
  convention: Convention = 'ferry',
): Prepared {
  checkManifest(located, manifest);
  // OpenNebula's one_datastore.rb runs `<action> <id>` and writes the base64 dump, as it came, on stdin.
  const opennebula = convention === 'opennebula';
  const stdinOnly = manifest.dump === 'stdin' || opennebula;
  const argv: string[] = [];
  const shown: string[] = [];
  let hasDump = false;
  // A driver that reads the dump from stdin only does not get it as an argument.
  for (const { spec: arg, value } of bound.args) {
    if (arg.type === 'dump') {
      hasDump = true;
      if (stdinOnly) continue;
      shown.push(`<dump: ${value.length} bytes>`);
    } else {
      shown.push(value);
    }
    argv.push(value);
  }
  checkArgSize(located, argv, bound.id);
  const input = bound.dump !== undefined && hasDump && (spec.dumpOnStdin || stdinOnly) ? (opennebula ? bound.dump.base64 : `${bound.dump.base64}\n`) : undefined;
  return { argv, input, shown, timeoutSec: timeoutFor(located, spec, manifest, timeouts, callTimeoutSec) };
}

/** Refuses a driver whose driver.yaml targets another API, or says it is of the other kind. */
function checkManifest({ kind, driver, action, driverDir }: Located, manifest: Manifest): void {
  if (manifest.api !== undefined && (manifest.api < API_VERSIONS.min || manifest.api > API_VERSIONS.max)) {
    throw new FerryError('E_BAD_MANIFEST', `${kind} driver '${driver}' targets driver API ${manifest.api}; this ferry runs API ${API_VERSIONS.min}..${API_VERSIONS.max}`, {
      hint: 'upgrade ferry, or use a driver built for this API version',
      kind,
      driver,
      action,
    });
  }
  if (manifest.kind !== undefined && manifest.kind !== kind) {
    throw new FerryError('E_BAD_MANIFEST', `${kind} driver '${driver}' says kind: ${manifest.kind} in its driver.yaml, but it is in the ${kind} folder`, {
      hint: `move it to remotes/${manifest.kind}/, or fix kind: in ${join(driverDir, 'driver.yaml')}`,
      kind,
      driver,
      action,
    });
  }
}

/** Refuses an argument the kernel would refuse (E2BIG): in practice a dump too large for the command line. */
function checkArgSize({ kind, driver, action, driverDir }: Located, argv: readonly string[], id: string | undefined): void {
  const tooLong = argv.find((arg) => Buffer.byteLength(arg) >= MAX_ARG_BYTES);
  if (tooLong === undefined) return;
  throw new FerryError(
    'E_DUMP_TOO_LARGE',
    `the dump is ${Buffer.byteLength(tooLong)} bytes of base64, over the kernel's ${MAX_ARG_BYTES}-byte limit for one argument (E2BIG)`,
    { hint: `set "dump: stdin" in ${driverDir}/driver.yaml so the driver reads the dump from stdin`, kind, driver, action, id },
  );
}

/**
 * Call > ferry.yaml per action (the operator's word on this action) >
 * driver.yaml per action > driver.yaml default > ferry.yaml default > contract.
 */
export function timeoutFor({ kind, script }: Located, spec: ActionSpec, manifest: Manifest, timeouts: RunnerOptions['timeouts'], call: number | undefined): number {
  return call ?? timeouts?.[kind]?.[script] ?? manifest.timeouts?.[script] ?? manifest.timeouts?.default ?? timeouts?.default ?? spec.timeoutSec;
}

/** The environment entries that never change for a runner, computed once per runner. */
export function fixedEnv(options: RunnerOptions): Record<string, string> {
  return {
    FERRY: join(packageRoot(), 'dist', 'bin', 'ferry.js'),
    FERRY_LOCK_DIR: join(tmpdir(), `ferry-${process.getuid?.() ?? 'user'}`, 'locks'),
    // OpenNebula's xpath.rb drop-in runs it (scripts/opennebula/xpath.rb); without a C compiler it is not built.
    ...(existsSync(libexecPath('ferry-xpath')) ? { FERRY_XPATH: libexecPath('ferry-xpath') } : {}),
    ...options.env,
    FERRY_REMOTES: options.remotes,
  };
}

/** What a script gets on top of ferry's environment: the runner's additions, what the script is, the dump's fields, and the call's own. */
export function scriptEnv(fixed: Record<string, string>, kind: Kind, driver: string, action: string, dump: ActionDump | undefined, extra: Record<string, string> | undefined): Record<string, string> {
  return { ...fixed, FERRY_KIND: kind, FERRY_DRIVER: driver, FERRY_ACTION: action, ...(dump ? dumpEnv(dump) : {}), ...extra };
}
