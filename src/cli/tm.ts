/** `ferry tm <action> <tm_mad> <args...>` and `ferry tm transfer <file>`. */
import type { Command } from 'commander';
import { actionsOf, specFor } from '../contract/lookup.js';
import { usageOf } from '../contract/args.js';
import { runTransfer } from '../driver/transfer.js';
import type { ActionResult } from '../driver/runner.js';
import { FerryError } from '../errors.js';
import { FailureWithFields, run, type SetStatus } from './command.js';
import { readInput } from './input.js';
import type { Io } from './io.js';
import { formatValue, resultJson, shown, writeJson } from './output.js';
import { withProgress } from './progress.js';

/** The contract's tm actions and their arguments, read when the program is built. */
const actionLines = (): string =>
  actionsOf('tm')
    .map((name) => `  ${name.padEnd(17)} ${usageOf(specFor('tm', name).args)}`)
    .join('\n');

export function registerTm(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('tm')
    .summary('run one transfer-manager action, or a transfer file')
    .description('Run remotes/tm/<tm_mad>/<action> with the spec\'s arguments, checked before anything runs.\n`ferry tm transfer FILE` runs a transfer file: lines of <ACTION> <tm_mad> <args...>, in order, stopping at the first failure.')
    .argument('<action>', 'a TM action (clone, ln, mv …), or transfer')
    .argument('[args...]', '<tm_mad> then the action\'s arguments; for transfer, the file (- for stdin)')
    .allowUnknownOption(true)
    .addHelpText(
      'after',
      `
Actions and their arguments (after <tm_mad>):
${actionLines()}
An action with a suffix (clone.ssh) runs that script when it exists, else the plain action.

Examples:
  $ ferry tm clone shared fe:/var/lib/one/datastores/1/f00d host01:/var/lib/one/datastores/0/7/disk.0 7 0
  $ ferry tm mkimage ssh 1024 qcow2 host01:/var/lib/one/datastores/0/7/disk.2 7 0
  $ ferry tm cpds shared host01:/var/lib/one/datastores/0/7/disk.1 /var/lib/one/datastores/1/ab12 -1 7 1
  $ ferry tm transfer deploy.tm --json
`,
    )
    .action((action: string, rest: string[], _options: unknown, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        const { runner, timeoutSec } = await makeContext();
        const call = {
          ...(timeoutSec !== undefined ? { timeoutSec } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
        };
        if (action === 'transfer') {
          if (rest.length !== 1) throw new FerryError('E_USAGE', `tm transfer takes one file, got ${rest.length} arguments`, { hint: 'ferry tm transfer FILE (or - for stdin)' });
          const text = await readInput(io, rest[0] as string, 'transfer');
          const steps: ActionResult[] = [];
          try {
            await runTransfer(runner, text, {
              ...call,
              onStep: (line, result) => {
                steps.push(result);
                if (!json) io.stdout.write(shown(io.stdout, `ok  line ${line.line}: ${line.text}  (${Math.round(result.durationMs)} ms)\n`));
              },
            });
          } catch (error) {
            const failedLine = (error as { transferLine?: number }).transferLine ?? null;
            throw new FailureWithFields(error, { steps: steps.map(resultJson), failedLine });
          }
          if (json) writeJson(io, { ok: true, steps: steps.map(resultJson) });
          return;
        }
        const [driver, ...args] = rest;
        if (driver === undefined) {
          throw new FerryError('E_USAGE', `tm ${action} needs the TM driver name and the action's arguments`, { hint: `ferry tm ${action} <tm_mad> <args...>; see ferry tm --help` });
        }
        const result = await withProgress(io, `tm ${action}`, runner.runAny({ kind: 'tm', action, driver, args, ...call }));
        if (json) writeJson(io, resultJson(result));
        else io.stdout.write(shown(io.stdout, formatValue(result.result)));
      }),
    );
}
