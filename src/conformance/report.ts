/**
 * The suite's report in four shapes: readable lines for people (streamed a
 * check at a time), TAP 14 for CI, JUnit XML for CI dashboards, and JSON
 * for tools. All four come from the same (already redacted) results.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { hostname } from 'node:os';
import type { CheckResult, SuiteReport } from './types.js';

/** What is known before the first check runs. */
export type SuiteStart = Omit<SuiteReport, 'ok' | 'checks' | 'counts' | 'durationMs'>;

const LABEL = { ok: 'ok', fail: 'FAIL', skip: 'skip' } as const;

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function textHeader(start: SuiteStart): string {
  const lines = [`ferry drivers test ${start.kind}/${start.driver}  (remotes ${start.remotes})`];
  const ds = start.datastore;
  lines.push(`  datastore  ${ds.basePath}${ds.temporary ? ' (temporary, removed afterwards)' : ds.file ? ` (from ${ds.file})` : ''}`);
  if (start.paired) lines.push(`  ${start.paired.kind === 'tm' ? 'TM       ' : 'datastore driver'.padEnd(9)}  ${start.paired.driver}`);
  else if (start.kind === 'datastore') lines.push('  TM         none (checks that deploy with a TM are skipped)');
  if (start.kind === 'tm' || start.paired) {
    lines.push(`  hosts      ${start.hosts.map((host) => `${host.name} (${host.local ? 'local' : 'ssh'})`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One check as lines: status, id, title; the message of a failure or skip; details when asked (always for failures). */
export function textResult(result: CheckResult, verbose = false): string {
  const lines = [`${LABEL[result.status].padEnd(5)} ${result.id.padEnd(24)} ${result.title}`];
  if (result.message !== undefined) lines.push(`        ${result.status === 'skip' ? 'skip: ' : ''}${result.message}`);
  if (verbose || result.status === 'fail') for (const detail of result.details) lines.push(`        · ${detail}`);
  return `${lines.join('\n')}\n`;
}

export function textSummary(report: SuiteReport): string {
  const { counts } = report;
  const verdict = report.ok ? 'PASS' : 'FAIL';
  return `${verdict}: ${counts.total} checks, ${counts.ok} ok, ${counts.fail} failed, ${counts.skip} skipped in ${secs(report.durationMs)}\n`;
}

export function textReport(report: SuiteReport, verbose = false): string {
  return textHeader(report) + report.checks.map((result) => textResult(result, verbose)).join('') + textSummary(report);
}

/** A TAP description: no `#` (it starts a directive) and one line. */
function tapText(text: string): string {
  return text.replace(/#/g, '\\#').replace(/\s*\n\s*/g, ' ');
}

/** YAML diagnostics for a TAP test point, indented two spaces between --- and ... */
function tapYaml(fields: Record<string, unknown>): string {
  const lines: string[] = ['  ---'];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      lines.push(`  ${key}:`);
      for (const item of value) lines.push(`    - ${JSON.stringify(String(item))}`);
    } else {
      lines.push(`  ${key}: ${JSON.stringify(value)}`);
    }
  }
  lines.push('  ...');
  return `${lines.join('\n')}\n`;
}

/** TAP version 14: one test point per check (skips as # SKIP), YAML diagnostics for failures. */
export function tapReport(report: SuiteReport): string {
  let out = 'TAP version 14\n';
  out += `# ferry drivers test ${report.kind}/${report.driver}\n`;
  out += `1..${report.checks.length}\n`;
  report.checks.forEach((result, index) => {
    const n = index + 1;
    const name = tapText(`${result.id}: ${result.title}`);
    if (result.status === 'skip') {
      out += `ok ${n} - ${name} # SKIP ${tapText(result.message ?? '')}\n`;
    } else if (result.status === 'ok') {
      out += `ok ${n} - ${name}\n`;
    } else {
      out += `not ok ${n} - ${name}\n`;
      out += tapYaml({ message: result.message ?? 'failed', details: result.details, duration_ms: result.durationMs });
    }
  });
  const { counts } = report;
  out += `# ${counts.ok} ok, ${counts.fail} failed, ${counts.skip} skipped\n`;
  return out;
}

/** Characters XML 1.0 cannot hold (control characters a driver may print, lone surrogates), written out as \xNN. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function xmlSafe(text: string): string {
  return text.replace(NOT_XML, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const junitBuilder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

/** JUnit XML (the common Jenkins/GitLab shape): one testsuite per run, one testcase per check. */
export function junitReport(report: SuiteReport): string {
  const suiteName = `ferry drivers test ${report.kind}/${report.driver}`;
  const classname = `ferry.${report.kind}.${report.driver}`;
  const time = (ms: number): string => (ms / 1000).toFixed(3);
  const testcases = report.checks.map((result) => {
    const testcase: Record<string, unknown> = {
      '@_classname': xmlSafe(classname),
      '@_name': xmlSafe(`${result.id}: ${result.title}`),
      '@_time': time(result.durationMs),
    };
    if (result.status === 'fail') {
      const message = result.message ?? 'failed';
      testcase.failure = {
        '@_message': xmlSafe(message.replace(/\s*\n\s*/g, ' ')),
        '@_type': 'ConformanceFailure',
        '#text': xmlSafe([message, ...result.details.map((detail) => `- ${detail}`)].join('\n')),
      };
    } else if (result.status === 'skip') {
      testcase.skipped = { '@_message': xmlSafe(result.message ?? 'skipped') };
    }
    if (result.details.length > 0 && result.status !== 'fail') testcase['system-out'] = { '#text': xmlSafe(result.details.join('\n')) };
    return testcase;
  });
  const counts = {
    '@_tests': String(report.counts.total),
    '@_failures': String(report.counts.fail),
    '@_errors': '0',
    '@_skipped': String(report.counts.skip),
    '@_time': time(report.durationMs),
  };
  const body = junitBuilder.build({
    testsuites: {
      '@_name': xmlSafe(suiteName),
      ...counts,
      testsuite: {
        '@_name': xmlSafe(suiteName),
        ...counts,
        '@_timestamp': report.startedAt.replace(/\.\d+Z$/, ''),
        '@_hostname': xmlSafe(hostname()),
        properties: {
          property: [
            { '@_name': 'remotes', '@_value': xmlSafe(report.remotes) },
            { '@_name': 'kind', '@_value': report.kind },
            { '@_name': 'driver', '@_value': xmlSafe(report.driver) },
            { '@_name': 'paired', '@_value': report.paired ? xmlSafe(`${report.paired.kind}/${report.paired.driver}`) : 'none' },
            { '@_name': 'base_path', '@_value': xmlSafe(report.datastore.basePath) },
          ],
        },
        testcase: testcases,
      },
    },
  }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/** The --json object. */
export function jsonReport(report: SuiteReport): Record<string, unknown> {
  return { ...report };
}
