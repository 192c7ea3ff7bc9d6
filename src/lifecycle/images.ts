/**
 * Images in their datastores: created (cp from a path or URL, mkfs of an
 * empty one), cloned, deleted (rm), their snapshots reverted, deleted or
 * flattened, and measured (stat). Each change is planned first (plan.ts,
 * what --dry-run prints) and run from its plan under the image's lock.
 */
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { CatalogTx } from '../catalog/store.js';
import { withDumpSize, type ImageSourceResult } from '../contract/parsers.js';
import type { ActionResult } from '../driver/runner.js';
import { FerryError, toFerryError, type RunFacts } from '../errors.js';
import { emptyImageFormat } from '../dump/from-catalog.js';
import type { Datastore, Image, ImagePatch, PlanStep } from '../model.js';
import { checkBasePath } from './base-path.js';
import { checkCapacity, journalOverride } from './capacity.js';
import { imageLeftovers, removeLeftovers, type Leftover } from './check.js';
import { datastoreAction, once, type DatastoreActionOptions, type LifecycleOptions } from './journal.js';
import { undoMade } from './made-source.js';
import { imageClonePlan, imageCreatePlan, imageDeletePlan, imageSnapshotPlan, imageStep, newImageRecord, type ImagePlan, type ImageSnapshotOperation, type NewImageInput } from './plan.js';

/** A URL (scheme://…) rather than a local path. */
export function isUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** A datastore that has a datastore driver, and a BASE_PATH its replies can name a SOURCE under (one recorded by an older ferry may not). */
export function usableDatastore(tx: CatalogTx, ref: string | number): Datastore {
  const ds = tx.datastore(ref);
  if (!ds.dsMad) {
    throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a ${ds.type} datastore with no datastore driver (ds_mad)`, { hint: 'use an IMAGE datastore (ferry datastore list), or give it one: ferry datastore update --ds-mad NAME' });
  }
  checkBasePath(ds.name, ds.basePath);
  return ds;
}

/** The VMs (not DONE) with a disk of `image`, refused with the way out. */
export function checkImageFree(tx: CatalogTx, image: Image, what: string): void {
  const users = tx.vmsUsingImage(image.id);
  if (users.length > 0) throw new FerryError('E_CONFLICT', `image ${image.name} is used by VM(s) ${users.join(', ')}; cannot ${what} it`, { hint: 'shut those VMs down (or recover and shut down a FAILED or PENDING one) first' });
}

/** Checks a new image against its datastore before anything runs; returns the action it needs. */
function checkNewImage(tx: CatalogTx, input: NewImageInput): 'cp' | 'mkfs' {
  const ds = input.datastore;
  if (ds.type === 'SYSTEM') {
    throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a SYSTEM datastore; images go in an IMAGE (or FILE) datastore`, { hint: 'pick an IMAGE datastore: ferry datastore list' });
  }
  usableDatastore(tx, ds.id);
  if (input.path !== undefined && !isUrl(input.path) && !existsSync(input.path)) {
    throw new FerryError('E_USAGE', `image file ${input.path} does not exist`, { hint: 'pass an existing file or an http(s) URL to --path' });
  }
  if (input.path === undefined && input.sizeMb === undefined) throw new FerryError('E_USAGE', 'an image needs --path FILE|URL or --size MB', { hint: 'ferry image create --help' });
  return input.path !== undefined ? 'cp' : 'mkfs';
}

/** The plan of a new image: cp from a path or URL, or mkfs; checked (a name taken refused) and its dump as the driver gets it. */
export function planCreate(life: LifecycleOptions, input: NewImageInput): ImagePlan {
  // Recorded in a transaction that is rolled back: a name taken, or all digits, is refused as it would be.
  return life.catalog.preview((tx) => {
    const action = checkNewImage(tx, input);
    tx.addImage({ name: input.name, datastoreId: input.datastore.id });
    return imageCreatePlan(input, action);
  });
}

