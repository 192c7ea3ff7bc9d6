/**
 * `ferry drivers import` over the real OpenNebula corpus (FERRY_OPENNEBULA_SRC)
 * into temporary ONE roots: where every file lands, modes, the links a
 * checkout stores as plain files made links again, ferry's additions (from a
 * temporary scripts/opennebula), --only, conflicts and --force, --dry-run, a
 * SRC of neither layout, a link out of SRC, both SRC layouts, and OpenNebula's
 * fs/stat running straight from the result.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { importDrivers } from '../../src/compat/import.js';
import { FerryError } from '../../src/errors.js';
import { jsonOf, repoRoot, runCli } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';
import { corpusRoot, rubyAvailable } from '../helpers/corpus.js';

interface Node {
  type: 'file' | 'link' | 'dir';
  mode?: number;
  target?: string;
  content?: string;
}

/** Everything below `dir`: path -> type, mode, link text, content. */
function tree(dir: string, rel = '', into = new Map<string, Node>()): Map<string, Node> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const sub = rel === '' ? name : `${rel}/${name}`;
    const stats = lstatSync(join(dir, sub));
    if (stats.isSymbolicLink()) into.set(sub, { type: 'link', target: readlinkSync(join(dir, sub)) });
    else if (stats.isDirectory()) {
      into.set(sub, { type: 'dir' });
      tree(dir, sub, into);
    } else into.set(sub, { type: 'file', mode: stats.mode & 0o7777, content: readFileSync(join(dir, sub), 'latin1') });
  }
  return into;
}

const DROP_IN = '#!/usr/bin/env ruby\n# stands in for ferry\'s xpath.rb drop-in\n';

