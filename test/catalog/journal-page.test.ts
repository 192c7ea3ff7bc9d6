/** Pages of the journal: tailing after an id (oldest first), the newest first, by subject, capped. */
import Database from 'better-sqlite3';
import t from 'tap';
import { JOURNAL_PAGE_MAX } from '../../src/catalog/journal.js';
import { fresh, postgresOnly, rawStore, sqliteOnly } from './seed.js';

const base = { operation: 'create', step: null, kind: 'tm', driver: 'shared', action: 'clone', args: [], ok: true, exitCode: 0, durationMs: 5, message: null, logs: [] };

t.test('journalPage', async (t) => {
  const { catalog } = fresh(t);
  t.same(catalog.journalPage({ limit: 10 }), [], 'an empty journal has an empty page');
  for (let i = 0; i < 10; i++) catalog.record({ ...base, subject: i % 2 === 0 ? 'vm:1' : 'image:2', action: `a${i}` });
  const all = catalog.journal();
  const ids = all.map((e) => e.id);

  t.same(catalog.journalPage({ limit: 3 }).map((e) => e.id), ids.slice(-3).reverse(), 'without a cursor: the newest first');
  t.same(catalog.journalPage({ limit: 1 })[0], all.at(-1), 'the newest entry, whole');
  t.same(catalog.journalPage({ afterId: 0, limit: 4 }).map((e) => e.id), ids.slice(0, 4), 'after 0: the oldest first');
  t.same(catalog.journalPage({ afterId: ids[3]!, limit: 100 }).map((e) => e.id), ids.slice(4), 'after an id: the rest, ascending');
  t.same(catalog.journalPage({ afterId: ids.at(-1)!, limit: 100 }), [], 'after the newest: nothing');
  t.same(catalog.journalPage({ beforeId: ids[5]!, limit: 2 }).map((e) => e.id), [ids[4], ids[3]], 'before an id: newest first');
  t.same(catalog.journalPage({ afterId: ids[1]!, beforeId: ids[5]!, limit: 10 }).map((e) => e.id), ids.slice(2, 5), 'between two ids, ascending');
  t.same(catalog.journalPage({ subject: 'vm:1', limit: 10 }).map((e) => e.action), ['a8', 'a6', 'a4', 'a2', 'a0'], 'one subject, newest first');
  t.same(catalog.journalPage({ subject: 'image:2', afterId: ids[4]!, limit: 10 }).map((e) => e.action), ['a5', 'a7', 'a9'], 'one subject, after an id');
  t.same(catalog.journalPage({ subject: 'nobody', limit: 10 }), []);

  // Paging through the whole journal, newest first, with the last id of each page.
  const seen: number[] = [];
  let before: number | undefined;
  for (;;) {
    const page = catalog.journalPage({ limit: 3, ...(before === undefined ? {} : { beforeId: before }) });
    if (page.length === 0) break;
    seen.push(...page.map((e) => e.id));
    before = page.at(-1)!.id;
  }
  t.same(seen, [...ids].reverse(), 'pages cover the journal once, newest first');
});

t.test('journalPage caps the limit and refuses bad queries', async (t) => {
  const { catalog } = fresh(t);
  catalog.transaction((tx) => {
    for (let i = 0; i < JOURNAL_PAGE_MAX + 5; i++) tx.record({ ...base, subject: 'vm:1' });
  });
  t.equal(catalog.journalPage({ limit: 5000 }).length, JOURNAL_PAGE_MAX, 'at most 1000 a page');
  t.equal(catalog.journalPage({ afterId: 0, limit: 5000 }).length, JOURNAL_PAGE_MAX);
  for (const limit of [0, -1, 1.5, Number.NaN]) t.throws(() => catalog.journalPage({ limit }), { code: 'E_USAGE', message: /limit/ }, `limit ${limit}`);
  t.throws(() => catalog.journalPage({ limit: 1, afterId: -1 }), { code: 'E_USAGE', message: /afterId/ });
  t.throws(() => catalog.journalPage({ limit: 1, beforeId: 0.5 }), { code: 'E_USAGE', message: /beforeId/ });
});

t.test('a page is read through an index', sqliteOnly('EXPLAIN QUERY PLAN'), async (t) => {
  const { path } = fresh(t);
  // The plans SQLite picks for journalPage's shapes of query: a range of the primary key or of journal_subject, never a scan with a sort.
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const plan = (sql: string, ...params: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('; ');
  const q1 = plan('SELECT * FROM journal WHERE id > ? ORDER BY id ASC LIMIT ?', 1, 10);
  t.match(q1, /USING INTEGER PRIMARY KEY/);
  t.notMatch(q1, /TEMP B-TREE/);
  const q2 = plan('SELECT * FROM journal WHERE subject = ? AND id < ? ORDER BY id DESC LIMIT ?', 'vm:1', 5, 10);
  t.match(q2, /journal_subject/);
  t.notMatch(q2, /TEMP B-TREE/);
  const q3 = plan('SELECT * FROM journal ORDER BY id DESC LIMIT ?', 10);
  t.notMatch(q3, /TEMP B-TREE/);
});

t.test('a page is read through an index on PostgreSQL', postgresOnly('EXPLAIN on PostgreSQL'), async (t) => {
  const { path } = fresh(t);
  const db = rawStore(t, path);
  // A journal big enough that a scan with a sort would cost more than the index: the planner's own choice, not forced.
  db.exec(`INSERT INTO journal (at, subject, operation, kind, driver, action, args, ok)
             SELECT '2026-01-01T00:00:00.000Z', 'vm:' || (n % 200), 'create', 'tm', 'shared', 'clone', '[]', 1 FROM generate_series(1, 20000) AS n;
           ANALYZE journal`);
  const plan = (sql: string) => db.prepare(`EXPLAIN ${sql}`).all().map((row) => String(row['QUERY PLAN'])).join('\n');
  const q1 = plan('SELECT * FROM journal WHERE id > 100 ORDER BY id ASC LIMIT 10');
  t.match(q1, /Index Scan using journal_pkey/);
  t.notMatch(q1, /Sort|Seq Scan/);
  const q2 = plan("SELECT * FROM journal WHERE subject = 'vm:1' AND id < 5000 ORDER BY id DESC LIMIT 10");
  t.match(q2, /Index Scan Backward using journal_subject/);
  t.notMatch(q2, /Sort|Seq Scan/);
  const q3 = plan('SELECT * FROM journal ORDER BY id DESC LIMIT 10');
  t.match(q3, /Index Scan Backward using journal_pkey/);
  t.notMatch(q3, /Sort|Seq Scan/);
});
