/** `ferry drivers list`: what the remotes folder holds. */
import type { Command } from 'commander';
import { listDrivers } from '../driver/inventory.js';
import { flagsOf, makeContext } from './context.js';
import type { Io } from './io.js';
import { reportError, writeJson } from './output.js';

export function registerDrivers(program: Command, io: Io, setStatus: (status: number) => void): void {
  const drivers = program.command('drivers').summary('list the drivers in the remotes folder').description('Inspect the drivers of the remotes folder in use.');
  drivers
    .command('list')
    .description('List every datastore and TM driver found and the actions each implements.')
    .addHelpText(
      'after',
      `
Examples:
  $ ferry drivers list
  $ ferry drivers list --remotes ./my-remotes --json
`,
    )
    .action(async (_options: unknown, command: Command) => {
      let json = flagsOf(command).json === true;
      try {
        const context = await makeContext(command, io);
        json = context.json;
        const remotes = await context.runner.remotesPath();
        const found = await listDrivers(remotes);
        if (json) {
          writeJson(io, { ok: true, remotes, drivers: found });
        } else {
          io.stdout.write(`remotes: ${remotes}\n`);
          if (found.length === 0) io.stdout.write('no drivers found (expected datastore/<name>/ and tm/<name>/ folders)\n');
          const width = Math.max(0, ...found.map((d) => d.name.length));
          for (const driver of found) {
            const parts = [`${driver.kind.padEnd(9)}  ${driver.name.padEnd(width)}  ${driver.actions.join(' ') || '(no actions)'}`];
            if (driver.extra.length) parts.push(`    also: ${driver.extra.join(' ')}`);
            if (driver.missing.length) parts.push(`    missing: ${driver.missing.join(' ')}`);
            if (driver.notExecutable.length) parts.push(`    not executable: ${driver.notExecutable.join(' ')}`);
            io.stdout.write(`${parts.join('\n')}\n`);
          }
        }
        setStatus(0);
      } catch (error) {
        setStatus(reportError(io, { json }, error));
      }
    });
}
