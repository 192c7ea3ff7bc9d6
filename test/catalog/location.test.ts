/** A catalog location: a file path, or a postgres:// URL without its password (issue 17). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { isPostgresUrl, parsePostgresUrl, redactedUrl, shownLocation } from '../../src/catalog/location.js';
import { catalogLocation } from '../../src/config/catalog-path.js';
import { FerryError } from '../../src/errors.js';
import { runCli } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';

const env = { HOME: '/home/op', PGUSER: 'op' };
const SECRET = 'S3cr3t-pw';

/** Every string a refusal carries: message, hint, cause, stack, and the whole error inspected. */
function refusalText(run: () => unknown): { error: FerryError; text: string } {
  try {
    run();
  } catch (error) {
    if (!(error instanceof FerryError)) throw error;
    return { error, text: [error.message, error.hint ?? '', String(error.cause ?? ''), error.stack ?? '', inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n') };
  }
  throw new Error('expected a refusal');
}

t.test('postgres:// and postgresql:// URLs parse into a password-free location', async (t) => {
  const loc = parsePostgresUrl('postgres://ferry@db.example.org:6543/catalog', '--catalog', env);
  t.same(loc, { kind: 'postgres', url: 'postgres://ferry@db.example.org:6543/catalog', host: 'db.example.org', port: 6543, database: 'catalog', user: 'ferry', options: {}, from: '--catalog' });
  t.equal(parsePostgresUrl('postgresql://ferry@10.0.0.5/cat', 'ferry.yaml', env).url, 'postgres://ferry@10.0.0.5:5432/cat', 'postgresql:// too; port 5432 by default; canonical postgres://');
  t.equal(parsePostgresUrl('POSTGRES://ferry@h/cat', 'ferry.yaml', env).host, 'h', 'the scheme in any case');
  const v6 = parsePostgresUrl('postgres://ferry@[::1]:5433/cat', '--catalog', env);
  t.match(v6, { host: '::1', port: 5433, url: 'postgres://ferry@[::1]:5433/cat' }, 'IPv6 in brackets');
  t.match(parsePostgresUrl('postgres://h', '--catalog', env), { user: 'op', database: 'op', port: 5432 }, 'user from $PGUSER, database named after the user, as libpq');
  t.match(parsePostgresUrl('postgres://sp%40ce%20x@h/my%2Ddb', '--catalog', env), { user: 'sp@ce x', database: 'my-db', url: 'postgres://sp%40ce%20x@h:5432/my-db' }, 'percent-escapes decoded, re-escaped in the URL');
  t.match(parsePostgresUrl('postgres://u:@h/db', '--catalog', env), { user: 'u', url: 'postgres://u@h:5432/db' }, 'an empty password is no password');
  const opts = parsePostgresUrl('postgres://u@h/db?sslmode=verify-full&connect_timeout=3&application_name=ferry%20fe1', '$FERRY_CATALOG', env);
  t.same(opts.options, { sslmode: 'verify-full', connectTimeoutS: 3, applicationName: 'ferry fe1' });
  t.equal(opts.url, 'postgres://u@h:5432/db?sslmode=verify-full&connect_timeout=3&application_name=ferry%20fe1');
  t.ok(isPostgresUrl('postgresql://x') && !isPostgresUrl('/var/lib/ferry/catalog.db'));
});

t.test('a password in the URL is refused from every source, and the refusal never shows it', async (t) => {
  for (const from of ['--catalog', '$FERRY_CATALOG', 'ferry.yaml'] as const) {
    for (const url of [`postgres://ferry:${SECRET}@db:5432/cat`, `postgres://ferry@db:5432/cat?password=${SECRET}`, `postgresql://ferry:${SECRET}@db/cat?sslmode=require`]) {
      const { error, text } = refusalText(() => parsePostgresUrl(url, from, env));
      t.equal(error.code, 'E_CONFIG');
      t.equal(error.exitStatus, 2);
      t.match(error.message, `(from ${from}) carries a password`);
      t.match(error.message, /postgres(ql)?:\/\/ferry@db/, 'names the URL without the password');
      t.match(error.hint, /PGPASSWORD/);
      t.match(error.hint, /\.pgpass/);
      t.notOk(text.includes(SECRET), `no trace of the password (${from}, ${redactedUrl(url)})`);
    }
  }
  t.match(refusalText(() => parsePostgresUrl(`postgres://u:${SECRET}@h/d`, '--catalog', env)).error.message, /visible to every user/, 'argv: says why');
});

t.test('a password with reserved characters left unescaped is still never shown', async (t) => {
  for (const password of ['pa/ss', 'pa@ss', 'pa?ss', 'pa#ss', 'p:a:ss']) {
    const url = `postgres://ferry:${password}@db/cat`;
    const shown = redactedUrl(url);
    t.notOk(shown.includes(password) || shown.includes('ss'), `${JSON.stringify(password)} → ${shown}`);
    const { error, text } = refusalText(() => parsePostgresUrl(url, '--catalog', env));
    t.equal(error.code, 'E_CONFIG');
    t.notOk(text.includes(password), `refused without showing ${JSON.stringify(password)}: ${error.message}`);
  }
});

t.test('redactedUrl drops any password, and leaves the rest as written', async (t) => {
  t.equal(redactedUrl(`postgres://ferry:${SECRET}@h:5432/db?sslmode=require`), 'postgres://ferry@h:5432/db?sslmode=require');
  t.equal(redactedUrl(`postgres://ferry@h/db?password=${SECRET}&sslmode=require`), 'postgres://ferry@h/db?sslmode=require');
  t.equal(redactedUrl(`postgres://ferry@h/db?sslmode=require&password=${SECRET}`), 'postgres://ferry@h/db?sslmode=require');
  t.equal(redactedUrl('postgres://h/db'), 'postgres://h/db');
  t.equal(redactedUrl('/var/lib/ferry/catalog.db'), '/var/lib/ferry/catalog.db', 'a path is left alone');
  t.equal(redactedUrl(`mysql://root:${SECRET}@h/db`), 'mysql://root@h/db', 'any scheme');
});

t.test('bad URLs are refused with E_CONFIG and a hint', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['postgres://', /names no host/],
    ['postgres:///cat', /names no host/],
    ['postgres://u@/cat', /names no host/],
    ['postgres://u@h:99999/cat', /port "99999", which is not a port number/],
    ['postgres://u@h:0/cat', /port "0"/],
    ['postgres://u@h:54x/cat', /port "54x"/],
    ['postgres://u@h1:5432,h2:5432/cat', /several hosts/],
    ['postgres://u@%2Fvar%2Frun%2Fpostgresql/cat', /unix socket/],
    ['postgres://u@h/cat?sslmode=prefer', /sslmode=prefer/],
    ['postgres://u@h/cat?connect_timeout=0', /connect_timeout=0/],
    ['postgres://u@h/cat?host=other', /the option "host"/],
    ['postgres://u@h/cat#x', /fragment/],
    ['postgres://u@h/a/b', /has a \//],
    ['postgres://u@h/%zz', /malformed %-escape/],
    ['postgres://u@h_@x/db', /reserved character/],
  ];
  for (const [url, message] of cases) {
    const { error } = refusalText(() => parsePostgresUrl(url, '--catalog', env));
    t.equal(error.code, 'E_CONFIG', url);
    t.match(error.message, message, url);
    t.ok(error.hint && error.hint.length > 10, `${url}: a hint`);
  }
  for (const text of ['mysql://u@h/db', 'sqlite://x.db', 'postgres:cat', 'https://h/x']) {
    const { error } = refusalText(() => catalogLocation(text, env, '/w'));
    t.equal(error.code, 'E_CONFIG', text);
    t.match(error.message, 'is neither a file path nor a postgres:// URL', text);
  }
});

t.test('catalogLocation: every source may name a file or a database, and says which it was', async (t) => {
  t.same(catalogLocation('x/c.db', env, '/w'), { kind: 'sqlite', path: '/w/x/c.db', from: '--catalog' });
  t.match(catalogLocation('postgres://u@h/cat', { ...env, FERRY_CATALOG: '/c.db' }, '/w'), { kind: 'postgres', url: 'postgres://u@h:5432/cat', from: '--catalog' });
  t.match(catalogLocation(undefined, { ...env, FERRY_CATALOG: 'postgresql://u@h:6000/cat' }, '/w'), { kind: 'postgres', port: 6000, from: '$FERRY_CATALOG' });
  t.same(catalogLocation(undefined, { ...env, FERRY_HOME: '/f' }, '/w', 'postgres://u@h/cat'), { kind: 'sqlite', path: '/f/catalog.db', from: '$FERRY_HOME' });
  t.match(catalogLocation(undefined, env, '/w', 'postgres://u@h/cat'), { kind: 'postgres', from: 'ferry.yaml' });
  t.same(catalogLocation(undefined, env, '/w', '/cfg/c.db'), { kind: 'sqlite', path: '/cfg/c.db', from: 'ferry.yaml' });
  t.same(catalogLocation(undefined, env, '/w'), { kind: 'sqlite', path: '/home/op/.local/share/ferry/catalog.db', from: 'the default location' });
  t.equal(shownLocation(catalogLocation('postgres://u@h/cat', env, '/w')), 'postgres://u@h:5432/cat');
});

t.test('the CLI refuses a password in the URL from argv, $FERRY_CATALOG and ferry.yaml, without printing it', async (t) => {
  const home = tmpDir(t);
  const url = `postgres://ferry:${SECRET}@127.0.0.1:5432/cat`;
  const viaArgv = await runCli(['--catalog', url, 'vm', 'list'], { env: { HOME: home }, cwd: home });
  t.equal(viaArgv.status, 2);
  t.match(viaArgv.stderr, 'postgres://ferry@127.0.0.1:5432/cat (from --catalog) carries a password');
  t.match(viaArgv.stderr, /PGPASSWORD/);
  const viaEnv = await runCli(['vm', 'list', '--json'], { env: { HOME: home, FERRY_CATALOG: url }, cwd: home });
  t.equal(viaEnv.status, 2);
  t.match(viaEnv.stdout, '(from $FERRY_CATALOG) carries a password');
  const yamlDir = tmpDir(t);
  writeFileSync(join(yamlDir, 'ferry.yaml'), `catalog: ${url}\n`);
  const viaYaml = await runCli(['host', 'list'], { env: { HOME: home }, cwd: yamlDir });
  t.equal(viaYaml.status, 2);
  t.match(viaYaml.stderr, 'postgres://ferry@127.0.0.1:5432/cat (from ferry.yaml) carries a password');
  for (const run of [viaArgv, viaEnv, viaYaml]) t.notOk(run.stdout.includes(SECRET) || run.stderr.includes(SECRET), 'the password is printed nowhere');
});

t.test('a PostgreSQL catalog nobody answers for is E_CATALOG naming its URL, and no file is made for it', async (t) => {
  const home = tmpDir(t);
  // Port 1 on loopback: refused at once.
  const run = await runCli(['--catalog', 'postgres://ferry@127.0.0.1:1/cat', 'host', 'list'], { env: { HOME: home, PGPASSWORD: SECRET }, cwd: home });
  t.equal(run.status, 2, 'E_CATALOG');
  t.match(run.stderr, 'postgres://ferry@127.0.0.1:1/cat');
  t.notOk(run.stderr.includes(SECRET) || run.stdout.includes(SECRET), 'the password is printed nowhere');
  const { readdirSync } = await import('node:fs');
  t.same(readdirSync(home), [], 'nothing created (no postgres:/ folder, no default catalog)');
  const bad = await runCli(['--catalog', 'postgres://ferry@127.0.0.1:99999/cat', 'host', 'list'], { env: { HOME: home }, cwd: home });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /port "99999"/);
});
