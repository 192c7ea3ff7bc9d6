/**
 * `ferry drivers validate` on OpenNebula's own drivers (the corpus named by
 * FERRY_OPENNEBULA_SRC), laid out as an OpenNebula remotes folder: every
 * driver passes, its extra actions and helper files are notes saying what
 * they are, and a broken copy of one still fails.
 */
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { validateDriver, validateRemotes, type DriverReport } from '../../src/driver/validate/index.js';
import { corpusRoot } from '../helpers/corpus.js';
import { tmpDir } from '../helpers/fixtures.js';
import { only, problems, put } from './validate/helpers.js';

/** A file of the corpus that stands for a link (a copy made without symlinks): not executable, one line naming a path. */
function linkTarget(path: string): string | undefined {
  const info = statSync(path);
  if ((info.mode & 0o111) !== 0 || info.size === 0 || info.size > 200) return undefined;
  const text = readFileSync(path, 'utf8');
  return /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/.test(text) ? text : undefined;
}

/** Copies a corpus folder or file; links (real ones, or files standing for one) become links, everything writable so the temp folder can go. */
function copyCorpus(from: string, to: string): void {
  const info = lstatSync(from);
  if (info.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (info.isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) copyCorpus(join(from, name), join(to, name));
    chmodSync(to, 0o755);
  } else {
    const target = linkTarget(from);
    if (target !== undefined) {
      symlinkSync(target, to);
      return;
    }
    copyFileSync(from, to);
    chmodSync(to, (info.mode & 0o777) | 0o200);
  }
}

