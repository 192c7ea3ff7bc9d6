/**
 * Checks and helpers both kinds share: a refusal must be a failure with a
 * message (not a crash or a success), monitor figures must be sane, every
 * action must end within its declared timeout, and stdout must hold only
 * the result while stderr is noisy.
 */
import type { Kind } from '../contract/table.js';
import type { MonitorResult } from '../contract/parsers.js';
import type { ActionResult } from '../driver/runner.js';
import { isFerryError } from '../errors.js';
import { describe, type CheckContext } from './check-context.js';
import type { RunRecord } from './context.js';
import { compareImages } from './tools.js';
import { CheckFailure, type Check } from './types.js';

/** What a shell or interpreter prints when a script breaks rather than refuses: a crash, not a message. */
const CRASH = /unbound variable|parameter (null or )?not set|syntax error|command not found|bad substitution|Traceback \(most recent call last\)|integer expression expected|unexpected (EOF|end of file)|Segmentation fault|core dumped|NoMethodError|undefined method/i;

/**
 * Runs an action that must be refused: it has to exit non-zero with a
 * message of its own. A success, a hang, a signal, an interpreter's crash
 * or an empty message fails the check. `made` sees the result of an action
 * that wrongly succeeded (to keep what it made for the clean-up).
 */
export async function mustRefuse(t: CheckContext, what: string, run: () => Promise<ActionResult>, made?: (result: ActionResult) => void): Promise<void> {
  let result: ActionResult;
  try {
    result = await run();
  } catch (error) {
    if (!isFerryError(error)) throw error;
    switch (error.code) {
      case 'E_DRIVER_FAILED': {
        const message = error.message.trim();
        const generic = /^(datastore|tm) \S+ (exited with status|was killed by)/.test(message) && (error.stderr ?? '').trim() === '';
        if (error.signal) t.fail(`${what}: the driver was killed by ${error.signal} instead of refusing with a message`);
        if ((error.exitCode ?? 0) >= 126) t.fail(`${what}: the driver crashed (exit status ${error.exitCode}): ${message}`);
        if (generic) t.fail(`${what}: the driver failed (exit status ${error.exitCode}) without a message on stderr; say what is wrong (error_message)`);
        const crash = CRASH.exec(message);
        if (crash) t.fail(`${what}: the driver crashed instead of refusing (its shell said "${crash[0]}"): ${message.replace(/\n+/g, ' | ')}`);
        t.note(`${what}: refused: ${message.replace(/\n+/g, ' | ')}`);
        return;
      }
      case 'E_MALFORMED_OUTPUT':
        t.fail(`${what}: the driver exited 0 (success) and printed ${JSON.stringify((error.stdout ?? '').trim().slice(0, 120))}; it must fail with a message`);
        break;
      case 'E_TIMEOUT':
        t.skipIfTimedOut(error, what);
        throw error;
      default:
        t.fail(`${what}: ${describe(error)}`);
    }
  }
  made?.(result);
  const printed = result.stdout.trim();
  t.fail(`${what}: the driver succeeded${printed ? ` and printed ${JSON.stringify(printed.slice(0, 120))}` : ''}; it must fail with a message`);
}

/** Monitor figures: whole, non-negative, total > 0, used + free <= total (2 MB for rounding each figure up). */
export function checkFigures(t: CheckContext, figures: MonitorResult, what: string): void {
  const { usedMb, totalMb, freeMb } = figures;
  t.note(`${what}: USED_MB=${usedMb} TOTAL_MB=${totalMb} FREE_MB=${freeMb}`);
  t.expect(totalMb > 0, `${what}: TOTAL_MB is ${totalMb}; a datastore has some capacity`);
  t.expect(usedMb <= totalMb, `${what}: USED_MB ${usedMb} is more than TOTAL_MB ${totalMb}`);
  t.expect(freeMb <= totalMb, `${what}: FREE_MB ${freeMb} is more than TOTAL_MB ${totalMb}`);
  t.expect(usedMb + freeMb <= totalMb + 2, `${what}: USED_MB ${usedMb} + FREE_MB ${freeMb} = ${usedMb + freeMb} is more than TOTAL_MB ${totalMb}`);
}

/** Fails unless the disk image at `path` shows the guest bytes of the raw file `expected`; `what` says what is wrong when it does not. */
export async function expectBytes(t: CheckContext, path: string, expected: string, what: string): Promise<void> {
  const differs = await compareImages(path, expected);
  t.expect(differs === undefined, `${what}: ${differs}`);
}

