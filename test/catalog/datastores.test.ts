/** Datastore rows. */
import t from 'tap';
import { thrown } from '../helpers/fixtures.js';
import { fresh, seeded, vmInput } from './seed.js';

t.test('datastores', async (t) => {
  const { catalog } = fresh(t);
  t.same(catalog.listDatastores(), []);
  let error = thrown(() => catalog.datastore('nope'));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.hint, /ferry datastore create/, 'empty catalog: hint says how to create');

  const ds = catalog.addDatastore({
    name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1',
    template: { BRIDGE_LIST: 'a b', 'ODD KEY': 'é"\n' }, secrets: { CEPH_KEY: 's3cr3t' },
  });
  t.type(ds.id, 'number');
  t.match(ds, { name: 'images', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1', origin: 'catalog', totalMb: null, monitoredAt: null });
  t.same(ds.template, { BRIDGE_LIST: 'a b', 'ODD KEY': 'é"\n' }, 'template round-trips');
  t.same(ds.secrets, { CEPH_KEY: 's3cr3t' }, 'secrets round-trip');
  t.ok(!Number.isNaN(Date.parse(ds.createdAt)));
  const sys = catalog.addDatastore({ id: 100, name: 'system', type: 'SYSTEM', tmMad: 'ssh', basePath: '/ds/100', origin: 'config' });
  t.equal(sys.id, 100, 'explicit id kept');
  t.same(sys.template, {});
  t.same(sys.secrets, {});
  t.equal(sys.dsMad, null);
  t.equal(sys.origin, 'config');

  t.same(catalog.listDatastores().map((d) => d.name), ['images', 'system'], 'listed by id');
  t.equal(catalog.findDatastore(ds.id)?.name, 'images', 'by numeric id');
  t.equal(catalog.findDatastore('100')?.name, 'system', 'by id as a string');
  t.equal(catalog.findDatastore('system')?.id, 100, 'by name');
  t.equal(catalog.findDatastore('missing'), undefined);
  t.same(catalog.datastore('images'), ds);

  error = thrown(() => catalog.datastore(42));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.message, /"42"/);
  t.match(error.hint, `${ds.id} (images)`, 'hint lists known ones');
  t.match(error.hint, '100 (system)');

  error = thrown(() => catalog.addDatastore({ name: 'images', type: 'FILE', tmMad: 'shared', basePath: '/x' }));
  t.equal(error.code, 'E_CONFLICT', 'duplicate name');
  t.equal(catalog.listDatastores().length, 2);

  const updated = catalog.updateDatastore(ds.id, { basePath: '/ds/one', secrets: { CEPH_KEY: 'new' } });
  t.equal(updated.basePath, '/ds/one');
  t.same(updated.secrets, { CEPH_KEY: 'new' });
  t.same(updated.template, ds.template, 'fields not in the patch are kept');
  t.equal(updated.name, 'images');
  t.same(catalog.datastore(ds.id), updated, 'update is stored');
  t.equal(thrown(() => catalog.updateDatastore(999, { name: 'x' })).code, 'E_NOT_FOUND');

  const before = Date.now();
  catalog.setMonitor(ds.id, { totalMb: 1000, freeMb: 600, usedMb: 400 });
  const monitored = catalog.datastore(ds.id);
  t.match(monitored, { totalMb: 1000, freeMb: 600, usedMb: 400 });
  t.ok(Date.parse(monitored.monitoredAt ?? '') >= before - 1000, 'monitoredAt set to now');

  const image = catalog.addImage({ name: 'img', datastoreId: ds.id });
  error = thrown(() => catalog.deleteDatastore(ds.id));
  t.equal(error.code, 'E_CONFLICT', 'refused while an image references it');
  t.match(error.message, /1 image/);
  t.ok(catalog.findDatastore(ds.id), 'still there');
  catalog.deleteImageRecord(image.id);
  catalog.deleteDatastore(ds.id);
  t.equal(catalog.findDatastore(ds.id), undefined, 'deleted once the image is gone');
});

t.test('datastores: a system datastore with only DONE VMs goes, with them; names and ids are checked', async (t) => {
  const { catalog, system, images } = seeded(t);
  const image = catalog.addImage({ name: 'img', datastoreId: images.id });
  const vm = catalog.addVm(vmInput('v', system.id, image.id), '/ds');
  catalog.updateVm(vm.id, { state: 'DONE' });
  let error: unknown;
  try {
    catalog.deleteDatastore(system.id);
  } catch (caught) {
    error = caught;
  }
  t.equal(error, undefined, 'deleteDatastore with only DONE VMs deletes it');
  t.equal(catalog.findDatastore(system.id), undefined);
  t.equal(catalog.findVm(vm.id), undefined, 'the DONE VM went with it');
  t.equal(thrown(() => catalog.addDatastore({ name: String(images.id), type: 'FILE', tmMad: 'shared', basePath: '/f' })).code, 'E_USAGE', 'an all-digit name is refused: it would read as an id');
  t.equal(thrown(() => catalog.addDatastore({ name: 'dup-id', id: images.id, type: 'FILE', tmMad: 'shared', basePath: '/f' })).code, 'E_CONFLICT', 'a taken id is a conflict, not a raw SQLite error');
});
