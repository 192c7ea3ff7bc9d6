/** `ferry drivers import SRC DEST [--only a,b] [--force] [--dry-run]`: OpenNebula's storage drivers into a ONE root ferry runs. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ImportReport } from '../compat/import.js';
import { FerryError } from '../errors.js';
import { run, type SetStatus } from './command.js';
import type { Io } from './io.js';
import { writeJson } from './output.js';

interface ImportFlags {
  only?: string;
  force?: boolean;
  dryRun?: boolean;
}

export function registerDriversImport(drivers: Command, io: Io, setStatus: SetStatus): void {
  drivers
    .command('import')
    .summary('install OpenNebula\'s storage drivers (from its sources or a remotes folder) into a folder ferry runs')
    .argument('<src>', 'an OpenNebula source checkout (or its src/ folder), or an installed remotes folder such as /var/lib/one/remotes')
    .argument('<dest>', 'the OpenNebula install root to make or update (ONE_LOCATION layout); ferry runs DEST/var/remotes')
    .option('--only <drivers>', 'comma-separated driver names (fs,ssh) or kind/name (tm/shared); helpers are always installed')
    .option('--force', 'replace driver folders (and changed helper files) already in DEST')
    .option('--dry-run', 'print the plan and check it; write nothing')
    .addHelpText(
      'after',
      `
Each file goes where OpenNebula's install.sh puts it in a self-contained
install (ONE_LOCATION): drivers to var/remotes/datastore/<name>/ and
var/remotes/tm/<name>/, their *.conf and *rc to var/remotes/etc/, helpers to
var/remotes/ and lib/sh/, OpenNebula's Ruby libraries to lib/ruby/, tmrc to
etc/. Files are copied unmodified with their modes; links (and links a
checkout stores as plain files, such as tm_mad/shared) are made links, and a
link leading out of SRC is refused. ferry adds its fast xpath.rb (OpenNebula's
own kept as xpath-rexml.rb) and the onevm/onedatastore/onehost shims in bin/.
Nothing is half-written: everything is built under temporary names, then
renamed into place. Without --force a driver already in DEST is refused.

Examples:
  $ ferry drivers import ~/src/one /srv/one
  $ ferry drivers import /var/lib/one/remotes /srv/one --only fs,ssh --dry-run
  $ ferry drivers import ~/src/one /srv/one --force && ferry --remotes /srv/one/var/remotes drivers list
`,
    )
    .action((src: string, dest: string, flags: ImportFlags, command: Command) =>
      run(command, io, setStatus, async ({ json }) => {
        const only = flags.only?.split(',').map((name) => name.trim());
        if (only !== undefined && (only.length === 0 || only.includes(''))) {
          throw new FerryError('E_USAGE', `--only ${JSON.stringify(flags.only)} names no driver`, { hint: 'give driver names separated by commas, e.g. --only fs,ssh' });
        }
        // Loaded when used: every other command starts without it.
        const { importDrivers } = await import('../compat/import.js');
        const report = importDrivers(resolve(io.cwd, src), resolve(io.cwd, dest), {
          ...(only !== undefined ? { only } : {}),
          force: flags.force === true,
          dryRun: flags.dryRun === true,
        });
        if (json) writeJson(io, { ok: true, ...report, ...(report.dryRun ? {} : { entries: report.entries.length }) });
        else io.stdout.write(summary(report));
      }),
    );
}

function summary(report: ImportReport): string {
  const lines: string[] = [];
  const layout = report.layout === 'source' ? 'OpenNebula source tree' : 'OpenNebula remotes folder';
  if (report.dryRun) {
    lines.push(`would install from ${report.src} (${layout}) into ${report.dest}:`);
    for (const entry of report.entries) {
      const what = entry.type === 'link' ? `-> ${entry.target ?? ''}` : entry.type === 'dir' ? '(folder)' : `<- ${entry.from ?? ''}`;
      lines.push(`  ${entry.to}  ${what}`);
    }
  } else {
    lines.push(`installed OpenNebula's drivers from ${report.src} (${layout}) into ${report.dest}:`);
  }
  const verb = report.dryRun ? 'would install' : 'installed';
  lines.push(`  datastore drivers ${verb}: ${report.drivers.datastore.join(' ') || '(none)'}`);
  lines.push(`  tm drivers ${verb}: ${report.drivers.tm.join(' ') || '(none)'}`);
  if (report.linked.length > 0) lines.push(`  also ${verb} (links of the drivers asked for lead into them): ${report.linked.join(' ')}`);
  if (report.restoredLinks > 0) lines.push(`  ${report.restoredLinks} link${report.restoredLinks === 1 ? '' : 's'} stored as plain files in SRC made links again`);
  if (report.replaced.length > 0) lines.push(`  ${report.dryRun ? 'would replace' : 'replaced'}: ${report.replaced.join(' ')}`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  if (report.dryRun) lines.push('nothing written (--dry-run)');
  else {
    lines.push(`next: add this line to ferry.yaml (or run ferry with --remotes ${report.remotes}):`);
    lines.push(`  remotes: ${report.remotes}`);
  }
  return `${lines.join('\n')}\n`;
}
