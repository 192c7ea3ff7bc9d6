/** validate's findings: every code has a severity and a meaning; reports are ordered and counted. */
import t from 'tap';
import { FINDING_CODES, byPlace, describeCounts, emptyReport, finding, summarize } from '../../../src/driver/validate/findings.js';

t.test('FINDING_CODES have a severity and a meaning', async (t) => {
  for (const [code, [severity, meaning]] of Object.entries(FINDING_CODES)) {
    t.match(code, /^[a-z]+(-[a-z]+)*$/, `${code}: kebab-case`);
    t.ok(['error', 'warning', 'info'].includes(severity));
    t.ok(meaning.length > 10);
  }
});

t.test('summarize: errors first, then warnings, then notes, each by file and line; counts per driver and in all', async (t) => {
  const a = emptyReport('datastore/a', '/r/datastore/a', 'datastore');
  a.findings.push(
    finding('info', 'no-manifest', '/r/datastore/a', 'no driver.yaml', 'add one'),
    finding('warning', 'stdout-output', '/r/datastore/a/rm', 'prints', 'stderr', 4),
    finding('error', 'not-executable', '/r/datastore/a/stat', 'no run bit', 'chmod +x'),
    finding('warning', 'stdout-output', '/r/datastore/a/rm', 'prints', 'stderr', 2),
    finding('error', 'no-shebang', '/r/datastore/a/cp', 'no #!', '#!/bin/sh', 1),
  );
  const b = emptyReport('tm/b', '/r/tm/b', undefined);
  b.findings.push(finding('warning', 'api-missing', '/r/tm/b/driver.yaml', 'no api', 'api: 1', 1));
  const report = summarize([a, b]);
  t.same(
    a.findings.map((f) => `${f.severity} ${f.file.slice(3)}${f.line !== undefined ? `:${f.line}` : ''}`),
    ['error datastore/a/cp:1', 'error datastore/a/stat', 'warning datastore/a/rm:2', 'warning datastore/a/rm:4', 'info datastore/a'],
  );
  t.same(a.counts, { error: 2, warning: 2, info: 1 });
  t.equal(a.ok, false);
  t.same(b.counts, { error: 0, warning: 1, info: 0 });
  t.equal(b.ok, true, 'warnings alone leave a driver ok');
  t.equal(b.kind, null, 'an unknown kind is null in the report (JSON)');
  t.same(report.counts, { error: 2, warning: 3, info: 1 });
  t.equal(report.ok, false);
  t.equal(byPlace(a.findings[0]!, a.findings[0]!), 0);
  t.same(finding('info', 'internal', '/x', 'm', 'f'), { severity: 'info', code: 'internal', file: '/x', message: 'm', fix: 'f' }, 'no line or column keys when there are none');
});

t.test('describeCounts: words, singular and plural; brief leaves out zeros', async (t) => {
  t.equal(describeCounts({ error: 1, warning: 0, info: 2 }), '1 error, 0 warnings, 2 notes');
  t.equal(describeCounts({ error: 1, warning: 0, info: 2 }, true), '1 error, 2 notes');
  t.equal(describeCounts({ error: 0, warning: 0, info: 0 }, true), '');
});
