/** `ferry drivers list` and `ferry drivers validate`: what the remotes folder holds, and whether it is right. */
import { realpathSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { Command } from 'commander';
import { isKind } from '../contract/table.js';
import { listDrivers } from '../driver/inventory.js';
import { describeCounts, resolveTargets, validateTargets, type DriverReport, type Finding, type ValidationReport } from '../driver/validate/index.js';
import { EXIT_STATUS, FerryError } from '../errors.js';
import { run, type SetStatus } from './command.js';
import type { Io } from './io.js';
import { registerDriversImport } from './drivers-import.js';
import { registerDriversNew } from './drivers-new.js';
import { registerDriversTest } from './drivers-test.js';
import { writeJson } from './output.js';

/** Validation found errors (or warnings, with --strict): a failure, like a driver that failed. */
const VALIDATION_FAILED = EXIT_STATUS.E_DRIVER_FAILED;

interface ValidateFlags {
  strict?: boolean;
  kind?: string;
  shellcheck?: boolean;
  quiet?: boolean;
}

export function registerDrivers(program: Command, io: Io, setStatus: SetStatus): void {
  const drivers = program.command('drivers').summary('drivers in the remotes folder: list, validate, test (conformance suite), new').description('Inspect the drivers of the remotes folder in use.')
    .addHelpText('after', '\nExamples:\n  $ ferry drivers list\n  $ ferry drivers validate fs --strict\n  $ ferry drivers new nas --kind datastore\n');
  registerDriversTest(drivers, io, setStatus);
  registerDriversNew(drivers, io, setStatus);
  registerDriversImport(drivers, io, setStatus);
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
    .action((_options: unknown, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        const remotes = await (await makeContext()).runner.remotesPath();
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
      }),
    );
  drivers
    .command('validate')
    .description(
      'Check driver folders without running them: run bits and #! lines, action names (typos such as snapshot_delete or cp.sh), ' +
        'the actions each kind needs, links, driver.yaml (keys, types, API version, timeouts, capabilities, requires), shellcheck, ' +
        'and echo/printf that write to stdout outside the result.',
    )
    .argument('[driver...]', 'NAME (datastore and tm), datastore/NAME, tm/NAME, or the path of a driver folder; none: every driver of the remotes folder')
    .option('--strict', 'fail (exit 1) on warnings too')
    .option('--kind <kind>', 'datastore or tm, for a folder outside a datastore/ or tm/ folder and without kind: in driver.yaml')
    .option('--no-shellcheck', 'skip shellcheck (faster; reported as a note)')
    .option('-q, --quiet', 'show errors and warnings only, not notes')
    .addHelpText(
      'after',
      `
Prints "<driver>: OK" for a driver without errors, else FAILED and one line per finding:
  <file>:<line>: <error|warning|info>: <message> (<fix>)
--json prints one object: {ok, strict, remotes, counts, drivers: [{kind, name, dir, ok, counts, findings}]},
each finding {severity, code, file, line?, column?, message, fix, rule?}.

Exit status: 0 no errors (warnings allowed unless --strict), 1 errors found (or warnings with --strict),
2 bad usage: an unknown driver or folder, a bad --kind, a missing remotes folder.

Examples:
  $ ferry drivers validate                      # every driver of the remotes folder
  $ ferry drivers validate fs tm/shared
  $ ferry drivers validate ./my-driver --kind datastore
  $ ferry drivers validate --strict --json ceph > findings.json
`,
    )
    .action((args: string[], _options: unknown, command: Command) =>
      run(command, io, setStatus, async ({ json, makeContext }) => {
        const flags = command.opts<ValidateFlags>();
        const context = await makeContext();
        if (flags.kind !== undefined && !isKind(flags.kind)) {
          throw new FerryError('E_USAGE', `--kind ${JSON.stringify(flags.kind)} is not a driver kind`, { hint: 'use --kind datastore or --kind tm' });
        }
        let remotes: string | null = null;
        const remotesPath = async (): Promise<string> => {
          remotes = await context.runner.remotesPath();
          return remotes;
        };
        const targets = await resolveTargets(remotesPath, args, io.cwd, flags.kind !== undefined && isKind(flags.kind) ? flags.kind : undefined);
        const report = await validateTargets(targets, {
          ...(flags.shellcheck === false ? { shellcheck: false as const } : {}),
          ...(io.env.PATH !== undefined ? { path: io.env.PATH } : {}),
        });
        const strict = flags.strict === true;
        const failed = (counts: DriverReport['counts']): boolean => counts.error > 0 || (strict && counts.warning > 0);
        const ok = !failed(report.counts);
        if (json) {
          writeJson(io, { ok, strict, remotes, counts: report.counts, drivers: report.drivers.map((driver) => ({ ...driver, ok: !failed(driver.counts) })) });
        } else {
          printValidation(io, report, { strict, quiet: flags.quiet === true, failed });
        }
        return ok ? 0 : VALIDATION_FAILED;
      }),
    );
}

function printValidation(io: Io, report: ValidationReport, options: { strict: boolean; quiet: boolean; failed(counts: DriverReport['counts']): boolean }): void {
  const cwd = realCwd(io.cwd);
  const show = (path: string): string => {
    const rel = relative(cwd, path);
    return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' ? rel : path;
  };
  const line = (finding: Finding): string =>
    `  ${show(finding.file)}${finding.line !== undefined ? `:${finding.line}` : ''}: ${finding.severity}: ${finding.message} (${finding.fix})\n`;
  let failedDrivers = 0;
  if (report.drivers.length === 0) io.stdout.write('no drivers found (expected datastore/<name>/ and tm/<name>/ folders)\n');
  for (const driver of report.drivers) {
    const failed = options.failed(driver.counts);
    if (failed) failedDrivers += 1;
    const shown = driver.findings.filter((finding) => !options.quiet || finding.severity !== 'info');
    const counts = options.quiet ? { ...driver.counts, info: 0 } : driver.counts;
    const counted = counts.error + counts.warning + counts.info;
    io.stdout.write(`${driver.name}: ${failed ? 'FAILED' : 'OK'}${counted > 0 ? ` (${describeCounts(counts, true)})` : ''}\n`);
    for (const finding of shown) io.stdout.write(line(finding));
  }
  const total = report.drivers.length;
  io.stdout.write(
    `${total} driver${total === 1 ? '' : 's'} checked: ${total - failedDrivers} OK, ${failedDrivers} failed${options.strict ? ' (--strict: warnings fail)' : ''}; ${describeCounts(report.counts)}\n`,
  );
}

function realCwd(cwd: string): string {
  try {
    return realpathSync(cwd);
  } catch {
    return cwd;
  }
}
