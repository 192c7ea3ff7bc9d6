/** `ferry ds <action> <dump> <id>` in-process, against the bundled dummy driver and the fixture drivers. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { DS_ACTIONS } from '../../src/contract/table.js';
import { recordFile, tmpDir } from '../helpers/fixtures.js';
import {
  base64Of,
  bundledRemotes,
  dumpFor,
  fixturesRemotes,
  fixturesRemotesReal,
  jsonOf,
  runCli,
  specExamplePath,
  specExampleXml,
  splitLogLines,
  systemDumpXml,
  withProcessEnv,
  writeFileIn,
} from './helpers.js';

type Tap = Parameters<typeof tmpDir>[0];

/** Human output of each dummy action: scalars as printed, objects as aligned key/value lines, nothing for no result. */
const DUMMY_HUMAN: Record<string, string> = {
  cp: 'source  dummy_path\nsizeMb  1024\n',
  mkfs: 'source  dummy_path\nsizeMb  1024\n',
  rm: '',
  stat: '1024\n',
  clone: 'dummy_path\n',
  monitor: 'usedMb   9720\ntotalMb  20480\nfreeMb   10760\n',
  snap_delete: '',
  snap_flatten: '',
  snap_revert: '',
};

/** The parsed result --json gives for each dummy action. */
const DUMMY_RESULT: Record<string, unknown> = {
  cp: { source: 'dummy_path', sizeMb: 1024 },
  mkfs: { source: 'dummy_path', sizeMb: 1024 },
  rm: null,
  stat: 1024,
  clone: 'dummy_path',
  monitor: { usedMb: 9720, totalMb: 20480, freeMb: 10760 },
  snap_delete: null,
  snap_flatten: null,
  snap_revert: null,
};

const DUMMY_STDOUT: Record<string, string> = {
  cp: 'dummy_path 1024\n',
  mkfs: 'dummy_path 1024\n',
  stat: '1024\n',
  clone: 'dummy_path\n',
  monitor: 'USED_MB=9720\nTOTAL_MB=20480\nFREE_MB=10760\n',
};

/** A temp folder holding the dump for `driver` as XML and as base64. */
function dumpFiles(t: Tap, driver: string): { dir: string; xml: string; b64: string; xmlText: string } {
  const dir = tmpDir(t, 'ferry-ds-');
  const xmlText = dumpFor(driver);
  return { dir, xmlText, xml: writeFileIn(dir, 'image.xml', xmlText), b64: writeFileIn(dir, 'image.b64', `${base64Of(xmlText)}\n`) };
}

t.test('every DS action of the bundled dummy driver: human output', async (t) => {
  const { xml } = dumpFiles(t, 'dummy');
  t.same(Object.keys(DUMMY_HUMAN).sort(), [...DS_ACTIONS].sort(), 'the table covers every DS action');
  for (const action of DS_ACTIONS) {
    const { status, stdout, stderr } = await runCli(['ds', action, xml, action === 'monitor' ? '1' : '0']);
    t.equal(status, 0, `ds ${action} exits 0`);
    t.equal(stdout, DUMMY_HUMAN[action], `ds ${action} prints its result`);
    t.equal(stderr, '', `ds ${action} writes nothing on stderr`);
  }
});

t.test('every DS action of the bundled dummy driver: --json', async (t) => {
  const { xml } = dumpFiles(t, 'dummy');
  for (const action of DS_ACTIONS) {
    const id = action === 'monitor' ? '1' : '0';
    const { status, stdout, stderr } = await runCli(['--json', 'ds', action, xml, id]);
    t.equal(status, 0, `ds ${action} --json exits 0`);
    t.equal(stderr, '');
    const out = jsonOf(stdout);
    for (const field of ['ok', 'action', 'driver', 'result', 'stdout', 'logs', 'exitCode', 'signal', 'timedOut', 'durationMs']) {
      t.ok(Object.hasOwn(out, field), `ds ${action} --json has ${field}`);
    }
    t.equal(out.ok, true);
    t.equal(out.action, action);
    t.equal(out.driver, 'dummy');
    t.equal(out.kind, 'datastore');
    t.equal(out.id, id);
    t.match(out.result, DUMMY_RESULT[action] as object, `ds ${action} result`);
    if (DUMMY_RESULT[action] === null) t.equal(out.result, null);
    t.equal(out.stdout, DUMMY_STDOUT[action] ?? '');
    t.same(out.logs, []);
    t.equal(out.exitCode, 0);
    t.equal(out.signal, null);
    t.equal(out.timedOut, false);
    t.type(out.durationMs, 'number');
    t.ok(out.durationMs >= 0);
  }
});

