/** The journal: every driver action run for a subject (vm:7, image:3, datastore:1), success or failure. */
import { FerryError } from '../errors.js';
import type { JournalEntry, JournalQuery, NewJournalEntry } from '../model.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';
import { json, now, num, str, type Row } from './values.js';

/** The most entries one page returns: a reader pages on with the last id it got. */
export const JOURNAL_PAGE_MAX = 1000;

/** Run for every driver action: compiled once. The id is the store's (it only grows: journal.id in db/tables.ts). */
const insertEntry = prepared((db) =>
  db.insertInto('journal').values({
    at: arg<string>(0),
    subject: arg<string>(1),
    operation: arg<string>(2),
    step: arg<number | null>(3),
    kind: arg<string>(4),
    driver: arg<string>(5),
    action: arg<string>(6),
    args: arg<string>(7),
    ok: arg<0 | 1>(8),
    exit_code: arg<number | null>(9),
    duration_ms: arg<number | null>(10),
    message: arg<string | null>(11),
    logs: arg<string>(12),
  }),
);

/**
 * The advisory lock journal writers take on PostgreSQL (held to their transaction's end): an identity is given at
 * insert but seen at commit, so two writers could commit ids out of order, and a reader tailing the journal by
 * afterId (metrics, the dashboard's live steps, op wait) would skip the lower one for good. Taken in turn, ids are
 * committed in order. SQLite's one writer at a time gives this by itself.
 */
const JOURNAL_LOCK = 0x6665_7272_794an;
const takeJournalTurn = { sql: 'SELECT pg_advisory_xact_lock($1::bigint)', parameters: [JOURNAL_LOCK.toString()] };

export function record(c: Connection, entry: NewJournalEntry): void {
  if (c.dialect === 'postgres') {
    // Outside a transaction the lock would end with its own statement: the insert goes in one with it.
    if (!c.inTransaction) return c.transaction(() => record(c, entry));
    c.ex.get(takeJournalTurn);
  }
  insertEntry.run(
    c.ex,
    now(),
    entry.subject,
    entry.operation,
    entry.step,
    entry.kind,
    entry.driver,
    entry.action,
    JSON.stringify(entry.args),
    entry.ok ? 1 : 0,
    entry.exitCode,
    entry.durationMs,
    entry.message,
    JSON.stringify(entry.logs),
  );
}

function entryOf(row: Row): JournalEntry {
  return {
    id: Number(row.id),
    at: String(row.at),
    subject: String(row.subject),
    operation: String(row.operation),
    step: num(row.step),
    kind: String(row.kind),
    driver: String(row.driver),
    action: String(row.action),
    args: json(row.args, []),
    ok: Number(row.ok) === 1,
    exitCode: num(row.exit_code),
    durationMs: num(row.duration_ms),
    message: str(row.message),
    logs: json(row.logs, []),
  };
}

export function journal(c: Connection, subject?: string): JournalEntry[] {
  const entries = c.q.selectFrom('journal').selectAll().orderBy('id');
  return (c.all(subject === undefined ? entries : entries.where('subject', '=', subject)) as Row[]).map(entryOf);
}

function checkId(value: number | undefined, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new FerryError('E_USAGE', `the journal's ${what} ${String(value)} is not an entry id (an integer, 0 or more)`, { hint: 'page on with the id of the last entry you got' });
  }
}

/**
 * One page of the journal: with `afterId`, the entries after it oldest first (a reader tailing the journal); else
 * the newest first, before `beforeId` when given. At most `limit` (capped at JOURNAL_PAGE_MAX). Ids only grow, so
 * a page is a range of the primary key (or of journal_subject's (subject, id)): one seek, whatever the journal's size.
 */
export function journalPage(c: Connection, query: JournalQuery): JournalEntry[] {
  const { afterId, beforeId, subject } = query;
  checkId(afterId, 'afterId');
  checkId(beforeId, 'beforeId');
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
    throw new FerryError('E_USAGE', `the journal page's limit ${String(query.limit)} is not a positive integer`, { hint: `give 1 to ${JOURNAL_PAGE_MAX}` });
  }
  let page = c.q.selectFrom('journal').selectAll();
  if (subject !== undefined) page = page.where('subject', '=', subject);
  if (afterId !== undefined) page = page.where('id', '>', afterId);
  if (beforeId !== undefined) page = page.where('id', '<', beforeId);
  page = page.orderBy('id', afterId === undefined ? 'desc' : 'asc').limit(Math.min(query.limit, JOURNAL_PAGE_MAX));
  return (c.all(page) as Row[]).map(entryOf);
}
