/**
 * The one way a command runs: --json read once, the context built when the
 * body asks for it, and any failure reported (one JSON object with --json, a
 * message on stderr without) and turned into the exit status that main()
 * returns. A command's body only does its work and prints its result.
 */
import type { Command } from 'commander';
import { flagsOf, makeContext, type Context, type ContextOptions } from './context.js';
import type { Io } from './io.js';
import { reportError } from './output.js';

/** Where a command leaves its exit status; main() returns it. */
/** Sets the command's exit status; `stopOnSignal`: a stop on SIGTERM or Ctrl-C is this command's normal end (a service), not an interruption (130). */
export type SetStatus = (status: number, options?: { stopOnSignal?: boolean }) => void;

/** What a command's body gets. */
export interface CommandRun {
  io: Io;
  /** --json: print one JSON object on stdout, a failure's too. */
  json: boolean;
  /** Config, logger and runner from the global flags; built (and its errors reported) when called. */
  makeContext(options?: ContextOptions): Promise<Context>;
}

export interface RunOptions {
  /** false: failures go to stderr as text even with --json, for a command whose stdout is a protocol. */
  json?: false;
}

/** A body's exit status: 0 when it returns nothing. */
export type Body = (run: CommandRun) => Promise<number | void> | number | void;

/** A failure whose --json report carries more fields than the error's own (tm transfer: the steps done, the failed line). */
export class FailureWithFields extends Error {
  constructor(
    override readonly cause: unknown,
    readonly fields: Record<string, unknown>,
  ) {
    super('failure with report fields', { cause });
  }
}

/** Runs `body` for `command` and sets the exit status: the body's, or the status of what it threw, reported first. */
export async function run(command: Command, io: Io, setStatus: SetStatus, body: Body, options: RunOptions = {}): Promise<void> {
  const json = options.json ?? flagsOf(command).json === true;
  try {
    setStatus((await body({ io, json, makeContext: (contextOptions) => makeContext(command, io, contextOptions) })) ?? 0);
  } catch (error) {
    setStatus(error instanceof FailureWithFields ? reportError(io, { json }, error.cause, error.fields) : reportError(io, { json }, error));
  }
}

/** Resolves when `signal` aborts (never, without one): a foreground service's life (serve, worker). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
