/**
 * Sizes the service keeps fresh, on a slower beat than capacity: each image's, by its datastore driver's
 * stat of its SOURCE, and each VM disk's where the front-end sees the files (a system datastore measured once,
 * not per host), from the file's allocated blocks. Only failures are journaled: a success is the size.
 */
import { lstatSync } from 'node:fs';
import { toFerryError } from '../errors.js';
import type { Datastore, Image } from '../model.js';
import { statSource } from './images.js';
import type { LifecycleOptions } from './journal.js';

export interface SizeOptions {
  timeoutSec?: number;
  signal?: AbortSignal;
}

export interface SizeReport {
  measured: number;
  changed: number;
  failed: number;
  /** The first failure's message, if any. */
  error?: string;
}

const MB = 1024 * 1024;
const measurable = (image: Image): boolean => (image.state === 'READY' || image.state === 'USED') && image.source !== null;

/** Stat of every READY or USED image of `ds`, one after the other; a changed size is stored. */
export async function refreshImageSizes(life: LifecycleOptions, ds: Datastore, options: SizeOptions = {}): Promise<SizeReport> {
  const report: SizeReport = { measured: 0, changed: 0, failed: 0 };
  if (ds.dsMad === null) return report;
  for (const image of life.catalog.listImages()) {
    if (image.datastoreId !== ds.id || !measurable(image)) continue;
    if (options.signal?.aborted) break;
    try {
      const sizeMb = await statSource(life, ds, image, { operation: 'stat', journal: 'failures', ...options });
      report.measured += 1;
      life.catalog.transaction((tx) => {
        const current = tx.findImage(image.id);
        // Changed meanwhile (deleted, being copied): the operation under way has the last word.
        if (current === undefined || !measurable(current) || current.sizeMb === sizeMb) return;
        tx.updateImage(image.id, { sizeMb });
        report.changed += 1;
      });
    } catch (error) {
      if (options.signal?.aborted) break;
      report.failed += 1;
      report.error ??= `image ${image.name}: ${toFerryError(error).message}`;
    }
  }
  return report;
}

/** The allocated size in MB of each disk of the VMs on system datastore `ds` whose file the front-end sees (links, an image's own file, are not the VM's). */
export function refreshDiskSizes(life: LifecycleOptions, ds: Datastore): SizeReport {
  const report: SizeReport = { measured: 0, changed: 0, failed: 0 };
  for (const vm of life.catalog.listVms()) {
    if (vm.systemDsId !== ds.id || vm.state === 'DONE') continue;
    for (const disk of vm.disks) {
      const stat = lstatSync(disk.target, { throwIfNoEntry: false });
      if (stat === undefined || !stat.isFile()) continue;
      report.measured += 1;
      const sizeMb = Math.ceil((stat.blocks * 512) / MB);
      if (disk.sizeMb === sizeMb) continue;
      life.catalog.setDiskSize(vm.id, disk.diskId, sizeMb);
      report.changed += 1;
    }
  }
  return report;
}