/** Checks an image clone: the original (READY, or USED when not persistent), its datastore and the new name. */
function checkClone(tx: CatalogTx, ref: string | number, name: string): { original: Image & { source: string }; ds: Datastore } {
  const original = tx.image(ref);
  if ((original.state !== 'READY' && original.state !== 'USED') || !original.source) {
    throw new FerryError('E_CONFLICT', `image ${original.name} is ${original.state}${original.error ? ` (${original.error})` : ''}; only a READY image can be cloned`, { hint: 'ferry image list' });
  }
  if (original.persistent && original.state === 'USED') {
    throw new FerryError('E_CONFLICT', `persistent image ${original.name} is in use by VM(s) ${tx.vmsUsingImage(original.id).join(', ')}: its contents change under a copy`, {
      hint: 'shut the VM down first, or save its disk: ferry vm disk-saveas VM DISK --name NEW',
    });
  }
  const ds = usableDatastore(tx, original.datastoreId);
  tx.checkNewImageName(name);
  return { original: original as Image & { source: string }, ds };
}

/** The plan of an image clone within its datastore. */
export function planClone(life: LifecycleOptions, ref: string | number, input: { name: string; persistent?: boolean; force?: boolean }): Extract<ImagePlan, { operation: 'clone' }> {
  const { original, ds } = life.catalog.transaction((tx) => checkClone(tx, ref, input.name));
  return imageClonePlan(original, ds, input);
}

/** The plan of an image's removal: rm of its SOURCE (none when it has none), then its record; refused while a VM uses it. */
export function planDelete(life: LifecycleOptions, ref: string | number): ImagePlan {
  return life.catalog.transaction((tx) => {
    const image = tx.image(ref);
    const ds = tx.datastore(image.datastoreId);
    checkImageFree(tx, image, 'delete');
    return imageDeletePlan(image, ds);
  });
}

/** Checks an image snapshot operation: the image is READY, held by no VM, and has the snapshot. */
function checkImageSnapshot(tx: CatalogTx, ref: string | number, snapshot: number): { image: Image; ds: Datastore } {
  const image = tx.image(ref);
  const users = tx.vmsUsingImage(image.id);
  // READY and still held: a FAILED or PENDING VM would link or clone it on --retry or deploy.
  if (image.state === 'READY' && users.length > 0) checkImageFree(tx, image, 'change the snapshots of');
  if (image.state !== 'READY') {
    throw new FerryError('E_CONFLICT', `image ${image.name} is ${image.state}${users.length ? ` (VM ${users.join(', ')})` : ''}; its snapshots change only while it is READY`, {
      hint: users.length ? `use ferry vm disk-snapshot on the VM, or shut it down first` : 'ferry image show',
    });
  }
  if (!image.snapshots.includes(snapshot)) {
    throw new FerryError('E_NOT_FOUND', `image ${image.name} has no snapshot ${snapshot} (it has: ${image.snapshots.join(', ') || 'none'})`, { hint: `ferry image show ${image.id}` });
  }
  return { image, ds: usableDatastore(tx, image.datastoreId) };
}

/** The plan of an image snapshot revert, delete or flatten. */
export function planSnapshot(life: LifecycleOptions, ref: string | number, operation: ImageSnapshotOperation, snapshot: number): ImagePlan {
  const { image, ds } = life.catalog.transaction((tx) => checkImageSnapshot(tx, ref, snapshot));
  return imageSnapshotPlan(image, ds, operation, snapshot);
}

/** Runs an image plan; the image as it is after (a deleted one: as it was). */
export function runImagePlan(life: LifecycleOptions, plan: ImagePlan): Promise<Image> {
  switch (plan.operation) {
    case 'create':
      return createImage(life, plan);
    case 'clone':
      return cloneImage(life, plan);
    case 'delete':
      return deleteImage(life, plan);
    default:
      return imageSnapshot(life, plan);
  }
}

/** The plan's one step, for the image it now acts on (a new one has its id once recorded). */
function stepFor(plan: ImagePlan, image: Image) {
  const planned = plan.steps[0] as ImagePlan['steps'][number];
  return imageStep(plan.datastore, planned.action, image.id, planned.why, planned.refs ?? {});
}

