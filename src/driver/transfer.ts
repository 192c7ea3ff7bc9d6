/**
 * Transfer files: the TM's batch format, one `<ACTION> <tm_mad> <args...>`
 * per line, run in order and stopped at the first failure.
 */
import { FerryError, toFerryError } from '../errors.js';
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

/** Runs every line in order; on the first failure, rethrows its FerryError with the line named. */
export async function runTransfer(runner: Runner, text: string, options: CallOptions & { onStep?: (line: TransferLine, result: ActionResult) => void } = {}): Promise<TransferOutcome> {
  const lines = parseTransfer(text);
  const results: ActionResult[] = [];
  for (const step of lines) {
    try {
      const result = await runner.runAny({ ...options, kind: 'tm', action: step.action, driver: step.driver, args: step.args });
      results.push(result);
      options.onStep?.(step, result);
    } catch (error) {
      const failure = toFerryError(error);
      failure.message = `transfer line ${step.line} (${step.text}) failed: ${failure.message}`;
      Object.assign(failure, { transferLine: step.line, completed: results });
      throw failure;
    }
  }
  return { results };
}
