/**
 * `ferry drivers validate`, the library: each defect fixture gives its exact
 * finding (code, file, line) and nothing else wrong; the bundled drivers are
 * clean; every check on drivers written here.
 */
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import t from 'tap';
import { actionsOf, specFor } from '../../src/contract/lookup.js';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { API_VERSIONS, CAPABILITIES, ManifestSchema } from '../../src/driver/manifest.js';
import {
  FINDING_CODES,
  editDistance,
  nearest,
  resolveTargets,
  validateDriver,
  validateRemotes,
  type DriverReport,
  type Finding,
} from '../../src/driver/validate.js';
import { fixturesRoot, rejection, tmpDir } from '../helpers/fixtures.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const defects = realpathSync(join(fixturesRoot, 'defects'));
const bundled = realpathSync(join(fixturesRoot, '..', 'remotes'));

/** Errors and warnings as `code file[:line]`, the file relative to `base`. */
function problems(report: DriverReport, base: string): string[] {
  return report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} ${f.file.startsWith(`${base}/`) ? f.file.slice(base.length + 1) : f.file}${f.line !== undefined ? `:${f.line}` : ''}`);
}

function only(report: DriverReport, code: string): Finding[] {
  return report.findings.filter((f) => f.code === code);
}

// ---------------------------------------------------------------- writing drivers

/** Writes a file with an explicit mode (never the umask's). */
function put(path: string, text: string, mode: number): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const SH = (body: string): string => `#!/bin/sh\nset -eu\n${body}\n`;

/** A correct datastore driver: every required and recommended action, each printing a valid result. */
function datastoreDriver(dir: string, skip: readonly string[] = []): string {
  const results: Record<string, string> = {
    cp: 'echo "/ds/1/f00d 40"',
    mkfs: 'echo "/ds/1/f00d 40"',
    rm: ':',
    stat: 'echo 40',
    clone: 'echo /ds/1/beef',
    monitor: "printf 'USED_MB=1\\nTOTAL_MB=10\\nFREE_MB=9\\n'",
  };
  mkdirSync(dir, { recursive: true });
  for (const [action, body] of Object.entries(results)) if (!skip.includes(action)) put(join(dir, action), SH(body), 0o755);
  return dir;
}

/** A correct TM driver with the required, recommended and system actions. */
function tmDriver(dir: string, skip: readonly string[] = []): string {
  mkdirSync(dir, { recursive: true });
  for (const action of ['clone', 'ln', 'mv', 'mvds', 'delete', 'cpds', 'context', 'mkimage', 'mkswap', 'premigrate', 'postmigrate']) {
    if (!skip.includes(action)) put(join(dir, action), SH(':'), 0o755);
  }
  return dir;
}

/** A remotes folder with one datastore driver `name`. */
function remotesWith(t: Tap, name = 'mine'): { remotes: string; dir: string } {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const dir = datastoreDriver(join(remotes, 'datastore', name));
  return { remotes, dir };
}

const noLint = { shellcheck: false as const };
/** This PATH plus the system folders, where mkswap and mkfs.ext4 live: a user's PATH may lack them, which validate rightly warns about. */
const systemPath = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].join(':');

// ---------------------------------------------------------------- the tables

t.test('the contract table decides what a driver needs of every action; FINDING_CODES have a severity and a meaning', async (t) => {
  const required = (kind: 'datastore' | 'tm'): string[] =>
    actionsOf(kind)
      .filter((action) => specFor(kind, action).need.need === 'required')
      .sort();
  t.same(required('datastore'), ['cp', 'monitor', 'rm', 'stat']);
  t.same(required('tm'), ['clone', 'delete', 'ln', 'mv', 'mvds']);
  for (const kind of ['datastore', 'tm'] as const) {
    for (const action of actionsOf(kind)) {
      for (const capability of specFor(kind, action).need.claimedBy ?? []) t.ok(Object.hasOwn(CAPABILITIES, capability), `${capability} is a known capability`);
    }
  }
  for (const [code, [severity, meaning]] of Object.entries(FINDING_CODES)) {
    t.match(code, /^[a-z]+(-[a-z]+)*$/, `${code}: kebab-case`);
    t.ok(['error', 'warning', 'info'].includes(severity));
    t.ok(meaning.length > 10);
  }
});

