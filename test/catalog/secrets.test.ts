/** Datastore secrets sealed at rest under a key kept outside the catalog file. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { secretEnv } from '../../src/dump/from-catalog.js';
import { world } from '../helpers/catalog-world.js';
import { thrown, tmpDir } from '../helpers/fixtures.js';
import { pgBindir } from '../helpers/postgres.js';
import { copyDatabase, storeServer } from '../helpers/test-store.js';
import { fresh, keyFileOfFresh, postgresOnly, rawStore, sqliteOnly } from './seed.js';

const SECRET = 'hunter2-PLAIN-canary';

/** Every byte ferry keeps for the catalog: the file and its WAL (checkpointed or not). */
function catalogBytes(path: string): string {
  return [path, `${path}-wal`].filter(existsSync).map((file) => readFileSync(file).toString('latin1')).join('');
}

/** Every row of the PostgreSQL database at `url`, as pg_dump writes its data (the password from $PGPASSWORD). */
function databaseDump(url: string): string {
  const { pg } = storeServer as NonNullable<typeof storeServer>;
  return execFileSync(join(pgBindir(), 'pg_dump'), ['--data-only', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, new URL(url).pathname.slice(1)], { encoding: 'utf8' });
}

/** A catalog at schema 6 (before sealing) with a datastore holding a plain secret. */
function oldCatalog(path: string, secrets: Record<string, string>, dsMad = 'fs'): void {
  const old = new Database(path);
  for (const migration of MIGRATIONS.slice(0, 6)) old.exec(migration as string);
  old.pragma('user_version = 6');
  old.prepare("INSERT INTO datastores (id, name, type, ds_mad, tm_mad, base_path, secrets, created_at) VALUES (1, 'vault', 'IMAGE', ?, 'dummy', ?, ?, '2026-11-22T00:00:00.000Z')")
    .run(dsMad, join(path, '..', 'ds'), JSON.stringify(secrets));
  old.close();
}

