/** What the row modules share: column values to record fields, the time, and the checks every write makes. */
import { FerryError } from '../errors.js';
import type { Connection } from './connection.js';
import { arg, prepared } from './db/prepared.js';

export type Row = Record<string, unknown>;

/**
 * Takes the next id of `table`: past every id it ever gave, so a deleted record's id is never reused (schema 4).
 * The increment itself takes the id: two processes inserting at once on PostgreSQL (READ COMMITTED) get two ids,
 * the second waiting on the first's row lock, where reading `last + 1` in the insert would give both the same.
 * Call it inside the transaction that inserts the record: rolled back with it, the id is given again.
 */
export function allocateId(c: Connection, table: 'datastores' | 'images' | 'vms' | 'alerts'): number {
  const row = takeId.get(c.ex, table);
  if (row === undefined) throw new FerryError('E_CATALOG', `the catalog has no id sequence for ${table}`, { hint: 'the catalog is damaged or was changed by hand: restore a backup' });
  return Number(row.last);
}
const takeId = prepared((db) => db.updateTable('id_sequences').set((eb) => ({ last: eb('last', '+', 1) })).where('name', '=', arg<string>(0)).returning('last'));

export const now = (): string => new Date().toISOString();
export const json = <T>(text: unknown, fallback: T): T => (typeof text === 'string' ? (JSON.parse(text) as T) : fallback);
export const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
export const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** A name made of digits would be taken for an id: refuse it where names are made. */
export function checkName(name: string, what: string): void {
  // A name is shown in tables and messages: a newline or an escape sequence in it would break or forge them.
  if (name.trim() === '' || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new FerryError('E_USAGE', `${what} name ${JSON.stringify(name)} is empty or holds a control character (newline, tab, escape …)`, { hint: 'use printable characters only' });
  }
  if (/^\d+$/.test(name)) throw new FerryError('E_USAGE', `${what} name ${JSON.stringify(name)} is only digits, which ferry reads as an id`, { hint: 'use a name with a letter in it' });
}

/** PostgreSQL's SQLSTATEs of integrity constraint violations (class 23), by the words SQLite's codes use. */
const PG_CONSTRAINTS: Record<string, string> = { '23505': 'unique', '23503': 'foreignkey', '23502': 'notnull', '23514': 'check', '23P01': 'exclusion', '23000': 'constraint', '23001': 'restrict' };

/** The kind of constraint `error` broke (unique, foreignkey …), on either store; undefined for any other error. */
export function constraintBroken(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_CONSTRAINT')) return code.replace('SQLITE_CONSTRAINT_', '').toLowerCase().replace(/_/g, ' ');
  return PG_CONSTRAINTS[code];
}

/** Runs a write; a constraint the store enforces (unique name, known datastore …) becomes E_CONFLICT, not a raw store error. */
export function guarded<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    const broken = constraintBroken(error);
    if (broken !== undefined) {
      throw new FerryError('E_CONFLICT', `${what}: the catalog refuses it (${broken}: ${(error as Error).message})`, {
        hint: 'another record has this name or id, or one it refers to is missing: list them first',
        cause: error,
      });
    }
    throw error;
  }
}