t.test('nearest and editDistance', async (t) => {
  t.equal(editDistance('snap_delete', 'snap_delete'), 0);
  t.equal(editDistance('cp', 'pc'), 1, 'a swap of neighbours is one edit');
  t.equal(editDistance('', 'abc'), 3);
  const ds = [...DS_ACTIONS];
  t.equal(nearest('snapshot_delete', ds), 'snap_delete');
  t.equal(nearest('Clone', ds), 'clone');
  t.equal(nearest('snap-revert', ds), 'snap_revert');
  t.equal(nearest('monitr', ds), 'monitor');
  t.equal(nearest('backup', ds), undefined);
  t.equal(nearest('xy', ds), undefined, 'two letters are too short to guess from');
});

// ---------------------------------------------------------------- the defect fixtures

t.test('defect fixtures: modes as committed (the run bit is the defect of one)', async (t) => {
  t.equal(statSync(join(defects, 'datastore', 'noexec', 'cp')).mode & 0o111, 0, 'noexec/cp has no run bit');
  const scripts = [
    'minids.sh',
    'minitm.sh',
    'datastore/noshebang/stat',
    'datastore/typo/snapshot_delete',
    'datastore/nosize/cp',
    'datastore/rmtwice/rm',
    'datastore/stattext/stat',
    'datastore/overtime/stat',
  ];
  for (const script of scripts) t.equal(statSync(join(defects, script)).mode & 0o111, 0o111, `${script} is executable`);
  t.ok(lstatSync(join(defects, 'datastore', 'good', 'cp')).isSymbolicLink(), 'correct actions are links to minids.sh');
});