/** Registers an image: cp or mkfs. READY on success, ERROR with the reason on failure. */
async function createImage(life: LifecycleOptions, plan: ImagePlan & { operation: 'create' }): Promise<Image> {
  const { input, datastore: ds } = plan;
  const override = await checkCapacity(life, ds, { name: input.name, sizeMb: newImageSizeMb(input), ...(input.force ? { force: true } : {}) });
  const record = (tx: CatalogTx): Image => {
    checkNewImage(tx, input);
    const image = tx.addImage(newImageRecord(input));
    journalOverride(tx, image, 'create', override);
    return image;
  };
  return imageAction(life, record, plan.steps[0]?.action ?? 'cp', (image) => registerSource(life, ds, stepFor(plan, image), image));
}

/**
 * Runs cp or mkfs for `image`: the patch that makes it READY with the
 * SOURCE, size and format the driver reports. mkfs may print only the
 * source (OpenNebula's current one does): the size is then the image's
 * (the dump's IMAGE/SIZE), and with none the reply is refused. A refused
 * reply does not leave what the driver made behind (made-source.ts).
 */
export async function registerSource(life: LifecycleOptions, ds: Datastore, step: PlanStep, image: Image, operation?: string): Promise<ImagePatch> {
  let made: ImageSourceResult;
  try {
    const result = await datastoreAction(life, ds, step, { image, ...(operation ? { operation } : {}) });
    made = result.result as ImageSourceResult;
    if (step.action === 'mkfs') {
      const sized = withDumpSize(made, image.sizeMb);
      if (!sized.ok) throw new FerryError('E_MALFORMED_OUTPUT', `driver returned malformed output: ${sized.reason}`, { ...runFacts(result), hint: 'give the image a size (--size), or make mkfs print "<image_source> <size>"' });
      made = sized.value;
    }
  } catch (error) {
    throw await undoMade(life, ds, step, image, toFerryError(error));
  }
  // OpenNebula's cp prints "<source> <format>": oned knows the size from the stat it ran before. Ask the same stat
  // (of the PATH copied from) after the copy, and only then; an image whose size cannot be read stays without one.
  const sizeMb = made.sizeMb ?? (step.action === 'cp' && image.path ? await statOf(life, ds, image, 'path', operation ? { operation } : {}).catch(() => undefined) : undefined);
  // An empty image made without a format is in the one its dump asked for (emptyImageFormat).
  const format = made.format ?? image.format ?? (step.action === 'mkfs' ? emptyImageFormat(ds) : null);
  return { source: made.source, sizeMb: sizeMb ?? image.sizeMb, format, state: 'READY' };
}

/** The facts of a run that succeeded, for an error about its reply. */
function runFacts(result: ActionResult): RunFacts {
  const { kind, driver, action, id, command, stdout, stderr, logs, exitCode, durationMs } = result;
  return { kind, driver, action, ...(id !== undefined ? { id } : {}), command, stdout, stderr, logs, exitCode, durationMs };
}

/** The MB a new image takes: its --size, or the size of the local file it is copied from (a URL's is not known beforehand). */
function newImageSizeMb(input: NewImageInput): number | null {
  if (input.path === undefined) return input.sizeMb ?? null;
  return isUrl(input.path) ? null : Math.ceil(statSync(input.path).size / (1024 * 1024));
}

/**
 * Clones an image within its datastore (the driver's clone). The dump
 * describes the new image with PATH set to the original's SOURCE and
 * CLONING_ID to its id, as oned sends it. The clone gets the original's
 * size, format and snapshot ids (the fs driver copies internal snapshots
 * with the file).
 */
