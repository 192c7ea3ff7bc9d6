/** The catalog file: opening, migrating, transactions, and several processes sharing it. */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/schema.js';
import { thrown, tmpDir } from '../helpers/fixtures.js';
import { fresh, postgresOnly, sqliteOnly, waitExit } from './seed.js';

t.test('open creates the folder and a 0600 file, migrated to the last version', async (t) => {
  const path = join(tmpDir(t), 'a', 'b', 'catalog.db');
  const umask = process.umask(0o022);
  t.teardown(() => void process.umask(umask));
  const catalog = Catalog.open(path);
  t.ok(existsSync(path), 'file created');
  t.equal(statSync(path).mode & 0o777, 0o600, 'file mode 0600');
  t.equal(statSync(join(path, '..')).mode & 0o077, 0, 'new folder closed to group and others');
  t.equal(catalog.path, path);
  t.equal(catalog.version, MIGRATIONS.length, 'migrated to MIGRATIONS.length');
  t.ok(MIGRATIONS.length >= 1);
  catalog.addHost({ name: 'kept', transport: 'local' });
  t.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL file (it holds secrets too) is 0600');
  catalog.close();

  const again = Catalog.open(path);
  t.equal(again.version, MIGRATIONS.length);
  t.same(again.listHosts().map((host) => host.name), ['kept'], 'reopening keeps the data');
  again.close();
});

t.test('a catalog from a newer ferry is refused with E_CATALOG', async (t) => {
  const path = join(tmpDir(t), 'catalog.db');
  Catalog.open(path).close();
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  const error = thrown(() => Catalog.open(path));
  t.equal(error.code, 'E_CATALOG');
  const message = error.message.replace(path, '');
  t.match(message, /\b99\b/, 'names the catalog version');
  t.match(message.replace(/\b99\b/g, ''), new RegExp(`\\b${MIGRATIONS.length}\\b`), 'names the known version');
  t.type(error.hint, 'string');
  const check = new Database(path);
  t.equal(check.pragma('user_version', { simple: true }), 99, 'the file is left alone');
  check.close();

  const dir = tmpDir(t);
  t.equal(thrown(() => Catalog.open(dir)).code, 'E_CATALOG', 'an unopenable path is E_CATALOG');
});


t.test('transactions are atomic', async (t) => {
  const { catalog } = fresh(t);
  t.throws(() => catalog.transaction(() => {
    catalog.addDatastore({ name: 'ghost', type: 'IMAGE', tmMad: 'shared', basePath: '/g' });
    t.ok(catalog.findDatastore('ghost'), 'visible inside the transaction');
    throw new Error('boom');
  }),
    { message: 'boom' });
  t.same(catalog.listDatastores(), [], 'rolled back');
  t.equal(catalog.transaction(() => catalog.addHost({ name: 'h', transport: 'local' }).name), 'h', 'returns the value');
  t.ok(catalog.findHost('h'), 'committed');
});