t.test('--json may come after the subcommand', async (t) => {
  const { xml } = dumpFiles(t, 'dummy');
  const { status, stdout } = await runCli(['ds', 'stat', xml, '0', '--json']);
  t.equal(status, 0);
  t.equal(jsonOf(stdout).result, 1024);
});

t.test('the dump as an XML file, a base64 file, and on stdin', async (t) => {
  const { xml, b64, xmlText } = dumpFiles(t, 'dummy');
  const fromXml = await runCli(['ds', 'stat', xml, '0']);
  t.equal(fromXml.status, 0);
  t.equal(fromXml.stdout, '1024\n');
  const fromB64 = await runCli(['ds', 'stat', b64, '0']);
  t.equal(fromB64.status, 0);
  t.equal(fromB64.stdout, '1024\n');
  const stdinXml = await runCli(['ds', 'stat', '-', '0'], { stdin: xmlText });
  t.equal(stdinXml.status, 0, 'XML on stdin');
  t.equal(stdinXml.stdout, '1024\n');
  const stdinB64 = await runCli(['ds', 'cp', '-', '7', '--json'], { stdin: `${base64Of(xmlText)}\n` });
  t.equal(stdinB64.status, 0, 'base64 on stdin');
  t.same(jsonOf(stdinB64.stdout).result, { source: 'dummy_path', sizeMb: 1024 });
  t.equal(jsonOf(stdinB64.stdout).id, '7');
  // base64 wrapped at 76 columns, as `base64` prints it.
  const wrapped = base64Of(xmlText).replace(/(.{76})/g, '$1\n');
  const fromWrapped = await runCli(['ds', 'stat', writeFileIn(tmpDir(t), 'wrapped.b64', wrapped), '0']);
  t.equal(fromWrapped.status, 0, 'wrapped base64');
});

t.test('the driver gets the dump as base64 in argument 1, the id in argument 2, and the dump on stdin', async (t) => {
  const { xml, xmlText } = dumpFiles(t, 'stdin');
  const record = recordFile(t);
  const { status, stdout, stderr } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['--remotes', fixturesRemotes, 'ds', 'cp', xml, '42']));
  t.equal(status, 0, stderr);
  t.equal(stdout, 'source  /var/lib/one/datastores/1/f00d\nsizeMb  40\n');
  t.same(record.lines(), [`cp 2 [${base64Of(xmlText.trim())}] [42]`]);
});

t.test('--driver overrides the dump\'s DS_MAD', async (t) => {
  // A dump naming a driver the bundled remotes do not have.
  const { xml: missing } = dumpFiles(t, 'nosuchdriver');
  const without = await runCli(['ds', 'stat', missing, '0']);
  t.equal(without.status, 2, 'DS_MAD nosuchdriver is not a bundled driver');
  t.match(without.stderr, /no datastore driver 'nosuchdriver'/);
  t.match(without.stderr, join(bundledRemotes, 'datastore', 'nosuchdriver'));
  t.equal(without.stdout, '');
  const withFlag = await runCli(['ds', 'stat', specExamplePath, '0', '--driver', 'dummy', '--json']);
  t.equal(withFlag.status, 0);
  t.equal(jsonOf(withFlag.stdout).driver, 'dummy');
  t.equal(jsonOf(withFlag.stdout).result, 1024);
  // A dump naming a driver that exists still runs the --driver one.
  const { xml } = dumpFiles(t, 'fail');
  const override = await runCli(['--remotes', fixturesRemotes, '--json', 'ds', 'stat', xml, '0', '--driver', 'ok']);
  t.equal(override.status, 0, 'DS_MAD fail is not run');
  t.equal(jsonOf(override.stdout).driver, 'ok');
  t.equal(jsonOf(override.stdout).result, 40);
});