async function cloneImage(life: LifecycleOptions, plan: ImagePlan & { operation: 'clone' }): Promise<Image> {
  const name = plan.image.name;
  const override = await checkCapacity(life, plan.datastore, { name, sizeMb: plan.original.sizeMb, ...(plan.force ? { force: true } : {}) });
  // The original stays as it is while it is copied: no rm, revert or flatten meanwhile.
  const unlockOriginal = life.catalog.lock(`image:${plan.original.id}`, 'clone');
  try {
    // Read again under the lock: another ferry may have changed it before we got it.
    const record = (tx: CatalogTx): Image => {
      const { original, ds } = checkClone(tx, plan.original.id, name);
      const image = tx.addImage({
        name,
        datastoreId: ds.id,
        path: original.source,
        ...(original.sizeMb !== null ? { sizeMb: original.sizeMb } : {}),
        ...(original.format !== null ? { format: original.format } : {}),
        type: original.type,
        persistent: plan.persistent ?? original.persistent,
        clonedFrom: original.id,
      });
      journalOverride(tx, image, 'clone', override);
      return image;
    };
    return await imageAction(life, record, 'clone', async (image) => {
      const original = life.catalog.image(plan.original.id);
      const result = await datastoreAction(life, plan.datastore, stepFor(plan, image), { image });
      return { source: result.result as string, state: 'READY', snapshots: original.snapshots };
    });
  } finally {
    unlockOriginal();
  }
}

/** Removes an image (rm in its datastore, then the record); refused while a VM uses it. */
async function deleteImage(life: LifecycleOptions, plan: ImagePlan & { operation: 'delete' }): Promise<Image> {
  const { datastore: ds } = plan;
  const id = plan.image.id;
  // What an interrupted operation of a LOCKED or ERROR image wrote goes with it (refused while its writer runs).
  const leftovers = liveLeftoversRefused(ds, life.catalog.image(id));
  // Checked, locked, planned again from the record and marked in one transaction: no VM can take the image between
  // the check and the rm.
  const { image, rm, unlock } = life.catalog.transaction((tx) => {
    const current = tx.image(id);
    checkImageFree(tx, current, 'delete');
    const unlock = tx.lock(`image:${id}`, 'rm');
    const [rm] = imageDeletePlan(current, ds).steps;
    if (rm) tx.updateImage(id, { state: 'DELETING' });
    return { image: current, rm, unlock };
  });
  try {
    if (rm) {
      try {
        await datastoreAction(life, ds, rm, { image });
      } catch (error) {
        const failure = toFerryError(error);
        life.catalog.updateImage(id, { state: 'ERROR', error: `rm: ${failure.message}` });
        throw failure;
      }
    }
    removeLeftovers(leftovers);
    life.catalog.deleteImageRecord(id);
    return image;
  } finally {
    unlock();
  }
}

/** The leftovers of `image`'s unfinished operations in its datastore folder; E_BUSY while one's writer still runs. */
export function liveLeftoversRefused(ds: Datastore, image: Image): Leftover[] {
  const leftovers = imageLeftovers(ds, image);
  const live = leftovers.find((each) => each.temp?.writerAlive);
  if (live) {
    throw new FerryError('E_BUSY', `image ${image.name}: process ${live.temp?.pid} is still writing ${live.path}`, { hint: 'wait for it to end (or end it), then run the command again' });
  }
  return leftovers;
}

/**
 * revert (contents become the snapshot's, snapshots kept), delete (one
 * snapshot gone) or flatten (contents become the snapshot's, no snapshots
 * left) on a READY image, with TARGET_SNAPSHOT in the dump. The bundled
 * drivers leave an image as it was when these fail, so a failure records
 * the message and keeps the image READY.
 */
async function imageSnapshot(life: LifecycleOptions, plan: ImagePlan & { snapshot: number }): Promise<Image> {
  const { snapshot, operation } = plan;
  return imageAction(
    life,
    life.catalog.image(plan.image.id),
    operation,
    async (current) => {
      // Checked again under the lock: another ferry may have changed the snapshots meanwhile.
      life.catalog.transaction((tx) => checkImageSnapshot(tx, current.id, snapshot));
      await datastoreAction(life, plan.datastore, stepFor(plan, current), { image: current, extra: { TARGET_SNAPSHOT: snapshot }, operation });
      if (operation === 'snapshot-revert') return {};
      return { snapshots: operation === 'snapshot-flatten' ? [] : current.snapshots.filter((id) => id !== snapshot) };
    },
    true,
  );
}

