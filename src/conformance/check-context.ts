/**
 * What one check holds while it runs: its notes, its failure or skip, and
 * the suite it runs in; and how a thrown error is described in a report.
 */
import { FerryError, isFerryError } from '../errors.js';
import type { Suite } from './context.js';
import { CheckFailure, CheckSkip, SetupFailure } from './types.js';

/** Per-check helpers: notes, failure, skips, and the suite. */
export class CheckContext {
  readonly details: string[] = [];

  constructor(
    readonly suite: Suite,
    readonly id: string,
  ) {}

  note(line: string): void {
    this.details.push(line);
  }

  fail(message: string): never {
    throw new CheckFailure(message);
  }

  skip(reason: string): never {
    throw new CheckSkip(reason);
  }

  /** Fails the check with `message` unless `condition` holds. (Not an assertion signature: checks are object literals, which TypeScript cannot narrow through.) */
  expect(condition: unknown, message: string): void {
    if (!condition) this.fail(message);
  }

  /** Skips this check unless check `id` passed (it builds on what that one made). */
  need(id: string): void {
    const result = this.suite.results.find((r) => r.id === id);
    if (!result) throw new Error(`check order: ${this.id} needs ${id}, which has not run`);
    if (result.status !== 'ok') this.skip(`needs ${id}, which ${result.status === 'fail' ? 'failed' : 'was skipped'}`);
  }

  /**
   * An action killed at the suite's timeout gave no result to judge: this
   * check is skipped and the timeouts check (which runs last) fails for it,
   * so a slow driver fails one check, not every check that ran the action.
   */
  skipIfTimedOut(error: unknown, what: string): void {
    if (isFerryError(error) && error.code === 'E_TIMEOUT') {
      this.skip(`${what} was killed at the suite's timeout, so there is no result to check (${this.suite.setup.kind === 'datastore' ? 'ds' : 'tm'}.timeouts reports it): ${describe(error)}`);
    }
  }

  /** Runs a set-up step; its failure fails this check as a set-up failure naming the step. */
  async setup<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof CheckSkip || error instanceof CheckFailure) throw error;
      this.skipIfTimedOut(error, what);
      throw new SetupFailure(`${what}: ${describe(error)}`);
    }
  }

  /** Runs a driver action the check is about; a failure fails the check with the driver's message. */
  async action<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof CheckSkip || error instanceof CheckFailure || error instanceof SetupFailure) throw error;
      this.skipIfTimedOut(error, what);
      this.fail(`${what} failed: ${describe(error)}`);
    }
  }
}

/** One line for a thrown error: a FerryError's message (the driver's own words), else the error's. */
export function describe(error: unknown): string {
  if (isFerryError(error)) return ferryMessage(error);
  return error instanceof Error ? error.message : String(error);
}

function ferryMessage(error: FerryError): string {
  const message = error.message.trim().replace(/\n+/g, ' | ');
  if (error.code === 'E_DRIVER_FAILED') {
    const how = error.signal ? `killed by ${error.signal}` : `exit status ${error.exitCode}`;
    return `${message} (${how})`;
  }
  return error.hint && error.code !== 'E_MALFORMED_OUTPUT' && error.code !== 'E_TIMEOUT' ? `${message} (${error.hint})` : message;
}