t.test('defect fixtures: each gives exactly its finding', async (t) => {
  const report = await validateRemotes(defects);
  const byName = new Map(report.drivers.map((driver) => [driver.name, driver]));
  const expected: Record<string, string[]> = {
    'datastore/good': [],
    'datastore/noexec': ['not-executable datastore/noexec/cp'],
    'datastore/noshebang': ['no-shebang datastore/noshebang/stat:1'],
    'datastore/typo': ['unknown-action datastore/typo/snapshot_delete'],
    'datastore/unknownkey': ['manifest-unknown-key datastore/unknownkey/driver.yaml:4'],
    'datastore/wrongtype': ['manifest-type datastore/wrongtype/driver.yaml:4'],
    'datastore/futureapi': ['api-version datastore/futureapi/driver.yaml:2'],
    'datastore/wrongkind': ['kind-mismatch datastore/wrongkind/driver.yaml:3'],
    'datastore/stattext': ['stdout-output datastore/stattext/stat:7'],
    // Defects only running shows: the conformance suite's (ferry drivers test).
    'datastore/nosize': [],
    'datastore/rmtwice': [],
    'datastore/overtime': [],
    'tm/nodelete': ['missing-action tm/nodelete'],
  };
  t.same([...byName.keys()].sort(), Object.keys(expected).sort(), 'every fixture driver is validated');
  for (const [name, wanted] of Object.entries(expected)) {
    const driver = byName.get(name);
    if (!driver) continue;
    t.same(problems(driver, defects), wanted, name);
    t.equal(driver.ok, !wanted.some((line) => FINDING_CODES[line.split(' ')[0] as keyof typeof FINDING_CODES][0] === 'error'), `${name}: ok is "no errors"`);
  }
  const get = (name: string, code: string): Finding => only(byName.get(name) as DriverReport, code)[0] as Finding;
  t.match(get('datastore/noexec', 'not-executable'), { severity: 'error', fix: `chmod +x ${join(defects, 'datastore/noexec/cp')}` });
  t.match(get('datastore/noshebang', 'no-shebang'), { severity: 'error', message: /no #! line/, fix: /#!\/bin\/sh/ });
  t.match(get('datastore/typo', 'unknown-action'), { severity: 'error', message: /did you mean snap_delete/, fix: /rename snapshot_delete to snap_delete/ });
  t.match(get('datastore/unknownkey', 'manifest-unknown-key'), { message: /unknown key "timeout"; did you mean "timeouts"/, column: 1 });
  t.match(get('datastore/wrongtype', 'manifest-type'), { message: /^requires: expected Array, got "cp"/, fix: /a list of commands/ });
  const api = get('datastore/futureapi', 'api-version');
  t.match(api.message, /\b99\b/, 'names the driver\'s version');
  t.match(api.message, `${API_VERSIONS.min}..${API_VERSIONS.max}`, 'and the window this ferry runs');
  t.match(api.fix, /upgrade ferry/);
  t.match(get('datastore/wrongkind', 'kind-mismatch'), { message: /kind: tm, but the driver is in the datastore\/ folder/ });
  t.match(get('datastore/stattext', 'stdout-output'), { severity: 'warning', message: /stat must print only its result/, fix: />&2/ });
  t.match(get('tm/nodelete', 'missing-action'), { severity: 'error', message: /no delete action: VMs cannot be shut down/ });
  t.match(only(byName.get('datastore/good') as DriverReport, 'optional-missing')[0], { severity: 'info', message: /snap_delete, snap_flatten, snap_revert/ });
  t.equal(report.ok, false);
  t.equal(report.counts.error, 8);
  t.equal(report.counts.warning, 1);
});

t.test('defect fixtures are linted by shellcheck (they are shellcheck-clean: no shellcheck findings)', async (t) => {
  const report = await validateRemotes(defects, ['good', 'nosize', 'noexec']);
  for (const driver of report.drivers) t.same(only(driver, 'shellcheck'), [], `${driver.name}: no shellcheck findings`);
  t.same(report.drivers.flatMap((driver) => only(driver, 'shellcheck-missing')), [], 'shellcheck ran');
});

// ---------------------------------------------------------------- the bundled drivers

t.test('bundled drivers: no errors and no warnings, shellcheck included; the JSON shape', async (t) => {
  const report = await validateRemotes(bundled, undefined, { path: systemPath });
  t.same(
    report.drivers.map((driver) => driver.name),
    ['datastore/dummy', 'datastore/fs', 'tm/dummy', 'tm/qcow2', 'tm/shared', 'tm/ssh'],
  );
  for (const driver of report.drivers) t.same(problems(driver, bundled), [], `${driver.name} is clean`);
  t.equal(report.ok, true);
  // The dummy drivers mirror the seed's: no manifest, and validate says what one would add.
  const dummy = report.drivers.find((driver) => driver.name === 'datastore/dummy') as DriverReport;
  t.match(only(dummy, 'no-manifest')[0], { severity: 'info', file: join(bundled, 'datastore', 'dummy'), message: /no driver.yaml/, fix: /api: 1.*timeouts.*requires.*secret/ });
  const json = JSON.parse(JSON.stringify(report)) as typeof report;
  t.same(json, report, 'JSON round trip keeps everything');
  for (const driver of json.drivers) {
    t.same(Object.keys(driver).sort(), ['counts', 'dir', 'findings', 'kind', 'name', 'ok']);
    for (const finding of driver.findings) {
      t.ok(Object.hasOwn(FINDING_CODES, finding.code), `${finding.code} is a known code`);
      t.match(finding, { severity: /^(error|warning|info)$/, file: /^\//, message: /./, fix: /./ });
    }
  }
});

t.test('bundled manifests parse with the runtime schema, with known capabilities only', async (t) => {
  for (const driver of ['datastore/fs', 'tm/shared', 'tm/qcow2', 'tm/ssh']) {
    const report = await validateDriver(join(bundled, driver), { ...noLint, path: systemPath });
    t.same(only(report, 'capability-unknown'), [], `${driver}: known capabilities`);
    t.same(only(report, 'requires-missing'), [], `${driver}: requires names commands found on this machine`);
  }
  t.ok(ManifestSchema, 'schema exported');
});

// ---------------------------------------------------------------- action names

t.test('action names: typos, extensions, case, suffixes, docs and lib/ are told apart', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'cp.sh'), SH('echo "/ds/1 40"'), 0o755);
  put(join(dir, 'Clone'), SH('echo /ds/1'), 0o755);
  put(join(dir, 'snap-revert'), SH(':'), 0o755);
  put(join(dir, 'clone.ssh'), SH('echo /ds/2'), 0o755);
  put(join(dir, 'export'), SH('echo exported'), 0o755);
  put(join(dir, 'rescan_pool'), SH(':'), 0o755);
  put(join(dir, 'notes'), 'todo\n', 0o644);
  put(join(dir, 'restore'), SH(':'), 0o644);
  put(join(dir, 'common.sh'), '# shellcheck shell=sh\nhelper() { :; }\n', 0o644);
  put(join(dir, 'stat~'), SH('echo 1'), 0o755);
  put(join(dir, 'README.md'), '# mine\n', 0o644);
  put(join(dir, 'LICENSE'), 'Apache-2.0\n', 0o644);
  put(join(dir, 'lib', 'common.sh'), '#!/bin/sh\n# shellcheck shell=sh\nhelper() { :; }\n', 0o644);
  mkdirSync(join(dir, 'tools'));
  const report = await validateDriver(dir, noLint);
  const of = (name: string): string[] => report.findings.filter((f) => f.file === join(dir, name)).map((f) => `${f.severity} ${f.code}`);
  t.same(of('cp.sh'), ['error unknown-action']);
  t.match(only(report, 'unknown-action').find((f) => f.file.endsWith('cp.sh')), { message: /exactly 'cp'/, fix: 'rename cp.sh to cp' });
  t.same(of('Clone'), ['error unknown-action']);
  t.match(only(report, 'unknown-action').find((f) => f.file.endsWith('Clone')), { fix: /^rename Clone to clone/ });
  t.same(of('snap-revert'), ['error unknown-action']);
  t.same(of('clone.ssh'), [], 'a suffixed action is valid');
  t.same(of('export'), [], 'an OpenNebula action outside the table is valid');
  t.same(of('rescan_pool'), ['info extra-action'], 'a driver-specific action is a note');
  t.same(of('notes'), ['info stray-file']);
  t.same(of('restore'), ['error not-executable'], 'a known OpenNebula action without its run bit');
  t.same(of('common.sh'), ['info stray-file'], 'helper code outside lib/');
  t.match(report.findings.find((f) => f.file.endsWith('common.sh')), { fix: /shared code goes in lib\// });
  t.same(of('stat~'), ['warning backup-file']);
  t.same(of('README.md'), []);
  t.same(of('LICENSE'), []);
  t.same(of('lib'), []);
  t.same(of('tools'), ['warning unexpected-folder']);
});

t.test('not executable, no shebang, bad interpreters; a compiled program needs no #!', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'stat'), SH('echo 1'), 0o644);
  put(join(dir, 'rm'), 'rm -f "$1"\n', 0o755);
  put(join(dir, 'mkfs'), '#!/bin/sh\r\necho "/ds/1 1"\r\n', 0o755);
  put(join(dir, 'clone'), '#!/nonexistent/bin/sh\necho /ds/1\n', 0o755);
  put(join(dir, 'monitor'), '#!/usr/bin/env ferry-no-such-interpreter\nprint 1\n', 0o755);
  put(join(dir, 'snap_delete'), '#!sh\n', 0o755);
  copyFileSync('/bin/true', join(dir, 'snap_revert'));
  chmodSync(join(dir, 'snap_revert'), 0o755);
  const report = await validateDriver(dir, noLint);
  const at = (name: string): string[] => report.findings.filter((f) => f.file === join(dir, name)).map((f) => `${f.severity} ${f.code}${f.line ? `:${f.line}` : ''}`);
  t.same(at('stat'), ['error not-executable']);
  t.same(at('rm'), ['error no-shebang:1']);
  t.same(at('mkfs'), ['error bad-interpreter:1']);
  t.match(report.findings.find((f) => f.file.endsWith('mkfs')), { message: /Windows line endings/ });
  t.same(at('clone'), ['error bad-interpreter:1']);
  t.match(report.findings.find((f) => f.file.endsWith('clone')), { message: /\/nonexistent\/bin\/sh .*does not exist/ });
  t.same(at('monitor'), ['warning bad-interpreter:1'], 'an env lookup that fails here is a warning');
  t.same(at('snap_delete'), ['error bad-interpreter:1'], 'a relative interpreter');
  t.same(at('snap_revert'), [], 'an ELF executable');
  t.same(only(report, 'missing-action'), [], 'a non-executable stat is not also "missing"');
});

