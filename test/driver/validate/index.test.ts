/**
 * validate end to end: each defect fixture gives its exact finding (code,
 * file, line) and nothing else wrong; the bundled drivers are clean; one
 * broken driver never stops the others.
 */
import { lstatSync, mkdirSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { API_VERSIONS } from '../../../src/driver/manifest.js';
import { FINDING_CODES, validateRemotes, type DriverReport, type Finding } from '../../../src/driver/validate/index.js';
import { tmpDir } from '../../helpers/fixtures.js';
import { bundled, datastoreDriver, defects, noLint, only, problems, put, systemPath, tmDriver } from './helpers.js';

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
