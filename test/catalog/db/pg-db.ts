/** Fresh PostgreSQL databases on a test's server, each with its own executor, migrated or not. */
import type { Test } from 'tap';
import { PostgresExecutor } from '../../../src/catalog/db/postgres-executor.js';
import { migratePostgres } from '../../../src/catalog/db/postgres-schema.js';
import type { PgServer } from './pg-server.js';

let made = 0;

/** A new empty database on `server`; its URL. */
export function createDatabase(server: PgServer): string {
  const name = `ferry_${process.pid}_${++made}`;
  const admin = PostgresExecutor.open(server.url());
  try {
    admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    admin.close();
  }
  return server.url(name);
}

/** An executor on a new database, migrated unless `migrate` is false; closed on teardown. */
export function pgExecutor(t: Test, server: PgServer, migrate = true): PostgresExecutor {
  const executor = PostgresExecutor.open(createDatabase(server));
  t.teardown(() => executor.close());
  if (migrate) migratePostgres(executor);
  return executor;
}
