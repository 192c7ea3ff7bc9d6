/**
 * A VM disk (or one of its snapshots) saved as a new image: the image is
 * recorded LOCKED, its datastore names the SOURCE (mkfs, FSTYPE save_as),
 * the disk's TM copies it there (cpds), and stat gives its size. READY on
 * success; ERROR with the step's message on failure, the VM untouched.
 */
import type { CatalogTx } from '../catalog/store.js';
import { FerryError } from '../errors.js';
import type { Image } from '../model.js';
import { checkCapacity, journalOverride } from './capacity.js';
import { imageAction, statSource, usableDatastore } from './images.js';
import { act, datastoreAction, runStep, type LifecycleOptions } from './journal.js';
import { saveAsSource, saveAsSteps, type SaveAsInput, type SaveAsPlan } from './plan.js';
import { checkDiskSnapshot, diskOf, planContext } from './vms.js';

/**
 * Checks a disk save-as before anything runs: the VM's disks are where
 * they rest (RUNNING or STOPPED), the disk is an image or volatile disk,
 * the snapshot (if any) exists, and the new image's datastore takes images.
 */
function checkSaveAs(life: LifecycleOptions, tx: CatalogTx, vmRef: string | number, diskId: number, input: SaveAsInput): SaveAsPlan {
  const vm = tx.vm(vmRef);
  if (vm.operation || (vm.state !== 'RUNNING' && vm.state !== 'STOPPED')) {
    throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state}${vm.operation ? ` with an unfinished ${vm.operation}` : ''}; disks are saved from a RUNNING or STOPPED VM`, {
      hint: vm.operation ? `ferry vm recover ${vm.id} --retry|--success|--failure` : `ferry vm show ${vm.id}`,
    });
  }
  const disk = diskOf(vm, diskId, 'only image and volatile disks are saved as images');
  if (input.snapshot !== undefined) checkDiskSnapshot(vm, disk, input.snapshot);
  const image = disk.imageId !== null ? tx.image(disk.imageId) : undefined;
  const dsRef = input.datastore ?? image?.datastoreId;
  if (dsRef === undefined) throw new FerryError('E_USAGE', `disk ${diskId} is a volatile disk: say which datastore gets the new image`, { hint: `ferry vm disk-saveas ${vm.id} ${diskId} --name ${input.name} --datastore DS` });
  const ds = usableDatastore(tx, dsRef);
  if (ds.type !== 'IMAGE') throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a ${ds.type} datastore; a saved disk becomes an image in an IMAGE datastore`, { hint: 'ferry datastore list' });
  tx.checkNewImageName(input.name);
  const copy = saveAsSource(planContext(life, tx, vm), disk, ds);
  return { kind: 'saveas', vm, disk, datastore: ds, input, copy, steps: saveAsSteps(copy, input, -1), sizeMb: image?.sizeMb ?? disk.sizeMb, format: image?.format ?? disk.format ?? 'raw' };
}

/** The plan of a disk save-as. */
export function planSaveAs(life: LifecycleOptions, vmRef: string | number, diskId: number, input: SaveAsInput): SaveAsPlan {
  return life.catalog.transaction((tx) => checkSaveAs(life, tx, vmRef, diskId, input));
}

/** Saves the plan's disk as a new image, checked again under the VM's lock. */
export async function runSaveAs(life: LifecycleOptions, plan: SaveAsPlan): Promise<Image> {
  const { input } = plan;
  const override = await checkCapacity(life, plan.datastore, { name: input.name, sizeMb: plan.sizeMb, ...(input.force ? { force: true } : {}) });
  // The VM holds still while its disk is copied: no stop, migrate or snapshot meanwhile.
  const unlockVm = life.catalog.lock(`vm:${plan.vm.id}`, 'disk-saveas');
  try {
    // Read again under the lock: another ferry may have changed the VM before we got it.
    const { copy, sizeMb, format } = planSaveAs(life, plan.vm.id, plan.disk.diskId, input);
    const ds = copy.into;
    const record = (tx: CatalogTx): Image => {
      const image = tx.addImage({ name: input.name, datastoreId: ds.id, ...(sizeMb !== null ? { sizeMb } : {}), format, persistent: false });
      journalOverride(tx, image, 'saveas', override);
      return image;
    };
    return await imageAction(life, record, 'saveas', async (current) => {
      const [mkfs] = saveAsSteps(copy, input, current.id);
      const made = (await datastoreAction(life, ds, mkfs, { image: current, dumpImage: { ...current, fs: 'save_as' }, operation: 'saveas' })).result as { source: string };
      life.catalog.updateImage(current.id, { source: made.source });
      const [, cpds] = saveAsSteps(copy, input, current.id, made.source);
      await act(life, `image:${current.id}`, 'saveas', null, cpds, () => runStep(life, cpds));
      return { sizeMb: await statSource(life, ds, life.catalog.image(current.id), { operation: 'saveas' }), state: 'READY' };
    });
  } finally {
    unlockVm();
  }
}