t.test('a secret is sealed in the catalog file; the key is a 0600 file beside it, made on first use', sqliteOnly('it reads the file and its WAL'), async (t) => {
  const { catalog, path } = fresh(t);
  t.notOk(existsSync(`${path}.key`), 'no key before any secret');
  catalog.addDatastore({ name: 'ceph', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', secrets: { CEPH_KEY: SECRET } });
  t.ok(existsSync(`${path}.key`), 'the key file is made');
  t.equal(statSync(`${path}.key`).mode & 0o777, 0o600, 'key file mode 0600');
  t.equal(readFileSync(`${path}.key`).length, 32, '32 bytes');
  t.same(catalog.datastore('ceph').secrets, { CEPH_KEY: SECRET }, 'read back through the key');
  catalog.updateDatastore(catalog.datastore('ceph').id, { secrets: { CEPH_KEY: SECRET, OTHER: SECRET } });
  t.notOk(catalogBytes(path).includes(SECRET), 'the value is nowhere in the catalog file or its WAL');
  const raw = new Database(path, { readonly: true });
  const stored = JSON.parse((raw.prepare('SELECT secrets FROM datastores').get() as { secrets: string }).secrets) as Record<string, string>;
  raw.close();
  t.same(Object.keys(stored), ['CEPH_KEY', 'OTHER'], 'names stay readable');
  t.not(stored.CEPH_KEY, stored.OTHER, 'the same value sealed twice differs: each value its own IV');

  const plain = new Database(path);
  plain.prepare('UPDATE datastores SET secrets = ?').run(JSON.stringify({ CEPH_KEY: SECRET }));
  plain.close();
  const error = thrown(() => catalog.datastore('ceph'));
  t.equal(error.code, 'E_CATALOG', 'a plain value written by hand is refused');
  t.match(error.message, /ceph's secret CEPH_KEY/);
  t.notMatch(error.message, SECRET);
});

t.test('a copy of the catalog without its key cannot read a secret; with the key it can', sqliteOnly('it copies the file'), async (t) => {
  const { catalog, path } = fresh(t);
  catalog.addDatastore({ name: 'ceph', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', secrets: { CEPH_KEY: SECRET } });
  catalog.close();
  const elsewhere = join(tmpDir(t), 'copy.db');
  copyFileSync(path, elsewhere);

  const copy = Catalog.open(elsewhere);
  t.teardown(() => copy.close());
  let error = thrown(() => copy.datastore('ceph'));
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, `${elsewhere}.key`, 'names the key file');
  t.match(error.message, /missing/);
  t.notMatch(`${error.message} ${error.hint}`, SECRET, 'never the value');

  writeFileSync(`${elsewhere}.key`, Buffer.alloc(32, 7), { mode: 0o600 });
  const wrong = Catalog.open(elsewhere);
  t.teardown(() => wrong.close());
  error = thrown(() => wrong.datastore('ceph'));
  t.equal(error.code, 'E_CATALOG', 'a wrong key');
  t.match(error.message, `${elsewhere}.key`);
  t.match(error.message, /not the key/);

  const backup = join(tmpDir(t), 'backup.key');
  copyFileSync(`${path}.key`, backup);
  chmodSync(backup, 0o600);
  const saved = process.env.FERRY_SECRET_KEY_FILE;
  process.env.FERRY_SECRET_KEY_FILE = backup;
  t.teardown(() => (saved === undefined ? delete process.env.FERRY_SECRET_KEY_FILE : (process.env.FERRY_SECRET_KEY_FILE = saved)));
  const keyed = Catalog.open(elsewhere);
  t.teardown(() => keyed.close());
  t.same(keyed.datastore('ceph').secrets, { CEPH_KEY: SECRET }, '$FERRY_SECRET_KEY_FILE names the key, and it reads');
});

t.test('a secret is sealed in the PostgreSQL catalog; the key is a 0600 catalog-<id>.key in ferry\'s home, made on first use', postgresOnly('the counterpart of the two SQLite tests above'), async (t) => {
  const { catalog, path } = fresh(t);
  const keyFile = keyFileOfFresh(catalog, path);
  t.equal(keyFile, join(process.env.FERRY_HOME as string, `catalog-${catalog.identity()}.key`), 'named by the catalog\'s id, in $FERRY_HOME');
  t.notOk(existsSync(keyFile), 'no key before any secret');
  catalog.addDatastore({ name: 'ceph', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', secrets: { CEPH_KEY: SECRET } });
  t.ok(existsSync(keyFile), 'the key file is made');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'key file mode 0600');
  t.equal(readFileSync(keyFile).length, 32, '32 bytes');
  t.same(catalog.datastore('ceph').secrets, { CEPH_KEY: SECRET }, 'read back through the key');
  catalog.updateDatastore(catalog.datastore('ceph').id, { secrets: { CEPH_KEY: SECRET, OTHER: SECRET } });
  t.notOk(databaseDump(path).includes(SECRET), 'the value is nowhere in the database (pg_dump of its data)');
  const raw = rawStore(t, path);
  const stored = JSON.parse(String(raw.prepare('SELECT secrets FROM datastores').get()?.secrets)) as Record<string, string>;
  t.same(Object.keys(stored), ['CEPH_KEY', 'OTHER'], 'names stay readable');
  t.match(stored.CEPH_KEY, /^ferry-aes256gcm:/, 'the column holds the sealed value');
  t.not(stored.CEPH_KEY, stored.OTHER, 'the same value sealed twice differs: each value its own IV');

  raw.prepare('UPDATE datastores SET secrets = ?').run(JSON.stringify({ CEPH_KEY: SECRET }));
  const error = thrown(() => catalog.datastore('ceph'));
  t.equal(error.code, 'E_CATALOG', 'a plain value written by hand is refused');
  t.match(error.message, /ceph's secret CEPH_KEY/);
  t.notMatch(error.message, SECRET);

  // A copy of the database, opened where the key is not (another machine's ferry home), cannot read the secret.
  raw.prepare('UPDATE datastores SET secrets = ?').run(JSON.stringify(stored));
  raw.close();
  catalog.close();
  const copyUrl = copyDatabase(t, path);
  const elsewhere = tmpDir(t);
  const env = { ...process.env, FERRY_HOME: elsewhere };
  const copy = Catalog.open(copyUrl, undefined, env);
  t.teardown(() => copy.close());
  const copiedKey = join(elsewhere, `catalog-${copy.identity()}.key`);
  let refused = thrown(() => copy.datastore('ceph'));
  t.equal(refused.code, 'E_CATALOG');
  t.match(refused.message, copiedKey, 'names the key file where it looked');
  t.match(refused.message, /missing/);
  t.notMatch(`${refused.message} ${refused.hint}`, SECRET, 'never the value');

  writeFileSync(copiedKey, Buffer.alloc(32, 7), { mode: 0o600 });
  const wrong = Catalog.open(copyUrl, undefined, env);
  t.teardown(() => wrong.close());
  refused = thrown(() => wrong.datastore('ceph'));
  t.equal(refused.code, 'E_CATALOG', 'a wrong key');
  t.match(refused.message, /not the key/);

  const keyed = Catalog.open(copyUrl, undefined, { ...env, FERRY_SECRET_KEY_FILE: keyFile });
  t.teardown(() => keyed.close());
  t.same(keyed.datastore('ceph').secrets, { CEPH_KEY: SECRET, OTHER: SECRET }, '$FERRY_SECRET_KEY_FILE names the key, and it reads');
});

t.test('a key file open to group or others is refused, naming chmod 600', async (t) => {
  const { catalog, path } = fresh(t);
  catalog.addDatastore({ name: 'ceph', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', secrets: { CEPH_KEY: SECRET } });
  const keyFile = keyFileOfFresh(catalog, path);
  catalog.close();
  chmodSync(keyFile, 0o644);
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  const error = thrown(() => again.datastore('ceph'));
  t.equal(error.code, 'E_CATALOG');
  t.match(error.message, keyFile);
  t.match(error.message, /0644/);
  t.match(error.hint, `chmod 600 ${keyFile}`);

  const saved = process.env.FERRY_SECRET_KEY_FILE;
  process.env.FERRY_SECRET_KEY_FILE = tmpDir(t);
  t.teardown(() => (saved === undefined ? delete process.env.FERRY_SECRET_KEY_FILE : (process.env.FERRY_SECRET_KEY_FILE = saved)));
  const folder = Catalog.open(path);
  t.teardown(() => folder.close());
  const unreadable = thrown(() => folder.datastore('ceph'));
  t.equal(unreadable.code, 'E_CATALOG', 'a key file that cannot be read is E_CATALOG');
  t.match(unreadable.message, process.env.FERRY_SECRET_KEY_FILE);
  t.equal(thrown(() => folder.addDatastore({ name: 'more', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/2', secrets: { K: SECRET } })).code, 'E_CATALOG', 'nor sealed with');
});

t.test('migration 7 seals the plain secrets of an older catalog, and the driver still gets them', async (t) => {
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  oldCatalog(path, { CEPH_KEY: SECRET });
  t.ok(catalogBytes(path).includes(SECRET), 'plain before');
  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, MIGRATIONS.length);
  t.equal(typeof MIGRATIONS[6], 'function', 'sealing is step 7');
  t.same(catalog.datastore('vault').secrets, { CEPH_KEY: SECRET });
  t.same(secretEnv(catalog.datastore('vault')), { FERRY_DS_SECRET_CEPH_KEY: SECRET });
  const raw = new Database(path);
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.exec('VACUUM');
  raw.close();
  t.notOk(catalogBytes(path).includes(SECRET), 'no longer in the file');
});

t.test('a migrated secret reaches a real driver as FERRY_DS_SECRET_<NAME>', async (t) => {
  const w = world(t);
  const probe = join(w.remotes, 'datastore', 'probe');
  mkdirSync(probe);
  const seen = join(w.markers, 'seen');
  writeFileSync(join(probe, 'monitor'), `#!/bin/sh\n# Records the secret it was given, then answers as dummy does.\nset -eu\nprintf '%s' "$FERRY_DS_SECRET_TOKEN" > '${seen}'\nprintf 'USED_MB=1\\nTOTAL_MB=2\\nFREE_MB=1\\n'\n`);
  chmodSync(join(probe, 'monitor'), 0o755);
  mkdirSync(w.home, { recursive: true });
  oldCatalog(join(w.home, 'catalog.db'), { TOKEN: SECRET }, 'probe');
  // The migration is SQLite's (a PostgreSQL catalog starts at the current schema): the file, on either test store.
  const monitored = await w.cli(['--catalog', join(w.home, 'catalog.db'), '--json', 'datastore', 'monitor', 'vault']);
  t.equal(monitored.status, 0, monitored.stderr);
  t.equal(readFileSync(seen, 'utf8'), SECRET, 'the driver got the value');
  t.notMatch(monitored.stdout + monitored.stderr, SECRET, 'ferry never prints it');
});
