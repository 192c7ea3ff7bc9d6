/** The conformance suite's vocabulary: checks as data, their results, and how a check ends. */
import type { Capability } from '../contract/capabilities.js';
import type { Kind } from '../contract/table.js';
import type { CheckContext } from './check-context.js';

export type Status = 'ok' | 'fail' | 'skip';

export interface Check {
  /** Stable id, e.g. `ds.cp`: what TAP, JUnit and --json name it by. */
  id: string;
  /** Which kind of driver under test it belongs to. */
  kind: Kind;
  /** One line: what passing proves. */
  title: string;
  /**
   * Skipped, saying so, unless the driver's manifest claims one of these
   * (names of src/contract/capabilities.ts; more than one where another
   * claim implies it, as the contract table's claimedBy lists).
   */
  needs?: readonly Capability[];
  /** Skipped when no TM is in play (datastore checks that use one). */
  needsTm?: boolean;
  run(t: CheckContext): Promise<void>;
}

export interface CheckResult {
  id: string;
  title: string;
  status: Status;
  /** Why it failed or was skipped: the driver's own message where there is one. */
  message?: string;
  /** What the check saw, one line each (sources, sizes, durations). */
  details: string[];
  durationMs: number;
}

/** Ends a check as failed. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** Ends a check as skipped (a capability not claimed, or a check it builds on did not pass). */
export class CheckSkip extends Error {
  override readonly name = 'CheckSkip';
}

/** The set-up a check needs (an image the paired datastore driver registers) failed: the check fails, naming it. */
export class SetupFailure extends Error {
  override readonly name = 'SetupFailure';
}

export interface SuiteReport {
  ok: boolean;
  kind: Kind;
  driver: string;
  remotes: string;
  /** The other driver in play: the TM for a datastore driver, the datastore driver for a TM. */
  paired: { kind: Kind; driver: string } | null;
  datastore: { basePath: string; temporary: boolean; file: string | null; systemBasePath: string | null };
  hosts: Array<{ name: string; local: boolean }>;
  checks: CheckResult[];
  counts: { total: number; ok: number; fail: number; skip: number };
  durationMs: number;
  startedAt: string;
}
