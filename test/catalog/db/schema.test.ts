/** The catalog's schema on PostgreSQL: migrated to SQLite's version, the same tables, columns and indexes, once. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { PostgresExecutor } from '../../../src/catalog/db/postgres-executor.js';
import { MIGRATION_LOCK, migratePostgres, POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION, postgresVersion } from '../../../src/catalog/db/postgres-schema.js';
import { TABLES } from '../../../src/catalog/db/tables.js';
import { MIGRATIONS } from '../../../src/catalog/schema.js';
import { thrown, tmpDir } from '../../helpers/fixtures.js';
import { fresh, waitExit } from '../seed.js';
import { openExecutor, pgExecutor } from '../../helpers/pg-executor.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';

let server: TestPostgres;
t.before(async () => {
  server = await startPostgres(t);
});

/** SQLite's catalog file at the current version, opened raw. */
function sqliteSchema(t: Test) {
  const { path } = fresh(t, 'sqlite');
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  return db;
}

t.test('the migrations bring a new database to SQLite’s schema version, and again leave it there', async (t) => {
  t.equal(POSTGRES_SCHEMA_VERSION, MIGRATIONS.length, 'the same version number on both stores');
  const pg = await pgExecutor(t, server, false);
  t.equal(postgresVersion(pg), 0, 'an empty database is at 0');
  t.equal(migratePostgres(pg), MIGRATIONS.length);
  t.equal(migratePostgres(pg), MIGRATIONS.length, 'a second run changes nothing');
  t.same(
    pg.all({ sql: 'SELECT version FROM schema_migrations ORDER BY version', parameters: [] }),
    POSTGRES_MIGRATIONS.map((migration) => ({ version: migration.version })),
    'each migration applied once',
  );
  const id = pg.get<{ value: string }>({ sql: `SELECT value FROM meta WHERE key = 'catalog_id'`, parameters: [] });
  t.match(id?.value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'the catalog has a uuid, as on SQLite');
  t.same(pg.all({ sql: 'SELECT name, last FROM id_sequences ORDER BY name', parameters: [] }), [
    { name: 'alerts', last: 0 },
    { name: 'datastores', last: 0 },
    { name: 'images', last: 0 },
    { name: 'vms', last: 0 },
  ]);
});

t.test('the same tables, columns (in order) and named indexes as SQLite’s catalog', async (t) => {
  const lite = sqliteSchema(t);
  const pg = await pgExecutor(t, server);
  const liteTables = (lite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string }>).map((row) => row.name);
  const pgTables = pg.all<{ name: string }>({ sql: `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name COLLATE "C"`, parameters: [] }).map((row) => row.name);
  t.same(pgTables, liteTables, 'the same tables');
  t.same([...TABLES].sort(), liteTables, 'tables.ts names every table');
  for (const table of TABLES) {
    const liteColumns = (lite.pragma(`table_info(${table})`) as Array<{ name: string; notnull: number; pk: number }>).map((column) => `${column.name}${column.notnull || column.pk ? ' not null' : ''}`);
    const pgColumns = pg
      .all<{ name: string; nullable: string }>({ sql: `SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, parameters: [table] })
      .map((column) => `${column.name}${column.nullable === 'NO' ? ' not null' : ''}`);
    t.same(pgColumns, liteColumns, `${table}: the same columns, nullability and order`);
  }
  const liteIndexes = (lite.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).all() as Array<{ name: string }>).map((row) => row.name);
  const pgIndexes = pg
    .all<{ name: string }>({ sql: `SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname !~ '_(pkey|key)$' ORDER BY indexname COLLATE "C"`, parameters: [] })
    .map((row) => row.name);
  t.same(pgIndexes, liteIndexes, 'the same named indexes');
  const unique = pg.all<{ name: string }>({ sql: `SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%' AND indexname !~ '_pkey$' ORDER BY 1`, parameters: [] }).map((row) => row.name);
  t.same(unique, ['alerts_firing', 'datastores_name_key', 'history_series_datastore_id_attribute_key', 'images_name_key', 'vms_live_name'], 'the same unique constraints');
});

t.test('a catalog from a newer ferry is refused with E_CATALOG and left alone', async (t) => {
  const pg = await pgExecutor(t, server);
  pg.run({ sql: 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', parameters: [99, new Date().toISOString()] });
  const error = thrown(() => migratePostgres(pg, 'postgres://127.0.0.1/x'));
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, /version 99.*postgres:\/\/127\.0\.0\.1\/x|postgres:\/\/127\.0\.0\.1\/x.*version 99/);
  t.equal(postgresVersion(pg), 99);
});

t.test('processes migrating one database at the same moment apply each migration once (advisory lock)', async (t) => {
  const url = await server.createDatabase();
  const go = join(tmpDir(t), 'go');
  const execArgv = process.execArgv.filter((arg) => !arg.includes('processinfo'));
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, [...execArgv, join(import.meta.dirname, 'migrate-child.ts'), url, go], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...server.env, NODE_OPTIONS: '' } }));
  const outputs = children.map((child) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return () => text;
  });
  // Go once all four are connected and waiting (or one has failed: its exit code tells).
  while (!outputs.every((out) => out().includes('ready')) && children.every((child) => child.exitCode === null)) await new Promise((done) => setTimeout(done, 20));
  writeFileSync(go, '');
  const codes = await Promise.all(children.map(waitExit));
  t.same(codes, [0, 0, 0, 0], `every process migrated: ${outputs.map((out) => out()).join(' | ')}`);
  t.same(outputs.map((out) => out().trim()), Array(4).fill(`ready\n${MIGRATIONS.length}`), 'each sees the last version');
  const pg = openExecutor(server, url);
  t.teardown(() => pg.close());
  t.same(pg.all({ sql: 'SELECT version FROM schema_migrations ORDER BY version', parameters: [] }), POSTGRES_MIGRATIONS.map((migration) => ({ version: migration.version })), 'each applied once');
  t.same(pg.all({ sql: 'SELECT count(*) AS n FROM pg_locks WHERE locktype = $1', parameters: ['advisory'] }), [{ n: 0 }], 'the lock went with its transactions');
  t.ok(MIGRATION_LOCK > 0);
});