// ---------------------------------------------------------------- required actions

t.test('missing actions: required ones are errors saying what breaks; recommended ones warnings', async (t) => {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const ds = datastoreDriver(join(remotes, 'datastore', 'partial'), ['cp', 'rm', 'mkfs']);
  const report = await validateDriver(ds, noLint);
  const missing = only(report, 'missing-action').map((f) => `${f.severity} ${f.message}`);
  t.same(missing, [
    'error no cp action: images cannot be registered (nothing copies them into the datastore)',
    'error no rm action: images cannot be deleted from the datastore',
    'warning no mkfs action: empty datablocks and save-as targets cannot be created',
  ]);
  t.ok(only(report, 'missing-action').every((f) => f.file === ds && f.line === undefined), 'about the driver folder');

  const tm = tmDriver(join(remotes, 'tm', 'partial'), ['delete', 'context']);
  const tmReport = await validateDriver(tm, noLint);
  t.same(
    only(tmReport, 'missing-action').map((f) => `${f.severity} ${f.message}`),
    [
      'error no delete action: VMs cannot be shut down: their disks and folders are never removed',
      'warning no context action: VMs with a CONTEXT section cannot start (needed when this TM serves a system datastore)',
    ],
  );
  put(join(tm, 'driver.yaml'), 'api: 1\nkind: tm\ncapabilities: [system_datastore, snapshots]\n', 0o644);
  const claimed = await validateDriver(tm, noLint);
  const messages = only(claimed, 'missing-action').map((f) => `${f.severity} ${f.message}`);
  t.ok(messages.includes('error no context action, but driver.yaml claims capability context: VMs with a CONTEXT section cannot start') || messages.includes('error no context action, but driver.yaml claims capability system_datastore: VMs with a CONTEXT section cannot start'), 'a claimed system_datastore makes context required');
  t.ok(messages.some((m) => /^error no snap_create action, but driver.yaml claims capability snapshots/.test(m)), 'a claimed capability makes its actions required');
  t.same(only(claimed, 'optional-missing').map((f) => f.message.split(':')[1]?.split('(')[0]?.trim()), ['failmigrate, snap_create_live, monitor, resize'], 'claimed ones leave the optional list');
});

