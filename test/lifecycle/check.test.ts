/** `ferry datastore check [--fix]`: files no record owns, records whose SOURCE is gone; --fix removes only ferry's leftovers whose writer is gone. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stage, world } from '../helpers/catalog-world.js';
import { jsonOf } from '../cli/helpers.js';

/** The pid of a process that ran and is gone. */
function deadPid(): number {
  const done = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(done.stdout.trim());
}

t.test('a clean datastore: exit 0; leftovers, strangers and missing SOURCEs: exit 1, only the dead writer\'s leftover removed', async (t) => {
  const w = world(t);
  const { images, system } = await stage(t, w, 'shared');
  const clean = await w.cli(['datastore', 'check', 'images']);
  t.equal(clean.status, 0, clean.stderr);
  t.match(clean.stdout, /holds nothing the catalog does not know/);

  const dead = join(images, `.0123abcd.ferry-tmp.${deadPid()}.image-99-Xy12Ab`);
  mkdirSync(dead);
  writeFileSync(join(dead, 'image'), 'partial');
  const deadTm = join(images, `0123abcd.ferry-tmp.${deadPid()}`);
  writeFileSync(deadTm, 'partial');
  const live = join(images, `.4567ef.ferry-tmp.${process.pid}.image-98-Ab12Cd`);
  mkdirSync(live);
  const stranger = join(images, 'notes.txt');
  writeFileSync(stranger, 'mine');
  const data = w.catalog().image('data');
  rmSync(data.source as string);

  const found = await w.cli(['--json', 'datastore', 'check', 'images']);
  t.equal(found.status, 1, 'something found');
  const report = jsonOf(found.stdout).result;
  t.same(report.unowned.map((each: { path: string }) => each.path), [dead, deadTm, stranger], 'the live writer\'s temp is work under way, not listed');
  t.match(report.unowned[0].temp, { imageId: 99, writerAlive: false });
  t.same(report.missing, [{ image: data.id, name: 'data', state: 'READY', source: data.source }]);
  t.same(report.removed, []);
  t.ok(existsSync(dead), 'without --fix nothing is removed');

  const fixed = await w.cli(['datastore', 'check', 'images', '--fix']);
  t.equal(fixed.status, 1);
  t.match(fixed.stdout, new RegExp(`removed  ${dead}  leftover of ferry process \\d+ \\(gone\\) for image 99`));
  t.match(fixed.stdout, /unowned  .*notes\.txt  not ferry's: left alone/);
  t.match(fixed.stdout, /missing  image \d+ \(data, READY\)/);
  t.notOk(existsSync(dead), 'the dead writer\'s temp folder is gone');
  t.notOk(existsSync(deadTm), 'and its TM-style temp file');
  t.ok(existsSync(live), 'a live writer\'s temp stays');
  t.ok(existsSync(stranger), 'a file not of ferry\'s naming stays');

  rmSync(stranger);
  rmSync(live, { recursive: true });
  w.catalog().deleteImageRecord(data.id);
  t.equal((await w.cli(['datastore', 'check', 'images'])).status, 0, 'clean again');

  // A system datastore owns the folders of its VMs not DONE; a stray one is listed.
  mkdirSync(join(system, '42'));
  const sys = jsonOf((await w.cli(['--json', 'datastore', 'check', 'system'])).stdout).result;
  t.same(sys.unowned.map((each: { path: string }) => each.path), [join(system, '42')]);
  const missing = await w.cli(['datastore', 'check', 'nope']);
  t.equal(missing.status, 2);
});

t.test('datastore check --help has an example and the exit status', async (t) => {
  const w = world(t);
  const help = await w.cli(['datastore', 'check', '--help']);
  t.match(help.stdout, /\$ ferry datastore check images/);
  t.match(help.stdout, /Exit status: 0 nothing found, 1 something found/);
});
