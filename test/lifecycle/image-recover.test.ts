/** image-recover.ts: an image whose operation failed or whose ferry was killed, retried, marked done, rolled back or deleted, its leftovers gone. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { planImageRecover, runImageRecover } from '../../src/lifecycle/image-recover.js';
import { planCreate, planDelete, runImagePlan } from '../../src/lifecycle/images.js';
import { rejection, thrown } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

const deadPid = () => Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());

/** A world with an fs image datastore, a 2 MB file to copy, and `interrupted`: an image as a killed ferry leaves it. */
function world(t: Parameters<typeof lifeWorld>[0]) {
  const w = lifeWorld(t);
  const base = join(w.dir, 'fs');
  mkdirSync(base);
  const ds = w.catalog.addDatastore({ name: 'fs', type: 'IMAGE', dsMad: 'fs', tmMad: 'dummy', basePath: base });
  const file = join(w.dir, 'disk.img');
  writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 1));
  /** LOCKED as imageAction left it (no lock row: its owner is gone), with a partial temp of a gone writer. */
  const interrupted = (name: string, what: string, fields: { path?: string; sizeMb?: number; clonedFrom?: number } = {}, tempOf?: string) => {
    const image = w.catalog.addImage({ name, datastoreId: ds.id, ...fields });
    w.catalog.updateImage(image.id, { error: `${what}: not finished: ferry process 1 runs it` });
    const temp = tempOf ? join(base, `${basename(tempOf)}.ferry-tmp.${deadPid()}`) : join(base, `.0badc0de.ferry-tmp.${deadPid()}.image-${image.id}-Ab12Cd`);
    if (tempOf) writeFileSync(temp, 'partial');
    else {
      mkdirSync(temp);
      writeFileSync(join(temp, 'image'), 'partial');
    }
    return { image: w.catalog.image(image.id), temp };
  };
  return { ...w, base, ds, file, interrupted, files: () => readdirSync(base).sort() };
}

t.test('an interrupted cp: --retry removes its leftover and copies again; image delete removes the leftover too', async (t) => {
  const w = world(t);
  const { image, temp } = w.interrupted('big', 'cp', { path: w.file });
  const plan = planImageRecover(w.life, image.id, 'retry');
  t.match(plan, { operation: 'cp', leftovers: [temp] });
  t.same(plan.steps.map((step) => step.action), ['cp']);
  const done = await runImageRecover(w.life, plan);
  t.match(done, { state: 'READY', error: null, sizeMb: 2 });
  t.notOk(existsSync(temp), 'the leftover is gone');
  t.same(w.files(), [basename(done.source as string)], 'only the new SOURCE in the folder');
  t.match(w.catalog.journal(`image:${image.id}`).map((entry) => `${entry.operation} ${entry.action} ${entry.ok}`), ['cp-retry cp true']);
  t.equal(thrown(() => planImageRecover(w.life, image.id, 'retry')).code, 'E_CONFLICT', 'READY: nothing to recover');

  const other = w.interrupted('big2', 'cp', { path: w.file });
  const deleted = await runImagePlan(w.life, planDelete(w.life, other.image.id));
  t.equal(deleted.id, other.image.id);
  t.notOk(existsSync(other.temp), 'image delete of a LOCKED image removes what its cp wrote');
  t.notOk(w.catalog.findImage(other.image.id));
});

t.test('--success needs a SOURCE; --failure removes the leftover and leaves ERROR; --retry then works from ERROR', async (t) => {
  const w = world(t);
  const { image, temp } = w.interrupted('blank', 'mkfs', { sizeMb: 4 });
  t.match(thrown(() => planImageRecover(w.life, image.id, 'success')).message, /its mkfs never reported a SOURCE/);
  const failed = await runImageRecover(w.life, planImageRecover(w.life, image.id, 'failure'));
  t.match(failed, { state: 'ERROR', error: /^mkfs: interrupted, rolled back/ });
  t.notOk(existsSync(temp));
  t.same(w.files(), []);
  const retried = await runImageRecover(w.life, planImageRecover(w.life, image.id, 'retry'));
  t.match(retried, { state: 'READY', sizeMb: 4 });
});

