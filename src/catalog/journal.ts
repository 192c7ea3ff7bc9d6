/** The journal: every driver action run for a subject (vm:7, image:3, datastore:1), success or failure. */
import type { JournalEntry, NewJournalEntry } from '../model.js';
import type { Connection } from './connection.js';
import { json, now, num, str, type Row } from './values.js';

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

export function journal(c: Connection, subject?: string): JournalEntry[] {
  const rows = (subject === undefined ? c.sql('SELECT * FROM journal ORDER BY id').all() : c.sql('SELECT * FROM journal WHERE subject = ? ORDER BY id').all(subject)) as Row[];
  return rows.map((row) => ({
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
  }));
}
