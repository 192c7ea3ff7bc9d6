/** The catalog's PostgreSQL password, found as libpq finds it: $PGPASSWORD, else a 0600 pgpass file (issue 17). */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { findPassword, pgpassFile } from '../../src/catalog/pgpass.js';
import { FerryError } from '../../src/errors.js';
import { tmpDir } from '../helpers/fixtures.js';

const target = { host: 'db.example.org', port: 5432, database: 'catalog', user: 'ferry' };

function pgpass(t: Parameters<typeof tmpDir>[0], text: string, mode = 0o600): string {
  const file = join(tmpDir(t), 'pgpass');
  writeFileSync(file, text);
  chmodSync(file, mode); // explicit: the umask must not decide the test
  return file;
}

t.test('$PGPASSWORD comes first; an empty one counts as unset', async (t) => {
  const file = pgpass(t, 'db.example.org:5432:catalog:ferry:from-file\n');
  t.same(findPassword(target, { PGPASSWORD: 'from-env', PGPASSFILE: file }), { password: 'from-env', source: '$PGPASSWORD' });
  t.same(findPassword(target, { PGPASSWORD: '', PGPASSFILE: file }), { password: 'from-file', source: `${file} line 1` });
});

t.test('$PGPASSFILE, else ~/.pgpass; no file is no password', async (t) => {
  const home = tmpDir(t);
  t.equal(pgpassFile({ HOME: home }), join(home, '.pgpass'));
  t.equal(findPassword(target, { HOME: home }), undefined, 'no ~/.pgpass');
  t.equal(findPassword(target, { HOME: home, PGPASSFILE: join(home, 'nope') }), undefined, 'a missing PGPASSFILE');
  writeFileSync(join(home, '.pgpass'), '*:*:*:ferry:home-pw\n', { mode: 0o600 });
  chmodSync(join(home, '.pgpass'), 0o600);
  t.same(findPassword(target, { HOME: home }), { password: 'home-pw', source: `${join(home, '.pgpass')} line 1` });
  t.equal(findPassword(target, { HOME: home, PGPASSFILE: join(home, 'nope') }), undefined, 'PGPASSFILE replaces ~/.pgpass, as in libpq');
});

t.test('the first matching line wins; * matches any field; comments and short lines are skipped', async (t) => {
  const file = pgpass(
    t,
    [
      '# a comment:with:colons:and:words',
      'short:line',
      'other.host:5432:catalog:ferry:wrong-host',
      'db.example.org:6543:catalog:ferry:wrong-port',
      'db.example.org:5432:other:ferry:wrong-db',
      'db.example.org:5432:catalog:someone:wrong-user',
      'db.example.org:*:catalog:ferry:first',
      '*:*:*:*:second',
      '',
    ].join('\n'),
  );
  t.same(findPassword(target, { PGPASSFILE: file }), { password: 'first', source: `${file} line 7` });
  t.same(findPassword({ ...target, user: 'x' }, { PGPASSFILE: file }), { password: 'second', source: `${file} line 8` });
  t.same(findPassword({ ...target, port: 6543 }, { PGPASSFILE: file })?.password, 'wrong-port', 'the port compared as written');
  t.equal(findPassword(target, { PGPASSFILE: pgpass(t, 'db.example.org:5432:catalog:nobody:x\n') }), undefined, 'no matching line');
});

t.test('\\: and \\\\ escape; an escaped * is a plain star; CRLF lines', async (t) => {
  const file = pgpass(t, ['\\*:5432:catalog:ferry:star-host', 'db.example.org:5432:cat\\:alog:ferry:colon-db', 'db.example.org:5432:catalog:ferry:p\\:a\\\\ss\\:word:ignored-rest\r', ''].join('\n'));
  t.same(findPassword(target, { PGPASSFILE: file })?.password, 'p:a\\ss:word', 'escapes undone in the password; it ends at an unescaped colon');
  t.same(findPassword({ ...target, database: 'cat:alog' }, { PGPASSFILE: file })?.password, 'colon-db');
  t.same(findPassword({ ...target, host: '*' }, { PGPASSFILE: file })?.password, 'star-host', 'a literal * host');
  t.same(findPassword({ ...target, host: 'elsewhere' }, { PGPASSFILE: file }), undefined, '\\* is no wildcard');
  const crlf = pgpass(t, 'db.example.org:5432:catalog:ferry:windows\r\n');
  t.same(findPassword(target, { PGPASSFILE: crlf })?.password, 'windows');
});

t.test('a pgpass file group or others may read is refused, naming chmod 600', async (t) => {
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o601, 0o660]) {
    const file = pgpass(t, '*:*:*:*:leaky\n', mode);
    let error: unknown;
    try {
      findPassword(target, { PGPASSFILE: file });
    } catch (caught) {
      error = caught;
    }
    t.ok(error instanceof FerryError, `mode ${mode.toString(8)} refused`);
    const refusal = error as FerryError;
    t.equal(refusal.code, 'E_CONFIG');
    t.match(refusal.message, `the pgpass file ${file} has mode 0${mode.toString(8)}`);
    t.equal(refusal.hint, `chmod 600 ${file}`);
    t.notOk(`${refusal.message} ${refusal.hint}`.includes('leaky'), 'the password is not quoted');
  }
  t.same(findPassword(target, { PGPASSFILE: pgpass(t, '*:*:*:*:fine\n', 0o400) })?.password, 'fine', '0400 is fine');
  t.same(findPassword(target, { PGPASSWORD: 'env', PGPASSFILE: pgpass(t, '*:*:*:*:leaky\n', 0o644) })?.password, 'env', 'with PGPASSWORD the file is not read');
});

t.test('a pgpass path that is a folder is refused', async (t) => {
  const dir = join(tmpDir(t), 'folder');
  mkdirSync(dir, { mode: 0o700 });
  t.throws(() => findPassword(target, { PGPASSFILE: dir }), { code: 'E_CONFIG', message: `the pgpass file ${dir} is not a regular file` });
});
