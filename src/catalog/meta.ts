/** The catalog's own settings (the meta table, schema version 8): its identity. */
import type { Connection } from './connection.js';

/** The catalog's uuid, made once when the catalog was created or migrated. */
export function catalogId(c: Connection): string {
  return c.get(c.q.selectFrom('meta').select('value').where('key', '=', 'catalog_id'))?.value ?? '';
}
