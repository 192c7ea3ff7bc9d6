/**
 * Continuing an image operation that failed (ERROR) or whose ferry was
 * killed (LOCKED or DELETING, its lock's owner gone), as `vm recover` does
 * for VMs. The operation is the one the image records: the `what:` its
 * error starts with (imageAction writes it when the operation starts, and
 * the failure's message replaces it), DELETING for an rm. What it wrote is
 * found by the temporary naming (check.ts): files tagged with the image's
 * id, or named after its SOURCE. Every mode first removes those (refused
 * while their writer runs), then:
 * - retry: runs the operation again (cp, mkfs, clone, rm; a save-as is not
 *   recorded with its VM disk, so it is deleted and saved again instead);
 *   a SOURCE a refused cp or mkfs reply left recorded is removed first;
 * - success: marks it done: READY when the image has a SOURCE, an rm's
 *   record removed;
 * - failure: undoes it: a SOURCE it made is removed (rm), the image stays
 *   ERROR saying so, for `image delete` or another try;
 * - delete: removes the image, its SOURCE and the record (image delete).
 */
import type { CatalogTx } from '../catalog/store.js';
import { FerryError, toFerryError } from '../errors.js';
import type { Datastore, Image, PlanStep } from '../model.js';
import { removeLeftovers } from './check.js';
import { imageAction, liveLeftoversRefused, planDelete, registerSource, runImagePlan, usableDatastore } from './images.js';
import { datastoreAction, type LifecycleOptions } from './journal.js';
import { imageDeletePlan, imageStep } from './plan.js';

export const IMAGE_RECOVER_MODES = ['retry', 'success', 'failure', 'delete'] as const;
export type ImageRecoverMode = (typeof IMAGE_RECOVER_MODES)[number];

/** The operations an image records: its datastore action, or saveas (mkfs, the TM's cpds, stat). */
const OPERATIONS = ['cp', 'mkfs', 'clone', 'saveas', 'rm'] as const;
type ImageOperation = (typeof OPERATIONS)[number];

export interface ImageRecoverPlan {
  kind: 'image-recover';
  mode: ImageRecoverMode;
  image: Image;
  datastore: Datastore;
  operation: ImageOperation;
  /** Leftovers of the operation that go first. */
  leftovers: string[];
  /** The driver actions it runs. */
  steps: PlanStep[];
}

/** The operation `image` did not finish; refused for an image with none. */
function unfinished(image: Image): ImageOperation {
  if (image.state === 'DELETING') return 'rm';
  if (image.state !== 'LOCKED' && image.state !== 'ERROR') {
    throw new FerryError('E_CONFLICT', `image ${image.name} is ${image.state}: no failed or interrupted operation to recover`, { hint: `ferry image show ${image.id}` });
  }
  const named = OPERATIONS.find((operation) => image.error?.startsWith(`${operation}:`));
  if (named) return named;
  // Recorded by an older ferry, which named nothing: what the record holds tells.
  return image.clonedFrom !== null ? 'clone' : image.path !== null ? 'cp' : image.source !== null ? 'saveas' : 'mkfs';
}

/** The original of a clone, READY (or USED when not persistent) with a SOURCE. */
function cloneOriginal(tx: CatalogTx, image: Image): Image & { source: string } {
  const original = image.clonedFrom === null ? undefined : tx.findImage(image.clonedFrom);
  if (!original?.source || (original.state !== 'READY' && original.state !== 'USED') || (original.persistent && original.state === 'USED')) {
    throw new FerryError('E_CONFLICT', `image ${image.name} was cloned from image ${image.clonedFrom}, which is ${original ? original.state : 'gone'}: the clone cannot be run again`, {
      hint: `ferry image recover ${image.id} --delete`,
    });
  }
  return original as Image & { source: string };
}

/** The driver actions of `mode`, refused when it cannot apply to `operation`. */
function stepsOf(tx: CatalogTx, image: Image, ds: Datastore, operation: ImageOperation, mode: ImageRecoverMode): PlanStep[] {
  const refuse = (why: string, hint: string) => new FerryError('E_CONFLICT', `image ${image.name}: ${why}`, { hint });
  switch (mode) {
    case 'delete':
      return imageDeletePlan(image, ds).steps;
    case 'failure':
      return operation !== 'rm' && image.source ? imageDeletePlan(image, ds).steps : [];
    case 'success':
      if (operation !== 'rm' && !image.source) throw refuse(`its ${operation} never reported a SOURCE, so it cannot be marked done`, `ferry image recover ${image.id} --retry (or --delete)`);
      return [];
    case 'retry':
      if (operation === 'rm') return imageDeletePlan(image, ds).steps;
      if (operation === 'saveas') throw refuse('a disk save-as is not recorded with the VM disk it copied, so it cannot be run again', `ferry image recover ${image.id} --delete, then ferry vm disk-saveas VM DISK --name ${image.name}`);
      usableDatastore(tx, ds.id);
      if (operation === 'clone') {
        const original = cloneOriginal(tx, image);
        return [imageStep(ds, 'clone', image.id, `${original.source} -> image ${image.name} (again)`, { from: original.source })];
      }
      // A SOURCE recorded by a cp or mkfs whose reply was refused (made-source.ts) goes first: the new run names another.
      return [...(image.source ? imageDeletePlan(image, ds).steps : []), imageStep(ds, operation, image.id, `${image.path ?? `${image.sizeMb} MB ${image.fs ?? 'raw'}`} (again)`)];
  }
}