t.test('a dump without DS_MAD and no --driver exits 2', async (t) => {
  const xml = specExampleXml().replace(/<DS_MAD>.*?<\/DS_MAD>/gs, '');
  const file = writeFileIn(tmpDir(t), 'no-ds-mad.xml', xml);
  const { status, stdout, stderr } = await runCli(['ds', 'stat', file, '0']);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, /DS_MAD/);
  t.match(stderr, /--driver/);
});

t.test('monitor of a system datastore (TYPE 1) runs the TM driver\'s monitor', async (t) => {
  const file = writeFileIn(tmpDir(t), 'system.xml', systemDumpXml('dummy'));
  const { status, stdout } = await runCli(['--json', 'ds', 'monitor', file, '0', '--driver', 'dummy']);
  t.equal(status, 0);
  const out = jsonOf(stdout);
  t.equal(out.kind, 'tm');
  t.equal(out.driver, 'dummy');
  t.match(out.result, { usedMb: 9720, totalMb: 20480, freeMb: 10760 });
});

t.test('a driver-specific action (export) runs and prints its stdout as is', async (t) => {
  const { xml } = dumpFiles(t, 'ok');
  const { status, stdout } = await runCli(['--remotes', fixturesRemotes, 'ds', 'export', xml, '0']);
  t.equal(status, 0);
  t.equal(stdout, 'raw export output\n');
});

t.test('a failing driver: exit 1, its message on stderr, its logs as JSON lines with --log-format json --log-level info', async (t) => {
  const { xml } = dumpFiles(t, 'fail');
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-format', 'json', '--log-level', 'info', 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  t.equal(stdout, '', 'nothing on stdout');
  const { records, other } = splitLogLines(stderr);
  const message = other.join('\n');
  t.match(message, /datastore fail\/stat failed \(exit status 3\)/);
  t.match(message, /disk \/ds is full/);
  t.match(message, /second line of the reason/);
  t.notMatch(message, /starting stat|low space|giving up/, 'log lines are not part of the message');
  t.match(
    records.map((r) => ({ level: r.level, msg: r.msg, source: r.source, driver: r.driver, action: r.action, kind: r.kind })),
    [
      { level: 30, msg: 'starting stat', source: 'driver', driver: 'fail', action: 'stat', kind: 'datastore' },
      { level: 40, msg: 'low space', source: 'driver' },
      { level: 50, msg: 'giving up', source: 'driver' },
    ],
  );
  t.equal(records.length, 3, 'DEBUG lines are below the default level');
  t.notOk(records.some((r) => r.msg === 'tried twice'));
});

