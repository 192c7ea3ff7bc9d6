/**
 * `ferry drivers validate`: static checks of driver folders, as findings
 * with a stable code, the file and line, what is wrong and how to fix it.
 * Nothing here runs a driver; the only processes started are shellcheck
 * (once for every driver checked together) and none else. One driver that
 * cannot be checked becomes a finding; it never stops the others.
 */
import { basename } from 'node:path';
import { MANIFEST_FILE } from '../manifest.js';
import { emptyReport, summarize, type Add, type DriverReport, type ValidationReport, finding } from './findings.js';
import { checkManifest, noManifest, type ManifestFacts } from './manifest.js';
import { isOpenNebulaCommon } from './opennebula.js';
import { checkMissing } from './required.js';
import { checkScript } from './scripts.js';
import { lintShell, type Linted } from './shellcheck.js';
import { remotesTargets, targetOf, type Target, type ValidateOptions } from './targets.js';
import { checkFolder, readEntries, walkEntry } from './walk.js';

export { FINDING_CODES, describeCounts, type DriverReport, type Finding, type FindingCode, type Severity, type ValidationReport } from './findings.js';
export { resolveTargets, type Target, type ValidateOptions } from './targets.js';

/** Validates one driver folder. */
export async function validateDriver(dir: string, options: ValidateOptions = {}): Promise<DriverReport> {
  const target = await targetOf(dir, options);
  const [report] = (await validateTargets([target], options)).drivers;
  return report as DriverReport;
}

/** Validates every driver of a remotes folder, or those named (`fs`, `tm/shared`). */
export async function validateRemotes(remotes: string, names?: readonly string[], options: Omit<ValidateOptions, 'kind' | 'name' | 'root'> = {}): Promise<ValidationReport> {
  return validateTargets(await remotesTargets(remotes, names), options);
}

/** Validates resolved targets: the static checks per driver, then one shellcheck run for all. */
export async function validateTargets(targets: readonly Target[], options: ValidateOptions = {}): Promise<ValidationReport> {
  const drivers: Linted[] = [];
  for (const target of targets) {
    const item: Linted = { report: emptyReport(target.name, target.dir, target.kind), shellFiles: [] };
    try {
      await checkDriver(target, item, options.path);
    } catch (error) {
      const message = `validation of ${target.name} stopped: ${(error as Error).message}`;
      item.report.findings.push(finding('error', 'internal', target.dir, message, 'report this as a bug in ferry, with the driver folder'));
    }
    drivers.push(item);
  }
  await lintShell(drivers, options.shellcheck ?? 'shellcheck');
  return summarize(drivers.map((item) => item.report));
}

/** One driver's static checks; the shell scripts to lint go to `item.shellFiles`. */
async function checkDriver(target: Target, item: Linted, path: string | undefined): Promise<void> {
  const { report } = item;
  const add: Add = (...args) => {
    report.findings.push(finding(...args));
  };
  const dir = target.dir;
  if (!(await checkFolder(dir, target.root, add))) return;
  const entries = await readEntries(dir, target.root, add);
  const files = new Set(entries.map((entry) => entry.name));

  // The manifest first: its kind and capabilities shape the other checks.
  const manifestEntry = entries.find((entry) => entry.name === MANIFEST_FILE);
  let manifest: ManifestFacts = { capabilities: [] };
  if (manifestEntry) manifest = await checkManifest(manifestEntry.path, target.kind, files, add, path);
  else noManifest(dir, add);
  const kind = target.kind ?? manifest.kind;
  report.kind = kind ?? null;
  if (kind === undefined) {
    add('error', 'kind-unknown', dir, `cannot tell whether ${basename(dir)} is a datastore or a tm driver`, 'put it in a datastore/ or tm/ folder, add kind: datastore or kind: tm to driver.yaml, or pass --kind');
  }

  for (const entry of entries) {
    const role = await walkEntry(kind, entry, add);
    if (role.role === 'lib') item.shellFiles.push(...role.shellFiles);
    else if (role.role === 'script' && (await checkScript(kind, entry, entries, role.executable, add, path))) item.shellFiles.push(entry.real);
  }
  if (kind && isOpenNebulaCommon(basename(dir), files)) {
    add('info', 'opennebula-file', dir, `${basename(dir)} is OpenNebula's folder of scripts its ${kind} drivers link to, not a driver: its scripts are checked, the actions it lacks are not`, 'nothing to do: leave it as OpenNebula ships it (its drivers\' links point into it)');
  } else if (kind) {
    checkMissing(kind, dir, files, manifest.capabilities, add);
  }
}