t.test('clone.ssh does not stand in for clone: ferry asked for clone runs only clone', async (t) => {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const tm = tmDriver(join(remotes, 'tm', 'suffixed'), ['clone']);
  put(join(tm, 'clone.ssh'), SH(':'), 0o755);
  const report = await validateDriver(tm, noLint);
  t.same(only(report, 'missing-action').map((f) => f.message), ['no clone action: VMs with non-persistent disks cannot be deployed']);
});

// ---------------------------------------------------------------- links

t.test('links: inside the remotes folder fine, outside refused, broken reported', async (t) => {
  const { remotes, dir } = remotesWith(t);
  put(join(remotes, 'shared.sh'), SH(':'), 0o755);
  datastoreDriver(join(remotes, 'datastore', 'other'));
  symlinkSync('../other/rm', join(dir, 'snap_delete'));
  symlinkSync('../../shared.sh', join(dir, 'snap_flatten'));
  symlinkSync('/bin/true', join(dir, 'snap_revert'));
  symlinkSync('does-not-exist', join(dir, 'export'));
  const report = await validateDriver(dir, noLint);
  t.same(problems(report, dir), ['broken-link export', 'link-outside snap_revert']);
  t.match(only(report, 'link-outside')[0], { message: /resolves to \/(usr\/)?bin\/true, outside the remotes folder/ });

  t.test('a driver folder outside any remotes folder: links must stay inside the folder itself', async (t) => {
    const alone = realpathSync(tmpDir(t, 'ferry-alone-'));
    const driver = datastoreDriver(join(alone, 'mydriver'));
    put(join(alone, 'helper'), SH('echo 1'), 0o755);
    symlinkSync('../helper', join(driver, 'snap_delete'));
    const lone = await validateDriver(driver, { ...noLint, kind: 'datastore' });
    t.same(problems(lone, driver), ['link-outside snap_delete']);
    t.equal(lone.name, 'mydriver');
    t.equal(lone.kind, 'datastore');
    const unknown = await validateDriver(driver, noLint);
    t.same(problems(unknown, driver), [`kind-unknown ${driver}`, 'link-outside snap_delete']);
    t.match(only(unknown, 'kind-unknown')[0], { fix: /--kind/ });
  });
});

// ---------------------------------------------------------------- driver.yaml

