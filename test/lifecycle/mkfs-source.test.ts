/**
 * mkfs replies in the catalog lifecycle: a source alone (OpenNebula's current
 * mkfs) makes a READY image with the size asked for; a reply ferry refuses
 * leaves nothing behind, or a SOURCE recorded that `image delete` and
 * `image recover` finish.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { planImageRecover, runImageRecover } from '../../src/lifecycle/image-recover.js';
import { planCreate, planDelete, runImagePlan } from '../../src/lifecycle/images.js';
import { rejection } from '../helpers/fixtures.js';
import { writeMkfsSourceDriver } from '../helpers/mkfs-source-driver.js';
import { lifeWorld } from './world.js';

function oneWorld(t: Parameters<typeof lifeWorld>[0]) {
  const w = lifeWorld(t);
  writeMkfsSourceDriver(join(w.dir, 'remotes'));
  const base = join(w.dir, 'one');
  mkdirSync(base);
  const ds = w.catalog.addDatastore({ name: 'one', type: 'IMAGE', dsMad: 'onemkfs', tmMad: 'dummy', basePath: base });
  /** The image files in BASE_PATH (markers left out). */
  const files = () => (existsSync(base) ? readdirSync(base).filter((name) => !name.startsWith('.')).sort() : []);
  const mark = (name: string) => writeFileSync(join(base, name), '');
  return { ...w, ds, base, files, mark };
}

t.test('mkfs printing only the source: READY, with the size asked for (the dump\'s IMAGE/SIZE)', async (t) => {
  const w = oneWorld(t);
  const image = await runImagePlan(w.life, planCreate(w.life, { datastore: w.ds, name: 'blank', sizeMb: 16 }));
  t.match(image, { state: 'READY', sizeMb: 16, error: null });
  t.match(image.source, new RegExp(`^${w.base}/img-${image.id}-`));
  t.ok(existsSync(image.source as string), 'the file the driver made is the SOURCE');
  t.match(w.catalog.journal(`image:${image.id}`), [{ action: 'mkfs', ok: true }]);
});

t.test('a refused reply: what mkfs made is removed with the driver\'s rm, the image is ERROR with nothing behind', async (t) => {
  const w = oneWorld(t);
  w.mark('.garble');
  const failure = await rejection(runImagePlan(w.life, planCreate(w.life, { datastore: w.ds, name: 'garbled', sizeMb: 16 })));
  t.equal(failure.code, 'E_MALFORMED_OUTPUT');
  t.match(failure.message, /malformed output: .*more fields.*; what it made \(\/.*\/img-\d+-\d+\) is removed/);
  const image = w.catalog.image('garbled');
  t.match(image, { state: 'ERROR', source: null, error: /^mkfs: driver returned malformed output/ });
  t.same(w.files(), [], 'no file left in BASE_PATH');
  t.match(w.catalog.journal(`image:${image.id}`), [{ action: 'mkfs', ok: false }, { operation: 'mkfs-undo', action: 'rm', ok: true }]);
  await runImagePlan(w.life, planDelete(w.life, image.id));
  t.equal(w.catalog.findImage('garbled'), undefined, 'image delete ends it');
});

t.test('a refused reply whose rm fails: the SOURCE stays recorded, and image delete or recover finishes it', async (t) => {
  const w = oneWorld(t);
  w.mark('.garble');
  w.mark('.fail-rm');
  const failure = await rejection(runImagePlan(w.life, planCreate(w.life, { datastore: w.ds, name: 'kept', sizeMb: 8 })));
  t.match(failure.message, /it made \/.*, kept as the image's SOURCE because removing it failed \(rm: .*rm refused by the test/);
  t.match(failure.hint, /ferry image delete \d+/);
  const kept = w.catalog.image('kept');
  t.match(kept, { state: 'ERROR' });
  t.ok(kept.source && existsSync(kept.source), 'the SOURCE is recorded and still there');
  t.same(w.files().length, 1);

  rmSync(join(w.base, '.fail-rm'));
  const failed = await runImageRecover(w.life, planImageRecover(w.life, kept.id, 'failure'));
  t.match(failed, { state: 'ERROR', source: null, error: /rolled back/ });
  t.same(w.files(), [], 'recover --failure removed it');

  w.mark('.fail-rm');
  await rejection(runImagePlan(w.life, planCreate(w.life, { datastore: w.ds, name: 'again', sizeMb: 8 })));
  rmSync(join(w.base, '.fail-rm'));
  rmSync(join(w.base, '.garble'));
  const again = w.catalog.image('again');
  const plan = planImageRecover(w.life, again.id, 'retry');
  t.match(plan.steps.map((step) => step.action), ['rm', 'mkfs'], 'a retry removes the recorded SOURCE first');
  const ready = await runImageRecover(w.life, plan);
  t.match(ready, { state: 'READY', sizeMb: 8 });
  t.not(ready.source, again.source, 'a new SOURCE');
  t.same(w.files(), [(ready.source as string).slice(w.base.length + 1)], 'only the new file is left');
});

t.test('a source alone for an image with no size: refused, saying so, and what mkfs made is removed', async (t) => {
  const w = oneWorld(t);
  // An image recorded without a size (an older ferry's), its mkfs to retry.
  const bare = w.catalog.addImage({ name: 'sizeless', datastoreId: w.ds.id });
  w.catalog.updateImage(bare.id, { state: 'ERROR', error: 'mkfs: interrupted' });
  const failure = await rejection(runImageRecover(w.life, planImageRecover(w.life, bare.id, 'retry')));
  t.match(failure.message, /got only the source "\/.*", and the dump has no IMAGE\/SIZE to take the size from; what it made .* is removed/);
  t.match(w.catalog.image(bare.id), { state: 'ERROR', source: null });
  t.same(w.files(), []);
});
