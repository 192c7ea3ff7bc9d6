/**
 * capacity.ts: a new image (create, clone, save-as) must fit its datastore:
 * stale figures are refreshed by the monitor first, LIMIT_MB caps the space,
 * a refusal records and runs nothing, and --force goes ahead, journaled.
 * datastore/dummy's monitor says USED 9720, TOTAL 20480, FREE 10760 MB.
 */
import t from 'tap';
import { availableMb } from '../../src/lifecycle/capacity.js';
import { monitor } from '../../src/lifecycle/datastores.js';
import { planClone, planCreate, runImagePlan } from '../../src/lifecycle/images.js';
import { planSaveAs, runSaveAs } from '../../src/lifecycle/saveas.js';
import { createVm } from '../../src/lifecycle/vms.js';
import { rejection } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

const actions = (entries: Array<{ action: string }>) => entries.map((entry) => entry.action);

t.test('create: figures never taken are refreshed first; an image bigger than FREE_MB is refused and nothing is recorded or made', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  t.equal(catalog.datastore(images.id).monitoredAt, null, 'never monitored');
  const refused = await rejection(runImagePlan(life, planCreate(life, { datastore: images, name: 'huge', sizeMb: 500000 })));
  t.equal(refused.code, 'E_CONFLICT', 'refused as a conflict (exit 2)');
  t.match(refused.message, /image huge needs 500000 MB but datastore images has 10760 MB available \(free 10760 MB, monitored /);
  t.match(refused.hint, /--force/, 'the hint names the override');
  t.equal(catalog.findImage('huge'), undefined, 'no image recorded');
  t.same(actions(catalog.journal()), ['monitor'], 'only the monitor ran: no mkfs');
  t.equal(catalog.datastore(images.id).freeMb, 10760, 'the refreshed figures are stored');

  const fits = await runImagePlan(life, planCreate(life, { datastore: images, name: 'small', sizeMb: 10760 }));
  t.equal(fits.state, 'READY', 'an image of exactly FREE_MB fits');
  t.same(actions(catalog.journal()), ['monitor', 'mkfs'], 'figures younger than max_age are not refreshed again');
});

t.test('figures older than monitorMaxAgeS are refreshed; younger ones are trusted', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  catalog.setMonitor(images.id, { totalMb: 100, usedMb: 95, freeMb: 5 });
  const trusted = await rejection(runImagePlan(life, planCreate(life, { datastore: images, name: 'eight', sizeMb: 8 })));
  t.match(trusted.message, /needs 8 MB but datastore images has 5 MB available/, 'fresh figures (default max_age 300 s) are used as they are');
  t.same(catalog.journal(), [], 'no monitor ran');
  const refreshing = { ...life, monitorMaxAgeS: 0 };
  const made = await runImagePlan(refreshing, planCreate(refreshing, { datastore: images, name: 'eight', sizeMb: 8 }));
  t.equal(made.state, 'READY', 'max_age 0: the monitor runs and finds room');
  t.same(actions(catalog.journal(`datastore:${images.id}`)), ['monitor'], 'the refresh is journaled under the datastore');
});

t.test('LIMIT_MB caps the space: LIMIT_MB - USED_MB when lower than FREE_MB; DATASTORE_CAPACITY_CHECK=NO turns the check off', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  catalog.updateDatastore(images.id, { template: { LIMIT_MB: '10000' } });
  await monitor(life, catalog.datastore(images.id));
  t.equal(availableMb(catalog.datastore(images.id)), 280, '10000 - 9720');
  const refused = await rejection(runImagePlan(life, planCreate(life, { datastore: images, name: 'big', sizeMb: 300 })));
  t.match(refused.message, /needs 300 MB but datastore images has 280 MB available \(free 10760 MB, LIMIT_MB 10000 - used 9720 MB/);
  t.match(refused.hint, /LIMIT_MB=/, 'the hint says LIMIT_MB can be raised');
  t.equal((await runImagePlan(life, planCreate(life, { datastore: images, name: 'ok', sizeMb: 280 }))).state, 'READY');
  catalog.updateDatastore(images.id, { template: { LIMIT_MB: '1' } });
  t.equal(availableMb(catalog.datastore(images.id)), 0, 'a limit below what is used leaves nothing');
  catalog.updateDatastore(images.id, { template: { LIMIT_MB: '1', DATASTORE_CAPACITY_CHECK: 'no' } });
  t.equal((await runImagePlan(life, planCreate(life, { datastore: images, name: 'unchecked', sizeMb: 900000 }))).state, 'READY', 'no check');
});