t.test('driver.yaml: every check, with the line of the key', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'export'), SH('echo x'), 0o755);
  const manifest = (text: string): Promise<DriverReport> => {
    put(join(dir, 'driver.yaml'), text, 0o644);
    return validateDriver(dir, noLint);
  };
  const codes = (report: DriverReport): string[] => report.findings.filter((f) => f.file.endsWith('driver.yaml')).map((f) => `${f.code}${f.line !== undefined ? `:${f.line}` : ''}`);

  t.same(codes(await manifest('api: 1\nkind: datastore\n')), [], 'a minimal manifest is clean');
  t.same(codes(await manifest('kind: datastore\n')), ['api-missing:1']);
  t.same(codes(await manifest('api: "1"\n')), ['manifest-type:1']);
  t.same(codes(await manifest('api: 1.5\n')), ['manifest-type:1']);
  const old = await manifest('# old\napi: 0\n');
  t.same(codes(old), ['api-version:2']);
  t.match(only(old, 'api-version')[0], { message: /targets driver API 0; this ferry runs API 1\.\.1/, fix: /update the driver/ });
  t.same(codes(await manifest('api: 1\nkind: tm\n')), ['kind-mismatch:2']);
  t.same(codes(await manifest('api: 1\nkind: both\n')), ['manifest-type:2']);
  t.same(codes(await manifest('- api\n- 1\n')), ['manifest-type:1'], 'a list at the top level');
  t.same(codes(await manifest('api: 1\napi: 1\n')), ['manifest-yaml:2'], 'a key given twice');
  const broken = await manifest('api: 1\ntimeouts: [cp\n');
  t.equal(only(broken, 'manifest-yaml').length > 0, true, 'YAML that does not parse');
  t.match(only(broken, 'manifest-yaml')[0], { line: /\d/, message: /not valid YAML/ });

  const timeouts = await manifest('api: 1\ntimeouts:\n  default: 60\n  cp: 600\n  clone.ssh: 60\n  export: 30\n  snapshot: 5\n  stat: 0\n  "a b": 3\n');
  t.same(codes(timeouts), ['timeout-unknown-action:7', 'manifest-type:8', 'manifest-type:9', 'timeout-unknown-action:9']);
  t.match(only(timeouts, 'timeout-unknown-action')[0], { message: /timeouts.snapshot: the driver has no action 'snapshot'/ });

  const caps = await manifest('api: 1\ncapabilities:\n  - snapshots\n  - live-snapshots\n  - teleport\n');
  t.same(codes(caps), ['capability-unknown:4', 'capability-unknown:5']);
  t.match(only(caps, 'capability-unknown')[0], { severity: 'warning', fix: /write it as live_snapshots/ });
  t.match(only(caps, 'capability-unknown')[1], { fix: /use a known capability \(snapshots, / });
  t.same(only(caps, 'missing-action').map((f) => f.message.slice(0, 18)), ['no snap_delete act', 'no snap_flatten ac', 'no snap_revert act'], 'a claimed snapshots needs the snapshot actions');

  const requires = await manifest('api: 1\nrequires: [sh, ferry-no-such-command-zz, "rm -rf /", /bin/sh, /nonexistent/tool]\n');
  t.same(codes(requires), ['requires-invalid:2', 'requires-missing:2', 'requires-missing:2']);
  t.match(only(requires, 'requires-missing')[0], { severity: 'warning', message: /requires ferry-no-such-command-zz, which is not on this machine's PATH/ });
  t.match(only(requires, 'requires-missing')[1], { message: /\/nonexistent\/tool/ });
  const onPath = await validateDriver(dir, { ...noLint, path: '/nonexistent-dir' });
  t.equal(only(onPath, 'requires-missing').length, 3, 'looked up on the PATH given: sh is not in /nonexistent-dir');

  const config = await manifest(
    'api: 1\nconfig:\n  POOL:\n    type: integer\n    default: "rbd"\n  KEY:\n    type: string\n    secret: true\n    default: hunter2\n  BASE_PATH:\n    type: path\n    required: true\n    secrit: true\n',
  );
  t.same(codes(config), ['config-default-type:5', 'manifest-unknown-key:13', 'secret-default:9'], 'errors first, then warnings, each by line');
  t.match(only(config, 'manifest-unknown-key')[0], { message: /unknown key "config.BASE_PATH.secrit"; did you mean "secret"/ });

  const unknown = await manifest('api: 1\ndescripton: x\nfoo: 1\n');
  t.same(codes(unknown), ['manifest-unknown-key:2', 'manifest-unknown-key:3']);
  t.match(only(unknown, 'manifest-unknown-key')[0], { fix: 'rename it to description' });
  t.match(only(unknown, 'manifest-unknown-key')[1], { fix: /remove it; driver.yaml keys are api, kind, description/ });

  t.same(codes(await manifest('')), ['api-missing:1'], 'an empty driver.yaml is an empty manifest');
});

t.test('no manifest: a note saying what one would add', async (t) => {
  const { dir } = remotesWith(t);
  const report = await validateDriver(dir, noLint);
  t.same(problems(report, dir), []);
  t.match(only(report, 'no-manifest')[0], { severity: 'info', file: dir, message: /no driver.yaml/, fix: /api: 1 \(pins the driver API it targets\)/ });
});

// ---------------------------------------------------------------- stdout

t.test('stdout: messages where the result goes, anything where nothing is returned', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'cp'), SH('echo "copying the image" \necho "/ds/1 40"'), 0o755); // message on line 3
  put(join(dir, 'rm'), SH('echo "removed $1" >&2\necho "removed $1"\nlog() { echo "$*"; }\nlog x'), 0o755); // line 4
  put(join(dir, 'stat'), SH('{\n  echo "stat of $1"\n} >&2\necho 40'), 0o755);
  const report = await validateDriver(dir, noLint);
  t.same(
    only(report, 'stdout-output').map((f) => `${f.file.slice(dir.length + 1)}:${f.line}`),
    ['cp:3', 'rm:4'],
  );
  const [cp, rm] = only(report, 'stdout-output');
  t.match(cp, { severity: 'warning', message: /cp must print only its result \(copy an image/ });
  t.match(rm, { severity: 'warning', message: /rm returns nothing/, fix: />&2/ });
});

