/**
 * One error class for everything ferry refuses or a driver fails at. The
 * `code` is stable API; `EXIT_STATUS` maps each code to the CLI exit status.
 */
import type { LogRecord } from './log/record.js';

export const EXIT_STATUS = {
  /** ferry.yaml, driver.yaml or a flag is wrong: nothing was run. */
  E_USAGE: 2,
  E_CONFIG: 2,
  E_BAD_DUMP: 2,
  E_BAD_ARGS: 2,
  E_DUMP_TOO_LARGE: 2,
  E_DRIVER_NOT_FOUND: 2,
  E_ACTION_NOT_FOUND: 2,
  E_NOT_EXECUTABLE: 2,
  E_BAD_MANIFEST: 2,
  /** The catalog has no such datastore, host, image or VM. */
  E_NOT_FOUND: 2,
  /** The request contradicts the catalog (an image in use, a name taken, the wrong kind of datastore): nothing was run. */
  E_CONFLICT: 2,
  /** Another ferry process is working on the same image or VM; retry when it is done. */
  E_BUSY: 75,
  /** The catalog file is unreadable, or from a newer ferry. */
  E_CATALOG: 2,
  /** The driver ran and failed, or could not be started. */
  E_DRIVER_FAILED: 1,
  E_MALFORMED_OUTPUT: 1,
  E_SPAWN: 1,
  E_CANCELLED: 1,
  /** A queue worker died while a driver action that is not safe to run twice ran: the operation waits for `recover`. */
  E_INTERRUPTED: 1,
  /** The driver ran past its timeout and was killed. */
  E_TIMEOUT: 124,
  /** A bug in ferry itself (EX_SOFTWARE). */
  E_INTERNAL: 70,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof EXIT_STATUS;

/** What a finished (or refused) run knows; every field is optional for errors raised before a spawn. */
export interface RunFacts {
  kind?: string;
  driver?: string;
  action?: string;
  id?: string;
  /** The argv run, with the dump shown as `<dump: N bytes>`. */
  command?: string[];
  exitCode?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  logs?: LogRecord[];
  timedOut?: boolean;
  durationMs?: number;
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
}

export interface FerryErrorOptions extends RunFacts {
  /** How to fix it, printed after the message. */
  hint?: string;
  cause?: unknown;
}

/** The run's facts (RunFacts) live on the error itself, merged in from the interface. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface FerryError extends RunFacts {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FerryError extends Error {
  override readonly name = 'FerryError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    const { hint, cause, ...facts } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.hint = hint;
    Object.assign(this, facts);
  }

  /** The CLI exit status for this error. */
  get exitStatus(): number {
    return EXIT_STATUS[this.code];
  }
}

export function isFerryError(value: unknown): value is FerryError {
  return value instanceof FerryError;
}

/** Wraps anything thrown into a FerryError, keeping it as `cause`. */
export function toFerryError(value: unknown): FerryError {
  if (value instanceof FerryError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new FerryError('E_INTERNAL', `internal error: ${message}`, { cause: value });
}
