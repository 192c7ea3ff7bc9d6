/**
 * Linting with shellcheck: one run for the shell scripts of every driver
 * checked together, its JSON read back into findings filed under each
 * driver that uses the script. shellcheck missing, turned off or failing
 * is a finding too, never an exception.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as v from 'valibot';
import { finding, type DriverReport, type Finding, type Severity } from './findings.js';
import { isOpenNebulaScript } from './opennebula.js';

/** A driver's report and the real paths of the shell scripts it uses. */
export interface Linted {
  report: DriverReport;
  shellFiles: string[];
}

/** A large remotes folder lints in seconds; this only stops a hung shellcheck. */
const TIMEOUT_MS = 300_000;

const CommentSchema = v.object({
  file: v.string(),
  line: v.number(),
  column: v.number(),
  level: v.string(),
  code: v.number(),
  message: v.string(),
});
/** `--format=json1` output (other fields of a comment are ignored). */
const OutputSchema = v.object({ comments: v.optional(v.array(CommentSchema)) });

type Comment = v.InferOutput<typeof CommentSchema>;

export type ShellcheckRun = { kind: 'ok'; comments: Comment[] } | { kind: 'missing' } | { kind: 'failed'; reason: string };

/** Lints every driver's shell scripts in one shellcheck run (a script shared by links is read once) and files the findings under each driver that uses it. */
export async function lintShell(drivers: readonly Linted[], command: string | false): Promise<void> {
  const users = usersOf(drivers);
  const files = [...users.keys()].sort();
  if (files.length === 0) return;
  const everyone = (make: (report: DriverReport) => Finding): void => {
    for (const item of drivers) if (item.shellFiles.length > 0) item.report.findings.push(make(item.report));
  };
  if (command === false) {
    everyone((report) => finding('info', 'shellcheck-off', report.dir, 'shell scripts were not linted (shellcheck turned off)', 'run without --no-shellcheck to lint them'));
    return;
  }
  const run = await runShellcheck(command, files);
  if (run.kind === 'missing') {
    const install = 'install it (apt-get install shellcheck, dnf install ShellCheck, brew install shellcheck) and validate again';
    everyone((report) => finding('info', 'shellcheck-missing', report.dir, `shellcheck is not installed (${command} not found), so the shell scripts were not linted`, install));
  } else if (run.kind === 'failed') {
    everyone((report) => finding('warning', 'shellcheck-failed', report.dir, `shellcheck failed: ${run.reason}`, `run ${command} on the scripts by hand to see why`));
  } else {
    fileComments(run.comments, users, await upstreamScripts(files));
  }
}

/** Each shell script and the drivers that use it. */
function usersOf(drivers: readonly Linted[]): Map<string, Linted[]> {
  const users = new Map<string, Linted[]>();
  for (const item of drivers) {
    for (const file of new Set(item.shellFiles)) {
      const list = users.get(file) ?? [];
      list.push(item);
      users.set(file, list);
    }
  }
  return users;
}

/** Those of `files` that are OpenNebula's own scripts (opennebula.ts). */
async function upstreamScripts(files: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const file of files) {
    const head = await readHead(file);
    if (isOpenNebulaScript(head)) found.add(resolve(file));
  }
  return found;
}

async function readHead(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const buffer = Buffer.alloc(2048);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * shellcheck's level as a severity. In OpenNebula's own scripts (`upstream`)
 * an "error" other than a parse error (SC1xxx) is a warning: OpenNebula runs
 * them as they are (exit -1, for i in $(ls …)), the operator runs them
 * unmodified, and the fix belongs upstream.
 */
function severityOf(comment: Comment, upstream: boolean): Severity {
  if (comment.level === 'error') return upstream && comment.code >= 2000 ? 'warning' : 'error';
  return comment.level === 'warning' ? 'warning' : 'info';
}

/** shellcheck's comments as findings, once each, under every driver using the file. */
function fileComments(comments: readonly Comment[], users: ReadonlyMap<string, Linted[]>, upstream: ReadonlySet<string>): void {
  const seen = new Set<string>();
  for (const comment of comments) {
    const file = resolve(comment.file);
    const key = `${file}:${comment.line}:${comment.column}:${comment.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const severity = severityOf(comment, upstream.has(file));
    const rule = `SC${comment.code}`;
    const note = severity !== comment.level && comment.level === 'error' ? ' (shellcheck: error; a warning here: OpenNebula\'s own script, run as OpenNebula ships it, so report it upstream)' : '';
    // shellcheck reports only on the files it was given, never on the files they source.
    for (const item of users.get(file) ?? []) {
      item.report.findings.push({ ...finding(severity, 'shellcheck', file, `${rule}: ${comment.message}${note}`, `see https://www.shellcheck.net/wiki/${rule}`, comment.line, comment.column), rule });
    }
  }
}

/** Runs shellcheck on `files` (an argument array, never a shell: file names go to it as they are) and reads its JSON. */
export async function runShellcheck(command: string, files: readonly string[], timeoutMs = TIMEOUT_MS): Promise<ShellcheckRun> {
  // Loaded here: every ferry command bundles validate, and execa costs start-up time none of them but this one needs.
  const { execa } = await import('execa');
  const result = await execa(command, ['--format=json1', '--external-sources', '--', ...files], {
    stdin: 'ignore',
    reject: false,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (result.code === 'ENOENT') return { kind: 'missing' };
  // It exits 1 when it has comments: the JSON, not the status, says whether it worked.
  const output = parseJson(result.stdout);
  const parsed = output === undefined ? undefined : v.safeParse(OutputSchema, output);
  if (parsed?.success) return { kind: 'ok', comments: parsed.output.comments ?? [] };
  if (result.timedOut) return { kind: 'failed', reason: `timed out after ${timeoutMs / 1000} s` };
  if (result.signal) return { kind: 'failed', reason: `killed by ${result.signal}` };
  if (result.exitCode === undefined) return { kind: 'failed', reason: result.originalMessage ?? result.shortMessage ?? 'it did not start' };
  const stderr = result.stderr.trim().split('\n')[0] ?? '';
  return { kind: 'failed', reason: `exit status ${result.exitCode}${stderr ? `: ${stderr}` : ''}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