t.test('--log-level debug shows the driver\'s DEBUG lines', async (t) => {
  const { xml } = dumpFiles(t, 'fail');
  const { status, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-format', 'json', '--log-level', 'debug', 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  const { records } = splitLogLines(stderr);
  t.ok(records.some((r) => r.msg === 'tried twice' && r.level === 20), 'the DEBUG line is logged at debug');
});

t.test('--log-level silent suppresses the log lines', async (t) => {
  const { xml } = dumpFiles(t, 'fail');
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  t.equal(stdout, '');
  const { records, other } = splitLogLines(stderr);
  t.same(records, [], 'no log records');
  t.match(other.join('\n'), /disk \/ds is full/, 'the failure is still reported');
  const noisy = await runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', 'ds', 'stat', dumpFiles(t, 'noisy').xml, '0']);
  t.equal(noisy.status, 0);
  t.equal(noisy.stdout, '40\n');
  t.equal(noisy.stderr, '', '200 INFO lines, none shown');
});

t.test('a noisy driver: logs on stderr, only the result on stdout', async (t) => {
  const { xml } = dumpFiles(t, 'noisy');
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-format', 'json', '--log-level', 'info', 'ds', 'stat', xml, '0']);
  t.equal(status, 0);
  t.equal(stdout, '40\n');
  const { records, other } = splitLogLines(stderr);
  t.equal(records.length, 200);
  t.same(other, []);
});

t.test('an error block (error_message) is the failure message', async (t) => {
  const { xml } = dumpFiles(t, 'errblock');
  const { status, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', 'ds', 'rm', xml, '0']);
  t.equal(status, 1);
  t.match(stderr, /Image \/x not found/);
  t.notMatch(stderr, /some noise/);
});

t.test('--json on failure: ok false, error.code, and the exit status still set', async (t) => {
  const { xml } = dumpFiles(t, 'fail');
  const { status, stdout } = await runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', '--json', 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  const out = jsonOf(stdout);
  t.equal(out.ok, false);
  t.equal(out.action, 'stat');
  t.equal(out.driver, 'fail');
  t.equal(out.result, null);
  t.equal(out.exitCode, 3);
  t.equal(out.signal, null);
  t.equal(out.timedOut, false);
  t.type(out.durationMs, 'number');
  t.match(out.error, { code: 'E_DRIVER_FAILED', exitStatus: 1 });
  t.match(out.error.message, /disk \/ds is full/);
  t.match(out.logs, [
    { level: 'info', message: 'starting stat' },
    { level: 'warn', message: 'low space' },
    { level: 'debug', message: 'tried twice' },
    { level: 'error', message: 'giving up' },
  ]);
  const usage = await runCli(['--json', 'ds', 'stat', join(tmpDir(t), 'missing.xml'), '0', '--driver', 'dummy']);
  t.equal(usage.status, 2);
  t.match(jsonOf(usage.stdout), { ok: false, error: { code: 'E_USAGE', exitStatus: 2 } });
});

t.test('a driver printing garbage: exit 1, malformed output', async (t) => {
  const { xml } = dumpFiles(t, 'garbage');
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  t.equal(stdout, '');
  t.match(stderr, /malformed output/);
  t.match(stderr, /this is not a result/);
  const json = await runCli(['--remotes', fixturesRemotes, '--json', 'ds', 'cp', xml, '0']);
  t.equal(json.status, 1);
  t.match(jsonOf(json.stdout), { ok: false, exitCode: 0, error: { code: 'E_MALFORMED_OUTPUT' } });
});

t.test('a driver killed by a signal: exit 1', async (t) => {
  const { xml } = dumpFiles(t, 'signal');
  const { status, stderr } = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', xml, '0']);
  t.equal(status, 1);
  t.match(stderr, /SIGKILL/);
});

t.test('a slow driver with --timeout 0.3: exit 124', async (t) => {
  const { xml } = dumpFiles(t, 'slow');
  const started = Date.now();
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, '--timeout', '0.3', 'ds', 'stat', xml, '0']);
  t.equal(status, 124);
  t.equal(stdout, '');
  t.match(stderr, /timed out after 0\.3 s/);
  t.ok(Date.now() - started < 3000, 'killed promptly');
  const json = await runCli(['--remotes', fixturesRemotes, '--timeout', '0.3', '--json', 'ds', 'stat', xml, '0']);
  t.equal(json.status, 124);
  t.match(jsonOf(json.stdout), { ok: false, timedOut: true, error: { code: 'E_TIMEOUT', exitStatus: 124 } });
});

t.test('an interrupt (io.signal aborted) while a driver runs: 130', async (t) => {
  const { xml } = dumpFiles(t, 'slow');
  const controller = new AbortController();
  setTimeout(() => controller.abort('SIGINT'), 200);
  const started = Date.now();
  const { status, stdout } = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', xml, '0'], { signal: controller.signal });
  t.equal(status, 130);
  t.equal(stdout, '');
  t.ok(Date.now() - started < 3000, 'stopped promptly');
});

t.test('a missing driver: exit 2, names the path', async (t) => {
  const { xml } = dumpFiles(t, 'nosuchdriver');
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', xml, '0']);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, join(fixturesRemotesReal, 'datastore', 'nosuchdriver'));
  const action = await runCli(['--remotes', fixturesRemotes, 'ds', 'nosuchaction', xml, '0', '--driver', 'ok']);
  t.equal(action.status, 2, 'a missing action exits 2');
  t.match(action.stderr, join(fixturesRemotesReal, 'datastore', 'ok', 'nosuchaction'));
});

t.test('a driver name that would leave the remotes folder: exit 2', async (t) => {
  const { xml } = dumpFiles(t, 'dummy');
  const { status, stdout } = await runCli(['ds', 'stat', xml, '0', '--driver', '../tm']);
  t.equal(status, 2);
  t.equal(stdout, '');
});

t.test('an action script that is not executable: exit 2', async (t) => {
  const { xml } = dumpFiles(t, 'noexec');
  const { status, stderr } = await runCli(['--remotes', fixturesRemotes, 'ds', 'cp', xml, '0']);
  t.equal(status, 2);
  t.match(stderr, /not executable/);
});

