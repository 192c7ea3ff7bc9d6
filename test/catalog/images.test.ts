/** Image rows. */
import t from 'tap';
import { thrown } from '../helpers/fixtures.js';
import { seeded, vmInput } from './seed.js';

t.test('images', async (t) => {
  const { catalog, images, system } = seeded(t);
  const image = catalog.addImage({ name: 'ttylinux', datastoreId: images.id, path: '/tmp/tty.img', sizeMb: 40, format: 'raw' });
  t.match(image, { name: 'ttylinux', datastoreId: images.id, path: '/tmp/tty.img', sizeMb: 40, format: 'raw', state: 'LOCKED', type: 'OS', persistent: false, source: null, error: null });
  t.same(image.snapshots, []);
  t.equal(catalog.findImage('ttylinux')?.id, image.id);
  t.equal(catalog.findImage(String(image.id))?.name, 'ttylinux');
  t.equal(thrown(() => catalog.image('nope')).code, 'E_NOT_FOUND');
  t.equal(thrown(() => catalog.addImage({ name: 'ttylinux', datastoreId: images.id })).code, 'E_CONFLICT');
  t.equal(catalog.listImages().length, 1);

  const ready = catalog.updateImage(image.id, { state: 'READY', source: '/ds/1/abc', snapshots: [0, 1], persistent: true, error: null });
  t.match(ready, { state: 'READY', source: '/ds/1/abc', persistent: true, sizeMb: 40, format: 'raw' });
  t.same(ready.snapshots, [0, 1]);
  t.same(catalog.image(image.id), ready, 'stored');
  t.equal(catalog.updateImage(image.id, { state: 'ERROR', error: 'boom' }).error, 'boom');

  t.same(catalog.vmsUsingImage(image.id), []);
  const a = catalog.addVm(vmInput('a', system.id, image.id), '/ds/0');
  const b = catalog.addVm(vmInput('b', system.id, image.id), '/ds/0');
  catalog.addVm(vmInput('c', system.id, null), '/ds/0');
  t.same(catalog.vmsUsingImage(image.id), [a.id, b.id], 'VMs with a disk of it');
  catalog.updateVm(a.id, { state: 'DONE' });
  t.same(catalog.vmsUsingImage(image.id), [b.id], 'DONE VMs do not count');
  catalog.updateVm(b.id, { state: 'FAILED' });
  t.same(catalog.vmsUsingImage(image.id), [b.id], 'FAILED ones do');
});

t.test('an image in an unknown datastore is E_NOT_FOUND', async (t) => {
  const { catalog } = seeded(t);
  t.equal(thrown(() => catalog.addImage({ name: 'img2', datastoreId: 999 })).code, 'E_NOT_FOUND');
  t.equal(catalog.findImage('img2'), undefined);
});