t.test('several processes write the same catalog', sqliteOnly('its other writers are better-sqlite3 processes'), async (t) => {
  const { catalog, path } = fresh(t);
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(process.argv[1]);
    db.pragma('busy_timeout = 10000');
    const insert = db.prepare("INSERT INTO journal (at, subject, operation, kind, driver, action, args, ok) VALUES (?, ?, 'op', 'tm', 'd', 'a', '[]', 1)");
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50; i++) { insert.run(new Date().toISOString(), process.argv[2]); Atomics.wait(pause, 0, 0, 1); }
    db.close();`;
  const children = ['child:a', 'child:b'].map((subject) => {
    const child = spawn(process.execPath, ['-e', script, path, subject], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = { child, stderr: '' };
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  t.teardown(() => children.forEach(({ child }) => void (child.exitCode === null && child.kill('SIGKILL'))));
  for (let i = 0; i < 50; i++) {
    catalog.record({ subject: 'parent', operation: 'op', step: i, kind: 'tm', driver: 'd', action: 'a', args: [String(i)], ok: true, exitCode: 0, durationMs: null, message: null, logs: [] });
    await new Promise((done) => setTimeout(done, 2));
  }
  for (const out of children) {
    t.equal(await waitExit(out.child), 0, 'child exits 0');
    t.equal(out.stderr, '', 'no SQLITE_BUSY or other error');
  }
  t.equal(catalog.journal('parent').length, 50);
  t.equal(catalog.journal('child:a').length, 50);
  t.equal(catalog.journal('child:b').length, 50);
  t.same(catalog.journal('parent').map((e) => e.step), Array.from({ length: 50 }, (_, i) => i), 'parent rows in order');
  t.equal(new Set(catalog.journal().map((e) => e.id)).size, 150, 'ids are unique');
});

t.test('several processes write the same PostgreSQL catalog', postgresOnly('the counterpart of the SQLite test above'), async (t) => {
  // Each writer is a real Catalog in a process of its own (the built module), on the same database.
  const built = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/catalog/catalog.js');
  t.ok(existsSync(built), `${built} is missing: run npm run build (node scripts/build.mjs) before the tests`);
  const { catalog, path } = fresh(t);
  // An ES module: a CommonJS -e script has a __dirname ('.') that synckit takes for its own, and its worker never starts.
  const script = `const { Catalog } = await import(${JSON.stringify(built)});
    const c = Catalog.open(process.argv[1]);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50; i++) {
      c.record({ subject: process.argv[2], operation: 'op', step: i, kind: 'tm', driver: 'd', action: 'a', args: [], ok: true, exitCode: 0, durationMs: null, message: null, logs: [] });
      Atomics.wait(pause, 0, 0, 1);
    }
    c.close();`;
  // The password reaches them as ferry's own: $PGPASSWORD (test-store.ts sets it); not tap's loaders.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const children = ['child:a', 'child:b'].map((subject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, path, subject], { stdio: ['ignore', 'ignore', 'pipe'], env });
    const out = { child, stderr: '' };
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  t.teardown(() => children.forEach(({ child }) => void (child.exitCode === null && child.kill('SIGKILL'))));
  for (let i = 0; i < 50; i++) {
    catalog.record({ subject: 'parent', operation: 'op', step: i, kind: 'tm', driver: 'd', action: 'a', args: [String(i)], ok: true, exitCode: 0, durationMs: null, message: null, logs: [] });
    await new Promise((done) => setTimeout(done, 2));
  }
  for (const out of children) {
    t.equal(await waitExit(out.child), 0, 'child exits 0');
    t.equal(out.stderr, '', 'no error in a writer');
  }
  t.equal(catalog.journal('parent').length, 50);
  t.same(catalog.journal('child:a').map((e) => e.step), Array.from({ length: 50 }, (_, i) => i), 'each writer\'s rows, in order');
  t.equal(catalog.journal('child:b').length, 50);
  t.same(catalog.journal('parent').map((e) => e.step), Array.from({ length: 50 }, (_, i) => i), 'parent rows in order');
  t.equal(new Set(catalog.journal().map((e) => e.id)).size, 150, 'ids are unique');
});

t.test('two ferries opening an older catalog at once: one migrates, the other finds it done', async (t) => {
  // Real processes on the built catalog module: the race is between two connections' reads of the schema version.
  const built = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/catalog/catalog.js');
  t.ok(existsSync(built), `${built} is missing: run npm run build (node scripts/build.mjs) before the tests`);
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec(MIGRATIONS[0] as string);
  old.pragma('user_version = 1');
  // Hold the write lock, so both children read version 1 before either can migrate.
  old.prepare('BEGIN IMMEDIATE').run();
  const script = `import(${JSON.stringify(built)}).then(({ Catalog }) => { const c = Catalog.open(process.argv[1]); process.stdout.write(String(c.version)); c.close(); })`;
  const children = [0, 1].map(() => {
    const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close', not 'exit': the output is all read by then.
    const out = { closed: new Promise((done) => child.once('close', (status) => done(status))), stdout: '', stderr: '' };
    child.stdout?.on('data', (chunk) => (out.stdout += String(chunk)));
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  old.prepare('COMMIT').run();
  old.close();
  for (const out of children) {
    t.equal(await out.closed, 0, `opened: ${out.stderr}`);
    t.equal(out.stdout, String(MIGRATIONS.length), 'at the last version');
  }
});

t.test('migration 3: the journal keeps its rows and ids, drops AUTOINCREMENT, and new entries follow the last id', async (t) => {
  const path = join(tmpDir(t, 'ferry-catalog-'), 'catalog.db');
  const old = new Database(path);
  old.exec(MIGRATIONS[0] as string);
  old.exec(MIGRATIONS[1] as string);
  old.pragma('user_version = 2');
  const insert = old.prepare(
    "INSERT INTO journal (id, at, subject, operation, step, kind, driver, action, args, ok, exit_code, duration_ms, message, logs) VALUES (?, '2026-11-22T00:00:00.000Z', ?, 'stop', ?, 'tm', 'dummy', 'mv', '[\"a\",\"b\"]', 1, 0, 1.5, NULL, '[]')",
  );
  for (const [id, subject, step] of [[1, 'vm:1', 0], [2, 'vm:1', 1], [5, 'vm:2', 0]] as const) insert.run(id, subject, step);
  old.close();

  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  t.equal(catalog.version, MIGRATIONS.length);
  t.same(catalog.journal().map((entry) => [entry.id, entry.subject, entry.step, entry.args]), [[1, 'vm:1', 0, ['a', 'b']], [2, 'vm:1', 1, ['a', 'b']], [5, 'vm:2', 0, ['a', 'b']]], 'rows and ids kept');
  t.same(catalog.journal('vm:1').map((entry) => entry.id), [1, 2], 'by subject, through the index');
  catalog.record({ subject: 'vm:3', operation: 'create', step: 0, kind: 'tm', driver: 'dummy', action: 'clone', args: [], ok: true, exitCode: 0, durationMs: 1, message: null, logs: [] });
  t.equal(catalog.journal('vm:3')[0]?.id, 6, 'the next entry follows the last id');
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  const sql = (check.prepare("SELECT sql FROM sqlite_master WHERE name = 'journal'").get() as { sql: string }).sql;
  t.notMatch(sql, /AUTOINCREMENT/i, 'no AUTOINCREMENT');
  t.ok(check.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'journal_subject'").get(), 'the subject index is back');
});

t.test('preview runs a change and rolls it back, returning what it made; a refusal is thrown as it would be', async (t) => {
  const { catalog } = fresh(t);
  const host = catalog.preview((tx) => tx.addHost({ name: 'h', transport: 'local' }));
  t.equal(host.name, 'h', 'the record it would make');
  t.equal(catalog.findHost('h'), undefined, 'nothing kept');
  catalog.addHost({ name: 'h', transport: 'local' });
  t.equal(thrown(() => catalog.preview((tx) => tx.addHost({ name: 'h', transport: 'local' }))).code, 'E_CONFLICT', 'refused as a real change is');
});
