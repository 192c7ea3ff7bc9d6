/**
 * The report shapes: TAP parses with tap's own parser and counts right,
 * JUnit XML parses and counts right whatever a driver printed (markup,
 * quotes, control characters), and `--junit FILE` / `--tap` from the command
 * line carry a real run's results.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import t from 'tap';
import { Parser, type FinalResults } from 'tap-parser';
import { junitReport, tapReport, textReport, xmlSafe } from '../../src/conformance/report.js';
import type { SuiteReport } from '../../src/conformance/types.js';
import { tmpDir } from '../helpers/fixtures.js';
import { repoRoot, runCli } from '../cli/helpers.js';

t.setTimeout(60_000);

const NASTY = 'driver said <b>"x" & \'y\'</b> ]]> # not a directive\n\u001b[31mred\u001b[0m \u0000 second line';

function sample(): SuiteReport {
  return {
    ok: false,
    kind: 'datastore',
    driver: 'na<me>&',
    remotes: '/r',
    paired: { kind: 'tm', driver: 'shared' },
    datastore: { basePath: '/tmp/ds', temporary: true, file: null, systemBasePath: '/tmp/sys' },
    hosts: [{ name: 'fe', local: true }],
    checks: [
      { id: 'ds.cp', title: 'cp # registers', status: 'ok', details: ['source /tmp/ds/x'], durationMs: 12 },
      { id: 'ds.stat', title: 'stat', status: 'fail', message: NASTY, details: [NASTY, 'plain'], durationMs: 3 },
      { id: 'ds.snap_revert', title: 'snapshots', status: 'skip', message: 'no snapshots capability in driver.yaml', details: [], durationMs: 0 },
      { id: 'cleanup', title: 'clean-up', status: 'ok', details: [], durationMs: 5 },
    ],
    counts: { total: 4, ok: 2, fail: 1, skip: 1 },
    durationMs: 1234,
    startedAt: '2025-01-02T03:04:05.678Z',
  };
}

function parseTap(text: string): Promise<FinalResults> {
  return new Promise((resolve) => {
    const parser = new Parser((results) => resolve(results));
    parser.end(text);
  });
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });

t.test('TAP 14: a plan, one point per check, skips as # SKIP, failures with YAML diagnostics', async (t) => {
  const text = tapReport(sample());
  t.match(text, /^TAP version 14\n/);
  const results = await parseTap(text);
  t.equal(results.count, 4);
  t.equal(results.pass, 3, 'ok points (skips count as passing)');
  t.equal(results.fail, 1);
  t.equal(results.skip, 1);
  t.same(results.plan.end, 4);
  t.equal(results.ok, false);
  t.match(results.skips[0]?.skip, 'no snapshots capability in driver.yaml');
  t.match(results.failures[0]?.name, 'ds.stat: stat');
  t.match(results.failures[0]?.diag, { message: NASTY.replace(/\u0000/g, '\u0000') }, 'the YAML diagnostics carry the message intact');
  t.match(text, 'ok 1 - ds.cp: cp \\# registers', 'a # in a name is escaped, not a directive');
});

t.test('JUnit XML: valid whatever the driver printed, with the right counts', async (t) => {
  const text = junitReport(sample());
  t.equal(XMLValidator.validate(text), true, 'well-formed XML');
  t.notMatch(text, /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/, 'no character XML 1.0 forbids');
  const doc = xml.parse(text);
  const suites = doc.testsuites;
  t.match(suites, { tests: '4', failures: '1', skipped: '1', errors: '0' });
  const suite = suites.testsuite;
  t.match(suite, { name: 'ferry drivers test datastore/na<me>&', tests: '4', failures: '1', skipped: '1', timestamp: '2025-01-02T03:04:05', time: '1.234' });
  const cases = suite.testcase as Array<Record<string, any>>;
  t.equal(cases.length, 4);
  t.equal(cases[1]?.name, 'ds.stat: stat');
  t.equal(cases[1]?.classname, 'ferry.datastore.na<me>&');
  t.match(cases[1]?.failure.message, 'driver said <b>"x" & \'y\'</b> ]]>', 'markup and quotes survive the round trip');
  t.match(cases[1]?.failure['#text'], '\\x1b[31mred', 'control characters are written out');
  t.match(cases[1]?.failure['#text'], '- plain', 'details follow the message');
  t.ok('skipped' in (cases[2] ?? {}), 'the skip is a <skipped>');
  t.notOk('failure' in (cases[0] ?? {}));
  t.equal(xmlSafe('a\u0007b\uD800c'), 'a\\x07b\\xd800c');
});

t.test('the readable report: every check with its status, failures with message and details', async (t) => {
  const text = textReport(sample());
  t.match(text, /^ok    ds\.cp /m);
  t.match(text, /^FAIL  ds\.stat /m);
  t.match(text, /^skip  ds\.snap_revert .*\n {8}skip: no snapshots capability in driver\.yaml$/m);
  t.match(text, /^ {8}· plain$/m, 'a failure shows what the check saw');
  t.notMatch(text, 'source /tmp/ds/x', 'a passing check\'s details only with --verbose');
  t.match(textReport(sample(), true), 'source /tmp/ds/x');
  t.match(text, /FAIL: 4 checks, 2 ok, 1 failed, 1 skipped in 1\.2 s\n$/);
});

t.test('--junit FILE and --tap on a real run (the nosize defect)', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'report.xml');
  const { status, stdout, stderr } = await runCli(['--remotes', join(repoRoot, 'fixtures', 'defects'), 'drivers', 'test', 'datastore/nosize', '--tap', '--junit', file]);
  t.equal(status, 1);
  t.equal(stderr, '');
  const results = await parseTap(stdout);
  t.equal(results.fail, 1);
  t.equal(results.count, 24);
  t.match(results.failures[0]?.name, /^ds\.cp: /);
  const junit = readFileSync(file, 'utf8');
  t.equal(XMLValidator.validate(junit), true);
  const suite = xml.parse(junit).testsuites.testsuite;
  t.equal(suite.tests, '24');
  t.equal(suite.failures, '1');
  t.equal(suite.skipped, String(results.skip));
  const failed = (suite.testcase as Array<Record<string, any>>).filter((c) => 'failure' in c);
  t.equal(failed.length, 1);
  t.match(failed[0]?.failure.message, 'got only the source');
});
