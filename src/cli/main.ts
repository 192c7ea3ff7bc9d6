/**
 * The command line: `main(argv, io)` parses, runs and returns the exit
 * status. Only bin.ts touches process.exitCode, so every command runs
 * in-process under test.
 */
import { Command, CommanderError, Option } from 'commander';
import { API_VERSIONS } from '../driver/manifest.js';
import { EXIT_STATUS } from '../errors.js';
import { LEVELS, LOG_FORMATS } from '../log/logger.js';
import { registerAlert } from './alert.js';
import { registerDatastore } from './datastore.js';
import { registerDrivers } from './drivers.js';
import { registerHost } from './host.js';
import { registerImage } from './image.js';
import { registerVm } from './vm.js';
import { registerDs } from './ds.js';
import { registerDump } from './dump.js';
import { registerMad } from './mad.js';
import type { SetStatus } from './command.js';
import type { Io } from './io.js';
import { registerServe } from './serve.js';
import { registerOp } from './op.js';
import { registerWorker } from './worker.js';
import { ferryVersion } from '../service/version.js';
import { registerTm } from './tm.js';
import { XPATH_HELP, runXpath } from './xpath.js';

export function version(): string {
  return `ferry ${ferryVersion()} (driver API ${API_VERSIONS.min}..${API_VERSIONS.max})`;
}

const EXIT_HELP = `
Exit status:
  0    success
  1    the driver failed, or printed output that does not parse (its message on stderr)
  2    usage or bad input: a flag, a dump, an argument, ferry.yaml or driver.yaml is wrong, or the catalog
       has no such record or refuses the change; nothing was run
  70   internal error in ferry
  75   busy: another ferry process or a queued operation is working on the same image or VM (or
       another ferry serve runs on the catalog); retry later, or ferry op wait ID
  124  the driver timed out and was killed with its whole process group
  130  interrupted (Ctrl-C); running drivers were stopped (ferry serve and ferry worker stop with 0;
       a command waiting for a queued operation stops waiting, the operation goes on)

Examples:
  $ ferry ds stat image.xml 0
  $ ferry tm clone dummy fe:/ds/1/f00d host01:/ds/0/7/disk.0 7 0
  $ ferry tm transfer deploy.tm
  $ ferry drivers list --json
`;

export function buildProgram(io: Io, setStatus: SetStatus): Command {
  const program = new Command('ferry')
    .description('Run storage drivers written as plain executable scripts, on OpenNebula\'s datastore and transfer-manager contract.')
    .version(version(), '-V, --version')
    .option('--remotes <dir>', 'drivers folder (default: $FERRY_REMOTES, remotes: in ferry.yaml, then ferry\'s own)')
    .option('--config <file>', 'YAML configuration (default: ./ferry.yaml when present)')
    .option('--catalog <file|url>', 'catalog database: a file, or postgres://user@host:port/db (password from PGPASSWORD or ~/.pgpass, never in the URL) (default: $FERRY_CATALOG, $FERRY_HOME/catalog.db, catalog: in ferry.yaml, else ~/.local/share/ferry/catalog.db)')
    .option('--json', 'print one JSON object on stdout')
    .option('--async', 'with a PostgreSQL catalog: queue the operation, print its id and return (ferry op wait ID)')
    .option('--timeout <seconds>', 'timeout for each action, overriding driver and config defaults')
    .addOption(new Option('--log-level <level>', 'log level on stderr (default warn)').choices(LEVELS))
    .addOption(new Option('--log-format <format>', 'log lines as text for a person (default) or JSON lines').choices(LOG_FORMATS))
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXIT_HELP);
  registerDs(program, io, setStatus);
  registerTm(program, io, setStatus);
  registerDump(program, io, setStatus);
  program
    .command('xpath')
    .summary('print values of an action dump, NUL-separated, for driver scripts')
    .helpOption(false)
    .allowUnknownOption(true)
    .argument('[args...]')
    .addHelpText('before', XPATH_HELP)
    .action(async (args: string[]) => setStatus(await runXpath(args, io)));
  registerDrivers(program, io, setStatus);
  registerMad(program, io, setStatus);
  registerDatastore(program, io, setStatus);
  registerHost(program, io, setStatus);
  registerServe(program, io, setStatus);
  registerWorker(program, io, setStatus);
  registerOp(program, io, setStatus);
  registerImage(program, io, setStatus);
  registerVm(program, io, setStatus);
  registerAlert(program, io, setStatus);
  program.command('onecompat', { hidden: true }).helpOption(false).allowUnknownOption(true).argument('[args...]').action(async (args: string[], _flags: unknown, command: Command) => {
    const { runOneCompat } = await import('./onecompat.js');
    setStatus(await runOneCompat(args, io, command.optsWithGlobals<{ catalog?: string }>().catalog));
  });
  return program;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let status = 0;
  let stopOnSignal = false;
  const program = buildProgram(io, (value, options) => {
    status = value;
    stopOnSignal = options?.stopOnSignal === true;
  });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_STATUS.E_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : EXIT_STATUS.E_USAGE;
    }
    io.stderr.write(`ferry: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_STATUS.E_INTERNAL;
  }
  if (io.signal?.aborted && !stopOnSignal) return 130;
  return status;
}
