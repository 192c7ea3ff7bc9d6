/** Fresh PostgreSQL databases on a test's server (test/helpers/postgres.ts), each with its own executor, migrated or not. */
import type { Test } from 'tap';
import { PostgresExecutor } from '../../src/catalog/db/postgres-executor.js';
import { migratePostgres } from '../../src/catalog/db/postgres-schema.js';
import type { TestPostgres } from './postgres.js';

/** An executor on the database at `url` of `server`, logged in with the test role's password. */
export function openExecutor(server: TestPostgres, url: string): PostgresExecutor {
  // Fields, not a connectionString: pg lets a URL's (absent) password override the one given beside it.
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  return PostgresExecutor.open({ host: server.host, port: server.port, user: server.user, database, password: server.password });
}

/** An executor on a new database, migrated unless `migrate` is false; closed on teardown. */
export async function pgExecutor(t: Test, server: TestPostgres, migrate = true): Promise<PostgresExecutor> {
  const executor = openExecutor(server, await server.createDatabase());
  t.teardown(() => executor.close());
  if (migrate) migratePostgres(executor);
  return executor;
}
