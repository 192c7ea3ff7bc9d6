/** `ferry ds <action> <dump> <id>`: one datastore action. */
import type { Command } from 'commander';
import { actionsOf, baseAction, specFor } from '../contract/lookup.js';
import { withDumpSize, type ImageSourceResult } from '../contract/parsers.js';
import type { ActionResult } from '../driver/runner.js';
import { readDump, type ActionDump } from '../dump/dump.js';
import { FerryError } from '../errors.js';
import { run, type SetStatus } from './command.js';
import { readInput } from './input.js';
import type { Io } from './io.js';
import { formatValue, resultJson, shown, writeJson } from './output.js';
import { withProgress } from './progress.js';

/** The contract's datastore actions, read when the program is built. */
const actionLines = (): string =>
  actionsOf('datastore')
    .map((name) => `  ${name.padEnd(13)} ${specFor('datastore', name).summary}`)
    .join('\n');

export function registerDs(program: Command, io: Io, setStatus: SetStatus): void {
  program
    .command('ds')
    .summary('run one datastore action')
    .description('Run remotes/datastore/<ds_mad>/<action> with the base64 dump and the id, and print its parsed result.')
    .argument('<action>', `${actionsOf('datastore').join(', ')}, or any other script of the driver`)
    .argument('<dump>', 'action dump file, XML or base64; - reads stdin')
    .argument('<id>', 'image id (datastore id for monitor)')
    .option('--driver <name>', 'datastore driver (default: the dump\'s DATASTORE/DS_MAD)')
    .allowUnknownOption(false)
    .addHelpText(
      'after',
      `
Actions:
${actionLines()}
Any other executable in the driver folder (export, restore …) runs too; its stdout is printed as is.
A system datastore (DATASTORE/TYPE 1) is monitored by remotes/tm/<TM_MAD>/monitor.

Examples:
  $ ferry ds stat image.xml 0
  $ ferry ds cp image.xml 7 --json
  $ ferry dump encode image.xml | ferry ds monitor - 1 --driver fs
`,
    )
    .action((action: string, dumpFile: string, id: string, options: { driver?: string }, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        const { runner, timeoutSec } = await makeContext();
        const dump = readDump(await readInput(io, dumpFile, 'dump'));
        const running = runner.runAny({
          kind: 'datastore',
          action,
          dump,
          id,
          ...(options.driver !== undefined ? { driver: options.driver } : {}),
          ...(timeoutSec !== undefined ? { timeoutSec } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
        });
        const result = sized(await withProgress(io, `ds ${action}`, running), dump);
        if (json) writeJson(io, resultJson(result));
        else io.stdout.write(shown(io.stdout, formatValue(result.result)));
      }),
    );
}

/**
 * mkfs's result with its size: OpenNebula's current mkfs prints only the
 * source, and the size is then the dump's IMAGE/SIZE. Without one the reply
 * is malformed, and the error names the source the driver made.
 */
function sized(result: ActionResult, dump: ActionDump): ActionResult {
  if (baseAction(result.action) !== 'mkfs' || typeof result.result !== 'object' || result.result === null) return result;
  const completed = withDumpSize(result.result as ImageSourceResult, dump.get('IMAGE/SIZE'));
  if (completed.ok) return { ...result, result: completed.value };
  const { kind, driver, action, id, command, stdout, stderr, logs, exitCode, durationMs } = result;
  throw new FerryError('E_MALFORMED_OUTPUT', `driver returned malformed output: ${completed.reason}`, {
    hint: `put the size in MB in the dump's IMAGE/SIZE, or make mkfs print "<image_source> <size>"; what it made (${(result.result as ImageSourceResult).source}) is left as it is`,
    kind,
    driver,
    action,
    ...(id !== undefined ? { id } : {}),
    command,
    stdout,
    stderr,
    logs,
    exitCode,
    durationMs,
  });
}
