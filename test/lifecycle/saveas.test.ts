/** saveas.ts: a VM disk saved as a new image: mkfs names the SOURCE, the disk's TM copies it there (cpds), stat sizes it. */
import t from 'tap';
import { planCreate, runImagePlan } from '../../src/lifecycle/images.js';
import { planSaveAs, runSaveAs } from '../../src/lifecycle/saveas.js';
import { createVm } from '../../src/lifecycle/vms.js';
import { thrown } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

t.test('planned with placeholders and nothing recorded; run, READY with the SOURCE mkfs named, copied into by cpds', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  await runImagePlan(life, planCreate(life, { datastore: images, name: 'base', sizeMb: 8 }));
  const vm = await createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }, { kind: 'volatile', sizeMb: 4 }, { kind: 'swap', sizeMb: 2 }] });
  const plan = planSaveAs(life, vm.id, 0, { name: 'saved' });
  t.same(plan.steps.map((step) => step.action), ['mkfs', 'cpds']);
  t.same([plan.steps[0]?.args[0], plan.steps[1]?.args[1]], ['(image saved, FSTYPE save_as)', '(new SOURCE)'], 'the SOURCE is not named yet');
  t.equal(catalog.findImage('saved'), undefined, 'nothing recorded');
  t.equal(thrown(() => planSaveAs(life, vm.id, 1, { name: 'x' })).code, 'E_USAGE', 'a volatile disk needs a datastore');
  t.equal(thrown(() => planSaveAs(life, vm.id, 2, { name: 'x', datastore: 'images' })).code, 'E_CONFLICT', 'not a swap disk');
  t.equal(thrown(() => planSaveAs(life, vm.id, 0, { name: 'base' })).code, 'E_CONFLICT', 'a name taken');

  const image = await runSaveAs(life, plan);
  t.match(image, { name: 'saved', state: 'READY', error: null });
  const journal = catalog.journal(`image:${image.id}`);
  t.same(journal.map((entry) => entry.action), ['mkfs', 'cpds', 'stat']);
  t.equal(journal[1]?.args[1], image.source, 'cpds copied into the SOURCE mkfs named');
  t.equal(catalog.vm(vm.id).state, 'RUNNING', 'the VM untouched');
});
