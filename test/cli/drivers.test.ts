/** `ferry drivers list` and `ferry drivers validate`, human and --json, over the bundled remotes, fixtures/remotes and fixtures/defects. */
import { chmodSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { tmpDir } from '../helpers/fixtures.js';
import { bundledRemotes, fixturesRemotes, fixturesRemotesReal, jsonOf, repoRoot, runCli } from './helpers.js';

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
  const own = join(tmpDir(t), 'remotes');
  mkdirSync(join(own, 'tm', 'sshonly'), { recursive: true });
  writeFileSync(join(own, 'tm', 'sshonly', 'clone.ssh'), '#!/bin/sh\n', { mode: 0o755 });
  const suffixed = jsonOf((await runCli(['--json', '--remotes', own, 'drivers', 'list'])).stdout).drivers[0];
  t.same(suffixed.actions, ['clone.ssh'], 'clone.ssh is listed as an action');
  t.ok(suffixed.missing.includes('clone'), 'but does not provide clone: the runner never runs clone.ssh when asked for clone');
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

// ---------------------------------------------------------------- ferry drivers validate

const defectsRemotes = join(repoRoot, 'fixtures', 'defects');

t.test('validate: a clean driver prints OK and exits 0', async (t) => {
  const { status, stdout, stderr } = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'good']);
  t.equal(status, 0);
  t.equal(stderr, '');
  t.match(stdout, /^datastore\/good: OK \(1 note\)$/m);
  t.match(stdout, /^ {2}fixtures\/defects\/datastore\/good: info: optional actions not implemented: snap_delete/m);
  t.match(stdout, /^1 driver checked: 1 OK, 0 failed; 0 errors, 0 warnings, 1 note$/m);
});

t.test('validate: an error prints file:line: severity: message (fix) and exits 1', async (t) => {
  const noexec = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'noexec']);
  t.equal(noexec.status, 1);
  t.match(noexec.stdout, /^datastore\/noexec: FAILED \(1 error, 2 notes\)$/m);
  const cp = join(realpathSync(defectsRemotes), 'datastore', 'noexec', 'cp');
  t.ok(noexec.stdout.split('\n').includes(`  fixtures/defects/datastore/noexec/cp: error: cp is not executable, so ferry refuses to run it (chmod +x ${cp})`));
  const noshebang = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'noshebang']);
  t.equal(noshebang.status, 1);
  t.match(noshebang.stdout, /^ {2}fixtures\/defects\/datastore\/noshebang\/stat:1: error: stat has no #! line/m);
  const yaml = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'unknownkey']);
  t.match(yaml.stdout, /^ {2}fixtures\/defects\/datastore\/unknownkey\/driver.yaml:4: error: unknown key "timeout"; did you mean "timeouts"\? \(rename it to timeouts\)$/m);
});

t.test('validate: warnings pass unless --strict; -q hides notes', async (t) => {
  const plain = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'stattext']);
  t.equal(plain.status, 0, 'a warning alone does not fail');
  t.match(plain.stdout, /^datastore\/stattext: OK \(1 warning, 2 notes\)$/m);
  t.match(plain.stdout, /^ {2}fixtures\/defects\/datastore\/stattext\/stat:7: warning: echo "the image is/m);
  const strict = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', '--strict', 'stattext']);
  t.equal(strict.status, 1, '--strict fails on warnings');
  t.match(strict.stdout, /^datastore\/stattext: FAILED/m);
  t.match(strict.stdout, /--strict: warnings fail/);
  const quiet = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', '-q', 'stattext']);
  t.notMatch(quiet.stdout, /: info: /);
  t.match(quiet.stdout, /^datastore\/stattext: OK \(1 warning\)$/m);
  const strictJson = jsonOf((await runCli(['--json', '--remotes', defectsRemotes, 'drivers', 'validate', '--strict', 'stattext'])).stdout);
  t.match(strictJson, { ok: false, strict: true, drivers: [{ name: 'datastore/stattext', ok: false }] });
});

