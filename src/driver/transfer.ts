/**
 * Transfer files: the TM's batch format, one `<ACTION> <tm_mad> <args...>`
 * per line, run in order and stopped at the first failure.
 */
import { checkArgs } from '../contract/args.js';
import { specFor } from '../contract/lookup.js';
import { FerryError, toFerryError } from '../errors.js';
import { checkName } from './locate.js';
import type { ActionResult, CallOptions, Runner } from './runner.js';

export interface TransferLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  action: string;
  driver: string;
  args: string[];
}

/** Parses a transfer file; blank lines and `#` comments are skipped. Actions are lower-cased (`CLONE` runs `clone`). */
export function parseTransfer(text: string): TransferLine[] {
  const lines: TransferLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [action, driver, ...args] = trimmed.split(/\s+/);
    if (action === undefined || driver === undefined) {
      throw new FerryError('E_USAGE', `transfer line ${index + 1} ${JSON.stringify(trimmed)} has no driver`, {
        hint: 'each line is <ACTION> <tm_mad> <args...>, e.g. CLONE shared fe:/ds/1/abc host01:/ds/0/7/disk.0 7 0',
      });
    }
    lines.push({ line: index + 1, text: trimmed, action: action.toLowerCase(), driver, args });
  });
  return lines;
}

export interface TransferOutcome {
  results: ActionResult[];
}

/** The failure of `step`, naming its line; `completed` are the results of the lines that ran before it. */
function lineFailure(error: unknown, step: TransferLine, completed: readonly ActionResult[], ran = true): FerryError {
  const failure = toFerryError(error);
  failure.message = ran ? `transfer line ${step.line} (${step.text}) failed: ${failure.message}` : `transfer line ${step.line} (${step.text}) cannot run, so no line was run: ${failure.message}`;
  Object.assign(failure, { transferLine: step.line, completed });
  return failure;
}

/**
 * Checks every line before the first one runs: names, the action's
 * arguments against the contract, and that the driver has the script. A file
 * that cannot run to its end does not start.
 */
export async function checkTransfer(runner: Runner, lines: readonly TransferLine[]): Promise<void> {
  for (const step of lines) {
    try {
      checkName(step.action, 'action');
      checkName(step.driver, 'driver');
      checkArgs(specFor('tm', step.action).args, step.args, `tm ${step.action} ${step.driver}`);
      await runner.locate('tm', step.driver, step.action);
    } catch (error) {
      throw lineFailure(error, step, [], false);
    }
  }
}

/** Checks the whole file (checkTransfer), then runs every line in order; on the first failure, rethrows its FerryError with the line named. */
export async function runTransfer(runner: Runner, text: string, options: CallOptions & { onStep?: (line: TransferLine, result: ActionResult) => void } = {}): Promise<TransferOutcome> {
  const lines = parseTransfer(text);
  await checkTransfer(runner, lines);
  const results: ActionResult[] = [];
  for (const step of lines) {
    try {
      const result = await runner.runAny({ ...options, kind: 'tm', action: step.action, driver: step.driver, args: step.args });
      results.push(result);
      options.onStep?.(step, result);
    } catch (error) {
      throw lineFailure(error, step, results);
    }
  }
  return { results };
}
