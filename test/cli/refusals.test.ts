/**
 * Bad input refused with a clear message, nothing run and nothing
 * journaled (issue 13's hostile run): an empty --driver, a mad -d that
 * leaves the remotes folder, names with control characters, relative paths
 * in host:path arguments.
 */
import { join } from 'node:path';
import t from 'tap';
import { fixturesRemotes, runCli, specExamplePath, withProcessEnv } from './helpers.js';
import { recordFile, tmpDir } from '../helpers/fixtures.js';

t.test("an empty --driver is refused, not replaced by the dump's", async (t) => {
  const run = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', specExamplePath, '1', '--driver', '']);
  t.equal(run.status, 2);
  t.match(run.stderr, /driver name "" is not a driver folder name/);
  t.equal(run.stdout, '');
});

t.test('ferry mad -d or -s naming something that is not a driver folder: refused before serving', async (t) => {
  for (const [flag, value] of [['-d', '../x'], ['-d', 'fs,../../etc'], ['-s', 'a/b'], ['-d', ',']]) {
    const run = await runCli(['--remotes', fixturesRemotes, 'mad', 'datastore', flag as string, value as string], { stdin: 'INIT\n' });
    t.equal(run.status, 2, `${flag} ${value}`);
    t.match(run.stderr, new RegExp(`${flag} "${value?.replace(/[.]/g, '\\.')}"`), 'names the flag and its value');
    t.notMatch(run.stdout, /INIT SUCCESS/, 'never started serving');
  }
});

t.test('names with a newline or an escape sequence are refused where records are made', async (t) => {
  const home = tmpDir(t);
  const base = join(home, 'ds');
  for (const name of ['two\nlines', 'bell\u0007', 'esc\u001b[2J', ' ']) {
    const run = await runCli(['datastore', 'create', name, '--tm-mad', 'dummy', '--ds-mad', 'dummy', '--base-path', base, '--no-monitor'], { env: { FERRY_HOME: home } });
    t.equal(run.status, 2, JSON.stringify(name));
    t.match(run.stderr, /is empty or holds a control character/);
  }
  const list = await runCli(['datastore', 'list', '--json'], { env: { FERRY_HOME: home } });
  t.equal(list.status, 0);
  t.same(JSON.parse(list.stdout), { ok: true, result: [] }, 'nothing recorded');
});

t.test('a relative path in a host:path argument is refused before the driver runs', async (t) => {
  const record = recordFile(t);
  const run = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['--remotes', fixturesRemotes, 'tm', 'delete', 'ok', 'host01:var/lib/one/7', '7', '0']));
  t.equal(run.status, 2);
  t.match(run.stderr, /expected host:\/absolute\/path/);
  t.same(record.lines(), [], 'the driver never ran');
});

t.test('a datastore naming a driver outside the remotes folder is refused, and nothing is journaled', async (t) => {
  const home = tmpDir(t);
  for (const flags of [['--ds-mad', '../x', '--tm-mad', 'dummy'], ['--ds-mad', 'dummy', '--tm-mad', 'a/b']]) {
    const run = await runCli(['datastore', 'create', 'images', ...flags, '--base-path', join(home, 'ds')], { env: { FERRY_HOME: home } });
    t.equal(run.status, 2, flags.join(' '));
    t.match(run.stderr, /is not a driver folder name/);
  }
  const { Catalog } = await import('../../src/catalog/catalog.js');
  const catalog = Catalog.open(join(home, 'catalog.db'));
  t.teardown(() => catalog.close());
  t.same(catalog.journal(), [], 'no journal row');
  t.same(catalog.listDatastores(), [], 'no datastore');
});

t.test('an unknown action: the hint offers only what could run (not lib/, driver.yaml or documents)', async (t) => {
  const run = await runCli(['ds', 'frob', specExamplePath, '1']);
  t.equal(run.status, 2);
  t.match(run.stderr, /hint: it has: clone, cp, mkfs, monitor, rm, snap_delete, snap_flatten, snap_revert, stat\./);
  t.notMatch(run.stderr, /\blib\b|driver\.yaml|README/);
});

t.test('control characters from input or drivers are never written raw to a terminal', async (t) => {
  const dir = tmpDir(t);
  const { writeFileSync } = await import('node:fs');
  const file = join(dir, 'evil.tm');
  writeFileSync(file, 'DELETE ok host01:/ds/0/7/\u001b[2J\u001b]0;pwned\u0007 7 0\n');
  const run = await runCli(['--remotes', fixturesRemotes, 'tm', 'transfer', file], { stdoutIsTTY: true });
  t.equal(run.status, 0, run.stderr);
  t.notMatch(run.stdout + run.stderr, /\u001b|\u0007/, 'no escape or bell reaches the terminal');
  t.match(run.stdout, /\\x1b\[2J\\x1b\]0;pwned\\x07/, 'shown as visible escapes');
  const failing = await runCli(['--remotes', fixturesRemotes, 'tm', 'transfer', join(dir, 'nope\u001b[2J.tm')]);
  t.equal(failing.status, 2);
  t.notMatch(failing.stderr, /\u001b/, 'an error message naming it is escaped too');
});