t.test('a bad dump: exit 2, nothing run', async (t) => {
  const dir = tmpDir(t);
  const record = recordFile(t);
  const cases: Record<string, string> = {
    'not base64, not XML': 'this is not a dump',
    'malformed XML': '<DS_DRIVER_ACTION_DATA><IMAGE></DS_DRIVER_ACTION_DATA>',
    'wrong root': '<VM><ID>1</ID></VM>',
    empty: '',
    'base64 of garbage': base64Of('garbage, not XML'),
  };
  for (const [name, text] of Object.entries(cases)) {
    const file = writeFileIn(dir, `${name.replace(/\W+/g, '_')}.dump`, text);
    const { status, stdout, stderr } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () =>
      runCli(['--remotes', fixturesRemotes, 'ds', 'stat', file, '0', '--driver', 'ok']),
    );
    t.equal(status, 2, `${name}: exit 2`);
    t.equal(stdout, '', `${name}: nothing on stdout`);
    t.match(stderr, /dump/, `${name}: the message is about the dump`);
  }
  const stdinBad = await runCli(['ds', 'stat', '-', '0', '--driver', 'dummy'], { stdin: 'not a dump at all' });
  t.equal(stdinBad.status, 2, 'a bad dump on stdin');
  t.same(record.lines(), [], 'no driver ran');
});

t.test('a bad image id: exit 2', async (t) => {
  const { xml } = dumpFiles(t, 'dummy');
  const { status, stdout } = await runCli(['ds', 'stat', xml, 'seven']);
  t.equal(status, 2);
  t.equal(stdout, '');
});

t.test('a missing dump file: exit 2, names it', async (t) => {
  const missing = join(tmpDir(t), 'nope.xml');
  const { status, stdout, stderr } = await runCli(['ds', 'stat', missing, '0', '--driver', 'dummy']);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, missing);
  t.match(stderr, /does not exist/);
});

t.test('a relative dump path is read from the cwd', async (t) => {
  const { dir } = dumpFiles(t, 'dummy');
  const { status, stdout } = await runCli(['ds', 'stat', 'image.xml', '0'], { cwd: dir });
  t.equal(status, 0);
  t.equal(stdout, '1024\n');
});

t.test('FERRY_REMOTES picks the remotes folder', async (t) => {
  const { xml } = dumpFiles(t, 'ok');
  const { status, stdout, stderr } = await runCli(['ds', 'stat', xml, '0'], { env: { FERRY_REMOTES: fixturesRemotes } });
  t.equal(status, 0, stderr);
  t.equal(stdout, '40\n');
  const relativeEnv = await runCli(['ds', 'stat', xml, '0'], { env: { FERRY_REMOTES: 'fixtures/remotes' } });
  t.equal(relativeEnv.status, 0, 'a relative FERRY_REMOTES is resolved from the cwd');
  const flagWins = await runCli(['--remotes', bundledRemotes, 'ds', 'stat', xml, '0'], { env: { FERRY_REMOTES: fixturesRemotes } });
  t.equal(flagWins.status, 2, '--remotes wins over FERRY_REMOTES (the bundled remotes have no driver ok)');
});

t.test('remotes: in ./ferry.yaml (cwd) picks the remotes folder', async (t) => {
  const dir = tmpDir(t, 'ferry-cwd-');
  writeFileIn(dir, 'image.xml', dumpFor('ok'));
  writeFileIn(dir, 'ferry.yaml', `remotes: ${relative(dir, fixturesRemotes)}\n`);
  const { status, stdout, stderr } = await runCli(['ds', 'stat', 'image.xml', '0'], { cwd: dir });
  t.equal(status, 0, stderr);
  t.equal(stdout, '40\n');
  const envWins = await runCli(['ds', 'stat', 'image.xml', '0'], { cwd: dir, env: { FERRY_REMOTES: bundledRemotes } });
  t.equal(envWins.status, 2, 'FERRY_REMOTES wins over ferry.yaml');
});