t.test('an interrupted saveas (SOURCE named, the TM\'s copy into it left): no --retry; --failure removes both; --delete the record too', async (t) => {
  const w = world(t);
  const made = async (name: string) => {
    const source = join(w.base, `${name}0000`);
    writeFileSync(source, '');
    const { image, temp } = w.interrupted(name, 'saveas', {}, source);
    return { image: w.catalog.updateImage(image.id, { source }), temp, source };
  };
  const one = await made('saved');
  t.match(thrown(() => planImageRecover(w.life, one.image.id, 'retry')).message, /not recorded with the VM disk/);
  const plan = planImageRecover(w.life, one.image.id, 'failure');
  t.same(plan.leftovers, [one.temp], 'the copy named after its SOURCE');
  t.same(plan.steps.map((step) => step.action), ['rm']);
  const failed = await runImageRecover(w.life, plan);
  t.match(failed, { state: 'ERROR', source: null });
  t.same(w.files(), [], 'SOURCE and the partial copy gone');

  const two = await made('saved2');
  const gone = await runImageRecover(w.life, planImageRecover(w.life, two.image.id, 'delete'));
  t.equal(gone.id, two.image.id);
  t.notOk(w.catalog.findImage(two.image.id));
  t.same(w.files(), []);

  const three = await made('saved3');
  t.match(await runImageRecover(w.life, planImageRecover(w.life, three.image.id, 'success')), { state: 'READY', error: null });
  t.notOk(existsSync(three.temp), '--success removes the leftover too');
});

t.test('an interrupted clone is run again from its original; an interrupted rm is finished or its record dropped', async (t) => {
  const w = world(t);
  const original = await runImagePlan(w.life, planCreate(w.life, { datastore: w.ds, name: 'orig', path: w.file }));
  const { image } = w.interrupted('copy', 'clone', { path: original.source as string, clonedFrom: original.id });
  const clone = await runImageRecover(w.life, planImageRecover(w.life, image.id, 'retry'));
  t.match(clone, { state: 'READY', clonedFrom: original.id });
  t.not(clone.source, original.source);
  t.ok(existsSync(clone.source as string));

  w.catalog.updateImage(clone.id, { state: 'DELETING' });
  t.match(planImageRecover(w.life, clone.id, 'retry'), { operation: 'rm' });
  await runImageRecover(w.life, planImageRecover(w.life, clone.id, 'retry'));
  t.notOk(existsSync(clone.source as string), 'rm ran');
  t.notOk(w.catalog.findImage(clone.id));
  w.catalog.updateImage(original.id, { state: 'DELETING' });
  await runImageRecover(w.life, planImageRecover(w.life, original.id, 'success'));
  t.notOk(w.catalog.findImage(original.id), '--success of an rm: the record goes');
});

t.test('refused while the leftover\'s writer runs, or the image is busy', async (t) => {
  const w = world(t);
  const image = w.catalog.addImage({ name: 'live', datastoreId: w.ds.id, path: w.file });
  w.catalog.updateImage(image.id, { error: 'cp: not finished' });
  mkdirSync(join(w.base, `.beef.ferry-tmp.${process.pid}.image-${image.id}-Ab12Cd`));
  const busy = thrown(() => planImageRecover(w.life, image.id, 'delete'));
  t.equal(busy.code, 'E_BUSY');
  t.match(busy.message, new RegExp(`process ${process.pid} is still writing`));
  t.equal((await rejection(runImagePlan(w.life, planDelete(w.life, image.id)))).code, 'E_BUSY', 'image delete too');
  t.ok(w.catalog.findImage(image.id));
});
