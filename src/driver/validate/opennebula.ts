/**
 * What validate knows of the files OpenNebula's own drivers keep beside
 * their actions: settings, sourced libraries, the stand-ins that common/
 * scripts are linked under action names, and the variants an action runs
 * itself (clone.ssh, clone.replica). None of them is an action ferry runs
 * by itself, and none is a defect: each is reported as a note saying what
 * it is. OpenNebula's extra *actions* (monitor_ds, prebackup …) are rows of
 * the contract table (EXTRA_ACTIONS), not here.
 */
import { isExtraAction, isKnownAction } from '../../contract/lookup.js';
import type { Kind } from '../../contract/table.js';

/** One helper file: the kinds whose driver folders hold it, what it is, and whether it runs (then it is checked as a script is). */
interface Helper {
  kinds: readonly Kind[];
  what: string;
  runs: boolean;
}

/** OpenNebula's helper files by name. */
const HELPERS: Readonly<Record<string, Helper>> = {
  'fs.conf': { kinds: ['datastore'], runs: false, what: "the fs driver's settings (DD_BLOCK_SIZE …); an OpenNebula install reads them from etc/datastore/fs/fs.conf" },
  sshrc: { kinds: ['tm'], runs: false, what: "the ssh TM's replica settings (REPLICA_SSH_OPTS …); an OpenNebula install reads them from etc/tm/ssh/sshrc" },
  'ssh_utils.sh': { kinds: ['tm'], runs: false, what: "a library of shell functions that the ssh TM's replica actions source" },
  'not_supported.sh': { kinds: ['datastore', 'tm'], runs: true, what: "OpenNebula's stand-in for an action a driver does not support: linked under that action's name, it fails saying so" },
  'dummy.sh': { kinds: ['tm'], runs: true, what: "OpenNebula's do-nothing action, linked under the dummy TM's action names" },
};

/** Suffixed copies of an action that the action runs itself (exec "$0.ssh"), never ferry. */
const VARIANTS: Readonly<Record<string, string>> = {
  ssh: 'the variant that runs when the system datastore is in ssh mode',
  replica: 'the variant that runs when the system datastore has a REPLICA_HOST',
};

/** An OpenNebula helper file of a driver folder of `kind`: what it is (the note's text) and whether it runs; undefined for any other name. */
export function openNebulaHelper(kind: Kind, name: string): { what: string; runs: boolean } | undefined {
  const helper = Object.hasOwn(HELPERS, name) ? HELPERS[name] : undefined;
  if (helper?.kinds.includes(kind)) return { what: `${name} is ${helper.what}; not an action`, runs: helper.runs };
  const dot = name.lastIndexOf('.');
  const suffix = name.slice(dot + 1);
  const action = name.slice(0, dot);
  if (kind === 'tm' && dot > 0 && Object.hasOwn(VARIANTS, suffix) && (isKnownAction(kind, action) || isExtraAction(kind, action))) {
    return { what: `${name} is OpenNebula's ${suffix} variant of ${action}, ${VARIANTS[suffix]}: ${action} runs it itself, ferry never runs it directly`, runs: true };
  }
  return undefined;
}

/**
 * OpenNebula's folder of scripts its drivers link to (datastore/common,
 * tm/common): not a driver, so the actions it lacks are not judged. Told
 * by its name, no driver.yaml, and OpenNebula's stand-in script in it.
 */
export function isOpenNebulaCommon(name: string, files: ReadonlySet<string>): boolean {
  return name === 'common' && !files.has('driver.yaml') && (files.has('not_supported.sh') || files.has('dummy.sh'));
}

/** OpenNebula's licence header, near the top of each of its scripts. */
const HEADER = /Copyright \d{4}-\d{4}, OpenNebula Project/;

/**
 * A script of OpenNebula's own (its licence header in the first lines).
 * Its lint findings are upstream's: OpenNebula runs the script as it is,
 * and an operator runs it unmodified, so shellcheck's "error" level on it
 * is reported as a warning (a parse error stays an error).
 */
export function isOpenNebulaScript(head: string): boolean {
  return HEADER.test(head.slice(0, 2048));
}
