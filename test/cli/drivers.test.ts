/** `ferry drivers list`, human and --json, over the bundled remotes and fixtures/remotes. */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { tmpDir } from '../helpers/fixtures.js';
import { bundledRemotes, fixturesRemotes, fixturesRemotesReal, jsonOf, runCli } from './helpers.js';

const sorted = (list: readonly string[]): string[] => [...list].sort();

t.test('bundled remotes, human: the dummy driver of both kinds with every action', async (t) => {
  const { status, stdout, stderr } = await runCli(['drivers', 'list']);
  t.equal(status, 0);
  t.equal(stderr, '');
  t.match(stdout, new RegExp(`^remotes: ${realpathSync(bundledRemotes)}$`, 'm'));
  const ds = stdout.split('\n').find((line) => /^datastore\s+dummy\s/.test(line));
  const tm = stdout.split('\n').find((line) => /^tm\s+dummy\s/.test(line));
  t.ok(ds, 'a datastore dummy line');
  t.ok(tm, 'a tm dummy line');
  t.same(sorted((ds ?? '').trim().split(/\s+/).slice(2)), sorted(DS_ACTIONS), 'every DS action listed');
  t.same(sorted((tm ?? '').trim().split(/\s+/).slice(2)), sorted(TM_ACTIONS), 'every TM action listed');
  t.notMatch(stdout, /missing:/);
  t.notMatch(stdout, /not executable:/);
  t.notMatch(stdout, /also:/);
});

t.test('bundled remotes, --json', async (t) => {
  const { status, stdout } = await runCli(['--json', 'drivers', 'list']);
  t.equal(status, 0);
  const out = jsonOf(stdout);
  t.equal(out.ok, true);
  t.equal(out.remotes, realpathSync(bundledRemotes));
  const drivers = out.drivers as Array<Record<string, any>>;
  const ds = drivers.find((d) => d.kind === 'datastore' && d.name === 'dummy');
  const tm = drivers.find((d) => d.kind === 'tm' && d.name === 'dummy');
  t.ok(ds, 'datastore dummy present');
  t.ok(tm, 'tm dummy present');
  t.same(sorted(ds?.actions ?? []), sorted(DS_ACTIONS));
  t.same(sorted(tm?.actions ?? []), sorted(TM_ACTIONS));
  for (const driver of [ds, tm]) {
    t.same(driver?.missing, [], `${driver?.kind} dummy misses nothing`);
    t.same(driver?.extra, []);
    t.same(driver?.notExecutable, []);
  }
});

t.test('fixtures/remotes, --json: not executable, extra and missing actions', async (t) => {
  const { status, stdout } = await runCli(['--json', '--remotes', fixturesRemotes, 'drivers', 'list']);
  t.equal(status, 0);
  const out = jsonOf(stdout);
  t.equal(out.remotes, fixturesRemotesReal);
  const drivers = out.drivers as Array<Record<string, any>>;
  const find = (kind: string, name: string): Record<string, any> | undefined => drivers.find((d) => d.kind === kind && d.name === name);
  const noexec = find('datastore', 'noexec');
  t.ok(noexec, 'datastore noexec listed');
  t.same(noexec?.notExecutable, ['cp'], 'cp is not executable');
  t.same(noexec?.actions, []);
  t.same(sorted(noexec?.missing ?? []), sorted(DS_ACTIONS), 'a non-executable cp does not count as cp');
  const ok = find('datastore', 'ok');
  t.same(sorted(ok?.actions ?? []), sorted(DS_ACTIONS));
  t.same(ok?.extra, ['export'], 'export is an extra action');
  t.same(ok?.missing, []);
  const stat = find('datastore', 'badinterp');
  t.same(stat?.actions, ['stat']);
  t.same(sorted(stat?.missing ?? []), sorted(DS_ACTIONS.filter((a) => a !== 'stat')));
  const tmOk = find('tm', 'ok');
  t.ok(tmOk?.actions.includes('delete.ssh'), 'a suffixed action (delete.ssh) counts as an action');
  t.same(tmOk?.missing, []);
  const manifest = find('datastore', 'timeouts');
  t.equal(manifest?.hasManifest, true, 'driver.yaml is noticed');
  t.notOk(manifest?.extra.includes('driver.yaml'), 'driver.yaml is not an action');
  // Every fixture behaviour folder is listed.
  t.ok(drivers.filter((d) => d.kind === 'datastore').length >= 20);
  t.ok(drivers.filter((d) => d.kind === 'tm').length >= 10);
});