// ---------------------------------------------------------------- shellcheck

t.test('shellcheck findings map to file and line; its absence is a note saying how to install it', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'rm'), SH('unused=1\nrm -f $1'), 0o755);
  put(join(dir, 'lib', 'helpers.sh'), '#!/bin/sh\nhelper() {\n  echo `date`\n}\n', 0o644);
  const report = await validateDriver(dir);
  const lint = only(report, 'shellcheck').map((f) => `${f.file.slice(dir.length + 1)}:${f.line} ${f.rule} ${f.severity}`);
  t.ok(lint.includes('rm:3 SC2034 warning'), 'unused variable: a warning at rm:3');
  t.ok(lint.includes('rm:4 SC2086 info'), 'unquoted $1: shellcheck calls it info');
  t.ok(lint.includes('lib/helpers.sh:3 SC2006 info'), 'lib/ shell files are linted too');
  t.match(only(report, 'shellcheck').find((f) => f.rule === 'SC2034'), { message: /^SC2034: unused appears unused/, fix: 'see https://www.shellcheck.net/wiki/SC2034' });

  const missing = await validateDriver(dir, { shellcheck: '/nonexistent/shellcheck' });
  t.same(only(missing, 'shellcheck'), []);
  t.match(only(missing, 'shellcheck-missing'), [{ severity: 'info', message: /shellcheck is not installed/, fix: /apt-get install shellcheck/ }]);
  const off = await validateDriver(dir, noLint);
  t.match(only(off, 'shellcheck-off'), [{ severity: 'info' }]);
  t.ok(spawnSync('shellcheck', ['--version']).status === 0, 'shellcheck is installed here, so the first run really linted');
});

// ---------------------------------------------------------------- one broken driver

