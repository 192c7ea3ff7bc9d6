/** `ferry drivers test NAME`: the conformance suite (src/conformance) against a real backend. */
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Kind } from '../contract/table.js';
import { FerryError } from '../errors.js';
import { silentLogger } from '../log/logger.js';
import { run, type SetStatus } from './command.js';
import { flagsOf } from './context.js';
import type { Io } from './io.js';
import { writeJson } from './output.js';

interface TestFlags {
  kind?: Kind;
  datastore?: string;
  tm?: string;
  ds?: string;
  junit?: string;
  tap?: boolean;
  verbose?: boolean;
  only?: string;
}

const HELP = `
NAME is a driver folder in the remotes folder: fs, shared, or kind/name when a
name is both (datastore/dummy, tm/dummy). The suite runs every action through
ferry's own runner against a real backend, checks what the driver did (bytes,
sizes, files on the hosts), and removes everything it made, also when a check
fails. Checks for what driver.yaml does not claim (capabilities: snapshots,
qcow2, system_datastore) are skipped and say so.

Without --datastore the suite makes a temporary datastore folder (BASE_PATH),
system datastore folders and two local hosts, and removes them afterwards.
--datastore FILE (YAML) points it at a real datastore instead:

  base_path: /srv/ferry-test/images    # BASE_PATH; must exist; only what the suite makes is removed
  id: 100                              # DATASTORE/ID (default 100)
  template: { RESTRICTED_DIRS: /etc }  # more DATASTORE/TEMPLATE attributes
  secrets: { API_TOKEN: MY_TOKEN }     # attribute: environment variable holding its value
  system: { base_path: /srv/ferry-test/system, id: 0 }
  frontend: fe
  hosts:                               # one or two hosts, as in ferry.yaml hosts:
    host01: { transport: local }
    host02: { address: 10.0.0.12, user: oneadmin, identity: ~/.ssh/id_ed25519 }

Secret values are read from the environment variables the file names, reach
the driver only as FERRY_DS_SECRET_<NAME>, and are replaced by *** in every
report.

A datastore driver is deployed with a TM for ds.tm-clone: --tm NAME (default
shared when the remotes folder has it; --tm none skips that check). A TM
driver gets its images from a datastore driver: --ds NAME (default fs).

Each action may run twice its declared timeout (driver.yaml timeouts, else the
contract's; --timeout SECONDS sets the limit instead); ds.timeouts/tm.timeouts
fail when an action ran past its declared timeout.

Exit status: 0 every check passed (skips allowed), 1 a check failed,
2 bad usage (unknown driver, bad --datastore file, bad flags).

Examples:
  $ ferry drivers test fs
  $ ferry drivers test shared --tap
  $ ferry drivers test tm/ssh --datastore ssh-hosts.yaml --junit report.xml
  $ MY_TOKEN=... ferry drivers test mydriver --datastore ds.yaml --tm mytm
  $ ferry drivers test fs --only ds.cp,ds.rm --verbose
`;

export function registerDriversTest(drivers: Command, io: Io, setStatus: SetStatus): void {
  drivers
    .command('test')
    .summary('run the conformance suite against a driver')
    .description('Prove a driver against a real backend: every action through ferry\'s runner, its results checked, everything it made removed.')
    .argument('<name>', 'driver to test: NAME, datastore/NAME or tm/NAME')
    .addOption(new Option('--kind <kind>', 'the driver\'s kind, when NAME is both').choices(['datastore', 'tm']))
    .option('--datastore <file>', 'YAML file with the datastore (and hosts) to test against (default: temporary folders, local hosts)')
    .option('--tm <name>', 'TM that deploys a datastore driver\'s images (default shared; none: skip those checks)')
    .option('--ds <name>', 'datastore driver that registers a TM driver\'s images (default fs)')
    .option('--junit <file>', 'also write a JUnit XML report to FILE')
    .option('--tap', 'print TAP version 14 instead of the readable report')
    .option('--only <ids>', 'run only the checks whose ids start with these (comma-separated), plus the clean-up')
    .option('-v, --verbose', 'show what every check saw, not only failures')
    .addHelpText('after', HELP)
    .action((name: string, flags: TestFlags, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        // Loaded when the command runs: the suite is a chunk of its own in the bundle, kept off every other command's start-up.
        const [{ loadDatastoreFile }, { jsonReport, junitReport, tapReport, textHeader, textResult, textSummary }, { runSuite }] = await Promise.all([
          import('../conformance/datastore-file.js'),
          import('../conformance/report.js'),
          import('../conformance/suite.js'),
        ]);
        const context = await makeContext();
        if (json && flags.tap) throw new FerryError('E_USAGE', '--json and --tap both ask for stdout', { hint: 'pick one; --junit FILE can go with either' });
        const junit = flags.junit === undefined ? undefined : resolve(io.cwd, flags.junit);
        if (junit !== undefined && !statSync(dirname(junit), { throwIfNoEntry: false })?.isDirectory()) {
          throw new FerryError('E_USAGE', `--junit ${flags.junit}: folder ${dirname(junit)} does not exist`, { hint: 'create it, or write the report elsewhere' });
        }
        const settings = flags.datastore === undefined ? undefined : await loadDatastoreFile(flags.datastore, io.cwd, io.env);
        const text = !json && !flags.tap;
        const report = await runSuite({
          runner: context.runner,
          driver: name,
          ...(flags.kind ? { kind: flags.kind } : {}),
          ...(flags.tm !== undefined ? { tm: flags.tm === 'none' ? null : flags.tm } : {}),
          ...(flags.ds !== undefined ? { ds: flags.ds } : {}),
          ...(settings ? { settings } : {}),
          ...(context.timeoutSec !== undefined ? { timeoutCapSec: context.timeoutSec } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
          ...(flags.only ? { only: flags.only.split(',').map((id) => id.trim()).filter((id) => id !== '') } : {}),
          // Drivers log every step; they reach stderr only when --log-level asks.
          logger: flagsOf(command).logLevel ? context.logger : silentLogger,
          ...(text ? { onStart: (start) => io.stdout.write(textHeader(start)), onResult: (result) => io.stdout.write(textResult(result, flags.verbose === true)) } : {}),
        });
        if (json) writeJson(io, jsonReport(report));
        else if (flags.tap) io.stdout.write(tapReport(report));
        else io.stdout.write(textSummary(report));
        if (junit !== undefined) {
          try {
            await writeFile(junit, junitReport(report));
          } catch (error) {
            throw new FerryError('E_USAGE', `cannot write the JUnit report to ${junit}: ${(error as Error).message}`, { hint: 'pass a writable path to --junit' });
          }
        }
        return report.ok ? 0 : 1;
      }),
    );
}
