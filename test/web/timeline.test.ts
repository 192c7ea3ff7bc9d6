/**
 * The journal timeline: oldest first, runs of one operation grouped, each step with its time, driver action,
 * duration, exit status and logs, failed ones marked; every value from the journal shown as text; a subject's
 * newest entries read from a real catalog, with a link to the older ones when there are more.
 */
import { join } from 'node:path';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import type { JournalEntry, NewJournalEntry } from '../../src/model.js';
import { shownDuration, shownTime, subjectTimeline, timeline } from '../../src/web/timeline.js';
import { tmpDir } from '../helpers/fixtures.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>alert(1)</script>';

const entry = (id: number, over: Partial<JournalEntry> = {}): JournalEntry => ({
  id,
  at: `2026-05-01T10:00:0${id}.000Z`,
  subject: 'vm:7',
  operation: 'create',
  step: id - 1,
  kind: 'tm',
  driver: 'qcow2',
  action: 'clone',
  args: ['fe:/ds/1/abc', 'host01:/ds/0/7/disk.0', '7', '1'],
  ok: true,
  exitCode: 0,
  durationMs: 64.94,
  message: null,
  logs: [{ level: 'info', message: 'qcow2/clone: creating disk.0' }],
  ...over,
});

t.test('steps, grouped by run, oldest first, with what each did', async (t) => {
  const out = timeline([
    entry(1),
    entry(2, { action: 'ln', durationMs: 1234, logs: [] }),
    entry(3, { operation: 'stop', step: 0, action: 'mv', ok: false, exitCode: 1, message: 'ERROR: no space', logs: [{ level: 'error', message: 'mv failed' }] }),
    entry(4, { operation: 'stop', step: 0, action: 'mv' }),
  ]).text;
  const runs = [...out.matchAll(/<li class="run run-(\w+)"><h3>(\w+)<\/h3>/g)].map((m) => [m[2], m[1]]);
  t.same(runs, [['create', 'ok'], ['stop', 'failed'], ['stop', 'ok']], 'a run per operation, a retried step starts a new one; a run with a failure marked');
  t.ok(out.indexOf('data-entry="1"') < out.indexOf('data-entry="2"') && out.indexOf('data-entry="2"') < out.indexOf('data-entry="4"'), 'oldest first, as given');
  t.match(out, '<time datetime="2026-05-01T10:00:01.000Z">2026-05-01 10:00:01.000 UTC</time>');
  t.match(out, '<code class="action">tm qcow2/clone</code>');
  t.match(out, '<span class="duration">64.9 ms</span>');
  t.match(out, '<span class="duration">1.2 s</span>');
  t.match(out, '<span class="exit">exit 1</span> <strong class="bad">failed</strong>');
  t.match(out, /<li class="step step-failed" data-entry="3">/);
  t.match(out, '<p class="message">ERROR: no space</p>');
  t.match(out, /<details><summary>1 log line, arguments<\/summary>/);
  t.match(out, '<li class="log-error"><span class="level">error</span> mv failed</li>');
  t.match(out, '<code>host01:/ds/0/7/disk.0</code>');
  t.match(out, '<span class="muted">step 2</span>', 'step numbers from 1');
  t.match(timeline([]).text, 'Nothing in the journal.');
  t.match(timeline([entry(1, { kind: 'capacity', driver: '', action: 'override', step: null })]).text, '<code class="action">capacity override</code>', 'an entry of no driver');
});

t.test('every journal value is text', async (t) => {
  const out = timeline([entry(1, { operation: HOSTILE, driver: HOSTILE, action: HOSTILE, message: HOSTILE, args: [HOSTILE], at: HOSTILE, logs: [{ level: HOSTILE, message: HOSTILE }] })]).text;
  t.notMatch(out, /<img|<script/, 'no element made of a value');
  t.ok(out.split('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;').length - 1 >= 7, 'each value shown escaped, whole');
  t.match(out, 'class="log-other"', 'an unknown log level gets no class of its own');
});

t.test('shownTime and shownDuration', async (t) => {
  t.equal(shownTime('2026-05-01T10:00:00.123Z'), '2026-05-01 10:00:00.123 UTC');
  t.equal(shownTime('yesterday'), 'yesterday');
  t.equal(shownDuration(null), '-');
  t.equal(shownDuration(0.04), '0 ms');
  t.equal(shownDuration(2500), '2.5 s');
});

t.test("a subject's newest entries from a real catalog, and a link to the older ones", async (t) => {
  const catalog = Catalog.open(join(tmpDir(t), 'catalog.db'));
  t.teardown(() => catalog.close());
  const record = (subject: string, action: string): void => {
    const made: NewJournalEntry = { subject, operation: 'create', step: null, kind: 'tm', driver: 'shared', action, args: [], ok: true, exitCode: 0, durationMs: 1, message: null, logs: [] };
    catalog.record(made);
  };
  for (let i = 0; i < 5; i++) record('vm:1', `a${i}`);
  record('vm:2', 'other');
  const all = subjectTimeline(catalog, 'vm:1').text;
  t.same([...all.matchAll(/tm shared\/(\w+)/g)].map((m) => m[1]), ['a0', 'a1', 'a2', 'a3', 'a4'], "the subject's only, oldest first");
  t.notMatch(all, 'older ones');
  const last3 = subjectTimeline(catalog, 'vm:1', 3).text;
  t.same([...last3.matchAll(/tm shared\/(\w+)/g)].map((m) => m[1]), ['a2', 'a3', 'a4'], 'the newest 3, oldest first');
  const older = /<a href="([^"]+)">older ones<\/a>/.exec(last3)?.[1];
  t.equal(older, '/api/v1/journal?subject=vm%3A1&amp;before=3&amp;limit=1000', 'the older ones, by the API, before the first shown');
  t.match(subjectTimeline(catalog, 'vm:9').text, 'Nothing in the journal.');
});