const seconds = (ms: number): string => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(2)} s`);

function ofDriver(t: CheckContext, kind: Kind): RunRecord[] {
  const { driver } = t.suite.setup;
  return t.suite.runs.filter((run) => run.kind === kind && run.driver === driver);
}

/** Every action of the driver under test ended within the timeout it declares (driver.yaml, else the contract's). */
export function timeoutsCheck(kind: Kind): Check {
  return {
    id: kind === 'datastore' ? 'ds.timeouts' : 'tm.timeouts',
    kind,
    title: 'every action the suite ran ended within the timeout the driver declares (driver.yaml timeouts, else the contract default)',
    async run(t) {
      const runs = ofDriver(t, kind);
      t.expect(runs.length > 0, 'no action of the driver ran, so nothing shows it ends in time');
      // One line per action: a driver that ignores its timeout does so on every run.
      const late = new Map<string, { runs: number; worst: RunRecord }>();
      for (const run of runs) {
        if (!run.timedOut && run.durationMs <= run.declaredSec * 1000) continue;
        const seen = late.get(run.action);
        if (!seen) late.set(run.action, { runs: 1, worst: run });
        else {
          seen.runs += 1;
          if (run.durationMs > seen.worst.durationMs) seen.worst = run;
        }
      }
      const lines = [...late.values()].map(({ runs: count, worst: run }) => {
        const times = count > 1 ? ` (${count} runs)` : '';
        return run.timedOut
          ? `${run.action}${times} was still running after ${run.capSec} s and was killed; it declares ${run.declaredSec} s (${run.declaredFrom})`
          : `${run.action}${times} ran ${seconds(run.durationMs)}, over the ${run.declaredSec} s it declares (${run.declaredFrom})`;
      });
      const slowest = [...runs].sort((a, b) => b.durationMs / (b.declaredSec * 1000) - a.durationMs / (a.declaredSec * 1000))[0];
      if (slowest) t.note(`${runs.length} actions; closest to its timeout: ${slowest.action} ${seconds(slowest.durationMs)} of ${slowest.declaredSec} s (${slowest.declaredFrom})`);
      if (lines.length > 0) t.fail(`${lines.length === 1 ? 'an action ignored its timeout' : `${lines.length} actions ignored their timeouts`}: ${lines.join('; ')}`);
    },
  };
}

/**
 * stdout holds only the result: actions that return nothing print nothing,
 * and actions run with bash tracing on (every command echoed to stderr)
 * print the same parseable result as without. An action whose output is
 * malformed with and without the noise is its own check's failure, not this one's.
 */
export function stdoutCheck(kind: Kind, noisyRuns: (t: CheckContext) => Promise<void>): Check {
  return {
    id: kind === 'datastore' ? 'ds.stdout' : 'tm.stdout',
    kind,
    title: 'stdout holds only the result, also while stderr is noisy (bash tracing on: SHELLOPTS=xtrace)',
    async run(t) {
      await noisyRuns(t);
      const runs = ofDriver(t, kind);
      const problems: string[] = [];
      for (const run of runs.filter((r) => r.noisy)) {
        t.note(`${run.action} with tracing on: stderr carried ${run.stderrLines} lines${run.ok ? ', stdout parsed' : ` and it failed (${run.code})`}`);
        if (run.ok) continue;
        const plain = runs.find((r) => !r.noisy && r.action === run.action);
        if (plain && !plain.ok) {
          t.note(`${run.action} fails without the noise too (${plain.code}): its own check reports that`);
          continue;
        }
        if (run.code === 'E_MALFORMED_OUTPUT') problems.push(`with stderr noisy, ${run.action}'s stdout no longer parses: it printed ${JSON.stringify(run.stdout.trim().slice(0, 160))}`);
        else problems.push(`${run.action} failed only with bash tracing on (SHELLOPTS=xtrace): ${run.message ?? run.code}`);
      }
      const chatty = new Map<string, string>();
      for (const run of runs) {
        if (run.returns || run.stdout.trim() === '' || chatty.has(run.action)) continue;
        chatty.set(run.action, run.stdout.trim());
      }
      for (const [action, printed] of chatty) {
        problems.push(`${action} returns nothing but printed ${JSON.stringify(printed.slice(0, 160))} on stdout (logs belong on stderr)`);
      }
      if (problems.length > 0) t.fail(problems.join('; '));
    },
  };
}

/** Lets a noisy run fail without ending the stdout check: the check judges every recorded run afterwards, and other checks report the failure itself. */
export async function tolerate(step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!isFerryError(error) && !(error instanceof CheckFailure)) throw error;
  }
}
