import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE, loadConfig, resolveRemotesPath, type FerryConfig } from '../../src/config/config.js';
import { bundledRemotes, packageRoot } from '../../src/config/paths.js';
import type { FerryError } from '../../src/errors.js';
import { checkRefusal, rejection } from '../helpers/fixtures.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A fresh temp folder, removed after the test. */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** The refusal loading a config ends in: E_CONFIG, exit status 2, with a hint. */
async function refused(t: Test, load: Promise<unknown>): Promise<FerryError> {
  return checkRefusal(t, await rejection(load), { code: 'E_CONFIG', exitStatus: 2 });
}

t.test('no file: defaults', async (t) => {
  const dir = tempDir(t);
  t.equal(CONFIG_FILE, 'ferry.yaml');
  t.same(await loadConfig(undefined, dir), {}, 'an empty config, no file');
});

t.test('./ferry.yaml is picked up from cwd', async (t) => {
  const dir = tempDir(t);
  const file = write(dir, 'ferry.yaml', 'log_level: debug\nkill_grace: 2.5\nmax_output: 4096\ntimeouts:\n  default: 30\n  datastore:\n    cp: 7200\n  tm:\n    clone.ssh: 60\n');
  const config = await loadConfig(undefined, dir);
  t.same(config, {
    log_level: 'debug',
    kill_grace: 2.5,
    max_output: 4096,
    timeouts: { default: 30, datastore: { cp: 7200 }, tm: { 'clone.ssh': 60 } },
    file,
  });
  t.ok(isAbsolute(config.file ?? ''), 'file is absolute');

  const sub = join(dir, 'elsewhere');
  mkdirSync(sub);
  t.same(await loadConfig(undefined, sub), {}, 'only the cwd is looked at, not its parents');
});

t.test('an empty file is an empty config', async (t) => {
  const dir = tempDir(t);
  const file = write(dir, 'ferry.yaml', '# nothing set\n');
  t.same(await loadConfig(undefined, dir), { file });
});

t.test('--config', async (t) => {
  const dir = tempDir(t);
  const file = write(dir, 'conf/my.yaml', 'kill_grace: 1\n');
  write(dir, 'ferry.yaml', 'kill_grace: 99\n');
  t.same(await loadConfig('conf/my.yaml', dir), { kill_grace: 1, file }, 'relative to cwd, wins over ./ferry.yaml');
  t.same(await loadConfig(file, '/'), { kill_grace: 1, file }, 'absolute');

  const missing = await refused(t, loadConfig('nope.yaml', dir));
  t.match(missing.message, /config file .*nope\.yaml does not exist/);
  t.ok(missing.message.includes(join(dir, 'nope.yaml')), 'names the full path');

  const folder = await refused(t, loadConfig('conf', dir));
  t.match(folder.message, /conf/, 'a folder is not a config file');
});

t.test('unknown keys are named, with the file', async (t) => {
  const dir = tempDir(t);
  const file = write(dir, 'ferry.yaml', 'remotes: ./r\nremote_path: /x\n');
  const e = await refused(t, loadConfig(undefined, dir));
  t.match(e.message, /unknown key "remote_path"/);
  t.ok(e.message.includes(file), 'names the file');
  t.ok(e.hint?.includes(file), 'the hint names the file');

  const nested = await refused(t, loadConfig(write(dir, 'nested.yaml', 'timeouts:\n  defaults: 3\n'), dir));
  t.match(nested.message, /timeouts\.defaults: unknown key "defaults"; did you mean "default"\?/, 'nested keys by their dotted path, and the nearest valid key');
});

t.test('wrong types are named', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, RegExp]> = [
    ['kill_grace: soon\n', /kill_grace: expected number, got "soon"/],
    ['kill_grace: 0\n', /kill_grace: expected >=0\.001/],
    ['remotes: 3\n', /remotes: expected string/],
    ['remotes: ""\n', /remotes: /],
    ['max_output: 12.5\n', /max_output: /],
    ['max_output: 10\n', /max_output: expected >=1024, got 10/],
    ['log_level: loud\n', /log_level: expected .*"debug".*, got "loud"/],
    ['timeouts: 30\n', /timeouts: expected Object/],
    ['timeouts:\n  datastore:\n    cp: fast\n', /timeouts\.datastore\.cp: expected \(number \| "none"\), got "fast"/],
    ['timeouts:\n  tm:\n    "bad/name": 3\n', /timeouts\.tm/],
    ['just a string\n', /top level.*string/],
    ['- remotes\n- kill_grace\n', /top level.*list/],
    ['42\n', /top level.*number/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const file = write(dir, `case${i}.yaml`, text);
    const e = await refused(t, loadConfig(file, dir));
    t.match(e.message, message, JSON.stringify(text));
    t.ok(e.message.startsWith(`${file}: `), 'the message starts with the file');
  }
});

t.test('invalid YAML', async (t) => {
  const dir = tempDir(t);
  const file = write(dir, 'ferry.yaml', 'remotes: [unclosed\nlog_level: info\n');
  const e = await refused(t, loadConfig(undefined, dir));
  t.match(e.message, /is not valid YAML/);
  t.ok(e.message.includes(file), 'names the file');
  t.match(e.message, /line \d+/, 'says where');
  t.notMatch(e.message, /\n/, 'one line');
  t.ok(e.cause, 'keeps the YAML error as cause');

  const tabs = await refused(t, loadConfig(write(dir, 'tabs.yaml', 'timeouts:\n\tdefault: 3\n'), dir));
  t.match(tabs.message, /is not valid YAML/, 'tab indentation');
});

