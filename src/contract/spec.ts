/**
 * What one row of the contract table says about an action: everything a
 * layer needs (runner, protocol mode, validate, the CLI, the lifecycle), so
 * no layer keeps its own per-action list.
 */
import type { ArgSpec } from './args.js';
import type { Capability } from './capabilities.js';
import type { Parser } from './parsers.js';

export const KINDS = ['datastore', 'tm'] as const;
export type Kind = (typeof KINDS)[number];

/** Where the driver comes from when a row reroutes (monitor of a system datastore). */
export interface Route {
  kind: Kind;
  /** Dump element naming the driver, e.g. DATASTORE/TM_MAD. */
  driverFrom: string;
}

/** A reader over the decoded dump, so rows can decide on its content. */
export interface DumpFields {
  get(path: string): string | undefined;
}

/** How much a driver needs an action (validate): required is an error when missing, recommended and system warnings, optional info. */
export type Need = 'required' | 'recommended' | 'system' | 'optional';

export interface ActionNeed {
  need: Need;
  /** What fails when the action is missing. */
  breaks: string;
  /** Capabilities whose claim makes the action required. */
  claimedBy?: readonly Capability[];
}

/** The resource an action serializes on: two actions with the same key never run at once (`ferry mad`, the catalog's locks). */
export type LockOn = 'image' | 'datastore' | 'vm';

/**
 * The action in OpenNebula's driver-process protocol: its verb, and how the
 * reply's info field is encoded (`text` on one line, `base64` for monitor
 * figures). A datastore verb is a request of its own; a tm verb is a line of
 * a TRANSFER file.
 */
export interface ProtocolSpec {
  verb: string;
  reply: 'text' | 'base64';
}

export interface ActionSpec<R = unknown> {
  /** One line for --help and `drivers list`. */
  summary: string;
  /** The script's arguments, in order. A `dump` argument is the base64 action dump. */
  args: readonly ArgSpec[];
  /** Also write the dump on the script's stdin. */
  dumpOnStdin: boolean;
  /** stdout to typed result. */
  parse: Parser<R>;
  /** Default timeout in seconds, before config, driver.yaml and the caller override it. */
  timeoutSec: number;
  /** Another script to run instead, decided by the dump. */
  route?: (dump: DumpFields) => Route | undefined;
  /** Whether this action returns a result the caller needs (malformed output is then a failure). */
  returns: boolean;
  /** The argument holding the id the action is about (an image's, a datastore's or a VM's); none for a generic action. */
  idArg?: string;
  /** What the id names, and so which resource the action serializes on. */
  lockOn: LockOn;
  /** The verb and reply encoding in protocol mode; none when OpenNebula's driver process has no such request. */
  protocol?: ProtocolSpec;
  /** What `ferry drivers validate` requires of a driver folder. */
  need: ActionNeed;
  /**
   * Whether running the action again after it was cut off at an unknown point (a queue worker that died in it)
   * is harmless: it ends in the same result as one whole run. Such an action is run again by the worker that takes
   * the job up; any other stops its operation in a failure state for `recover` (queue/resume.ts).
   */
  repeatSafe: boolean;
}