/** OpenNebula's remotes folder as an install lays it out: the drivers, their helpers, tm/shared -> qcow2, scripts_common.sh. */
function corpusRemotes(t: Tap): string {
  const root = corpusRoot(t);
  if (root === '') return '';
  const src = join(root, 'src');
  const remotes = join(tmpDir(t, 'ferry-onevalidate-'), 'remotes');
  const ds = join(src, 'datastore_mad', 'remotes');
  for (const name of ['fs', 'dummy', 'common', 'libfs.sh', 'xpath.rb', 'downloader.sh', 'url.rb', 'datastore.conf']) copyCorpus(join(ds, name), join(remotes, 'datastore', name));
  const tm = join(src, 'tm_mad');
  for (const name of ['dummy', 'ssh', 'qcow2', 'local', 'common', 'shared', 'tm_common.sh']) copyCorpus(join(tm, name), join(remotes, 'tm', name));
  copyCorpus(join(src, 'mad', 'sh', 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  return remotes;
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const DRIVERS = ['datastore/fs', 'datastore/dummy', 'tm/dummy', 'tm/ssh', 'tm/qcow2', 'tm/local', 'tm/shared'];

/** `severity code` of the findings about `file` (relative to the remotes folder), shellcheck's left out. */
function about(report: DriverReport, remotes: string, file: string): string[] {
  return report.findings.filter((f) => f.code !== 'shellcheck' && f.file === join(remotes, file)).map((f) => `${f.severity} ${f.code}`);
}

t.test('OpenNebula\'s drivers pass; their extra actions and helper files are notes saying what they are', async (t) => {
  const remotes = corpusRemotes(t);
  if (remotes === '') return;
  for (const link of ['tm/shared', 'tm/ssh/ln', 'tm/ssh/context', 'tm/qcow2/mv.ssh', 'datastore/fs/stat']) t.ok(existsSync(join(remotes, link)) && lstatSync(join(remotes, link)).isSymbolicLink(), `${link} is a link that resolves`);
  const report = await validateRemotes(remotes);
  const byName = new Map(report.drivers.map((driver) => [driver.name, driver]));
  t.same([...byName.keys()].sort(), [...DRIVERS, 'datastore/common', 'tm/common'].sort(), 'every folder checked');
  t.ok(report.ok, 'validate exits 0 on the whole remotes folder');
  for (const name of [...DRIVERS, 'datastore/common', 'tm/common']) {
    const driver = byName.get(name) as DriverReport;
    t.same(driver.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.rule ?? ''} ${f.file}:${f.line ?? ''}`), [], `${name}: no errors`);
    t.same(driver.findings.filter((f) => ['unknown-action', 'stray-file', 'missing-action'].includes(f.code) && f.severity !== 'info'), [], `${name}: no file taken for a typo or a stray`);
  }

  const ssh = byName.get('tm/ssh') as DriverReport;
  t.same(about(ssh, remotes, 'tm/ssh/monitor_ds'), ['info extra-action'], 'monitor_ds: an OpenNebula action, a note');
  t.match(only(ssh, 'extra-action').find((f) => f.file.endsWith('/monitor_ds')), { message: /monitor_ds is an action OpenNebula knows .*disk and snapshot sizes/ });
  t.same(about(ssh, remotes, 'tm/ssh/recovery_snap_create_live'), ['info extra-action']);
  t.match(only(ssh, 'extra-action').find((f) => f.file.endsWith('/recovery_snap_create_live')), { message: /recovery snapshot/ });
  for (const file of ['prebackup', 'postbackup_live', 'restore']) t.same(about(ssh, remotes, `tm/ssh/${file}`), ['info extra-action'], `${file}: an OpenNebula action`);
  t.same(about(ssh, remotes, 'tm/ssh/ssh_utils.sh'), ['info opennebula-file']);
  t.match(only(ssh, 'opennebula-file').find((f) => f.file.endsWith('/sshrc')), { message: /sshrc is the ssh TM's replica settings/ });
  t.match(only(ssh, 'opennebula-file').find((f) => f.file.endsWith('/clone.replica')), { message: /replica variant of clone.*ferry never runs it directly/ });

  const qcow2 = byName.get('tm/qcow2') as DriverReport;
  t.same(about(qcow2, remotes, 'tm/qcow2/clone.ssh'), ['info opennebula-file'], 'an ssh-mode variant');
  t.same(only(byName.get('tm/shared') as DriverReport, 'opennebula-file').length, only(qcow2, 'opennebula-file').length, 'tm/shared is qcow2');
  const fs = byName.get('datastore/fs') as DriverReport;
  t.match(only(fs, 'opennebula-file'), [{ file: join(remotes, 'datastore/fs/fs.conf'), message: /fs driver's settings/ }]);
  t.same(about(fs, remotes, 'datastore/fs/export'), ['info extra-action']);
  // OpenNebula's `exit -1`: shellcheck's error, a warning in OpenNebula's own script.
  t.match(fs.findings.find((f) => f.rule === 'SC2242' && f.file.endsWith('/fs/cp')), { severity: 'warning', message: /OpenNebula's own script/ });

  for (const name of ['datastore/common', 'tm/common']) {
    const common = byName.get(name) as DriverReport;
    t.same(only(common, 'missing-action'), [], `${name}: not a driver, no action is missing`);
    t.match(only(common, 'opennebula-file').find((f) => f.file === join(remotes, name)), { message: /OpenNebula's folder of scripts its .* drivers link to, not a driver/ });
    t.same(about(common, remotes, `${name}/not_supported.sh`), ['info opennebula-file']);
  }
});

t.test('a broken copy of an OpenNebula driver still fails', async (t) => {
  const remotes = corpusRemotes(t);
  if (remotes === '') return;
  const broken = join(remotes, 'datastore', 'broken');
  copyCorpus(join(remotes, 'datastore', 'fs'), broken);
  rmSync(join(broken, 'rm'));
  renameSync(join(broken, 'snap_delete'), join(broken, 'snapshot_delete'));
  chmodSync(join(broken, 'cp'), 0o644);
  const [report] = (await validateRemotes(remotes, ['datastore/broken'], { shellcheck: false })).drivers;
  t.same(problems(report as DriverReport, broken).sort(), [`missing-action ${broken}`, 'not-executable cp', 'unknown-action snapshot_delete'], 'still errors');
  t.notOk(report?.ok);

  const commonLike = join(remotes, 'tm', 'mine');
  put(join(commonLike, 'clone'), '#!/bin/bash\nexit -1\n', 0o755);
  const mine = await validateDriver(commonLike);
  t.match(mine.findings.find((f) => f.rule === 'SC2242'), { severity: 'error' }, 'shellcheck\'s error in a script not OpenNebula\'s stays an error');
  t.same(only(mine, 'opennebula-file'), [], 'a folder of another name is no common/ folder');
  t.ok(only(mine, 'missing-action').length > 0, 'its missing actions are judged');
});