t.test('validate --json: one object with every finding', async (t) => {
  const { status, stdout, stderr } = await runCli(['--json', '--remotes', defectsRemotes, 'drivers', 'validate', 'typo', 'good']);
  t.equal(status, 1);
  t.equal(stderr, '');
  const out = jsonOf(stdout);
  t.same(Object.keys(out).sort(), ['counts', 'drivers', 'ok', 'remotes', 'strict']);
  t.match(out, { ok: false, strict: false, remotes: realpathSync(defectsRemotes), counts: { error: 1, warning: 0 } });
  const drivers = out.drivers as Array<Record<string, any>>;
  t.same(drivers.map((d) => [d.name, d.kind, d.ok]), [['datastore/typo', 'datastore', false], ['datastore/good', 'datastore', true]]);
  const typo = (drivers[0]?.findings as Array<Record<string, any>>).filter((f) => f.severity === 'error');
  t.same(typo, [
    {
      severity: 'error',
      code: 'unknown-action',
      file: join(realpathSync(defectsRemotes), 'datastore', 'typo', 'snapshot_delete'),
      message: 'snapshot_delete is not a datastore action; did you mean snap_delete?',
      fix: 'rename snapshot_delete to snap_delete (delete snapshot TARGET_SNAPSHOT of a persistent image)',
    },
  ]);
});

t.test('validate: NAME in both kinds, kind/NAME, and a folder path', async (t) => {
  const both = await runCli(['--json', 'drivers', 'validate', '--no-shellcheck', 'dummy']);
  t.equal(both.status, 0);
  t.same((jsonOf(both.stdout).drivers as Array<Record<string, any>>).map((d) => d.name), ['datastore/dummy', 'tm/dummy']);
  const tm = await runCli(['--json', '--remotes', defectsRemotes, 'drivers', 'validate', 'tm/nodelete']);
  t.equal(tm.status, 1);
  t.match(jsonOf(tm.stdout).drivers, [{ name: 'tm/nodelete', findings: [{ code: 'missing-action', message: /no delete action: VMs cannot be shut down/ }] }]);
  const wrongKind = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', 'datastore/nodelete']);
  t.equal(wrongKind.status, 2, 'nodelete is no datastore driver');
  const dir = await runCli(['drivers', 'validate', 'fixtures/defects/datastore/futureapi']);
  t.equal(dir.status, 1, 'a path relative to the current folder');
  t.match(dir.stdout, /^datastore\/futureapi: FAILED/m);
  t.match(dir.stdout, /^ {2}fixtures\/defects\/datastore\/futureapi\/driver.yaml:2: error: driver.yaml targets driver API 99; this ferry runs API 1\.\.1/m);
  const absolute = await runCli(['drivers', 'validate', join(defectsRemotes, 'datastore', 'good')], { cwd: tmpDir(t, 'ferry-cwd-') });
  t.equal(absolute.status, 0);
  t.match(absolute.stdout, new RegExp(`^ {2}${realpathSync(defectsRemotes)}/datastore/good: info:`, 'm'), 'paths outside the current folder stay absolute');
});

t.test('validate: a folder outside datastore/ or tm/ needs a kind', async (t) => {
  const dir = join(tmpDir(t, 'ferry-validate-cli-'), 'mine');
  mkdirSync(dir);
  for (const action of ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor']) {
    writeFileSync(join(dir, action), '#!/bin/sh\n:\n');
    chmodSync(join(dir, action), 0o755);
  }
  const unknown = await runCli(['--json', 'drivers', 'validate', '--no-shellcheck', dir]);
  t.equal(unknown.status, 1);
  t.match(jsonOf(unknown.stdout).drivers, [{ name: 'mine', kind: null, findings: [{ code: 'kind-unknown' }] }]);
  const known = await runCli(['--json', 'drivers', 'validate', '--no-shellcheck', '--kind', 'datastore', dir]);
  t.equal(known.status, 0);
  t.match(jsonOf(known.stdout).drivers, [{ name: 'mine', kind: 'datastore', ok: true }]);
  writeFileSync(join(dir, 'driver.yaml'), 'api: 1\nkind: datastore\n');
  const manifest = await runCli(['--json', 'drivers', 'validate', '--no-shellcheck', dir]);
  t.equal(manifest.status, 0, 'kind: in driver.yaml says it');
});

