/** images.ts: image plans (nothing recorded, what runs named) and their runs on datastore/dummy. */
import t from 'tap';
import { planClone, planCreate, planDelete, planSnapshot, runImagePlan, statImage } from '../../src/lifecycle/images.js';
import { thrown } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

t.test('create: the plan records nothing and shows the dump; run, the image is READY with the SOURCE its driver named', async (t) => {
  const { life, catalog, images, system } = lifeWorld(t);
  const plan = planCreate(life, { datastore: images, name: 'blank', sizeMb: 16, fs: 'ext4', format: 'raw' });
  t.match(plan, { operation: 'create', image: { id: -1, name: 'blank' }, steps: [{ kind: 'datastore', action: 'mkfs', driver: 'dummy', args: ['-1'], why: '16 MB ext4' }] });
  t.match(plan.dump, /<NAME>blank<\/NAME>/);
  t.match(plan.dump, /<FORMAT>raw<\/FORMAT>/, 'the dump as the driver gets it');
  t.equal(catalog.findImage('blank'), undefined, 'nothing recorded');
  t.equal(thrown(() => planCreate(life, { datastore: system, name: 'x', sizeMb: 1 })).code, 'E_CONFLICT', 'not in a SYSTEM datastore');
  t.equal(thrown(() => planCreate(life, { datastore: images, name: 'x' })).code, 'E_USAGE', 'a path or a size');

  const image = await runImagePlan(life, plan);
  t.match(image, { name: 'blank', state: 'READY', error: null });
  t.type(image.source, 'string');
  t.match(catalog.journal(`image:${image.id}`), [{ operation: 'mkfs', action: 'mkfs', args: [String(image.id)], ok: true }], 'the step run for the recorded image');
  t.equal(thrown(() => planCreate(life, { datastore: images, name: 'blank', sizeMb: 1 })).code, 'E_CONFLICT', 'a name taken');
});

t.test('clone: from a READY image, the copy gets its size, format and snapshots', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const base = await runImagePlan(life, planCreate(life, { datastore: images, name: 'base', sizeMb: 8 }));
  catalog.updateImage(base.id, { snapshots: [0, 1] });
  const plan = planClone(life, 'base', { name: 'copy' });
  t.match(plan, { operation: 'clone', original: { id: base.id }, steps: [{ action: 'clone', why: `${base.source} -> new image copy`, refs: { from: base.source } }] });
  t.equal(catalog.findImage('copy'), undefined);
  const copy = await runImagePlan(life, plan);
  t.match(copy, { name: 'copy', state: 'READY', clonedFrom: base.id, sizeMb: base.sizeMb });
  t.same(copy.snapshots, [0, 1]);
  t.equal(thrown(() => planClone(life, 'base', { name: 'copy' })).code, 'E_CONFLICT', 'the name is taken now');
});

t.test('delete: rm of its SOURCE then the record; an image with no SOURCE has no step', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const image = await runImagePlan(life, planCreate(life, { datastore: images, name: 'gone', sizeMb: 1 }));
  const plan = planDelete(life, image.id);
  t.match(plan.steps, [{ action: 'rm', args: [String(image.id)], refs: { image: image.id, source: image.source } }]);
  await runImagePlan(life, plan);
  t.equal(catalog.findImage(image.id), undefined);
  t.match(catalog.journal(`image:${image.id}`).map((entry) => entry.action), ['mkfs', 'rm']);

  const bare = catalog.addImage({ name: 'bare', datastoreId: images.id });
  const none = planDelete(life, bare.id);
  t.same(none.steps, [], 'nothing for a driver to remove');
  await runImagePlan(life, none);
  t.equal(catalog.findImage('bare'), undefined, 'the record goes');
});

t.test('snapshots and stat: only a snapshot the image has; the image keeps READY', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const image = await runImagePlan(life, planCreate(life, { datastore: images, name: 'snap', sizeMb: 4 }));
  t.equal(thrown(() => planSnapshot(life, image.id, 'delete', 0)).code, 'E_NOT_FOUND');
  catalog.updateImage(image.id, { snapshots: [0, 1] });
  const plan = planSnapshot(life, image.id, 'delete', 0);
  t.match(plan.steps, [{ action: 'snap_delete', refs: { image: image.id, snapshot: 0 } }]);
  t.same((await runImagePlan(life, plan)).snapshots, [1]);
  t.same((await runImagePlan(life, planSnapshot(life, image.id, 'flatten', 1))).snapshots, []);
  t.type((await statImage(life, image.id)).sizeMb, 'number');
});

t.test('a datastore recorded with a BASE_PATH its replies cannot carry (by an older ferry) takes no new image; nothing runs', async (t) => {
  const { life, catalog, dir } = lifeWorld(t);
  const spaced = catalog.addDatastore({ name: 'spaced', type: 'IMAGE', dsMad: 'dummy', tmMad: 'dummy', basePath: `${dir}/my images` });
  const refused = thrown(() => planCreate(life, { datastore: spaced, name: 'x', sizeMb: 20 }));
  t.match(refused, { code: 'E_USAGE', message: /datastore spaced: BASE_PATH ".*my images" has a space/, hint: /ferry datastore update spaced --base-path/ });
  t.equal(catalog.findImage('x'), undefined);
  t.same(catalog.journal(), [], 'no driver ran');
});