t.test('one broken driver never stops the others from being validated', async (t) => {
  const remotes = realpathSync(tmpDir(t, 'ferry-validate-'));
  const broken = datastoreDriver(join(remotes, 'datastore', 'broken'));
  put(join(broken, 'driver.yaml'), 'api: [unclosed\n', 0o644);
  symlinkSync('nowhere', join(broken, 'snap_delete'));
  const fifo = datastoreDriver(join(remotes, 'datastore', 'fifo'));
  spawnSync('mkfifo', [join(fifo, 'driver.yaml')]);
  mkdirSync(join(remotes, 'datastore', 'yamldir', 'driver.yaml'), { recursive: true });
  datastoreDriver(join(remotes, 'datastore', 'yamldir'));
  datastoreDriver(join(remotes, 'datastore', 'zgood'));
  tmDriver(join(remotes, 'tm', 'good'));
  const report = await validateRemotes(remotes, undefined, noLint);
  t.same(
    report.drivers.map((d) => `${d.name} ${d.ok}`),
    ['datastore/broken false', 'datastore/fifo false', 'datastore/yamldir false', 'datastore/zgood true', 'tm/good true'],
  );
  t.same(problems(report.drivers[0] as DriverReport, broken), ['manifest-yaml driver.yaml:2', 'broken-link snap_delete']);
  t.match(only(report.drivers[1] as DriverReport, 'manifest-unreadable'), [{ message: /not a regular file/ }], 'a FIFO is not read (it would hang)');
});

// ---------------------------------------------------------------- naming drivers

t.test('resolveTargets: NAME in both kinds, kind/NAME, a folder path, and clear errors', async (t) => {
  const remotes = async (): Promise<string> => bundled;
  t.same((await resolveTargets(remotes, ['dummy'], '/')).map((x) => x.name), ['datastore/dummy', 'tm/dummy']);
  t.same((await resolveTargets(remotes, ['tm/dummy', 'fs'], '/')).map((x) => x.name), ['tm/dummy', 'datastore/fs']);
  t.same((await resolveTargets(remotes, ['dummy'], '/', 'tm')).map((x) => x.name), ['tm/dummy'], '--kind narrows a NAME');
  t.same((await resolveTargets(remotes, ['fs', 'datastore/fs'], '/')).length, 1, 'the same driver twice is checked once');
  t.same((await resolveTargets(remotes, [], '/')).length, 6, 'none: every driver');
  const byPath = await resolveTargets(remotes, ['datastore/typo'], defects);
  t.match(byPath, [{ name: 'datastore/typo', dir: join(defects, 'datastore', 'typo'), kind: 'datastore', root: defects }], 'not a driver here, but a folder of that path');
  const relative = await resolveTargets(remotes, ['./remotes/tm/ssh'], join(bundled, '..'));
  t.match(relative, [{ name: 'tm/ssh', kind: 'tm', root: bundled }]);
  const unknown = await rejection(resolveTargets(remotes, ['nosuch'], '/'));
  t.equal(unknown.code, 'E_DRIVER_NOT_FOUND');
  t.match(unknown.message, /no driver or folder 'nosuch'/);
  t.match(unknown.hint, /datastore\/dummy, datastore\/fs, tm\/dummy/);
  t.equal((await rejection(resolveTargets(remotes, ['tm/fs'], '/'))).code, 'E_DRIVER_NOT_FOUND', 'fs is no tm driver');
  const noRemotes = async (): Promise<string> => {
    throw new Error('no remotes folder');
  };
  t.match(await resolveTargets(noRemotes, [join(defects, 'datastore', 'good')], '/'), [{ name: 'datastore/good' }], 'a path needs no remotes folder');
  t.ok(readdirSync(defects).includes('datastore'));
});

t.test('source-missing: a file sourced next to the script must exist (a copied driver still pointing at its original)', async (t) => {
  const { remotes, dir } = remotesWith(t);
  put(join(remotes, 'scripts_common.sh'), '# helper library\n', 0o644);
  put(join(dir, 'lib', 'own.sh'), '# shared code\n', 0o644);
  put(join(dir, 'cp'), SH('# shellcheck source=/dev/null\n. "$(dirname "$0")/../../scripts_common.sh"\n. "$(dirname "$0")/lib/own.sh"\necho "/ds/1/f00d 40"'), 0o755);
  put(join(dir, 'rm'), SH('. "$(dirname "$0")/../../scripts_common.sh"\nsource "$(dirname "$0")/../shared/lib/tm_lib.sh"\n:'), 0o755);
  const report = await validateDriver(dir, noLint);
  t.same(
    only(report, 'source-missing').map((f) => [f.file.slice(dir.length + 1), f.line, f.severity]),
    [['rm', 4, 'error']],
    'only the missing one, with its line; the helper library and lib/ resolve',
  );
  t.match(only(report, 'source-missing')[0]?.message, /rm sources \.\.\/shared\/lib\/tm_lib\.sh, which does not exist/);
});
