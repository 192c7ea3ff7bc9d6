/** datastores.ts: monitored, and created, changed or removed by plan; a monitor that refuses leaves nothing changed. */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkDatastore } from '../../src/lifecycle/check.js';
import { monitor, planDatastoreCreate, planDatastoreDelete, planDatastoreUpdate, runDatastorePlan } from '../../src/lifecycle/datastores.js';
import { MARKER_NAME } from '../../src/lifecycle/owner-marker.js';
import { rejection, thrown } from '../helpers/fixtures.js';
import { openTestCatalog } from '../helpers/test-store.js';
import { lifeWorld } from './world.js';

t.test('monitor stores the figures; a SYSTEM datastore is monitored by its TM', async (t) => {
  const { life, catalog, images, system } = lifeWorld(t);
  t.match(await monitor(life, images), { totalMb: 20480, freeMb: 10760, usedMb: 9720 });
  t.match(catalog.datastore(images.id), { totalMb: 20480, freeMb: 10760 });
  await monitor(life, system);
  t.type(catalog.datastore(system.id).totalMb, 'number', 'tm/dummy/monitor answered');
  t.match(catalog.journal(`datastore:${system.id}`), [{ action: 'monitor', driver: 'dummy', ok: true }]);
});

t.test('create: planned without recording; run, it is recorded once its monitor accepts it, and removed when it refuses', async (t) => {
  const { life, catalog, dir } = lifeWorld(t);
  const input = { name: 'more', type: 'IMAGE' as const, dsMad: 'fs', tmMad: 'dummy', basePath: join(dir, 'nowhere') };
  const plan = planDatastoreCreate(life, input, true);
  t.match(plan, { operation: 'create', datastore: { name: 'more' }, steps: [{ action: 'monitor', driver: 'fs' }] });
  t.equal(catalog.findDatastore('more'), undefined, 'the plan records nothing');
  t.same(planDatastoreCreate(life, input, false).steps, [], 'no monitor: no step');
  t.equal(thrown(() => planDatastoreCreate(life, { ...input, name: 'images' }, true)).code, 'E_CONFLICT', 'a name taken is refused by the plan');

  const refused = await rejection(runDatastorePlan(life, plan));
  t.match(refused.message, /does not exist/, 'fs/monitor refuses a BASE_PATH that is not there');
  t.equal(catalog.findDatastore('more'), undefined, 'nothing stays behind');
  const unchecked = await runDatastorePlan(life, planDatastoreCreate(life, input, false));
  t.equal(catalog.datastore('more').id, unchecked.id, 'recorded without a check');
});

t.test('update: the datastore as it would be; when its monitor refuses the change, the old record comes back', async (t) => {
  const { life, catalog, images, dir } = lifeWorld(t);
  const fs = await runDatastorePlan(life, planDatastoreCreate(life, { name: 'files', type: 'IMAGE', dsMad: 'fs', tmMad: 'dummy', basePath: dir, template: { A: '1' } }, true));
  const plan = planDatastoreUpdate(life, fs.id, { basePath: join(dir, 'gone'), template: { A: '2' } });
  t.match(plan.datastore, { basePath: join(dir, 'gone'), template: { A: '2' } });
  t.match(catalog.datastore(fs.id), { basePath: dir, template: { A: '1' } }, 'the plan changes nothing');
  await t.rejects(runDatastorePlan(life, plan), /does not exist/);
  t.match(catalog.datastore(fs.id), { basePath: dir, template: { A: '1' } }, 'restored');
  const changed = await runDatastorePlan(life, planDatastoreUpdate(life, images.id, { template: { B: 'x' } }));
  t.same(changed.template, { B: 'x' }, 'an accepted change is kept');
});

t.test('delete: refused while it holds images; runs no driver', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  catalog.addImage({ name: 'img', datastoreId: images.id });
  t.equal(thrown(() => planDatastoreDelete(life, 'images')).code, 'E_CONFLICT');
  const spare = catalog.addDatastore({ name: 'spare', type: 'FILE', dsMad: 'dummy', tmMad: 'dummy', basePath: '/x' });
  const plan = planDatastoreDelete(life, 'spare');
  t.same(plan.steps, []);
  t.ok(catalog.findDatastore('spare'), 'the plan removes nothing');
  t.equal((await runDatastorePlan(life, plan)).id, spare.id);
  t.equal(catalog.findDatastore('spare'), undefined);
});

