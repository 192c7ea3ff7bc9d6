/** The catalog's identity (schema 8's meta table): a uuid made once, kept across opens, made when an older catalog migrates. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { tmpDir } from '../helpers/fixtures.js';
import { fresh } from './seed.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('a catalog has one identity, kept across opens; each catalog its own', async (t) => {
  const { catalog: first, path } = fresh(t);
  const id = first.identity();
  t.match(id, UUID);
  first.close();
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  t.equal(again.identity(), id, 'made once');
  const { catalog: other } = fresh(t);
  t.not(other.identity(), id);
});

t.test('a catalog at schema 6 gets an identity when migrated', async (t) => {
  const path = join(tmpDir(t), 'old.db');
  Catalog.open(path).close();
  const raw = new Database(path);
  raw.exec('DROP TABLE meta');
  raw.pragma('user_version = 6');
  raw.close();
  const migrated = Catalog.open(path);
  t.teardown(() => migrated.close());
  t.equal(migrated.version, MIGRATIONS.length);
  t.match(migrated.identity(), UUID);
});
