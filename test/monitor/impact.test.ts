/** What an alert affects: datastore -> images and VMs, image -> VMs, host -> VMs (issue 15). */
import t from 'tap';
import { impactOf, type ImpactView } from '../../src/monitor/impact.js';

// Datastores: 0 system (shared), 1 images, 2 images (empty), 100 system (ssh, per host).
const view: ImpactView = {
  images: [
    { id: 12, datastoreId: 1 },
    { id: 3, datastoreId: 1 },
    { id: 40, datastoreId: 7 },
  ],
  vms: [
    { id: 9, host: 'node2', systemDatastoreId: 0, disks: [{ imageId: 3, datastoreId: 1 }] },
    { id: 2, host: 'node1', systemDatastoreId: 100, disks: [{ imageId: 40, datastoreId: 7 }, { datastoreId: 100 }] },
    { id: 5, host: 'node1', systemDatastoreId: 0, disks: [] },
    // A disk whose datastore is not recorded is still found through its image.
    { id: 11, host: null, disks: [{ imageId: 12 }] },
    { id: 4, host: 'node3', systemDatastoreId: 100, disks: [{ imageId: 3, datastoreId: 1 }, { imageId: 12, datastoreId: 1 }] },
  ],
};

t.test('a datastore affects its images and the VMs with disks on them', async (t) => {
  t.same(impactOf({ kind: 'datastore', id: 1 }, view), { images: [3, 12], vms: [4, 9, 11], hosts: ['node2', 'node3'] });
  t.same(impactOf({ kind: 'datastore', id: 2 }, view), { images: [], vms: [], hosts: [] }, 'an empty datastore affects nothing');
  t.same(impactOf({ kind: 'datastore', id: '1' }, view), impactOf({ kind: 'datastore', id: 1 }, view), 'an id as text is the same id');
});

t.test('a system datastore affects the VMs running from it', async (t) => {
  t.same(impactOf({ kind: 'datastore', id: 0 }, view), { images: [], vms: [5, 9], hosts: ['node1', 'node2'] });
  t.same(impactOf({ kind: 'datastore', id: 100 }, view), { images: [], vms: [2, 4], hosts: ['node1', 'node3'] });
});

t.test('an image affects its VMs; a host its VMs; a VM nothing further', async (t) => {
  t.same(impactOf({ kind: 'image', id: 3 }, view), { images: [], vms: [4, 9], hosts: ['node2', 'node3'] });
  t.same(impactOf({ kind: 'image', id: 99 }, view), { images: [], vms: [], hosts: [] });
  t.same(impactOf({ kind: 'host', id: 'node1' }, view), { images: [], vms: [2, 5], hosts: [] });
  t.same(impactOf({ kind: 'vm', id: 9 }, view), { images: [], vms: [], hosts: [] });
});

t.test('deterministic: the order of the view does not matter', async (t) => {
  const reversed: ImpactView = { images: [...view.images].reverse(), vms: [...view.vms].reverse() };
  for (const subject of [{ kind: 'datastore', id: 1 }, { kind: 'datastore', id: 0 }, { kind: 'host', id: 'node1' }, { kind: 'image', id: 12 }] as const) {
    t.same(impactOf(subject, reversed), impactOf(subject, view));
  }
  t.same(impactOf({ kind: 'host', id: 'h' }, { images: [], vms: [{ id: 'b', host: 'h', disks: [] }, { id: 10, host: 'h', disks: [] }, { id: 'a', host: 'h', disks: [] }, { id: 2, host: 'h', disks: [] }] }).vms, [2, 10, 'a', 'b'], 'numbers ascending, then names');
});