t.test('validate: no arguments checks every driver of the remotes folder; one broken driver stops none', async (t) => {
  const { status, stdout } = await runCli(['--remotes', defectsRemotes, 'drivers', 'validate', '--no-shellcheck']);
  t.equal(status, 1);
  const headers = stdout.split('\n').filter((line) => /^(datastore|tm)\//.test(line));
  t.same(
    headers.map((line) => line.replace(/ \(.*\)$/, '')),
    [
      'datastore/futureapi: FAILED',
      'datastore/good: OK',
      'datastore/noexec: FAILED',
      'datastore/noshebang: FAILED',
      'datastore/nosize: OK',
      'datastore/overtime: OK',
      'datastore/rmtwice: OK',
      'datastore/stattext: OK',
      'datastore/typo: FAILED',
      'datastore/unknownkey: FAILED',
      'datastore/wrongkind: FAILED',
      'datastore/wrongtype: FAILED',
      'tm/nodelete: FAILED',
    ],
  );
  t.match(stdout, /^13 drivers checked: 5 OK, 8 failed; 8 errors, 1 warning, \d+ notes$/m);
});

t.test('validate: the bundled drivers pass, even with --strict', async (t) => {
  // With the system folders on PATH: the bundled drivers require mkswap and mkfs.ext4, from /usr/sbin.
  const PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].join(':');
  const { status, stdout } = await runCli(['drivers', 'validate', '--strict', '--no-shellcheck'], { env: { PATH } });
  t.equal(status, 0);
  t.match(stdout, /^6 drivers checked: 6 OK, 0 failed/m);
  for (const name of ['datastore/dummy', 'datastore/fs', 'tm/dummy', 'tm/qcow2', 'tm/shared', 'tm/ssh']) t.match(stdout, new RegExp(`^${name}: OK`, 'm'));
});

t.test('validate: bad usage exits 2 with a clear error', async (t) => {
  const unknown = await runCli(['drivers', 'validate', 'nosuch']);
  t.equal(unknown.status, 2);
  t.equal(unknown.stdout, '');
  t.match(unknown.stderr, /^ferry: no driver or folder 'nosuch'/m);
  t.match(unknown.stderr, /hint: drivers here: datastore\/dummy, datastore\/fs, tm\/dummy/);
  const json = await runCli(['--json', 'drivers', 'validate', 'nosuch']);
  t.equal(json.status, 2);
  t.match(jsonOf(json.stdout), { ok: false, error: { code: 'E_DRIVER_NOT_FOUND', exitStatus: 2 } });
  const kind = await runCli(['drivers', 'validate', '--kind', 'nfs', 'dummy']);
  t.equal(kind.status, 2);
  t.match(kind.stderr, /--kind "nfs" is not a driver kind/);
  const remotes = await runCli(['--remotes', '/nonexistent/remotes', 'drivers', 'validate']);
  t.equal(remotes.status, 2);
  t.match(remotes.stderr, '/nonexistent/remotes');
  const dirWithoutRemotes = await runCli(['--remotes', '/nonexistent/remotes', 'drivers', 'validate', '--no-shellcheck', join(defectsRemotes, 'datastore', 'good')]);
  t.equal(dirWithoutRemotes.status, 0, 'a folder path needs no remotes folder');
  const flag = await runCli(['drivers', 'validate', '--no-such-flag']);
  t.equal(flag.status, 2);
});

t.test('validate --help: what it checks, exit status and examples', async (t) => {
  const { status, stdout } = await runCli(['drivers', 'validate', '--help']);
  t.equal(status, 0);
  t.match(stdout, /Usage: ferry drivers validate \[options\] \[driver\.\.\.\]/);
  t.match(stdout, /--strict/);
  t.match(stdout, /--json/);
  t.match(stdout, /Exit status: 0 no errors/);
  t.match(stdout, /\$ ferry drivers validate fs tm\/shared/);
});
