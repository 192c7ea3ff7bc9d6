/**
 * Stage 5 of a run: the finished process becomes the result or the error.
 * stderr splits into log records (passed to the logger) and the failure
 * message; a failed run is classified (spawn error, timeout, cancel, exit
 * status); a successful one's stdout is parsed by the contract's parser.
 */
import { readFileSync } from 'node:fs';
import type { ActionSpec } from '../../contract/spec.js';
import { FerryError, type RunFacts } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { SpawnOutcome } from '../launch/spawn-group.js';
import type { Located } from '../locate.js';
import { splitStderr } from '../stderr.js';
import type { Prepared } from './prepare.js';
import type { ActionResult } from './types.js';

/** The result of a run that exited 0 with well-formed output; else throws its FerryError, with the run's facts. */
export function settle(outcome: SpawnOutcome, located: Located, spec: ActionSpec, id: string | undefined, prepared: Prepared, parse: boolean | undefined, logger: Logger): ActionResult {
  const { kind, driver, action } = located;
  const { logs, message } = splitStderr(outcome.stderr);
  for (const record of logs) logger[record.level]({ source: 'driver' }, record.message);
  if (outcome.lingered) logger.warn({ source: 'ferry' }, 'the script exited but processes it started kept its output open; they were killed');
  const facts: RunFacts = {
    kind,
    driver,
    action,
    ...(id !== undefined ? { id } : {}),
    command: [located.path, ...prepared.shown],
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    logs,
    timedOut: outcome.timedOut,
    durationMs: Math.round(outcome.durationMs * 10) / 10,
    stdoutTruncated: outcome.stdoutTruncated,
    stderrTruncated: outcome.stderrTruncated,
  };
  const failure = failureOf(outcome, message, located, prepared.timeoutSec, facts);
  if (failure) {
    logger.debug({ source: 'ferry', code: failure.code, exitCode: outcome.exitCode, durationMs: facts.durationMs }, failure.message);
    throw failure;
  }
  return {
    ok: true,
    kind,
    driver,
    action,
    script: located.script,
    id,
    command: facts.command as string[],
    result: parse === false ? outcome.stdout : parsed(outcome, spec, located, facts),
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    logs,
    exitCode: 0,
    signal: null,
    timedOut: false,
    durationMs: facts.durationMs as number,
    stdoutTruncated: outcome.stdoutTruncated,
    stderrTruncated: outcome.stderrTruncated,
  };
}

/** stdout through the contract's parser; E_MALFORMED_OUTPUT when it does not parse, or a result was cut at the cap. */
function parsed(outcome: SpawnOutcome, spec: ActionSpec, located: Located, facts: RunFacts): unknown {
  const result = outcome.stdoutTruncated && spec.returns ? { ok: false as const, reason: 'its output was cut at the capture limit' } : spec.parse(outcome.stdout);
  if (result.ok) return result.value;
  throw new FerryError('E_MALFORMED_OUTPUT', `driver returned malformed output: ${result.reason}; it printed ${printed(outcome.stdout)}`, {
    hint: `${located.path} must print only its result on stdout; logs go to stderr`,
    ...facts,
  });
}

/** The error of a run that failed (could not start, timed out, was cancelled, exited non-zero); undefined for one that exited 0. */
export function failureOf(outcome: SpawnOutcome, message: string, located: Located, timeoutSec: number, facts: RunFacts): FerryError | undefined {
  if (outcome.spawnError?.code === 'ESPAWNHELPER') {
    return new FerryError('E_SPAWN', outcome.spawnError.message, {
      hint: 'run it again; if the helper keeps dying, set FERRY_SPAWN=node and report it',
      cause: outcome.spawnError,
      ...facts,
    });
  }
  if (outcome.spawnError) return cannotStart(outcome.spawnError, located.path, facts);
  if (!outcome.timedOut && !outcome.cancelled && outcome.exitCode === 0) return undefined;
  const what = `${located.kind} ${located.driver}/${located.script}`;
  if (outcome.timedOut) {
    return new FerryError('E_TIMEOUT', `${what} timed out after ${timeoutSec} s${message ? `: ${message}` : ''}`, {
      hint: 'raise the timeout (--timeout, timeouts: in driver.yaml or ferry.yaml) or find what the driver waits on',
      ...facts,
    });
  }
  if (outcome.cancelled) return new FerryError('E_CANCELLED', `${what} was cancelled`, facts);
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${outcome.exitCode}`;
  // A script that only logged (ERROR: lines) still said why: its errors are the message.
  const errors = (facts.logs ?? []).filter((record) => record.level === 'error').map((record) => record.message).join('\n');
  return new FerryError('E_DRIVER_FAILED', message || (errors ? `${errors} (${what} ${how})` : `${what} ${how}`), facts);
}

/** E_SPAWN for a script the kernel would not start, with the likely fix for its errno. */
function cannotStart(error: NodeJS.ErrnoException, path: string, facts: RunFacts): FerryError {
  const errno = error.code ?? 'unknown error';
  const interpreter = shebangOf(path);
  const hint =
    errno === 'ENOENT'
      ? `the interpreter on the first line (#!) of ${path} does not exist on this machine`
      : errno === 'EACCES'
        ? `chmod +x ${path}, and check the interpreter on its first line (#!) is executable`
        : `check the first line (#!) of ${path}`;
  const why = errno === 'ENOENT' && interpreter ? `its interpreter ${interpreter} does not exist (ENOENT)` : errno;
  return new FerryError('E_SPAWN', `cannot start ${path}: ${why}`, { hint, cause: error, ...facts });
}

/** The interpreter named on a script's `#!` line, if it has one. */
function shebangOf(path: string): string | undefined {
  try {
    const head = readFileSync(path, { encoding: 'utf8' }).slice(0, 256);
    return /^#!\s*(\S+)/.exec(head)?.[1];
  } catch {
    return undefined;
  }
}

/** stdout as shown in a malformed-output error: quoted, cut to a readable length. */
export function printed(stdout: string): string {
  if (stdout.trim() === '') return 'nothing';
  const cut = stdout.length > 200 ? `${stdout.slice(0, 200)}...` : stdout;
  return JSON.stringify(cut);
}