t.test('duplicate keys', async (t) => {
  const dir = tempDir(t);
  const e = await refused(t, loadConfig(write(dir, 'dup.yaml', 'kill_grace: 1\nlog_level: info\nkill_grace: 2\n'), dir));
  t.match(e.message, /not valid YAML: .*unique/i);
  const nested = await refused(t, loadConfig(write(dir, 'dup2.yaml', 'timeouts:\n  tm:\n    clone: 1\n    clone: 2\n'), dir));
  t.match(nested.message, /unique/i, 'nested duplicates too');
});

t.test('relative remotes resolve against the config file folder', async (t) => {
  const dir = tempDir(t);
  write(dir, 'etc/ferry.yaml', 'remotes: ../drivers\n');
  const fromElsewhere = await loadConfig('etc/ferry.yaml', dir);
  t.equal(fromElsewhere.remotes, join(dir, 'drivers'), 'not against cwd');
  t.equal(fromElsewhere.file, join(dir, 'etc', 'ferry.yaml'));

  write(dir, 'ferry.yaml', 'remotes: ./remotes\n');
  t.equal((await loadConfig(undefined, dir)).remotes, join(dir, 'remotes'));

  write(dir, 'abs.yaml', 'remotes: /srv/one/remotes\n');
  t.equal((await loadConfig('abs.yaml', dir)).remotes, '/srv/one/remotes', 'absolute kept');
});

t.test('resolveRemotesPath precedence: flag > FERRY_REMOTES > config > bundled', async (t) => {
  const cwd = '/work/here';
  const config: FerryConfig = { remotes: '/from/config' };
  t.equal(resolveRemotesPath('flag', { FERRY_REMOTES: '/from/env' }, config, cwd), '/work/here/flag', 'flag, relative to cwd');
  t.equal(resolveRemotesPath('/abs/flag', { FERRY_REMOTES: '/from/env' }, config, cwd), '/abs/flag');
  t.equal(resolveRemotesPath(undefined, { FERRY_REMOTES: '/from/env' }, config, cwd), '/from/env', 'env next');
  t.equal(resolveRemotesPath(undefined, { FERRY_REMOTES: 'rel/env' }, config, cwd), '/work/here/rel/env', 'env relative to cwd');
  t.equal(resolveRemotesPath(undefined, {}, config, cwd), '/from/config', 'config next');
  t.equal(resolveRemotesPath(undefined, { FERRY_REMOTES: '' }, config, cwd), '/from/config', 'an empty FERRY_REMOTES is unset');
  t.equal(resolveRemotesPath('', {}, config, cwd), '/from/config', 'an empty flag is unset');

  const bundled = resolveRemotesPath(undefined, {}, {}, cwd);
  t.equal(bundled, bundledRemotes(), 'bundled last');
  t.equal(basename(bundled), 'remotes', 'ends with /remotes');
  t.ok(isAbsolute(bundled));
  t.ok(existsSync(bundled) && statSync(bundled).isDirectory(), 'the bundled remotes folder exists');
  t.equal(bundled, join(packageRoot(), 'remotes'));
});

t.test('packageRoot has ferry\'s package.json', async (t) => {
  const root = packageRoot();
  t.ok(isAbsolute(root));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: string };
  t.equal(manifest.name, 'ferry');
  t.equal(root, REPO, 'this checkout');
  t.equal(packageRoot(), root, 'stable');
});

t.test('hosts, frontend and lock_dir: checked, with paths relative to the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-hosts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ferry.yaml');
  writeFileSync(
    file,
    'frontend: fe\nlock_dir: ./locks\nhosts:\n  host01:\n    address: 127.0.0.1\n    port: 2201\n    user: oneadmin\n    identity: keys/id_ed25519\n    known_hosts: keys/known_hosts\n    options: { ConnectTimeout: 5 }\n  fe:\n    transport: local\n',
  );
  const config = await loadConfig(file, dir);
  t.equal(config.frontend, 'fe');
  t.equal(config.lock_dir, join(dir, 'locks'));
  t.same(config.hosts?.host01, { address: '127.0.0.1', port: 2201, user: 'oneadmin', identity: join(dir, 'keys/id_ed25519'), known_hosts: join(dir, 'keys/known_hosts'), options: { ConnectTimeout: 5 } });
  t.same(config.hosts?.fe, { transport: 'local' });

  for (const [yaml, key] of [
    ['hosts:\n  host01:\n    password: secret\n', 'hosts.host01.password'],
    ['hosts:\n  host01:\n    port: 70000\n', 'hosts.host01.port'],
    ['hosts:\n  host01:\n    transport: telnet\n', 'hosts.host01.transport'],
    ['frontend: "bad name"\n', 'frontend'],
  ] as const) {
    writeFileSync(file, yaml);
    try {
      await loadConfig(file, dir);
      t.fail(`accepted ${yaml}`);
    } catch (error) {
      t.equal((error as FerryError).code, 'E_CONFIG');
      t.match((error as Error).message, key, `names ${key}`);
    }
  }
});