/** What recovering `ref` in `mode` would do: the leftovers removed and the driver actions run. */
export function planImageRecover(life: LifecycleOptions, ref: string | number, mode: ImageRecoverMode): ImageRecoverPlan {
  return life.catalog.transaction((tx) => {
    const image = tx.image(ref);
    const operation = unfinished(image);
    const busy = tx.busy(`image:${image.id}`);
    if (busy) throw busy;
    const ds = tx.datastore(image.datastoreId);
    const leftovers = liveLeftoversRefused(ds, image).map((each) => each.path);
    return { kind: 'image-recover', mode, image, datastore: ds, operation, leftovers, steps: stepsOf(tx, image, ds, operation, mode) };
  });
}

/** Recovers the plan's image, planned again under its lock (another ferry may have recovered it meanwhile). */
export async function runImageRecover(life: LifecycleOptions, planned: ImageRecoverPlan): Promise<Image> {
  const { mode } = planned;
  const unlock = life.catalog.lock(`image:${planned.image.id}`, `${planned.operation}-recover`);
  try {
    const plan = planImageRecover(life, planned.image.id, mode);
    const { image, datastore: ds, operation } = plan;
    // delete and an rm's retry are image delete, which removes the leftovers itself.
    if (mode === 'delete' || (mode === 'retry' && operation === 'rm')) return await runImagePlan(life, planDelete(life, image.id));
    removeLeftovers(plan.leftovers.map((path) => ({ path })));
    if (mode === 'retry') return await retry(life, plan);
    if (mode === 'success') {
      if (operation === 'rm') {
        life.catalog.deleteImageRecord(image.id);
        return image;
      }
      return life.catalog.updateImage(image.id, { state: 'READY', error: null });
    }
    return await rollBack(life, image, ds, operation, plan.steps[0]);
  } finally {
    unlock();
  }
}

/** Runs the operation again, as `image create` or `image clone` runs it. */
function retry(life: LifecycleOptions, plan: ImageRecoverPlan): Promise<Image> {
  const { image, datastore: ds, operation } = plan;
  const step = plan.steps[plan.steps.length - 1] as PlanStep;
  if (operation !== 'clone') {
    return imageAction(life, image, operation, async (current) => {
      const [rm] = plan.steps.length > 1 ? plan.steps : [];
      if (rm) {
        await datastoreAction(life, ds, rm, { image: current, operation: `${operation}-retry` });
        current = life.catalog.updateImage(current.id, { source: null });
      }
      return registerSource(life, ds, step, current, `${operation}-retry`);
    });
  }
  const unlockOriginal = life.catalog.lock(`image:${image.clonedFrom}`, 'clone');
  return imageAction(life, image, operation, async (current) => {
    const original = life.catalog.transaction((tx) => cloneOriginal(tx, current));
    const result = await datastoreAction(life, ds, step, { image: current, operation: 'clone-retry' });
    return { source: result.result as string, state: 'READY', snapshots: original.snapshots };
  }).finally(unlockOriginal);
}

/** Undoes what the operation made (a SOURCE: rm) and leaves the image ERROR, saying so. */
async function rollBack(life: LifecycleOptions, image: Image, ds: Datastore, operation: ImageOperation, rm: PlanStep | undefined): Promise<Image> {
  if (rm) {
    try {
      await datastoreAction(life, ds, rm, { image, operation: `${operation}-rollback` });
    } catch (error) {
      const failure = toFerryError(error);
      life.catalog.updateImage(image.id, { state: 'ERROR', error: `${operation}: rollback failed: rm: ${failure.message}` });
      throw failure;
    }
  }
  const what = operation === 'rm' ? 'rm: interrupted, marked failed (its SOURCE may be partly removed)' : `${operation}: interrupted, rolled back: what it wrote is removed`;
  return life.catalog.updateImage(image.id, { state: 'ERROR', error: `${what}; ferry image recover ${image.id} --retry, or ferry image delete ${image.id}`, ...(rm ? { source: null } : {}) });
}
