/**
 * `ferry drivers new`: what a new driver folder holds, that it validates at
 * once, that template actions refuse until written, that a copy passes the
 * conformance suite as its original does, and bad input refused with
 * nothing left behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { buildDump } from '../../src/dump/dump.js';
import { Runner } from '../../src/driver/runner.js';
import { scaffoldDriver } from '../../src/driver/scaffold.js';
import { bundledRemotes, jsonOf, runCli } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('a template driver: every action, a manifest, a README; validate passes; actions refuse until written', async (t) => {
  const remotes = tmpDir(t);
  const made = await runCli(['--json', 'drivers', 'new', 'nas', '--kind', 'datastore', '--dir', remotes]);
  t.equal(made.status, 0, made.stderr);
  const out = jsonOf(made.stdout);
  const dir = join(remotes, 'datastore', 'nas');
  t.equal(out.dir, dir);
  t.same(out.files, [...DS_ACTIONS, 'README.md', 'driver.yaml'].sort(), 'every datastore action, driver.yaml and README.md');
  for (const action of DS_ACTIONS) t.ok(statSync(join(dir, action)).mode & 0o100, `${action} is executable`);
  t.ok(existsSync(join(remotes, 'scripts_common.sh')), 'the helper library came along, so the scripts can source it');
  const manifest = parse(readFileSync(join(dir, 'driver.yaml'), 'utf8'));
  t.match(manifest, { api: 1, kind: 'datastore', timeouts: { cp: 43200, stat: 300 }, config: { BASE_PATH: { required: true } } });
  t.match(readFileSync(join(dir, 'cp'), 'utf8'), /prints on stdout: "<image_source> <size MB> \[format\]"/i, 'each script says what it must print');
  t.match(readFileSync(join(dir, 'README.md'), 'utf8'), /ferry drivers validate datastore\/nas/);

  const validate = await runCli(['--remotes', remotes, 'drivers', 'validate', 'datastore/nas']);
  t.equal(validate.status, 0, `validate passes at once: ${validate.stdout}${validate.stderr}`);
  t.match(validate.stdout, /datastore\/nas: OK/);

  const runner = new Runner({ remotes });
  const dump = buildDump({ IMAGE: { ID: 1, PATH: '/tmp/x' }, DATASTORE: { ID: 100, DS_MAD: 'nas', TM_MAD: 'shared', BASE_PATH: remotes } });
  await t.rejects(runner.run({ kind: 'datastore', action: 'cp', dump, id: 1 }), { code: 'E_DRIVER_FAILED', message: /datastore driver nas: cp is not written yet/ }, 'a template action refuses, saying so');

  const tm = await runCli(['--remotes', remotes, 'drivers', 'new', 'lvm', '--kind', 'tm']);
  t.equal(tm.status, 0, tm.stderr);
  t.same(readdirSync(join(remotes, 'tm', 'lvm')).filter((file) => !file.includes('.')).sort(), [...TM_ACTIONS].sort(), 'every TM action');
  t.match(tm.stdout, /^made tm driver lvm in .*\n  README.md\n/, 'readable default');
  const tmValidate = await runCli(['--remotes', remotes, 'drivers', 'validate', 'tm/lvm']);
  t.equal(tmValidate.status, 0, tmValidate.stdout);
  await t.rejects(runner.run({ kind: 'tm', action: 'delete', driver: 'lvm', args: ['host01:/tmp/nowhere', '1', '0'] }), { message: /tm driver lvm: delete is not written yet/ });
});

t.test('a copy of fs passes validate and the conformance suite as fs does', async (t) => {
  const remotes = tmpDir(t);
  for (const [kind, name, from] of [
    ['datastore', 'nas', 'fs'],
    ['tm', 'nfs', 'shared'],
  ] as const) {
    const made = await runCli(['--remotes', bundledRemotes, 'drivers', 'new', name, '--kind', kind, '--from', from, '--dir', remotes]);
    t.equal(made.status, 0, made.stderr);
    const manifest = parse(readFileSync(join(remotes, kind, name, 'driver.yaml'), 'utf8'));
    t.match(manifest.description, new RegExp(`copied from ${from}`), 'the manifest says where it came from');
    t.equal(manifest.kind, kind);
  }
  t.ok(existsSync(join(remotes, 'datastore', 'nas', 'lib', 'fs_common.sh')), 'lib/ copied too');
  const validate = await runCli(['--remotes', remotes, 'drivers', 'validate']);
  t.equal(validate.status, 0, `the copies validate: ${validate.stdout}`);
  const suite = await runCli(['--remotes', remotes, 'drivers', 'test', 'datastore/nas', '--tm', 'nfs']);
  t.equal(suite.status, 0, `the copy of fs passes the conformance suite:\n${suite.stdout}${suite.stderr}`);
});

t.test('bad input is refused and leaves nothing', async (t) => {
  const remotes = tmpDir(t);
  await runCli(['drivers', 'new', 'nas', '--kind', 'datastore', '--dir', remotes]);
  for (const [argv, status, pattern] of [
    [['drivers', 'new', 'nas', '--kind', 'datastore', '--dir', remotes], 2, /datastore\/nas exists/],
    [['drivers', 'new', 'other', '--kind', 'datastore', '--from', 'nope', '--dir', remotes], 2, /no datastore driver "nope" to copy/],
    [['drivers', 'new', '../escape', '--kind', 'tm', '--dir', remotes], 2, /driver name "\.\.\/escape" is not allowed/],
    [['drivers', 'new', 'x', '--dir', remotes], 2, /--kind/],
    [['drivers', 'new', 'x', '--kind', 'disk', '--dir', remotes], 2, /--kind/],
  ] as const) {
    const refused = await runCli([...argv]);
    t.equal(refused.status, status, `${argv.slice(2).join(' ')}: exit ${status}`);
    t.match(refused.stderr, pattern);
  }
  t.same(readdirSync(join(remotes, 'datastore')), ['nas'], 'no other folder, no temporary left');
  t.notOk(existsSync(join(remotes, 'escape')) || existsSync(join(remotes, 'tm', 'escape')));
});

t.test('scaffoldDriver writes into a temporary folder and renames it: the library call', async (t) => {
  const remotes = tmpDir(t);
  const made = scaffoldDriver({ remotes, kind: 'tm', name: 'copy', from: 'dummy', fromRemotes: bundledRemotes });
  t.same(made.files, [...TM_ACTIONS, 'README.md', 'driver.yaml'].sort());
  t.same(readdirSync(join(remotes, 'tm')), ['copy'], 'nothing but the driver');
  t.notOk(statSync(join(remotes, 'tm', 'copy', 'clone')).isSymbolicLink(), 'links resolved');
});

t.test('a copy of a driver that uses another driver\'s lib/ (qcow2 uses shared\'s) gets that lib/ and stands alone', async (t) => {
  const remotes = tmpDir(t);
  const made = await runCli(['--remotes', bundledRemotes, 'drivers', 'new', 'mine', '--kind', 'tm', '--from', 'qcow2', '--dir', remotes]);
  t.equal(made.status, 0, made.stderr);
  const dir = join(remotes, 'tm', 'mine');
  t.ok(existsSync(join(dir, 'lib', 'tm_lib.sh')), 'shared\'s lib/ came along');
  t.notMatch(readFileSync(join(dir, 'clone'), 'utf8'), /\.\.\/shared\//, 'and the scripts source it from their own folder');
  const validate = await runCli(['--remotes', remotes, 'drivers', 'validate', 'tm/mine']);
  t.equal(validate.status, 0, `no source-missing: ${validate.stdout}`);
});