t.test('fixtures/remotes, human: not executable and extra actions shown', async (t) => {
  const { status, stdout } = await runCli(['--remotes', fixturesRemotes, 'drivers', 'list']);
  t.equal(status, 0);
  t.match(stdout, new RegExp(`^remotes: ${fixturesRemotesReal}$`, 'm'));
  const lines = stdout.split('\n');
  const block = (kind: string, name: string): string[] => {
    const at = lines.findIndex((line) => new RegExp(`^${kind}\\s+${name}\\s`).test(line));
    if (at < 0) return [];
    const end = lines.findIndex((line, i) => i > at && !line.startsWith(' '));
    return lines.slice(at, end < 0 ? undefined : end);
  };
  const noexec = block('datastore', 'noexec');
  t.ok(noexec.length > 0, 'noexec listed');
  t.match(noexec[0], /\(no actions\)/);
  t.ok(noexec.some((line) => /^\s+not executable: cp$/.test(line)), 'not executable: cp');
  t.ok(noexec.some((line) => /^\s+missing: .*\bcp\b/.test(line)), 'cp is missing');
  const ok = block('datastore', 'ok');
  t.ok(ok.some((line) => /^\s+also: export$/.test(line)), 'export listed as extra');
  t.notOk(ok.some((line) => /missing:/.test(line)), 'ok misses nothing');
});

t.test('an empty remotes folder says no drivers were found', async (t) => {
  const dir = tmpDir(t, 'ferry-remotes-');
  const { status, stdout } = await runCli(['--remotes', dir, 'drivers', 'list']);
  t.equal(status, 0);
  t.match(stdout, /no drivers found/);
  const json = await runCli(['--json', '--remotes', dir, 'drivers', 'list']);
  t.same(jsonOf(json.stdout).drivers, []);
});

t.test('README, driver.yaml and helper files are not listed as actions', async (t) => {
  const dir = tmpDir(t, 'ferry-remotes-');
  const driver = join(dir, 'datastore', 'mine');
  mkdirSync(driver, { recursive: true });
  writeFileSync(join(driver, 'README.md'), '# mine\n');
  writeFileSync(join(driver, 'driver.yaml'), 'api: 1\n');
  writeFileSync(join(driver, 'stat'), '#!/bin/sh\necho 1\n', { mode: 0o755 });
  writeFileSync(join(driver, 'restore'), '#!/bin/sh\n', { mode: 0o755 });
  symlinkSync(join(fixturesRemotesReal, 'fixture.sh'), join(driver, 'cp'));
  const { status, stdout } = await runCli(['--json', '--remotes', dir, 'drivers', 'list']);
  t.equal(status, 0);
  const [mine] = jsonOf(stdout).drivers as Array<Record<string, any>>;
  t.same(mine?.actions, ['cp', 'stat']);
  t.same(mine?.extra, ['restore']);
  t.equal(mine?.hasManifest, true);
});

t.test('FERRY_REMOTES is used by drivers list', async (t) => {
  const { status, stdout } = await runCli(['drivers', 'list'], { env: { FERRY_REMOTES: fixturesRemotes } });
  t.equal(status, 0);
  t.match(stdout, `remotes: ${fixturesRemotesReal}`);
});

t.test('a remotes folder that does not exist: exit 2', async (t) => {
  const human = await runCli(['--remotes', '/nonexistent/remotes', 'drivers', 'list']);
  t.equal(human.status, 2);
  t.match(human.stderr, '/nonexistent/remotes');
  const json = await runCli(['--json', '--remotes', '/nonexistent/remotes', 'drivers', 'list']);
  t.equal(json.status, 2);
  t.match(jsonOf(json.stdout), { ok: false, error: { code: 'E_CONFIG', exitStatus: 2 } });
});
