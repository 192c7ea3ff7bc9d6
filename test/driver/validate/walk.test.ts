/** The folder walk: action names told apart from typos, extensions, backups, docs and lib/; links kept inside the remotes folder. */
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { validateDriver } from '../../../src/driver/validate/index.js';
import { tmpDir } from '../../helpers/fixtures.js';
import { SH, datastoreDriver, noLint, only, problems, put, remotesWith } from './helpers.js';

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
  t.same(of('export'), ['info extra-action'], 'an OpenNebula action outside the table is valid: a note saying what it is');
  t.match(report.findings.find((f) => f.file === join(dir, 'export')), { message: /export is an action OpenNebula knows .*\(export an image \(marketplace\)\)/ });
  t.same(of('rescan_pool'), ['info extra-action'], 'a driver-specific action is a note');
  t.same(of('notes'), ['info stray-file']);
  t.same(of('restore'), ['error not-executable', 'info extra-action'], 'a known OpenNebula action without its run bit');
  t.same(of('common.sh'), ['info stray-file'], 'helper code outside lib/');
  t.match(report.findings.find((f) => f.file.endsWith('common.sh')), { fix: /shared code goes in lib\// });
  t.same(of('stat~'), ['warning backup-file']);
  t.same(of('README.md'), []);
  t.same(of('LICENSE'), []);
  t.same(of('lib'), []);
  t.same(of('tools'), ['warning unexpected-folder']);
});

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