/**
 * Runs `work` on an image under its lock: its patch is applied on success;
 * on failure the image goes to ERROR with the action's message (`keepState`:
 * stays as it was, with the message, for actions that leave an image
 * unchanged when they fail). `image` may be a function that records a new
 * one: it runs in the same transaction as taking the lock, and the end
 * state and the unlock share one too.
 */
export async function imageAction(life: LifecycleOptions, image: Image | ((tx: CatalogTx) => Image), what: string, work: (image: Image) => Promise<ImagePatch>, keepState = false): Promise<Image> {
  const { current, unlock } = life.catalog.transaction((tx) => {
    const target = typeof image === 'function' ? image(tx) : image;
    const unlock = tx.lock(`image:${target.id}`, what);
    // Names the operation until it ends: a killed ferry leaves it for `image recover` (the end state replaces it).
    if (!keepState) tx.updateImage(target.id, { error: `${what}: not finished: ferry process ${process.pid} on ${hostname()} runs it; if that process is gone, see ferry image recover ${target.id}` });
    return { current: tx.image(target.id), unlock };
  });
  const release = once(unlock);
  try {
    const patch = await work(current);
    return life.catalog.transaction((tx) => {
      const done = tx.updateImage(current.id, { error: null, ...patch });
      release();
      return done;
    });
  } catch (error) {
    const failure = toFerryError(error);
    life.catalog.transaction((tx) => {
      tx.updateImage(current.id, keepState ? { error: `${what}: ${failure.message}` } : { state: 'ERROR', error: `${what}: ${failure.message}` });
      release();
    });
    throw failure;
  } finally {
    // Always, even when a release inside a transaction was rolled back with it: the DELETE is idempotent.
    unlock();
  }
}

/** The size in MB of a registered image (stat of its SOURCE), stored in the catalog. */
export async function statImage(life: LifecycleOptions, ref: string | number): Promise<Image> {
  const { image, ds } = life.catalog.transaction((tx) => {
    const image = tx.image(ref);
    if (!image.source) throw new FerryError('E_CONFLICT', `image ${image.name} has no SOURCE (${image.state})`, { hint: 'stat a file instead: ferry image stat --datastore DS --path FILE' });
    return { image, ds: usableDatastore(tx, image.datastoreId) };
  });
  return life.catalog.updateImage(image.id, { sizeMb: await statSource(life, ds, image) });
}

/** The size in MB an image made from `path` would have (stat of a file or URL), as cp would see it. */
export async function statPath(life: LifecycleOptions, dsRef: string | number, path: string): Promise<number> {
  const ds = usableDatastore(life.catalog, dsRef);
  const result = await datastoreAction(life, ds, imageStep(ds, 'stat', -1, 'stat'), { dumpImage: { id: -1, name: path.split('/').pop() ?? 'image', path, persistent: false } });
  return result.result as number;
}

/** How a stat runs: the operation journaled, and (the service's size refreshes) failures-only journal, timeout, signal. */
export type StatOptions = Pick<DatastoreActionOptions, 'operation' | 'journal' | 'timeoutSec' | 'signal'>;

/** Stat of an image's SOURCE (its PATH left out of the dump: stat measures PATH when it has one). */
export function statSource(life: LifecycleOptions, ds: Datastore, image: Image, options: StatOptions = {}): Promise<number> {
  return statOf(life, ds, image, 'source', options);
}

/**
 * Stat of one of an image's files: its SOURCE, or the PATH it was copied
 * from (as oned runs it before a cp); the other is left out of the dump.
 */
async function statOf(life: LifecycleOptions, ds: Datastore, image: Image, measured: 'source' | 'path', options: StatOptions): Promise<number> {
  const dumpImage = measured === 'source' ? { ...image, path: null } : { ...image, source: null };
  const why = measured === 'source' ? `stat image ${image.name}` : `stat ${image.path ?? ''}`;
  const result = await datastoreAction(life, ds, imageStep(ds, 'stat', image.id, why), { image, dumpImage, ...options });
  return result.result as number;
}
