/**
 * The suite cleans up after itself, also when checks fail, and never
 * touches what it did not make: files planted in a --datastore BASE_PATH
 * survive every run (even a driver that claims a planted file as the image
 * it made), images made by a failing driver are still removed, and what a
 * driver leaves behind is reported, never silently deleted.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { jsonOf, repoRoot, runCli } from '../cli/helpers.js';
import { datastoreFile, miniRemotes } from '../helpers/conformance.js';

t.setTimeout(120_000);

/** A --datastore BASE_PATH holding a planted image and folder the suite must leave alone. */
function planted(t: Test) {
  const base = tmpDir(t, 'ferry-conformance-base-');
  writeFileSync(join(base, 'keep-me.img'), 'not the suite\'s\n');
  mkdirSync(join(base, 'keep-dir'));
  writeFileSync(join(base, 'keep-dir', 'inner'), 'x');
  const system = tmpDir(t, 'ferry-conformance-sys-');
  mkdirSync(join(system, '0', '4242'), { recursive: true });
  writeFileSync(join(system, '0', '4242', 'disk.0'), 'a VM of someone else');
  const file = datastoreFile(t, `base_path: ${base}\nsystem:\n  base_path: ${system}\n`);
  const intact = (t: Test, what: string) => {
    t.same(readdirSync(base).sort(), ['keep-dir', 'keep-me.img'], `${what}: BASE_PATH holds what was planted and nothing else`);
    t.equal(readFileSync(join(base, 'keep-me.img'), 'utf8'), 'not the suite\'s\n', `${what}: the planted image is untouched`);
    t.ok(existsSync(join(base, 'keep-dir', 'inner')), `${what}: the planted folder is untouched`);
    t.same(readdirSync(system).sort(), ['0'], `${what}: the system base path holds only what was there`);
    t.equal(readFileSync(join(system, '0', '4242', 'disk.0'), 'utf8'), 'a VM of someone else', `${what}: another VM's disk is untouched`);
  };
  return { base, system, file, intact };
}

const run = async (argv: string[]) => {
  const result = await runCli(['--json', ...argv]);
  const report = jsonOf(result.stdout);
  const checks = report.checks as Array<{ id: string; status: string; message?: string; details: string[] }>;
  return { ...result, report, checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])) };
};

t.test('datastore/fs against a --datastore BASE_PATH: every check passes, the planted files survive, nothing is left', async (t) => {
  const world = planted(t);
  const { status, report, checks } = await run(['drivers', 'test', 'fs', '--datastore', world.file]);
  t.same(checks.filter((c) => c.status === 'fail'), []);
  t.equal(status, 0);
  t.equal(report.datastore.temporary, false);
  t.equal(report.datastore.basePath, world.base);
  world.intact(t, 'fs');
});

t.test('failing drivers still clean up, and never touch the planted files', async (t) => {
  const world = planted(t);
  const defects = join(repoRoot, 'fixtures', 'defects');
  for (const defect of ['nosize', 'rmtwice', 'stattext']) {
    const { status, byId } = await run(['--remotes', defects, 'drivers', 'test', `datastore/${defect}`, '--datastore', world.file]);
    t.equal(status, 1, `${defect} fails`);
    t.equal(byId.cleanup?.status, 'ok', `${defect}: clean-up ok`);
    world.intact(t, defect);
  }
});

t.test('a driver that prints a planted file as the image it made: the check fails and the file is left alone', async (t) => {
  const world = planted(t);
  const remotes = miniRemotes(t, { liar: { cp: 'echo "$FERRY_DS_BASE_PATH/keep-me.img 4"' } });
  const { status, byId } = await run(['--remotes', remotes, 'drivers', 'test', 'liar', '--datastore', world.file]);
  t.equal(status, 1);
  t.match(byId['ds.cp'], { status: 'fail', message: `the driver printed ${join(world.base, 'keep-me.img')} as a new source, but it was in BASE_PATH before the suite started; the suite leaves it alone` });
  t.match(byId['ds.rm'], { status: 'skip', message: 'needs ds.cp, which failed' }, 'rm never runs on it');
  world.intact(t, 'liar');
});

t.test('a driver whose rm removes nothing: rm and the clean-up fail naming what is left; a temporary datastore still goes', async (t) => {
  const remotes = miniRemotes(t, { keeper: { rm: ': nothing removed' } });
  const temp = await run(['--remotes', remotes, 'drivers', 'test', 'keeper']);
  t.equal(temp.status, 1);
  t.match(temp.byId['ds.rm'], { status: 'fail', message: /^rm succeeded but \/tmp\/ferry-conformance-ds-\w+\/image\.\w+ is still there$/ });
  t.match(temp.byId.cleanup, { status: 'fail', message: /^left in BASE_PATH \/tmp\/ferry-conformance-ds-\w+ after every image the suite made was removed: image\.\w+/ });
  t.notOk(existsSync(temp.report.datastore.basePath), 'the temporary datastore folder is removed whole');

  const world = planted(t);
  const given = await run(['--remotes', remotes, 'drivers', 'test', 'keeper', '--datastore', world.file]);
  t.equal(given.byId.cleanup?.status, 'fail');
  const left = readdirSync(world.base).filter((name) => !name.startsWith('keep-'));
  t.ok(left.length > 0 && left.every((name) => name.startsWith('image.')), 'in a given BASE_PATH the leftovers stay: the suite did not make those files, the driver did');
  t.match(given.byId.cleanup?.message, left.sort()[0] as string, 'and the report names them');
  t.equal(readFileSync(join(world.base, 'keep-me.img'), 'utf8'), 'not the suite\'s\n');
});

t.test('the temporary datastore is removed when the suite is interrupted', async (t) => {
  const controller = new AbortController();
  const remotes = miniRemotes(t, { slow: { monitor: 'sleep 30' } });
  setTimeout(() => controller.abort(), 1500);
  const result = await runCli(['--json', '--remotes', remotes, 'drivers', 'test', 'slow'], { signal: controller.signal });
  t.equal(result.status, 130, 'interrupted');
  const report = jsonOf(result.stdout);
  const checks = report.checks as Array<{ id: string; status: string; message?: string }>;
  t.match(checks.find((c) => c.id === 'ds.monitor'), { status: 'fail', message: /was cancelled/ });
  t.ok(checks.filter((c) => c.status === 'skip' && c.message === 'interrupted').length > 5, 'the checks after it are not run');
  t.match(checks.at(-1), { id: 'cleanup', status: 'ok' });
  t.notOk(existsSync(report.datastore.basePath));
});
