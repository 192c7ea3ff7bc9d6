/**
 * How a driver's scripts expect to be called. `ferry` (the seed's): a
 * datastore action gets `<dump> <id>` and the dump on stdin too.
 * `opennebula` (OpenNebula's current one_datastore.rb): `<id>` with the
 * base64 dump on stdin and nothing else, and the environment OpenNebula's
 * scripts source their helpers from (ONE_LOCATION, see one-env.ts).
 *
 * Decided per driver, first match wins:
 *  1. driver.yaml `convention:` (the author's word); a driver.yaml with
 *     `dump:` and no `convention:` is a ferry driver;
 *  2. ferry.yaml `drivers: {<kind>: {<name>: {convention: ...}}}` (the operator's, for a folder copied unmodified);
 *  3. the remotes folder is an OpenNebula install root's var/remotes (what `ferry drivers import` makes);
 *  4. the script itself: OpenNebula's scripts name ONE_LOCATION or read
 *     DRV_ACTION with `cat`, which no ferry-convention script needs to do;
 *  5. otherwise `ferry`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Kind } from '../contract/spec.js';
import type { Manifest } from './manifest.js';

export const CONVENTIONS = ['ferry', 'opennebula'] as const;
export type Convention = (typeof CONVENTIONS)[number];

/** The operator's choices from ferry.yaml, per kind and driver name. */
export type ConventionChoices = Partial<Record<Kind, Record<string, Convention>>>;

/** What the script's first bytes say; only this much is read, as the markers sit in a script's first lines. */
const HEAD_BYTES = 16 * 1024;
const OPENNEBULA_MARKER = /\bONE_LOCATION\b|\bDRV_ACTION=(?:\$\(|`)\s*cat\b/;

/** Whether a script reads like one of OpenNebula's (see rule 4); false when it cannot be read. */
export function looksOpenNebula(scriptPath: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(scriptPath, 'r');
    const buffer = Buffer.alloc(HEAD_BYTES);
    const length = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    return OPENNEBULA_MARKER.test(buffer.toString('latin1', 0, length));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface ConventionInputs {
  kind: Kind;
  driver: string;
  manifest: Manifest;
  choices: ConventionChoices | undefined;
  /** The remotes folder is an OpenNebula install root's var/remotes. */
  inOneRoot: boolean;
  /** Rule 4, asked only when the rules before it say nothing. */
  scriptLooksOpenNebula: () => boolean;
}

export function conventionOf(inputs: ConventionInputs): Convention {
  const { manifest } = inputs;
  if (manifest.convention !== undefined) return manifest.convention;
  // `dump:` without `convention:` is a ferry driver choosing where its dump goes (prepare.ts).
  if (manifest.dump !== undefined) return 'ferry';
  const chosen = inputs.choices?.[inputs.kind]?.[inputs.driver];
  if (chosen !== undefined) return chosen;
  if (inputs.inOneRoot) return 'opennebula';
  return inputs.scriptLooksOpenNebula() ? 'opennebula' : 'ferry';
}