t.test('--config FILE: remotes relative to the file, timeouts and log_level apply', async (t) => {
  const dir = tmpDir(t, 'ferry-conf-');
  const confDir = join(dir, 'etc');
  mkdirSync(confDir);
  const config = writeFileIn(confDir, 'custom.yaml', `remotes: ${relative(confDir, fixturesRemotes)}\nlog_level: silent\ntimeouts:\n  datastore:\n    stat: 0.3\n`);
  writeFileIn(dir, 'ok.xml', dumpFor('ok'));
  writeFileIn(dir, 'slow.xml', dumpFor('slow'));
  writeFileIn(dir, 'fail.xml', dumpFor('fail'));
  const ok = await runCli(['--config', config, 'ds', 'stat', 'ok.xml', '0'], { cwd: dir });
  t.equal(ok.status, 0, ok.stderr);
  t.equal(ok.stdout, '40\n');
  const slow = await runCli(['--config', config, 'ds', 'stat', 'slow.xml', '0'], { cwd: dir });
  t.equal(slow.status, 124, 'timeouts.datastore.stat from the config');
  const fail = await runCli(['--config', config, 'ds', 'stat', 'fail.xml', '0'], { cwd: dir });
  t.equal(fail.status, 1);
  t.same(splitLogLines(fail.stderr).records, [], 'log_level: silent from the config');
  const flagWins = await runCli(['--config', config, '--log-format', 'json', '--log-level', 'info', 'ds', 'stat', 'fail.xml', '0'], { cwd: dir });
  t.equal(splitLogLines(flagWins.stderr).records.length, 3, '--log-level wins over log_level:');
  const missing = await runCli(['--config', join(dir, 'absent.yaml'), 'ds', 'stat', 'ok.xml', '0'], { cwd: dir });
  t.equal(missing.status, 2, 'a missing --config file exits 2');
  t.match(missing.stderr, join(dir, 'absent.yaml'));
});

t.test('a config with an unknown key: exit 2, names the key and the file, nothing run', async (t) => {
  const dir = tmpDir(t, 'ferry-badconf-');
  const record = recordFile(t);
  writeFileIn(dir, 'image.xml', dumpFor('ok'));
  const top = writeFileIn(dir, 'top.yaml', `remotes: ${fixturesRemotes}\nbogus_key: 1\n`);
  const nested = writeFileIn(dir, 'nested.yaml', `remotes: ${fixturesRemotes}\ntimeouts:\n  default: 5\n  sloww: 3\n`);
  for (const [file, key] of [
    [top, 'bogus_key'],
    [nested, 'sloww'],
  ] as const) {
    const { status, stdout, stderr } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['--config', file, 'ds', 'stat', 'image.xml', '0'], { cwd: dir }));
    t.equal(status, 2, `${key}: exit 2`);
    t.equal(stdout, '');
    t.match(stderr, key, `${key}: the message names the key`);
    t.match(stderr, file, `${key}: the message names the file`);
  }
  // The same from ./ferry.yaml, found in the cwd.
  writeFileIn(dir, 'ferry.yaml', `remotes: ${fixturesRemotes}\nremote: typo\n`);
  const cwdConfig = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['ds', 'stat', 'image.xml', '0'], { cwd: dir }));
  t.equal(cwdConfig.status, 2);
  t.match(cwdConfig.stderr, /\bremote\b/);
  t.match(cwdConfig.stderr, join(dir, 'ferry.yaml'));
  t.same(record.lines(), [], 'no driver ran');
});

t.test('--json also reports errors found before anything runs (config, flags) as one JSON object', async (t) => {
  const dir = tmpDir(t, 'ferry-badconf-');
  writeFileIn(dir, 'image.xml', dumpFor('ok'));
  const top = writeFileIn(dir, 'top.yaml', `remotes: ${fixturesRemotes}\nbogus_key: 1\n`);
  const cases = [
    { name: 'unknown config key', argv: ['--json', '--config', top, 'ds', 'stat', 'image.xml', '0'], error: { code: 'E_CONFIG', exitStatus: 2, message: /bogus_key/ } },
    { name: 'bad --timeout', argv: ['--json', '--timeout', 'soon', '--remotes', fixturesRemotes, 'ds', 'stat', 'image.xml', '0'], error: { code: 'E_USAGE', exitStatus: 2, message: /--timeout/ } },
    { name: 'bad --timeout (tm)', argv: ['--json', '--timeout', 'soon', 'tm', 'delete', 'dummy', 'host01:/d', '7', '0'], error: { code: 'E_USAGE', exitStatus: 2 } },
    { name: 'unknown config key (drivers list)', argv: ['--json', '--config', top, 'drivers', 'list'], error: { code: 'E_CONFIG', exitStatus: 2 } },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const { status, stdout, stderr } = await runCli(c.argv, { cwd: dir });
      t.equal(status, 2);
      t.equal(stderr, '', 'the error is in the JSON, not on stderr');
      t.match(stdout, /^\{.*\}\n$/s, 'stdout is one JSON object');
      if (stdout.startsWith('{')) t.match(jsonOf(stdout), { ok: false, error: c.error });
    });
  }
});

