/**
 * What `ferry drivers validate` reports: the finding codes with their usual
 * severity and meaning, one finding, a driver's report and the whole run's,
 * and how a report is ordered and counted.
 */
import type { Kind } from '../../contract/table.js';

export type Severity = 'error' | 'warning' | 'info';

/** Every finding code, its usual severity and what it means (docs/driver-kit.md and `--help` use this table). */
export const FINDING_CODES = {
  'not-executable': ['error', 'an action file lacks its run bit'],
  'no-shebang': ['error', 'an action script has no #! line'],
  'bad-interpreter': ['error', 'the #! interpreter does not exist here, or the line ends in \\r (CRLF)'],
  'unknown-action': ['error', 'a file named like a misspelt action (snapshot_delete, cp.sh, Clone)'],
  'missing-action': ['error', 'a required action is missing (warning: a recommended one)'],
  'optional-missing': ['info', 'optional actions the driver does not implement'],
  'extra-action': ['info', 'an executable that is no contract action: run only when asked by name'],
  'backup-file': ['warning', 'an editor or backup copy (cp~, cp.orig, cp.bak) that ferry would run if asked'],
  'stray-file': ['info', 'a file that is neither an action nor documentation'],
  'opennebula-file': ['info', 'a file OpenNebula\'s drivers keep beside their actions (settings, a sourced library, a stand-in or variant an action runs), or its common/ folder of shared scripts'],
  'unexpected-folder': ['warning', 'a folder other than lib/'],
  'not-a-file': ['error', 'an action name that is a folder or a special file'],
  'broken-link': ['error', 'a link whose target does not exist'],
  'link-outside': ['error', 'a link that resolves outside the remotes folder (ferry refuses to run it)'],
  'bad-name': ['error', 'a driver name ferry refuses (outside [A-Za-z0-9_.-])'],
  'kind-unknown': ['error', 'neither the folder nor driver.yaml says datastore or tm'],
  'no-manifest': ['info', 'no driver.yaml: what one would add'],
  'manifest-unreadable': ['error', 'driver.yaml cannot be read'],
  'manifest-yaml': ['error', 'driver.yaml is not valid YAML (or repeats a key)'],
  'manifest-unknown-key': ['error', 'driver.yaml has a key ferry does not know'],
  'manifest-type': ['error', 'a driver.yaml value of the wrong type or out of range'],
  'api-missing': ['warning', 'driver.yaml does not pin the driver API version'],
  'api-version': ['error', 'driver.yaml targets an API version outside the window this ferry runs'],
  'kind-mismatch': ['error', 'driver.yaml kind differs from the folder the driver is in'],
  'timeout-unknown-action': ['error', 'a timeout for an action the driver does not have'],
  'capability-unknown': ['warning', 'a capability name ferry does not know'],
  'config-default-type': ['error', 'a config attribute whose default does not match its type'],
  'secret-default': ['warning', 'a secret config attribute with a default value in the file'],
  'requires-invalid': ['error', 'a requires entry that is not a command name or absolute path'],
  'requires-missing': ['warning', 'a required command not found on this machine\'s PATH'],
  'source-missing': ['error', 'a script sources a file next to it (. "$(dirname "$0")/...") that does not exist'],
  'stdout-output': ['warning', 'echo/printf to stdout where stdout is the result, or where the action returns nothing'],
  shellcheck: ['warning', 'a shellcheck finding (its own level: error, warning, info)'],
  'shellcheck-missing': ['info', 'shellcheck is not installed: shell scripts were not linted'],
  'shellcheck-off': ['info', 'shell scripts were not linted: turned off (--no-shellcheck)'],
  'shellcheck-failed': ['warning', 'shellcheck ran but its output could not be read'],
  internal: ['error', 'the check itself failed (a bug in ferry)'],
} as const satisfies Record<string, readonly [Severity, string]>;

export type FindingCode = keyof typeof FINDING_CODES;

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** Absolute path of the file (or of the driver folder, for findings about the whole driver). */
  file: string;
  /** 1-based line, where there is one. */
  line?: number;
  column?: number;
  message: string;
  /** How to fix it. */
  fix: string;
  /** The tool's own rule id (shellcheck's SC2086). */
  rule?: string;
}

export interface DriverReport {
  kind: Kind | null;
  name: string;
  /** Real path of the driver folder. */
  dir: string;
  /** No error findings. */
  ok: boolean;
  counts: Record<Severity, number>;
  findings: Finding[];
}

export interface ValidationReport {
  ok: boolean;
  counts: Record<Severity, number>;
  drivers: DriverReport[];
}

export function finding(severity: Severity, code: FindingCode, file: string, message: string, fix: string, line?: number, column?: number): Finding {
  return {
    severity,
    code,
    file,
    ...(line !== undefined ? { line } : {}),
    ...(column !== undefined ? { column } : {}),
    message,
    fix,
  };
}

/** Files a finding: the checks take this rather than the report, so each stays about what it checks. */
export type Add = (...args: Parameters<typeof finding>) => void;

/** An empty report for a driver, to fill. */
export function emptyReport(name: string, dir: string, kind: Kind | undefined): DriverReport {
  return { kind: kind ?? null, name, dir, ok: true, counts: zero(), findings: [] };
}

/** Sorts every driver's findings and counts them, per driver and in all. */
export function summarize(drivers: DriverReport[]): ValidationReport {
  const counts = zero();
  for (const report of drivers) {
    report.findings.sort(byPlace);
    for (const { severity } of report.findings) {
      report.counts[severity] += 1;
      counts[severity] += 1;
    }
    report.ok = report.counts.error === 0;
  }
  return { ok: counts.error === 0, counts, drivers };
}

function zero(): Record<Severity, number> {
  return { error: 0, warning: 0, info: 0 };
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then notes; each by file and line. */
export function byPlace(a: Finding, b: Finding): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1);
}

/** Counts as words: `1 error, 0 warnings, 2 notes`; `brief` leaves out the zeros. */
export function describeCounts(counts: Record<Severity, number>, brief = false): string {
  const part = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts: Array<[number, string]> = [
    [counts.error, 'error'],
    [counts.warning, 'warning'],
    [counts.info, 'note'],
  ];
  return parts
    .filter(([n]) => !brief || n > 0)
    .map(([n, word]) => part(n, word))
    .join(', ');
}
