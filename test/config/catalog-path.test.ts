/** One catalog, found the same way from anywhere (issue 13): never the current folder by default. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { catalogLocation, catalogName } from '../../src/config/catalog-path.js';

/** The catalog's file, as the SQLite callers see it. */
const catalogPath = (...args: Parameters<typeof catalogLocation>): string => catalogName(catalogLocation(...args));
import { runCli } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('--catalog, then $FERRY_CATALOG, then $FERRY_HOME, then ferry.yaml, then the per-user data folder', async (t) => {
  const env = { HOME: '/home/op' };
  t.equal(catalogPath('x/c.db', { ...env, FERRY_HOME: '/home/f', FERRY_CATALOG: '/c.db' }, '/w', '/cfg/c.db'), '/w/x/c.db', 'the flag wins, relative to cwd');
  t.equal(catalogPath(undefined, { ...env, FERRY_HOME: '/home/f', FERRY_CATALOG: 'rel/c.db' }, '/w', '/cfg/c.db'), '/w/rel/c.db');
  t.equal(catalogPath(undefined, { ...env, FERRY_HOME: '/home/f' }, '/w', '/cfg/c.db'), '/home/f/catalog.db');
  t.equal(catalogPath(undefined, env, '/w', '/cfg/c.db'), '/cfg/c.db', 'ferry.yaml (already resolved against its folder)');
  t.equal(catalogPath(undefined, env, '/w'), '/home/op/.local/share/ferry/catalog.db', 'XDG default, whatever the folder');
  t.equal(catalogPath(undefined, env, '/elsewhere'), '/home/op/.local/share/ferry/catalog.db', 'the same from another folder');
  t.equal(catalogPath(undefined, { ...env, XDG_DATA_HOME: '/data' }, '/w'), '/data/ferry/catalog.db');
  t.equal(catalogPath(undefined, { ...env, XDG_DATA_HOME: 'relative' }, '/w'), '/home/op/.local/share/ferry/catalog.db', 'a relative XDG_DATA_HOME is ignored, as the spec says');
  t.equal(catalogPath(undefined, { ...env, FERRY_HOME: '', FERRY_CATALOG: '' }, '/w'), '/home/op/.local/share/ferry/catalog.db', 'empty variables are unset');
});

t.test('an empty --catalog is refused, nothing created', async (t) => {
  t.throws(() => catalogPath('', {}, '/w'), { code: 'E_USAGE', message: '--catalog is empty' });
  const dir = tmpDir(t);
  const run = await runCli(['--catalog', '', 'vm', 'list'], { env: { HOME: dir }, cwd: dir });
  t.equal(run.status, 2);
  t.match(run.stderr, /--catalog is empty/);
  t.notOk(existsSync(join(dir, '.ferry')), 'no ./.ferry made');
  t.notOk(existsSync(join(dir, '.local')), 'no catalog made anywhere');
});

t.test('a listing in another folder reads the same catalog, and a new catalog says where it is', async (t) => {
  const home = tmpDir(t);
  const first = await runCli(['host', 'create', 'h1', '--local'], { env: { HOME: home }, cwd: tmpDir(t) });
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, `ferry: created a new, empty catalog at ${join(home, '.local/share/ferry/catalog.db')}`);
  const other = await runCli(['host', 'list'], { env: { HOME: home }, cwd: tmpDir(t) });
  t.equal(other.status, 0);
  t.match(other.stdout, /h1/, 'the host made from one folder is listed from another');
  t.notMatch(other.stderr, /created a new/);
  const yamlDir = tmpDir(t);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(yamlDir, 'ferry.yaml'), 'catalog: ./cat/ferry.db\n');
  const viaYaml = await runCli(['host', 'list'], { env: { HOME: home }, cwd: yamlDir });
  t.equal(viaYaml.status, 0);
  t.ok(existsSync(join(yamlDir, 'cat', 'ferry.db')), 'catalog: in ferry.yaml, relative to the file');
  writeFileSync(join(yamlDir, 'ferry.yaml'), 'catalog: postgres://u@db.example:6000/cat\n');
  const viaUrl = await runCli(['host', 'list'], { env: { HOME: home }, cwd: yamlDir });
  t.equal(viaUrl.status, 2);
  t.match(viaUrl.stderr, 'cannot reach PostgreSQL at postgres://u@db.example:6000/cat', 'a URL in ferry.yaml is kept as written, not made a path');
});

t.test('an empty listing says which catalog it read', async (t) => {
  const home = tmpDir(t);
  const run = await runCli(['vm', 'list'], { env: { HOME: home }, cwd: tmpDir(t) });
  t.equal(run.status, 0);
  const path = join(home, '.local/share/ferry/catalog.db');
  t.match(run.stderr, `ferry: nothing listed: the catalog ${path} holds none`);
  const json = await runCli(['vm', 'list', '--json'], { env: { HOME: home }, cwd: tmpDir(t) });
  t.equal(json.stderr, '', '--json: the envelope alone, nothing on stderr');
});

t.test('a PostgreSQL catalog is found from each setting, named by its URL without a password (issue 17)', async (t) => {
  const env = { HOME: '/home/op' };
  for (const [flag, vars, configured, from] of [
    ['postgres://u@h/cat', env, undefined, '--catalog'],
    [undefined, { ...env, FERRY_CATALOG: 'postgresql://u@h/cat' }, undefined, '$FERRY_CATALOG'],
    [undefined, env, 'postgres://u@h/cat', 'ferry.yaml'],
  ] as const) {
    const location = catalogLocation(flag, vars, '/w', configured);
    t.match(location, { kind: 'postgres', url: 'postgres://u@h:5432/cat', from });
    t.equal(catalogName(location), 'postgres://u@h:5432/cat');
  }
  t.equal(catalogPath(undefined, { ...env, FERRY_HOME: '/f' }, '/w', 'postgres://u@h/cat'), '/f/catalog.db', '$FERRY_HOME still comes before ferry.yaml');
});
