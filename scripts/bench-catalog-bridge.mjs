#!/usr/bin/env node
// The cost of one primary-key select through each way of running a catalog query: better-sqlite3 (the SQLite
// executor), the synchronous PostgreSQL executor (pg in a worker thread behind synckit), and pg called
// asynchronously, the floor the bridge adds to. Needs `node scripts/build.mjs` and a PostgreSQL to use:
//   PGPASSWORD=… node scripts/bench-catalog-bridge.mjs postgres://user@127.0.0.1:5432/db [queries]
// (the password from PGPASSWORD or ~/.pgpass, as libpq takes it: never on the command line, where ps shows it)
// It creates the catalog's tables there when missing (migratePostgres) and one datastore row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Catalog } from '../dist/catalog/catalog.js';
import { q } from '../dist/catalog/db/kysely.js';
import { PostgresExecutor } from '../dist/catalog/db/postgres-executor.js';
import { migratePostgres } from '../dist/catalog/db/postgres-schema.js';
import { SqliteExecutor } from '../dist/catalog/db/sqlite-executor.js';

const [url, count = '5000'] = process.argv.slice(2);
if (!url) {
  console.error('usage: PGPASSWORD=… node scripts/bench-catalog-bridge.mjs postgres://USER@HOST:PORT/DB [queries]');
  process.exit(2);
}
if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/i.test(url) || /[?&]password=/i.test(url)) {
  console.error('bench-catalog-bridge: give the URL without its password (the command line is visible to every user); put the password in PGPASSWORD or ~/.pgpass');
  process.exit(2);
}
const queries = Number(count);
const AT = new Date().toISOString();

function measure(name, fn) {
  for (let i = 0; i < Math.min(500, queries); i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < queries; i++) fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / queries;
  console.log(`${name.padEnd(44)} ${us.toFixed(1).padStart(7)} µs/query`);
  return us;
}

async function measureAsync(name, fn) {
  for (let i = 0; i < Math.min(500, queries); i++) await fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < queries; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / queries;
  console.log(`${name.padEnd(44)} ${us.toFixed(1).padStart(7)} µs/query`);
  return us;
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-bridge-'));
try {
  const path = join(dir, 'catalog.db');
  Catalog.open(path).addDatastore({ name: 'bench', type: 'IMAGE', tmMad: 'shared', basePath: '/b' });
  const lite = SqliteExecutor.open(path);
  const byIdLite = q('sqlite').selectFrom('datastores').selectAll().where('id', '=', 1).compile();
  measure('SQLite executor (better-sqlite3)', () => lite.get(byIdLite));
  lite.close();

  const sync = PostgresExecutor.open(url);
  migratePostgres(sync);
  const db = q('postgres');
  sync.run(db.insertInto('datastores').values({ id: 1, name: 'bench', type: 'IMAGE', tm_mad: 'shared', base_path: '/b', created_at: AT }).onConflict((oc) => oc.doNothing()).compile());
  const byId = db.selectFrom('datastores').selectAll().where('id', '=', 1).compile();
  measure('PostgreSQL sync executor (worker + synckit)', () => sync.get(byId));
  measure('PostgreSQL sync executor, SELECT 1', () => sync.get({ sql: 'SELECT 1 AS one', parameters: [] }));
  sync.close();

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await measureAsync('PostgreSQL async pg, unnamed statement', () => client.query(byId.sql, [...byId.parameters]));
  await measureAsync('PostgreSQL async pg, prepared by name', () => client.query({ name: 'by_id', text: byId.sql, values: [...byId.parameters] }));
  await client.end();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