t.test('a BASE_PATH the contract\'s "<image_source> <size>" reply cannot carry is refused at create and update, before anything runs', async (t) => {
  const { life, catalog, images, dir } = lifeWorld(t);
  const input = { name: 'spaced', type: 'IMAGE' as const, dsMad: 'fs', tmMad: 'dummy' };
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'my images'), /has a space: the contract's "<image_source> <size>" reply cannot carry it/],
    [join(dir, 'tab\there'), /has a tab/],
    [join(dir, 'new\nline'), /has a newline/],
    [join(dir, 'esc\x1b[2J'), /has a control character \(U\+001B\)/],
    [join(dir, 'nbsp\u00a0here'), /has whitespace \(U\+00A0\)/],
    ['relative/path', /is not an absolute path/],
  ];
  for (const [basePath, reason] of cases) {
    const created = thrown(() => planDatastoreCreate(life, { ...input, basePath }, true));
    t.equal(created.code, 'E_USAGE', `create with ${JSON.stringify(basePath)}: a usage error`);
    t.match(created.message, reason, 'saying why');
    t.match(thrown(() => planDatastoreUpdate(life, images.id, { basePath })).message, reason, 'update too');
  }
  t.equal(catalog.findDatastore('spaced'), undefined, 'nothing recorded');
  t.same(catalog.journal(), [], 'no driver ran');
  t.equal(planDatastoreCreate(life, { ...input, basePath: join(dir, 'plain-1.x_y') }, true).datastore.name, 'spaced', 'an ordinary path is fine');
});

t.test('monitor: a datastore with no driver to monitor it is refused, naming the fix', async (t) => {
  const { life, catalog } = lifeWorld(t);
  const bare = catalog.addDatastore({ name: 'bare', type: 'FILE', tmMad: 'dummy', basePath: '/srv/files' });
  const refused = await rejection(monitor(life, bare));
  t.match(refused, { code: 'E_CONFLICT', message: /datastore bare is a FILE datastore with no datastore driver \(ds_mad\) to monitor it/, hint: /--ds-mad/ });
  t.same(catalog.journal(), [], 'nothing ran');
});

t.test('a datastore folder names the catalog and datastore that own it; another catalog cannot take it; delete lets it go', async (t) => {
  const { life, catalog, dir } = lifeWorld(t);
  const base = join(dir, 'owned');
  mkdirSync(base);
  const input = { name: 'owned', type: 'IMAGE' as const, dsMad: 'fs', tmMad: 'dummy', basePath: base };
  const ds = await runDatastorePlan(life, planDatastoreCreate(life, input, true));
  const marker = JSON.parse(readFileSync(join(base, MARKER_NAME), 'utf8')) as Record<string, unknown>;
  t.match(marker, { catalog: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, catalogPath: catalog.path, datastore: ds.id, name: 'owned' });
  t.equal(marker.catalog, catalog.identity(), 'the catalog\'s identity');
  t.same(readdirSync(base), [MARKER_NAME], 'written atomically: no temporary file stays');
  t.same(checkDatastore(catalog, 'owned').unowned, [], 'datastore check does not list the marker');

  const other = openTestCatalog(t, join(dir, 'other'));
  t.not(other.identity(), catalog.identity(), 'each catalog has its own identity');
  const otherLife = { ...life, catalog: other };
  const refused = thrown(() => planDatastoreCreate(otherLife, { ...input, name: 'mine' }, true));
  t.equal(refused.code, 'E_CONFLICT');
  t.match(refused.message, `belongs to datastore owned (id ${ds.id}) of the catalog ${catalog.path}`);
  t.match(refused.hint, `rm ${join(base, MARKER_NAME)}`, 'says how to take it over');
  t.equal(other.findDatastore('mine'), undefined);

  t.ok(planDatastoreCreate(life, { ...input, name: 'again' }, true), 'the same catalog may use the folder again');
  await runDatastorePlan(life, planDatastoreDelete(life, 'owned'));
  t.notOk(existsSync(join(base, MARKER_NAME)), 'delete removes the marker');
  const taken = await runDatastorePlan(otherLife, planDatastoreCreate(otherLife, { ...input, name: 'mine' }, true));
  t.match(JSON.parse(readFileSync(join(base, MARKER_NAME), 'utf8')), { catalog: other.identity(), datastore: taken.id, name: 'mine' }, 'a freed folder can be taken');
});
