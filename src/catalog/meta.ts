/** The catalog's own settings (the meta table, schema version 8): its identity. */
import type { Connection } from './connection.js';

/** The catalog's uuid, made once when the catalog was created or migrated. */
export function catalogId(c: Connection): string {
  const row = c.sql(`SELECT value FROM meta WHERE key = 'catalog_id'`).get() as { value: string } | undefined;
  return row?.value ?? '';
}
