/**
 * What an alert affects, carried along the relations as IML's "affects"
 * carries a disk's health up to its pool and LUNs: a datastore affects the
 * images on it and the VMs with a disk on it (a system datastore: the VMs
 * running from it); an image, the VMs using it; a host, the VMs on it. Read
 * from plain arrays the caller takes from the catalog; ids come back sorted
 * (numbers ascending, then names), each once.
 */
import type { SubjectKind } from './rules.js';

type Id = number | string;

export interface ImpactView {
  images: readonly { id: Id; datastoreId: Id }[];
  vms: readonly {
    id: Id;
    host?: Id | null;
    /** The VM's system datastore, when it has one. */
    systemDatastoreId?: Id | null;
    disks: readonly { imageId?: Id | null; datastoreId?: Id | null }[];
  }[];
}

export interface Impact {
  images: Id[];
  vms: Id[];
  hosts: Id[];
}

function sortIds(ids: Iterable<Id>): Id[] {
  return [...new Set(ids)].sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  });
}

/** Ids compare as text, so 7 from one table finds "7" from another. */
const same = (a: Id | null | undefined, b: Id): boolean => a !== undefined && a !== null && String(a) === String(b);

/** What an alert on `subject` affects in `view`; a VM (or an unknown kind) affects nothing further. */
export function impactOf(subject: { kind: SubjectKind; id: Id }, view: ImpactView): Impact {
  const images = new Set<Id>();
  const vms = new Set<Id>();
  if (subject.kind === 'datastore') {
    for (const image of view.images) if (same(image.datastoreId, subject.id)) images.add(image.id);
    const imageIds = new Set([...images].map(String));
    for (const vm of view.vms) {
      const onIt = same(vm.systemDatastoreId, subject.id) || vm.disks.some((disk) => same(disk.datastoreId, subject.id) || (disk.imageId != null && imageIds.has(String(disk.imageId))));
      if (onIt) vms.add(vm.id);
    }
  } else if (subject.kind === 'image') {
    for (const vm of view.vms) if (vm.disks.some((disk) => same(disk.imageId, subject.id))) vms.add(vm.id);
  } else if (subject.kind === 'host') {
    for (const vm of view.vms) if (same(vm.host, subject.id)) vms.add(vm.id);
  }
  // The hosts touched: where the affected VMs run (an outage there is felt there).
  const hosts = new Set<Id>();
  if (subject.kind !== 'host') {
    const affected = new Set([...vms].map(String));
    for (const vm of view.vms) if (affected.has(String(vm.id)) && vm.host !== undefined && vm.host !== null) hosts.add(vm.host);
  }
  return { images: sortIds(images), vms: sortIds(vms), hosts: sortIds(hosts) };
}