t.test('a config value of the wrong type: exit 2, names the key', async (t) => {
  const dir = tmpDir(t, 'ferry-badconf-');
  const file = writeFileIn(dir, 'ferry.yaml', 'kill_grace: soon\n');
  const { status, stderr } = await runCli(['--config', file, 'drivers', 'list']);
  t.equal(status, 2);
  t.match(stderr, /kill_grace/);
  t.match(stderr, file);
  const notYaml = writeFileIn(dir, 'broken.yaml', 'remotes: [unclosed\n');
  const broken = await runCli(['--config', notYaml, 'drivers', 'list']);
  t.equal(broken.status, 2, 'YAML that does not parse');
  t.match(broken.stderr, notYaml);
});

t.test('logs: warnings by default, one line per record, colour only on a terminal without NO_COLOR, JSON when asked; a long action shows a ticker that is cleared', async (t) => {
  const xml = dumpFor('noisy');
  const dir = tmpDir(t as Tap);
  const file = writeFileIn(dir, 'image.xml', xml);
  const quietByDefault = await runCli(['--remotes', fixturesRemotes, 'ds', 'stat', file, '0'], { stderrIsTTY: true });
  t.equal(quietByDefault.status, 0);
  t.equal(quietByDefault.stdout, '40\n', 'stdout carries only the result');
  t.equal(quietByDefault.stderr, '', "the driver's INFO lines are below the default level (warn)");
  const noisy = await runCli(['--remotes', fixturesRemotes, '--log-level', 'info', 'ds', 'stat', file, '0'], { stderrIsTTY: true });
  t.match(noisy.stderr, /^\x1b\[32mINFO \x1b\[39m datastore noisy\/stat 0: progress 199$/m, 'one coloured line per record on a terminal');
  t.notMatch(noisy.stderr, /^\{"level"/m, 'no JSON lines on a terminal');
  const noColour = await runCli(['--remotes', fixturesRemotes, '--log-level', 'info', 'ds', 'stat', file, '0'], { stderrIsTTY: true, env: { NO_COLOR: '1' } });
  t.match(noColour.stderr, /^INFO {2}datastore noisy\/stat 0: progress 0$/m, 'NO_COLOR: plain text');
  t.notMatch(noColour.stderr, /\x1b/, 'NO_COLOR: no escape at all');
  const plain = await runCli(['--remotes', fixturesRemotes, '--log-level', 'info', 'ds', 'stat', file, '0']);
  t.match(plain.stderr, /^INFO {2}datastore noisy\/stat 0: progress 0$/m, 'plain text lines when stderr is not a terminal');
  t.notMatch(plain.stderr, /\x1b/);
  const json = await runCli(['--remotes', fixturesRemotes, '--log-level', 'info', '--log-format', 'json', 'ds', 'stat', file, '0']);
  t.match(json.stderr, /^\{"level":30,.*"msg":"progress 0"\}$/m, 'JSON lines when asked');

  const slow = writeFileIn(dir, 'slow.xml', dumpFor('slow'));
  const ticking = await withProcessEnv({ FIXTURE_SLEEP: '1.4' }, () => runCli(['--remotes', fixturesRemotes, 'ds', 'stat', slow, '0'], { stderrIsTTY: true }));
  t.equal(ticking.status, 0);
  t.equal(ticking.stdout, '40\n');
  t.match(ticking.stderr, /\r\x1b\[2Kds stat … \d+ s/, 'the ticker shows the elapsed time');
  t.ok(ticking.stderr.endsWith('\r\x1b[2K'), 'and clears its line at the end');
  const quiet = await withProcessEnv({ FIXTURE_SLEEP: '1.4' }, () => runCli(['--remotes', fixturesRemotes, 'ds', 'stat', slow, '0']));
  t.equal(quiet.stderr, '', 'no ticker when stderr is not a terminal');
});
