/**
 * The queue's schema: graphile-worker's own tables and functions, in the `graphile_worker` schema of the catalog's
 * PostgreSQL database, installed and upgraded by graphile-worker's own migrations (runMigrations). Idempotent: a
 * database already at graphile-worker's newest migration is left alone. Two ferry processes installing at once take
 * turns on a session advisory lock (graphile-worker copes with a clash by itself too, by retrying; the lock makes it
 * one path, not a race that happens to be handled).
 *
 * The connection is built from the password-free location (catalog/pg/connect.ts's clientConfig) and the password
 * given beside it: never a URL with a password, so nothing this module logs or throws can carry it.
 */
import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { clientConfig } from '../catalog/pg/connect.js';
import type { PostgresLocation } from '../catalog/location.js';
import type { Logger } from '../log/logger.js';
import { workerLogger } from './logger.js';

/** The schema graphile-worker lives in (its default; ferry's catalog tables stay in `public`). */
export const QUEUE_SCHEMA = 'graphile_worker';

/** An advisory lock key of ferry's own: "ferryQ" in ASCII, so no other user of the database picks it by chance. */
const INSTALL_LOCK = 0x6665_7272_7951n;

/** A pg pool on the catalog's database for the queue: at most `max` connections, named in pg_stat_activity. */
export function queuePool(location: PostgresLocation, password: string | undefined, max: number, applicationName = 'ferry-queue'): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(location, password), application_name: applicationName, max });
  // An idle client's socket error (the server restarted) must not become an unhandled 'error' event: the next
  // query on the pool fails, and that is where it is seen.
  pool.on('error', () => {});
  // Likewise for a client checked out when its socket fails; graphile-worker asks for both handlers (and says so
  // on stderr when one is missing).
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Installs or upgrades the queue's schema on `pool`'s database. Safe to call on every start of every process.
 */
export async function installQueue(pool: pg.Pool, logger: Logger): Promise<void> {
  const holder = await pool.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1)', [INSTALL_LOCK.toString()]);
    try {
      // runMigrations takes its own client from the pool: the pool needs two (graphile-worker asks for at least 2).
      await runMigrations({ pgPool: pool, logger: workerLogger(logger.child({ component: 'queue' })) });
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [INSTALL_LOCK.toString()]);
    }
  } finally {
    holder.release();
  }
}

/** graphile-worker's newest migration applied on `pool`'s database, or undefined before installQueue. */
export async function queueSchemaVersion(pool: pg.Pool): Promise<number | undefined> {
  const table = await pool.query<{ t: string | null }>(`SELECT to_regclass('${QUEUE_SCHEMA}.migrations')::text AS t`);
  if (table.rows[0]?.t == null) return undefined;
  const { rows } = await pool.query<{ id: number | null }>(`SELECT max(id) AS id FROM ${QUEUE_SCHEMA}.migrations`);
  return rows[0]?.id ?? undefined;
}