/** A scripts/opennebula as the other parts of ferry ship it, small. */
function fakeExtras(t: Test, options: { dropIn?: boolean } = {}): string {
  const dir = tmpDir(t, 'ferry-extras-');
  mkdirSync(join(dir, 'lib', 'ruby'), { recursive: true });
  mkdirSync(join(dir, 'bin'));
  if (options.dropIn !== false) writeFileSync(join(dir, 'xpath.rb'), DROP_IN, { mode: 0o755 });
  writeFileSync(join(dir, 'lib', 'ruby', 'load_opennebula_paths.rb'), '# ferry\'s stub\n', { mode: 0o644 });
  writeFileSync(join(dir, 'lib', 'ruby', 'OpenNebulaDriver.rb'), '# ferry\'s, must not replace OpenNebula\'s\n', { mode: 0o644 });
  writeFileSync(join(dir, 'bin', 'onevm'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

/** A small layout (a) source tree, with real links, to break in tests. */
function smallSource(t: Test): string {
  const root = tmpDir(t, 'ferry-one-src-');
  const file = (path: string, text: string, mode: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text, { mode });
  };
  file('src/datastore_mad/remotes/fs/cp', '#!/bin/bash\necho cp\n', 0o755);
  file('src/datastore_mad/remotes/libfs.sh', '# libfs\n', 0o644);
  file('src/tm_mad/qcow2/clone', '#!/bin/bash\nexit 0\n', 0o755);
  file('src/tm_mad/tm_common.sh', '# tm_common\n', 0o644);
  file('src/mad/sh/scripts_common.sh', '# scripts_common\n', 0o644);
  symlinkSync('qcow2', join(root, 'src/tm_mad/shared'));
  return root;
}

function codeOf(fn: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    fn();
  } catch (error) {
    if (error instanceof FerryError) return { code: error.code, message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error('expected a FerryError');
}

t.test('the corpus into a new ONE root: every file where install.sh puts it, unmodified, modes kept, links made links', async (t) => {
  const corpus = corpusRoot(t);
  const src = join(corpus, 'src');
  const dest = join(tmpDir(t), 'one');
  const report = importDrivers(corpus, dest, { extras: fakeExtras(t) });
  t.equal(report.layout, 'source');
  t.same(report.drivers, { datastore: ['dummy', 'fs'], tm: ['dummy', 'local', 'qcow2', 'shared', 'ssh'] });
  t.equal(report.remotes, join(dest, 'var/remotes'));
  t.ok(report.restoredLinks >= 40, `links stored as files made links (${report.restoredLinks})`);

  const expected: Array<[string, string]> = [
    ['lib/sh/scripts_common.sh', 'mad/sh/scripts_common.sh'],
    ['var/remotes/scripts_common.sh', 'mad/sh/scripts_common.sh'],
    ['var/remotes/tm/tm_common.sh', 'tm_mad/tm_common.sh'],
    ['etc/tmrc', 'tm_mad/tmrc'],
    ['var/remotes/etc/datastore/fs/fs.conf', 'datastore_mad/remotes/fs/fs.conf'],
    ['var/remotes/etc/datastore/datastore.conf', 'datastore_mad/remotes/datastore.conf'],
    ['var/remotes/etc/tm/ssh/sshrc', 'tm_mad/ssh/sshrc'],
    ['var/remotes/tm/ssh/ssh_utils.sh', 'tm_mad/ssh/ssh_utils.sh'],
    ['var/remotes/datastore/libfs.sh', 'datastore_mad/remotes/libfs.sh'],
    ['var/remotes/datastore/downloader.sh', 'datastore_mad/remotes/downloader.sh'],
    ['var/remotes/datastore/url.rb', 'datastore_mad/remotes/url.rb'],
    ['var/remotes/datastore/common/stat', 'datastore_mad/remotes/common/stat'],
    ['var/remotes/datastore/fs/cp', 'datastore_mad/remotes/fs/cp'],
    ['var/remotes/tm/common/mkimage', 'tm_mad/common/mkimage'],
    ['var/remotes/tm/lib/tm_action.rb', 'tm_mad/lib/tm_action.rb'],
    ['var/remotes/tm/qcow2/clone', 'tm_mad/qcow2/clone'],
    ['lib/ruby/OpenNebulaDriver.rb', 'mad/ruby/OpenNebulaDriver.rb'],
    ['lib/ruby/CommandManager.rb', 'mad/ruby/CommandManager.rb'],
    ['lib/mads/one_datastore.rb', 'datastore_mad/one_datastore.rb'],
    ['var/remotes/datastore/xpath-rexml.rb', 'datastore_mad/remotes/xpath.rb'],
  ];
  const installed = tree(dest);
  for (const [to, from] of expected) {
    const node = installed.get(to);
    const source = lstatSync(join(src, from));
    t.equal(node?.type, 'file', `${to} is a file`);
    t.equal(node?.content, readFileSync(join(src, from), 'latin1'), `${to} is ${from}, unmodified`);
    t.equal(node?.mode, source.mode & 0o7777, `${to} keeps the mode of ${from}`);
  }
  // Every OpenNebula file of the plan: same bytes, same mode.
  for (const entry of report.entries.filter((e) => e.type === 'file' && e.origin === 'opennebula')) {
    const node = installed.get(entry.to);
    if (node?.content !== readFileSync(entry.from as string, 'latin1') || node.mode !== (lstatSync(entry.from as string).mode & 0o7777)) t.fail(`${entry.to} differs from ${entry.from}`);
  }
  t.ok(((installed.get('var/remotes/datastore/fs/cp')?.mode ?? 0) & 0o111) !== 0, 'scripts stay executable');
  for (const absent of ['var/remotes/datastore/fs/fs.conf', 'var/remotes/tm/ssh/sshrc', 'var/remotes/tm/one_tm.rb', 'lib/ruby/test']) t.notOk(installed.has(absent), `no ${absent}`);
  t.same(installed.get('var/datastores'), { type: 'dir' }, 'var/datastores, empty');
  t.same(readdirSync(join(dest, 'var/datastores')), []);

  t.same(installed.get('var/remotes/tm/shared'), { type: 'link', target: 'qcow2' }, 'tm/shared -> qcow2, as upstream');
  t.same(installed.get('var/remotes/datastore/fs/stat'), { type: 'link', target: '../common/stat' });
  t.same(installed.get('var/remotes/tm/ssh/postbackup'), { type: 'link', target: '../shared/postbackup' });
  t.same(installed.get('var/remotes/tm/dummy/clone'), { type: 'link', target: '../common/dummy.sh' });
  for (const [path, node] of installed) {
    if (node.type !== 'link') continue;
    const real = realpathSync(join(dest, path));
    t.ok(real.startsWith(`${realpathSync(dest)}/`), `${path} leads inside DEST`);
  }
  t.equal(realpathSync(join(dest, 'var/remotes/tm/ssh/postbackup')), realpathSync(join(dest, 'var/remotes/tm/qcow2/postbackup')));

  t.equal(installed.get('var/remotes/datastore/xpath.rb')?.content, DROP_IN, 'xpath.rb is ferry\'s drop-in');
  t.equal(installed.get('lib/ruby/load_opennebula_paths.rb')?.content, '# ferry\'s stub\n');
  t.equal(installed.get('bin/onevm')?.mode, 0o755, 'bin/onevm, executable');
  t.match(report.notes.join('\n'), /kept OpenNebula's lib\/ruby\/OpenNebulaDriver\.rb/);
  t.same(readdirSync(join(dest, '..')), ['one'], 'no temporary folder left beside DEST');
});

t.test('without a drop-in, xpath.rb is OpenNebula\'s own', async (t) => {
  const corpus = corpusRoot(t);
  const dest = join(tmpDir(t), 'one');
  const report = importDrivers(corpus, dest, { extras: fakeExtras(t, { dropIn: false }) });
  const original = readFileSync(join(corpus, 'src/datastore_mad/remotes/xpath.rb'), 'latin1');
  t.equal(readFileSync(join(dest, 'var/remotes/datastore/xpath.rb'), 'latin1'), original);
  t.equal(readFileSync(join(dest, 'var/remotes/datastore/xpath-rexml.rb'), 'latin1'), original);
  t.match(report.notes.join('\n'), /xpath\.rb is missing/);
});

t.test('--only: those drivers, the drivers their links lead into, and every helper', async (t) => {
  const corpus = corpusRoot(t);
  const dest = join(tmpDir(t), 'one');
  const report = importDrivers(corpus, dest, { extras: fakeExtras(t), only: ['fs', 'ssh'] });
  t.same(report.drivers, { datastore: ['fs'], tm: ['qcow2', 'shared', 'ssh'] });
  t.same(report.linked.sort(), ['tm/qcow2', 'tm/shared'], 'ssh/postbackup leads through shared into qcow2');
  t.same(readdirSync(join(dest, 'var/remotes/datastore')).sort(), ['common', 'downloader.sh', 'fs', 'libfs.sh', 'url.rb', 'xpath-rexml.rb', 'xpath.rb']);
  t.same(readdirSync(join(dest, 'var/remotes/tm')).sort(), ['common', 'lib', 'qcow2', 'shared', 'ssh', 'tm_common.sh']);
  t.ok(existsSync(join(dest, 'lib/sh/scripts_common.sh')) && existsSync(join(dest, 'etc/tmrc')), 'helpers installed');
  t.ok(existsSync(join(dest, 'var/remotes/etc/tm/ssh/sshrc')), 'ssh\'s sshrc');

  const tmOnly = importDrivers(corpus, join(tmpDir(t), 'one'), { extras: fakeExtras(t), only: ['tm/dummy'], dryRun: true });
  t.same(tmOnly.drivers, { datastore: [], tm: ['dummy'] }, 'kind/name picks one kind');
  const both = importDrivers(corpus, join(tmpDir(t), 'one'), { extras: fakeExtras(t), only: ['dummy'], dryRun: true });
  t.same(both.drivers, { datastore: ['dummy'], tm: ['dummy'] }, 'a bare name picks it in both kinds');

  const unknown = codeOf(() => importDrivers(corpus, join(tmpDir(t), 'one'), { extras: fakeExtras(t), only: ['ceph'] }));
  t.equal(unknown.code, 'E_USAGE');
  t.match(unknown.message, /ceph/);
  t.match(unknown.hint, /datastore\/fs/);
});

t.test('an existing driver is refused, naming each, with nothing written; --force replaces them, and again gives the same tree', async (t) => {
  const corpus = corpusRoot(t);
  const extras = fakeExtras(t);
  const dest = join(tmpDir(t), 'one');
  importDrivers(corpus, dest, { extras });
  const first = tree(dest);
  const marker = join(dest, 'var/remotes/datastore/fs/operator-note');
  writeFileSync(marker, 'mine\n');
  const before = tree(dest);

  const refused = codeOf(() => importDrivers(corpus, dest, { extras, only: ['fs', 'ssh'] }));
  t.equal(refused.code, 'E_CONFLICT');
  for (const id of ['datastore/fs', 'tm/ssh', 'tm/qcow2']) t.match(refused.message, `${join(dest, 'var/remotes', id)}: ${id} is already installed`);
  t.notMatch(refused.message, /datastore\/dummy/, 'drivers not asked for are no conflict');
  t.match(refused.hint, /--force/);
  t.same(tree(dest), before, 'nothing written');

  const forced = importDrivers(corpus, dest, { extras, force: true });
  t.ok(forced.replaced.includes('var/remotes/datastore/fs'));
  t.notOk(existsSync(marker), 'the driver folder was replaced, not merged');
  t.same(tree(dest), first, 'the same tree as the first import');
  t.ok(forced.unchanged.includes('lib/sh/scripts_common.sh'), 'identical helpers left alone');
  importDrivers(corpus, dest, { extras, force: true });
  t.same(tree(dest), first, 'idempotent');
  t.same(readdirSync(join(dest, 'var/remotes/datastore')).filter((name) => name.startsWith('.')), [], 'no temporary names left');

  // A helper changed by the operator is a conflict too (a driver-less import still refuses).
  chmodSync(join(dest, 'var/remotes/datastore'), 0o755);
  const libfs = join(dest, 'var/remotes/datastore/libfs.sh');
  chmodSync(libfs, 0o644);
  writeFileSync(libfs, '# edited\n');
  const helper = codeOf(() => importDrivers(corpus, dest, { extras, only: ['tm/dummy'], force: false }));
  t.equal(helper.code, 'E_CONFLICT');
  t.match(helper.message, `${libfs} exists and differs`);
});

t.test('--dry-run writes nothing and reports the plan', async (t) => {
  const corpus = corpusRoot(t);
  const base = tmpDir(t);
  const dest = join(base, 'one');
  const report = importDrivers(corpus, dest, { extras: fakeExtras(t), dryRun: true });
  t.equal(report.dryRun, true);
  t.same(readdirSync(base), [], 'no DEST, no temporary folder');
  t.ok(report.entries.some((entry) => entry.to === 'var/remotes/tm/shared' && entry.type === 'link' && entry.target === 'qcow2'));
  t.ok(report.entries.some((entry) => entry.to === 'lib/sh/scripts_common.sh' && entry.from?.endsWith('/mad/sh/scripts_common.sh')));

  importDrivers(corpus, dest, { extras: fakeExtras(t), only: ['dummy'] });
  const before = tree(dest);
  const again = importDrivers(corpus, dest, { extras: fakeExtras(t), dryRun: true, force: true });
  t.same(tree(dest), before, 'an existing DEST untouched');
  t.same(again.drivers.tm, ['dummy', 'local', 'qcow2', 'shared', 'ssh']);
  t.same(again.replaced.sort(), ['var/remotes/datastore/dummy', 'var/remotes/tm/dummy'], 'what it would replace');
  t.equal(codeOf(() => importDrivers(corpus, dest, { extras: fakeExtras(t), dryRun: true, only: ['dummy'] })).code, 'E_CONFLICT', 'a dry run refuses as the run would');
});

t.test('a SRC of neither layout, or missing, or overlapping DEST, is a usage error', async (t) => {
  const src = tmpDir(t);
  writeFileSync(join(src, 'README'), 'not OpenNebula\n');
  mkdirSync(join(src, 'datastore'));
  const neither = codeOf(() => importDrivers(src, join(tmpDir(t), 'one'), { extras: fakeExtras(t) }));
  t.equal(neither.code, 'E_USAGE');
  t.match(neither.message, 'neither an OpenNebula source tree nor an installed remotes folder');
  t.match(neither.hint, /datastore_mad\/remotes/);
  t.equal(codeOf(() => importDrivers(join(src, 'nope'), join(tmpDir(t), 'one'))).code, 'E_USAGE');
  const small = smallSource(t);
  t.match(codeOf(() => importDrivers(small, join(small, 'src', 'one'))).message, /overlap/);
});

t.test('a link out of SRC is refused, with nothing written; a link inside SRC stays a link', async (t) => {
  const extras = fakeExtras(t);
  const src = smallSource(t);
  const good = join(tmpDir(t), 'one');
  const report = importDrivers(src, good, { extras });
  t.same(report.drivers.tm, ['qcow2', 'shared']);
  t.equal(readlinkSync(join(good, 'var/remotes/tm/shared')), 'qcow2');

  const outside = tmpDir(t);
  writeFileSync(join(outside, 'secret'), 'not yours\n');
  symlinkSync(join(outside, 'secret'), join(src, 'src/datastore_mad/remotes/fs/evil'));
  const base = tmpDir(t);
  const refused = codeOf(() => importDrivers(src, join(base, 'one'), { extras }));
  t.equal(refused.code, 'E_USAGE');
  t.match(refused.message, /fs\/evil is a link to .*secret, outside/);
  t.same(readdirSync(base), [], 'nothing written');

  const src2 = smallSource(t);
  symlinkSync('../../../..', join(src2, 'src/tm_mad/qcow2/up'));
  t.match(codeOf(() => importDrivers(src2, join(tmpDir(t), 'one'), { extras })).message, /qcow2\/up is a link to \.\.\/\.\.\/\.\.\/\.\., outside/, 'a relative link climbing out too');
});

t.test('the checkout\'s src/ folder is the same source', async (t) => {
  const corpus = corpusRoot(t);
  const extras = fakeExtras(t);
  const whole = importDrivers(corpus, join(tmpDir(t), 'one'), { extras, dryRun: true });
  const src = importDrivers(join(corpus, 'src'), join(tmpDir(t), 'one'), { extras, dryRun: true });
  t.equal(src.layout, 'source');
  t.same(src.entries, whole.entries);
});

t.test('an installed remotes folder (layout b) gives the same remotes', async (t) => {
  const corpus = corpusRoot(t);
  const extras = fakeExtras(t);
  const first = join(tmpDir(t), 'one');
  importDrivers(corpus, first, { extras });
  const second = join(tmpDir(t), 'two');
  const report = importDrivers(join(first, 'var/remotes'), second, { extras });
  t.equal(report.layout, 'remotes');
  t.same(report.drivers, { datastore: ['dummy', 'fs'], tm: ['dummy', 'local', 'qcow2', 'shared', 'ssh'] });
  t.same(tree(join(second, 'var/remotes')), tree(join(first, 'var/remotes')), 'the same files, links and modes');
  t.equal(readFileSync(join(second, 'lib/sh/scripts_common.sh'), 'latin1'), readFileSync(join(corpus, 'src/mad/sh/scripts_common.sh'), 'latin1'));
  t.equal(readFileSync(join(second, 'var/remotes/datastore/xpath-rexml.rb'), 'latin1'), readFileSync(join(corpus, 'src/datastore_mad/remotes/xpath.rb'), 'latin1'), 'OpenNebula\'s xpath.rb found again as xpath-rexml.rb');
  t.match(report.notes.join('\n'), /lib\/ruby/);
});

t.test('OpenNebula\'s fs/stat runs straight from the ONE root', async (t) => {
  const corpus = corpusRoot(t);
  if (!rubyAvailable(t)) return;
  if (spawnSync('qemu-img', ['--version'], { stdio: 'ignore' }).status !== 0) return void t.fail('install qemu-img (Debian qemu-utils; scripts/setup.sh does)');
  const dir = tmpDir(t);
  const dest = join(dir, 'one');
  // ferry's drop-in when the package has it, else OpenNebula's own xpath.rb (with ferry's load_opennebula_paths stub).
  const packaged = join(repoRoot, 'scripts', 'opennebula');
  importDrivers(corpus, dest, existsSync(join(packaged, 'xpath.rb')) ? {} : { extras: fakeExtras(t, { dropIn: false }) });
  const image = join(dir, 'disk.img');
  writeFileSync(image, Buffer.alloc(3 * 1024 * 1024 + 1));
  const xml = `<DS_DRIVER_ACTION_DATA><IMAGE><ID>7</ID><PATH>${image}</PATH></IMAGE><DATASTORE><ID>1</ID><TEMPLATE></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>`;
  const result = spawnSync('bash', [join(dest, 'var/remotes/datastore/fs/stat'), '7'], {
    input: Buffer.from(xml).toString('base64'),
    encoding: 'utf8',
    cwd: dir,
    // OpenNebula's xpath.rb requires load_opennebula_paths before it adds lib/ruby to Ruby's path: RUBYLIB points Ruby there.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ONE_LOCATION: dest, RUBYLIB: join(dest, 'lib/ruby') },
  });
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout, '4\n', 'the size in MB, rounded up');
});

t.test('the command: summary and next step, --json, refusals as exit statuses', async (t) => {
  const corpus = corpusRoot(t);
  const base = tmpDir(t);
  const run = await runCli(['drivers', 'import', corpus, 'one', '--only', 'fs,shared'], { cwd: base });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /^ {2}datastore drivers installed: fs$/m);
  t.match(run.stdout, /^ {2}tm drivers installed: qcow2 shared ssh$/m, 'shared leads into qcow2, whose mv.ssh leads into ssh');
  t.match(run.stdout, /^ {2}also installed \(links of the drivers asked for lead into them\): tm\/qcow2 tm\/ssh$/m);
  t.match(run.stdout, `remotes: ${join(base, 'one', 'var/remotes')}\n`);
  t.ok(lstatSync(join(base, 'one/var/remotes/tm/shared')).isSymbolicLink());

  const again = await runCli(['drivers', 'import', corpus, 'one', '--only', 'fs'], { cwd: base });
  t.equal(again.status, 2);
  t.match(again.stderr, /datastore\/fs is already installed/);
  t.match(again.stderr, /--force/);

  const json = await runCli(['--json', 'drivers', 'import', corpus, 'one', '--force', '--dry-run'], { cwd: base });
  t.equal(json.status, 0, json.stderr);
  const out = jsonOf(json.stdout);
  t.equal(out.ok, true);
  t.equal(out.dryRun, true);
  t.same(out.drivers, { datastore: ['dummy', 'fs'], tm: ['dummy', 'local', 'qcow2', 'shared', 'ssh'] });
  t.ok(Array.isArray(out.entries) && out.entries.length > 100, 'the plan');
  t.ok(out.replaced.includes('var/remotes/datastore/fs'));

  const dry = await runCli(['drivers', 'import', corpus, 'two', '--dry-run'], { cwd: base });
  t.match(dry.stdout, /^ {2}var\/remotes\/tm\/shared {2}-> qcow2$/m);
  t.match(dry.stdout, /nothing written/);
  t.notOk(existsSync(join(base, 'two')));

  const bad = await runCli(['--json', 'drivers', 'import', base, 'three'], { cwd: base });
  t.equal(bad.status, 2);
  t.equal(jsonOf(bad.stdout).error.code, 'E_USAGE');
  t.equal((await runCli(['drivers', 'import', corpus, 'three', '--only', ','], { cwd: base })).status, 2);
});
