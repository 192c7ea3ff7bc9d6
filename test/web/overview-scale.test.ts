/**
 * The overview at scale, rendered from a real catalog (no server): the datastores' rows come in bodies of 50 (the
 * stylesheet lets the browser lay out only those near the screen), every row still there and in order; the last
 * failed actions are read a journal page at a time and are the same as filtering the journal's last 500 entries.
 */
import t from 'tap';
import type { NewJournalEntry } from '../../src/model.js';
import { overviewPage } from '../../src/web/overview.js';
import { fresh } from '../catalog/seed.js';

const entry = (i: number, ok: boolean): NewJournalEntry => ({
  subject: `image:${i}`,
  operation: 'image create',
  step: null,
  kind: 'datastore',
  driver: 'fs',
  action: 'cp',
  args: [String(i)],
  ok,
  exitCode: ok ? 0 : 1,
  durationMs: 5,
  message: ok ? null : `failure ${i}`,
  logs: [],
});

/** The failure messages in the page's "Last failed actions" table, in order. */
const failuresShown = (page: string): string[] => [...(/<table class="failures">[\s\S]*?<\/table>/.exec(page)?.[0] ?? '').matchAll(/failure (\d+)/g)].map((match) => `failure ${match[1]}`);

t.test('120 datastores: three bodies of at most 50 rows, every row in order', async (t) => {
  const { catalog } = fresh(t);
  catalog.transaction((tx) => {
    for (let i = 0; i < 120; i++) tx.addDatastore({ name: `ds-${i}`, type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: `/srv/ds/${i}` });
  });
  const page = overviewPage(catalog);
  const table = /<table class="datastores">[\s\S]*?<\/table>/.exec(page)?.[0] ?? '';
  const bodies = [...table.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map((match) => (match[1]?.match(/<tr data-datastore=/g) ?? []).length);
  t.same(bodies, [50, 50, 20], 'rows in bodies of 50');
  const ids = [...table.matchAll(/<tr data-datastore="(\d+)">/g)].map((match) => Number(match[1]));
  t.same(ids, catalog.listDatastores().map((ds) => ds.id), 'one row per datastore, in the catalog order');
});

t.test('no datastore: no table', async (t) => {
  const { catalog } = fresh(t);
  const page = overviewPage(catalog);
  t.match(page, 'No datastores in the catalog.');
  t.notMatch(page, '<tbody>');
});

t.test('the last failed actions: the newest 10 failures among the last 500 entries, across journal pages', async (t) => {
  const { catalog } = fresh(t);
  // 700 entries, failed: #50..#59 (outside the last 500), #250, #260 ... #340 (10 of them), #600, #650.
  const failed = new Set([...Array.from({ length: 10 }, (_, i) => 50 + i), ...Array.from({ length: 10 }, (_, i) => 250 + i * 10), 600, 650]);
  catalog.transaction((tx) => {
    for (let i = 1; i <= 700; i++) tx.record(entry(i, !failed.has(i)));
  });
  const expected = catalog
    .journalPage({ limit: 500 })
    .filter((e) => !e.ok)
    .slice(0, 10)
    .map((e) => e.message ?? '');
  t.same(expected, ['failure 650', 'failure 600', 'failure 340', 'failure 330', 'failure 320', 'failure 310', 'failure 300', 'failure 290', 'failure 280', 'failure 270'], 'the journal itself, filtered');
  t.same(failuresShown(overviewPage(catalog)), expected, 'the page shows the same ones, newest first');

  // Failures only further back than 500 entries: none shown.
  const { catalog: old } = fresh(t);
  old.transaction((tx) => {
    for (let i = 1; i <= 600; i++) tx.record(entry(i, i > 50));
  });
  t.same(failuresShown(overviewPage(old)), [], 'a failure 550 entries back is not among the last 500');
  t.match(overviewPage(old), 'No failed driver action in the journal');

  // A short journal: fewer entries than a page.
  const { catalog: short } = fresh(t);
  short.transaction((tx) => {
    for (let i = 1; i <= 30; i++) tx.record(entry(i, i % 7 !== 0));
  });
  t.same(failuresShown(overviewPage(short)), ['failure 28', 'failure 21', 'failure 14', 'failure 7']);
});