t.test('force: an image that does not fit is made, and the override is journaled with it', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const image = await runImagePlan(life, planCreate(life, { datastore: images, name: 'huge', sizeMb: 500000, force: true }));
  t.equal(image.state, 'READY');
  const journal = catalog.journal(`image:${image.id}`);
  t.same(actions(journal), ['override', 'mkfs'], 'the override, then the mkfs');
  t.match(journal[0], { kind: 'capacity', operation: 'create', ok: true, message: /image huge needs 500000 MB but datastore images has 10760 MB available.*; --force/ });
  const unforced = await runImagePlan(life, planCreate(life, { datastore: images, name: 'fits', sizeMb: 1 }));
  t.same(actions(catalog.journal(`image:${unforced.id}`)), ['mkfs'], 'an image that fits journals no override');
});

t.test('clone and save-as are checked too, with the size of what they copy', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const base = await runImagePlan(life, planCreate(life, { datastore: images, name: 'base', sizeMb: 8 }));
  const vm = await createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }, { kind: 'volatile', sizeMb: 20000 }] });
  catalog.updateImage(base.id, { sizeMb: 20000 });
  const clone = await rejection(runImagePlan(life, planClone(life, 'base', { name: 'copy' })));
  t.match(clone, { code: 'E_CONFLICT', message: /image copy needs 20000 MB but datastore images has 10760 MB available/ });
  t.equal(catalog.findImage('copy'), undefined, 'no clone recorded');
  const saved = await rejection(runSaveAs(life, planSaveAs(life, vm.id, 1, { name: 'scratch', datastore: 'images' })));
  t.match(saved, { code: 'E_CONFLICT', message: /image scratch needs 20000 MB/ });
  t.equal(catalog.findImage('scratch'), undefined, 'no saved image recorded');
  t.notOk(catalog.vm(vm.id).operation, 'the VM untouched');

  const forcedClone = await runImagePlan(life, planClone(life, 'base', { name: 'copy', force: true }));
  t.same(actions(catalog.journal(`image:${forcedClone.id}`)), ['override', 'clone']);
  const forcedSave = await runSaveAs(life, planSaveAs(life, vm.id, 1, { name: 'scratch', datastore: 'images', force: true }));
  t.same(actions(catalog.journal(`image:${forcedSave.id}`)), ['override', 'mkfs', 'cpds', 'stat']);
  t.match(catalog.journal(`image:${forcedSave.id}`)[0], { operation: 'saveas', message: /image scratch needs 20000 MB/ });
});

t.test('a monitor that fails refuses the image; with force it goes ahead and the override says the capacity was not checked', async (t) => {
  const { life, catalog, dir } = lifeWorld(t);
  const broken = catalog.addDatastore({ name: 'broken', type: 'IMAGE', dsMad: 'fs', tmMad: 'dummy', basePath: `${dir}/missing` });
  const refused = await rejection(runImagePlan(life, planCreate(life, { datastore: broken, name: 'one', sizeMb: 1 })));
  t.match(refused, { code: 'E_DRIVER_FAILED', action: 'monitor', message: /does not exist/ }, 'the monitor\'s failure');
  t.equal(catalog.findImage('one'), undefined, 'no image recorded');
  await rejection(runImagePlan(life, planCreate(life, { datastore: broken, name: 'one', sizeMb: 1, force: true })));
  const journal = catalog.journal(`image:${catalog.image('one').id}`);
  t.match(journal, [{ action: 'override', message: /capacity not checked: the monitor of datastore broken failed \(.*does not exist.*\); --force/ }, { action: 'mkfs', ok: false }], 'forced past the monitor; then mkfs itself failed there');
});
