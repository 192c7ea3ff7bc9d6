/** `ferry drivers new NAME --kind datastore|tm [--from DRIVER] [--dir REMOTES]`: a driver folder to fill in. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { bundledRemotes } from '../config/paths.js';
import type { Kind } from '../contract/table.js';
import { scaffoldDriver } from '../driver/scaffold.js';
import { run, type SetStatus } from './command.js';
import type { Io } from './io.js';
import { writeJson } from './output.js';

interface NewFlags {
  kind: Kind;
  from?: string;
  dir?: string;
}

export function registerDriversNew(drivers: Command, io: Io, setStatus: SetStatus): void {
  drivers
    .command('new')
    .summary('make a new driver folder: every action as a commented script, or a copy of a driver')
    .argument('<name>', 'the new driver\'s name (its folder under remotes/<kind>/)')
    .addOption(new Option('--kind <kind>', 'datastore or tm').choices(['datastore', 'tm']).makeOptionMandatory())
    .option('--from <driver>', 'copy this driver of the same kind (dummy, fs, shared …) instead of writing templates')
    .option('--dir <remotes>', 'the remotes folder to put it in (default: the one in use); gets the helper library if it has none')
    .addHelpText(
      'after',
      `
The folder gets driver.yaml (api, kind, timeouts, capabilities, config,
requires) and a README. Without --from, each action of the kind is a script
that says what it gets and must print and refuses until written: validate
passes at once, and the conformance suite fails until the actions work. With
--from, the driver's files are copied (links resolved), so the copy passes
the conformance suite as the original does.

Examples:
  $ ferry drivers new nas --kind datastore
  $ ferry drivers new nas --kind datastore --from fs && ferry drivers test datastore/nas
  $ ferry drivers new lvm --kind tm --from shared --dir ./my-remotes
`,
    )
    .action((name: string, flags: NewFlags, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        const inUse = await (await makeContext()).runner.remotesPath();
        const remotes = flags.dir ? resolve(io.cwd, flags.dir) : inUse;
        const made = scaffoldDriver({
          remotes,
          kind: flags.kind,
          name,
          ...(flags.from ? { from: flags.from, fromRemotes: inUse } : {}),
          helperLibrary: resolve(bundledRemotes(), 'scripts_common.sh'),
        });
        if (json) writeJson(io, { ok: true, kind: flags.kind, name, dir: made.dir, files: made.files });
        else {
          io.stdout.write(`made ${flags.kind} driver ${name} in ${made.dir}:\n${made.files.map((file) => `  ${file}\n`).join('')}`);
          io.stdout.write(`next: ferry${flags.dir ? ` --remotes ${remotes}` : ''} drivers validate ${flags.kind}/${name}\n`);
        }
      }),
    );
}
