/** Connects to the PostgreSQL catalog at argv[2], says "ready", and migrates it once the file argv[3] exists. */
import { existsSync } from 'node:fs';
import { PostgresExecutor } from '../../../src/catalog/db/postgres-executor.js';
import { migratePostgres } from '../../../src/catalog/db/postgres-schema.js';

const [url, go] = process.argv.slice(2);
// Without arguments it is tap running the folder (npx tap test/catalog/db/): nothing to do.
if (url !== undefined && go !== undefined) {
  const executor = PostgresExecutor.open(url);
  process.stdout.write('ready\n');
  while (!existsSync(go)) {
    // Busy until the parent says go: every process starts migrating within a few microseconds of the others.
  }
  process.stdout.write(`${migratePostgres(executor)}\n`);
  executor.close();
}
