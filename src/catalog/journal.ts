/** The journal: every driver action run for a subject (vm:7, image:3, datastore:1), success or failure. */
import { FerryError } from '../errors.js';
import type { JournalEntry, JournalQuery, NewJournalEntry } from '../model.js';
import type { Connection } from './connection.js';
import { json, now, num, str, type Row } from './values.js';

/** The most entries one page returns: a reader pages on with the last id it got. */
export const JOURNAL_PAGE_MAX = 1000;

export function record(c: Connection, entry: NewJournalEntry): void {
  c.sql(
    `INSERT INTO journal (at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
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
  const rows = (subject === undefined ? c.sql('SELECT * FROM journal ORDER BY id').all() : c.sql('SELECT * FROM journal WHERE subject = ? ORDER BY id').all(subject)) as Row[];
  return rows.map(entryOf);
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
  const where: string[] = [];
  const params: unknown[] = [];
  if (subject !== undefined) {
    where.push('subject = ?');
    params.push(subject);
  }
  if (afterId !== undefined) {
    where.push('id > ?');
    params.push(afterId);
  }
  if (beforeId !== undefined) {
    where.push('id < ?');
    params.push(beforeId);
  }
  params.push(Math.min(query.limit, JOURNAL_PAGE_MAX));
  const order = afterId === undefined ? 'DESC' : 'ASC';
  const sql = `SELECT * FROM journal${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ?`;
  return (c.sql(sql).all(...params) as Row[]).map(entryOf);
}
