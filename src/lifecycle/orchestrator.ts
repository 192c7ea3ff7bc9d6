/**
 * Turns an operator's intent into driver actions and runs them against the
 * catalog: images (cp, mkfs, rm), datastore monitoring, and VM operations
 * whose plans come from plan.ts. Every action is journaled; a VM operation
 * records its plan and the next step before it runs, so a failure (or a
 * killed ferry) leaves the VM FAILED at a known step, and recover() can
 * retry from there, mark it done, or roll it back.
 */
import { existsSync } from 'node:fs';
import type { CatalogStore, CatalogTx } from '../catalog/store.js';
import type { Datastore, Image, ImagePatch, NewVm, PlanStep, Vm, VmDisk } from '../model.js';
import type { MonitorResult } from '../contract/parsers.js';
import type { DsAction } from '../contract/table.js';
import { buildDump, type ActionDump } from '../dump/dump.js';
import { envName } from '../dump/env.js';
import type { ActionResult, Runner } from '../driver/runner.js';
import type { LogRecord } from '../driver/stderr.js';
import { FerryError, toFerryError } from '../errors.js';
import { planFor, TRANSITIONS, transferLine, vmFolder, diskHost, type OperationArgs, type PlanContext, type VmOperation } from './plan.js';

/** Reported before and after each driver action, for the CLI's progress lines. */
export interface StepEvent {
  subject: string;
  operation: string;
  index: number;
  total: number;
  step: PlanStep;
  outcome?: { ok: boolean; durationMs: number; message?: string };
}

export interface OrchestratorOptions {
  /** The catalog, through the store interface (the SQLite Catalog, or another store). */
  catalog: CatalogStore;
  runner: Runner;
  /** The frontend's name in host:path arguments. */
  frontend: string;
  onStep?: (event: StepEvent) => void;
  signal?: AbortSignal;
}

/** An image as the operator asks for it. */
export interface NewImageInput {
  datastore: Datastore;
  name: string;
  path?: string;
  sizeMb?: number;
  fs?: string;
  format?: string;
  persistent?: boolean;
  type?: string;
}

/** A VM as the operator asks for it (vm.yaml or flags). */
export interface NewVmInput {
  name: string;
  host: string;
  systemDs: string | number;
  disks: Array<
    | { kind: 'image'; image: string | number }
    | { kind: 'volatile'; sizeMb: number; format?: string }
    | { kind: 'swap'; sizeMb: number }
    | { kind: 'context'; files: string[] }
  >;
}

/** `fn`, run at most once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** A URL (scheme://…) rather than a local path. */
export function isUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** A VM with no operation under way. */
const IDLE = { operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null } as const;

/** DATASTORE/TYPE as OpenNebula numbers it. */
export const DS_TYPE_NUMBER = { IMAGE: 0, SYSTEM: 1, FILE: 2 } as const;

/** `read`, calling through once per id and answering from memory after. */
function readOnce<T>(read: (id: number) => T): (id: number) => T {
  const known = new Map<number, T>();
  return (id) => {
    if (!known.has(id)) known.set(id, read(id));
    return known.get(id) as T;
  };
}

/** Secret attributes as FERRY_DS_SECRET_<NAME> variables: the only way they reach a driver. */
export function secretEnv(ds: Datastore): Record<string, string> {
  return Object.fromEntries(Object.entries(ds.secrets).map(([name, value]) => [`FERRY_DS_SECRET_${envName(name)}`, value]));
}

/** The action dump of a datastore action; secrets are left out (see secretEnv). */
export function datastoreDump(ds: Datastore, image?: Partial<Image> & { id: number }, extra: Record<string, string | number> = {}): ActionDump {
  return buildDump({
    ...(image
      ? {
          IMAGE: {
            ID: image.id,
            ...(image.name ? { NAME: image.name } : {}),
            ...(image.path ? { PATH: image.path } : {}),
            ...(image.source ? { SOURCE: image.source } : {}),
            ...(image.sizeMb !== undefined && image.sizeMb !== null ? { SIZE: image.sizeMb } : {}),
            ...(image.format ? { FORMAT: image.format } : {}),
            ...(image.fs ? { FSTYPE: image.fs } : {}),
            ...(image.clonedFrom !== undefined && image.clonedFrom !== null ? { CLONING_ID: image.clonedFrom } : {}),
            PERSISTENT: image.persistent ? 1 : 0,
            TYPE: image.type ?? 'OS',
            DATASTORE_ID: ds.id,
          },
        }
      : {}),
    DATASTORE: {
      ID: ds.id,
      NAME: ds.name,
      // A system datastore has no datastore driver: OpenNebula writes "-" (its monitor is the TM's).
      DS_MAD: ds.dsMad ?? '-',
      TM_MAD: ds.tmMad,
      TYPE: DS_TYPE_NUMBER[ds.type],
      BASE_PATH: ds.basePath,
      TEMPLATE: { ...ds.template, BASE_PATH: ds.basePath, TM_MAD: ds.tmMad, ...(ds.dsMad ? { DS_MAD: ds.dsMad } : {}) },
    },
    ...extra,
  });
}

export class Orchestrator {
  constructor(private readonly options: OrchestratorOptions) {}

  private get catalog(): CatalogStore {
    return this.options.catalog;
  }

  /**
   * Runs one driver action and journals it under `subject`, success or
   * failure. `after` records what the outcome changes (the next step, a
   * FAILED state) in the same transaction as the journal entry, so the two
   * never disagree and each step costs one commit.
   */
  private async act(
    subject: string,
    operation: string,
    stepIndex: number | null,
    planStep: PlanStep,
    run: () => Promise<ActionResult>,
    after: { ok?: (tx: CatalogTx) => void; failed?: (tx: CatalogTx, failure: FerryError) => void } = {},
  ): Promise<ActionResult> {
    const started = performance.now();
    const entry = { subject, operation, step: stepIndex, kind: planStep.kind, action: planStep.action, args: planStep.args };
    const logsOf = (logs: readonly LogRecord[] | undefined) => (logs ?? []).map((record) => ({ level: record.level, message: record.message }));
    let result: ActionResult;
    try {
      result = await run();
    } catch (error) {
      const failure = toFerryError(error);
      this.catalog.transaction((tx) => {
        tx.record({
          ...entry,
          driver: failure.driver ?? planStep.driver,
          ok: false,
          exitCode: failure.exitCode ?? null,
          durationMs: failure.durationMs ?? Math.round(performance.now() - started),
          message: failure.message,
          logs: logsOf(failure.logs),
        });
        after.failed?.(tx, failure);
      });
      throw failure;
    }
    this.catalog.transaction((tx) => {
      tx.record({ ...entry, driver: result.driver, ok: true, exitCode: 0, durationMs: result.durationMs, message: null, logs: logsOf(result.logs) });
      after.ok?.(tx);
    });
    return result;
  }

  /**
   * Runs a datastore action on `ds` (for `image` when given; `dumpImage`
   * overrides what its dump says of it), journaled under the image or the
   * datastore. `extra` adds root elements to the dump (TARGET_SNAPSHOT).
   */
  private datastoreAction(
    ds: Datastore,
    action: DsAction,
    image?: Image,
    options: { dumpImage?: Partial<Image> & { id: number }; extra?: Record<string, string | number>; operation?: string } = {},
  ): Promise<ActionResult> {
    const id = image?.id ?? options.dumpImage?.id ?? ds.id;
    const driver = action === 'monitor' && ds.type === 'SYSTEM' ? ds.tmMad : (ds.dsMad ?? '');
    const planStep: PlanStep = { kind: 'datastore', action, driver, args: [String(id)], why: image ? `${action} image ${image.name}` : action };
    const dump = datastoreDump(ds, options.dumpImage ?? image, options.extra);
    return this.act(image ? `image:${image.id}` : `datastore:${ds.id}`, options.operation ?? action, null, planStep, () =>
      this.options.runner.run({ kind: 'datastore', action, dump, id, env: secretEnv(ds), ...this.signal() }),
    );
  }

  // --- datastores

  /** Runs the datastore's monitor (a system datastore's TM monitor) and stores the figures. */
  async monitor(ds: Datastore): Promise<MonitorResult> {
    const result = await this.datastoreAction(ds, 'monitor');
    const figures = result.result as MonitorResult;
    if (figures.usedMb + figures.freeMb > figures.totalMb * 1.01 + 1) {
      throw new FerryError('E_MALFORMED_OUTPUT', `datastore ${ds.name} monitor says used ${figures.usedMb} + free ${figures.freeMb} MB > total ${figures.totalMb} MB`, {
        hint: `fix the ${result.driver} driver's monitor, or the datastore's BASE_PATH`,
      });
    }
    this.catalog.setMonitor(ds.id, figures);
    return figures;
  }

  // --- images

  /** The plan line of an image action, for --dry-run. */
  imagePlan(action: DsAction, ds: Datastore, what: string): string {
    return `# ferry ds ${action} (datastore ${ds.id} ${ds.name}, driver ${ds.dsMad ?? '?'}): ${what}`;
  }

  /** Checks a new image against its datastore before anything runs (also for --dry-run); returns the action it needs. */
  checkNewImage(input: NewImageInput): 'cp' | 'mkfs' {
    const ds = input.datastore;
    if (ds.type === 'SYSTEM') {
      throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a SYSTEM datastore; images go in an IMAGE (or FILE) datastore`, { hint: 'pick an IMAGE datastore: ferry datastore list' });
    }
    this.usableDatastore(ds.id);
    if (input.path !== undefined && !isUrl(input.path) && !existsSync(input.path)) {
      throw new FerryError('E_USAGE', `image file ${input.path} does not exist`, { hint: 'pass an existing file or an http(s) URL to --path' });
    }
    if (input.path === undefined && input.sizeMb === undefined) throw new FerryError('E_USAGE', 'an image needs --path FILE|URL or --size MB', { hint: 'ferry image create --help' });
    return input.path !== undefined ? 'cp' : 'mkfs';
  }

  /** Registers an image: cp from a path or URL, or mkfs of a new empty one. READY on success, ERROR with the reason on failure. */
  async createImage(input: NewImageInput): Promise<Image> {
    const action = this.checkNewImage(input);
    const ds = input.datastore;
    const record = (): Image =>
      this.catalog.addImage({
        name: input.name,
        datastoreId: ds.id,
        ...(input.path !== undefined ? { path: input.path } : {}),
        ...(input.sizeMb !== undefined ? { sizeMb: input.sizeMb } : {}),
        ...(input.fs !== undefined ? { fs: input.fs } : {}),
        ...(input.format !== undefined ? { format: input.format } : {}),
        ...(input.persistent !== undefined ? { persistent: input.persistent } : {}),
        ...(input.type !== undefined ? { type: input.type } : {}),
      });
    return this.imageAction(record, action, async (image) => {
      const result = await this.datastoreAction(ds, action, image);
      const made = result.result as { source: string; sizeMb?: number; format?: string };
      return { source: made.source, sizeMb: made.sizeMb ?? image.sizeMb, format: made.format ?? image.format, state: 'READY' };
    });
  }

  /** The VMs (not DONE) with a disk of `image`, refused with the way out. */
  checkImageFree(image: Image, what: string): void {
    const users = this.catalog.vmsUsingImage(image.id);
    if (users.length > 0) throw new FerryError('E_CONFLICT', `image ${image.name} is used by VM(s) ${users.join(', ')}; cannot ${what} it`, { hint: 'shut those VMs down (or recover and shut down a FAILED or PENDING one) first' });
  }

  /** Removes an image (rm in its datastore, then the record); refused while a VM uses it. */
  async deleteImage(image: Image): Promise<void> {
    const ds = this.catalog.datastore(image.datastoreId);
    // Checked, locked and marked in one transaction: no VM can take the image between the check and the rm.
    const unlock = this.catalog.transaction(() => {
      const current = this.catalog.image(image.id);
      this.checkImageFree(current, 'delete');
      const unlock = this.catalog.lock(`image:${image.id}`, 'rm');
      if (current.source && ds.dsMad) this.catalog.updateImage(image.id, { state: 'DELETING' });
      return unlock;
    });
    try {
      if (image.source && ds.dsMad) {
        try {
          await this.datastoreAction(ds, 'rm', image);
        } catch (error) {
          const failure = toFerryError(error);
          this.catalog.updateImage(image.id, { state: 'ERROR', error: `rm: ${failure.message}` });
          throw failure;
        }
      }
      this.catalog.deleteImageRecord(image.id);
    } finally {
      unlock();
    }
  }

  /** Checks an image clone before anything runs (also for --dry-run): the original and its datastore. */
  checkClone(ref: string | number, name: string): { original: Image & { source: string }; ds: Datastore } {
    const original = this.catalog.image(ref);
    if ((original.state !== 'READY' && original.state !== 'USED') || !original.source) {
      throw new FerryError('E_CONFLICT', `image ${original.name} is ${original.state}${original.error ? ` (${original.error})` : ''}; only a READY image can be cloned`, { hint: 'ferry image list' });
    }
    if (original.persistent && original.state === 'USED') {
      throw new FerryError('E_CONFLICT', `persistent image ${original.name} is in use by VM(s) ${this.catalog.vmsUsingImage(original.id).join(', ')}: its contents change under a copy`, {
        hint: 'shut the VM down first, or save its disk: ferry vm disk-saveas VM DISK --name NEW',
      });
    }
    const ds = this.usableDatastore(original.datastoreId);
    this.catalog.checkNewImageName(name);
    return { original: original as Image & { source: string }, ds };
  }

  /**
   * Clones an image within its datastore (the driver's clone). The dump
   * describes the new image with PATH set to the original's SOURCE and
   * CLONING_ID to its id, as oned sends it. The clone gets the original's
   * size, format and snapshot ids (the fs driver copies internal snapshots
   * with the file).
   */
  async cloneImage(ref: string | number, input: { name: string; persistent?: boolean }): Promise<Image> {
    const found = this.checkClone(ref, input.name);
    // The original stays as it is while it is copied: no rm, revert or flatten meanwhile.
    const unlockOriginal = this.catalog.lock(`image:${found.original.id}`, 'clone');
    try {
      // Read again under the lock: another ferry may have changed it before we got it.
      const { original, ds } = this.checkClone(found.original.id, input.name);
      const record = (): Image =>
        this.catalog.addImage({
          name: input.name,
          datastoreId: ds.id,
          path: original.source,
          ...(original.sizeMb !== null ? { sizeMb: original.sizeMb } : {}),
          ...(original.format !== null ? { format: original.format } : {}),
          type: original.type,
          persistent: input.persistent ?? original.persistent,
          clonedFrom: original.id,
        });
      return await this.imageAction(record, 'clone', async (image) => {
        const result = await this.datastoreAction(ds, 'clone', image);
        return { source: result.result as string, state: 'READY', snapshots: original.snapshots };
      });
    } finally {
      unlockOriginal();
    }
  }

  /**
   * Runs `work` on an image under its lock: its patch is applied on success;
   * on failure the image goes to ERROR with the action's message (`keepState`:
   * stays as it was, with the message, for actions that leave an image
   * unchanged when they fail). `image` may be a function that records a new
   * one: it runs in the same transaction as taking the lock, and the end
   * state and the unlock share one too.
   */
  private async imageAction(image: Image | (() => Image), what: string, work: (image: Image) => Promise<ImagePatch>, keepState = false): Promise<Image> {
    const { current, unlock } = this.catalog.transaction(() => {
      const target = typeof image === 'function' ? image() : image;
      const unlock = this.catalog.lock(`image:${target.id}`, what);
      return { current: this.catalog.image(target.id), unlock };
    });
    const release = once(unlock);
    try {
      const patch = await work(current);
      return this.catalog.transaction(() => {
        const done = this.catalog.updateImage(current.id, { error: null, ...patch });
        release();
        return done;
      });
    } catch (error) {
      const failure = toFerryError(error);
      this.catalog.transaction(() => {
        this.catalog.updateImage(current.id, keepState ? { error: `${what}: ${failure.message}` } : { state: 'ERROR', error: `${what}: ${failure.message}` });
        release();
      });
      throw failure;
    } finally {
      // Always, even when a release inside a transaction was rolled back with it: the DELETE is idempotent.
      unlock();
    }
  }

  /** The size in MB of a registered image (stat of its SOURCE), stored in the catalog. */
  async statImage(ref: string | number): Promise<Image> {
    const image = this.catalog.image(ref);
    if (!image.source) throw new FerryError('E_CONFLICT', `image ${image.name} has no SOURCE (${image.state})`, { hint: 'stat a file instead: ferry image stat --datastore DS --path FILE' });
    const ds = this.usableDatastore(image.datastoreId);
    return this.catalog.updateImage(image.id, { sizeMb: await this.statSource(ds, image) });
  }

  /** The size in MB an image made from `path` would have (stat of a file or URL), as cp would see it. */
  async statPath(dsRef: string | number, path: string): Promise<number> {
    const ds = this.usableDatastore(dsRef);
    const result = await this.datastoreAction(ds, 'stat', undefined, { dumpImage: { id: -1, name: path.split('/').pop() ?? 'image', path, persistent: false } });
    return result.result as number;
  }

  /** A datastore that has a datastore driver. */
  private usableDatastore(ref: string | number): Datastore {
    const ds = this.catalog.datastore(ref);
    if (!ds.dsMad) {
      throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a ${ds.type} datastore with no datastore driver (ds_mad)`, { hint: 'use an IMAGE datastore (ferry datastore list), or give it one: ferry datastore update --ds-mad NAME' });
    }
    return ds;
  }

  /** Stat of an image's SOURCE (its PATH left out of the dump: stat measures PATH when it has one). */
  private async statSource(ds: Datastore, image: Image, operation?: string): Promise<number> {
    const result = await this.datastoreAction(ds, 'stat', image, { dumpImage: { ...image, path: null }, ...(operation ? { operation } : {}) });
    return result.result as number;
  }

  /** Runs a plan step's TM action. */
  private runStep(planStep: PlanStep): Promise<ActionResult> {
    return this.options.runner.run({ kind: 'tm', action: planStep.action, driver: planStep.driver, args: planStep.args, ...this.signal() });
  }

  /** Disk `diskId` of a VM, refused when it has none or (for `what`: snapshots, saving) it is a swap or context disk. */
  private diskOf(vm: Vm, diskId: number | undefined, what: string): VmDisk {
    const disk = vm.disks.find((candidate) => candidate.diskId === diskId);
    if (!disk) {
      throw new FerryError('E_NOT_FOUND', `VM ${vm.id} has no disk ${diskId ?? '(none given)'} (it has: ${vm.disks.map((candidate) => candidate.diskId).join(', ')})`, { hint: `ferry vm show ${vm.id}` });
    }
    if (disk.kind === 'swap' || disk.kind === 'context') throw new FerryError('E_CONFLICT', `disk ${disk.diskId} of VM ${vm.id} is a ${disk.kind} disk; ${what}`, { hint: `ferry vm show ${vm.id}` });
    return disk;
  }

  /** Refuses a snapshot id the disk does not have. */
  private checkDiskSnapshot(vm: Vm, disk: VmDisk, snapshot: number | undefined): asserts snapshot is number {
    if (snapshot === undefined || !disk.snapshots.includes(snapshot)) {
      throw new FerryError('E_NOT_FOUND', `disk ${disk.diskId} of VM ${vm.id} has no snapshot ${snapshot ?? '(none given)'} (it has: ${disk.snapshots.join(', ') || 'none'})`, { hint: `ferry vm show ${vm.id}` });
    }
  }

  /** Checks an image snapshot operation before anything runs (also for --dry-run). */
  checkImageSnapshot(ref: string | number, snapshot: number): { image: Image; ds: Datastore } {
    const image = this.catalog.image(ref);
    const users = this.catalog.vmsUsingImage(image.id);
    // READY and still held: a FAILED or PENDING VM would link or clone it on --retry or deploy.
    if (image.state === 'READY' && users.length > 0) this.checkImageFree(image, 'change the snapshots of');
    if (image.state !== 'READY') {
      throw new FerryError('E_CONFLICT', `image ${image.name} is ${image.state}${users.length ? ` (VM ${users.join(', ')})` : ''}; its snapshots change only while it is READY`, {
        hint: users.length ? `use ferry vm disk-snapshot on the VM, or shut it down first` : 'ferry image show',
      });
    }
    if (!image.snapshots.includes(snapshot)) {
      throw new FerryError('E_NOT_FOUND', `image ${image.name} has no snapshot ${snapshot} (it has: ${image.snapshots.join(', ') || 'none'})`, { hint: `ferry image show ${image.id}` });
    }
    return { image, ds: this.usableDatastore(image.datastoreId) };
  }

  /**
   * revert (contents become the snapshot's, snapshots kept), delete (one
   * snapshot gone) or flatten (contents become the snapshot's, no snapshots
   * left) on a READY image, with TARGET_SNAPSHOT in the dump. The bundled
   * drivers leave an image as it was when these fail, so a failure records
   * the message and keeps the image READY.
   */
  async imageSnapshot(ref: string | number, operation: 'revert' | 'delete' | 'flatten', snapshot: number): Promise<Image> {
    const { image, ds } = this.checkImageSnapshot(ref, snapshot);
    return this.imageAction(
      image,
      `snapshot-${operation}`,
      async (current) => {
        // Checked again under the lock: another ferry may have changed the snapshots meanwhile.
        this.checkImageSnapshot(current.id, snapshot);
        await this.datastoreAction(ds, `snap_${operation}`, current, { extra: { TARGET_SNAPSHOT: snapshot }, operation: `snapshot-${operation}` });
        if (operation === 'revert') return {};
        return { snapshots: operation === 'flatten' ? [] : current.snapshots.filter((id) => id !== snapshot) };
      },
      true,
    );
  }

  // --- VMs

  planContext(vm: Vm): PlanContext {
    // One plan asks for the same image and datastore once per disk and step: read each once.
    const datastore = readOnce((id) => this.catalog.datastore(id));
    return {
      vm,
      systemDs: datastore(vm.systemDsId),
      frontend: this.options.frontend,
      image: readOnce((id) => this.catalog.image(id)),
      datastore,
    };
  }

  /** The plan an operation would run, checked against the VM's state; nothing runs. */
  plan(vm: Vm, operation: VmOperation, args: OperationArgs = {}): PlanStep[] {
    const target = args.target;
    if (vm.operation && vm.state !== 'FAILED') {
      throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) has an interrupted ${vm.operation} at step ${(vm.step ?? 0) + 1} of ${vm.plan?.length ?? '?'} (ferry stopped while it ran)`, {
        hint: `ferry vm recover ${vm.id} --retry (finish it), --success or --failure`,
      });
    }
    const allowed = TRANSITIONS[operation].from;
    if (!allowed.includes(vm.state)) {
      const hint =
        vm.state === 'FAILED'
          ? `its ${vm.operation ?? 'last'} failed: ferry vm recover ${vm.id} --retry|--success|--failure`
          : `${operation} needs a VM in ${allowed.join(' or ')}`;
      throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state}; cannot ${operation} it`, { hint });
    }
    if (operation === 'migrate') {
      if (!target) throw new FerryError('E_USAGE', 'migrate needs a destination host', { hint: `ferry vm migrate ${vm.id} HOST` });
      this.catalog.host(target);
      if (target === vm.host) throw new FerryError('E_CONFLICT', `VM ${vm.id} is already on ${target}`, { hint: 'pick another host: ferry host list' });
    }
    if (operation.startsWith('disk-snapshot-')) return planFor(operation, this.planContext(vm), this.snapshotArgs(vm, operation, args));
    return planFor(operation, this.planContext(vm), args);
  }

  /**
   * Checks a disk snapshot operation's disk and snapshot id: a new snapshot
   * gets the next free id (past the image's own for a cloned disk, whose file
   * may carry them); revert and delete need one the disk has.
   */
  private snapshotArgs(vm: Vm, operation: VmOperation, args: OperationArgs): OperationArgs {
    const disk = this.diskOf(vm, args.disk, 'snapshots are for image and volatile disks');
    if (operation === 'disk-snapshot-create') {
      const inherited = disk.mode === 'clone' && disk.imageId !== null ? this.catalog.image(disk.imageId).snapshots : [];
      if (args.snapshot !== undefined && [...disk.snapshots, ...inherited].includes(args.snapshot)) {
        throw new FerryError('E_CONFLICT', `disk ${disk.diskId} of VM ${vm.id} already has a snapshot ${args.snapshot}`, { hint: 'leave out the id: ferry picks the next free one' });
      }
      return { disk: disk.diskId, snapshot: args.snapshot ?? Math.max(-1, ...disk.snapshots, ...inherited) + 1 };
    }
    this.checkDiskSnapshot(vm, disk, args.snapshot);
    return { disk: disk.diskId, snapshot: args.snapshot };
  }

  /**
   * Checks a new VM against the catalog before anything runs: the host and
   * system datastore exist, every image is usable, and a persistent image is
   * not already another VM's. Returns the disks as the catalog stores them.
   */
  checkVm(input: NewVmInput): NewVm {
    const systemDs = this.catalog.datastore(input.systemDs);
    if (systemDs.type !== 'SYSTEM') {
      throw new FerryError('E_CONFLICT', `datastore ${systemDs.name} is an ${systemDs.type} datastore, not a SYSTEM one`, {
        hint: `pick a SYSTEM datastore for --system-ds (${this.catalog.listDatastores().filter((ds) => ds.type === 'SYSTEM').map((ds) => ds.name).join(', ') || 'create one with --type SYSTEM'})`,
      });
    }
    this.catalog.host(input.host);
    if (input.host === this.options.frontend) {
      throw new FerryError('E_CONFLICT', `${input.host} is the frontend, where stopped VMs are kept; deploy on a host`, { hint: 'ferry host list' });
    }
    const disks: NewVm['disks'] = [];
    const claimed = new Set<number>();
    input.disks.forEach((disk, diskId) => {
      if (disk.kind === 'image') {
        const image = this.catalog.image(disk.image);
        const ds = this.catalog.datastore(image.datastoreId);
        if (ds.type !== 'IMAGE') throw new FerryError('E_CONFLICT', `image ${image.name} is in ${ds.type} datastore ${ds.name}; VM disks come from IMAGE datastores`, { hint: 'register the image in an IMAGE datastore' });
        if (image.state !== 'READY' && image.state !== 'USED') {
          throw new FerryError('E_CONFLICT', `image ${image.name} is ${image.state}${image.error ? ` (${image.error})` : ''}`, { hint: 'use a READY image: ferry image list' });
        }
        // Another ferry is changing the image (a snapshot revert or flatten, a clone): not while a VM takes it.
        const busy = this.catalog.busy(`image:${image.id}`);
        if (busy) throw busy;
        if (image.persistent) {
          const users = this.catalog.vmsUsingImage(image.id);
          if (users.length > 0 || claimed.has(image.id)) {
            throw new FerryError('E_CONFLICT', `persistent image ${image.name} is already in use by VM ${users[0] ?? 'being created'}`, { hint: 'a persistent image serves one VM at a time: shut that VM down, or clone the image' });
          }
          claimed.add(image.id);
        }
        // A linked disk is the image's own file, snapshots included.
        disks.push({ diskId, kind: 'image', imageId: image.id, mode: image.persistent ? 'ln' : 'clone', sizeMb: null, format: null, files: null, snapshots: image.persistent ? image.snapshots : [] });
      } else if (disk.kind === 'context') {
        disks.push({ diskId, kind: 'context', imageId: null, mode: null, sizeMb: null, format: null, files: disk.files });
      } else {
        disks.push({ diskId, kind: disk.kind, imageId: null, mode: null, sizeMb: disk.sizeMb, format: disk.kind === 'volatile' ? (disk.format ?? 'raw') : null, files: null });
      }
    });
    return { name: input.name, host: input.host, systemDsId: systemDs.id, disks };
  }

  /** The plan of a new VM as it would run (its id is the next free one). */
  planNewVm(input: NewVmInput): PlanStep[] {
    // Recorded and planned in a transaction that is rolled back: refused exactly as a real create would be (a name taken
    // included), with the id it would get.
    return this.catalog.preview(() => {
      const checked = this.checkVm(input);
      const vm = this.catalog.addVm(checked, this.catalog.datastore(checked.systemDsId).basePath);
      return this.plan(vm, 'create');
    });
  }

  /** Records a new VM (PENDING) and deploys it. */
  async createVm(input: NewVmInput): Promise<Vm> {
    // Recorded in the same transaction that plans and starts its create: a refused VM leaves no record.
    return this.operate(() => {
      const checked = this.checkVm(input);
      return this.catalog.addVm(checked, this.catalog.datastore(checked.systemDsId).basePath);
    }, 'create');
  }

  /** Runs an operation on a VM: plan, record, run each step, reach the next state. */
  async operate(ref: string | number | (() => Vm), operation: VmOperation, args: OperationArgs = {}): Promise<Vm> {
    // Read, lock, plan and record the start in one (immediate) transaction: no other ferry writes in between, a
    // refusal leaves no lock behind, and it is one commit. `ref` may record the VM first (createVm).
    const { id, unlock, steps } = this.catalog.transaction(() => {
      const current = typeof ref === 'function' ? ref() : this.catalog.vm(ref);
      const unlock = this.catalog.lock(`vm:${current.id}`, operation);
      const steps = this.plan(current, operation, args);
      this.catalog.updateVm(current.id, { operation, plan: steps, step: 0, previousState: current.state, targetHost: args.target ?? null, error: null }, current);
      return { id: current.id, unlock, steps };
    });
    try {
      return await this.runFrom(id, 0, steps, operation, once(unlock));
    } finally {
      // Always, even when a release inside a transaction was rolled back with it: the DELETE is idempotent.
      unlock();
    }
  }

  /**
   * Runs the recorded plan from step `from`; on failure the VM is FAILED at
   * that step. `release` (the VM's lock) is let go in the same transaction
   * as the end state.
   */
  private async runFrom(id: number, from: number, steps: readonly PlanStep[], operation: string, release: () => void): Promise<Vm> {
    let done: Vm | undefined;
    let unfinished: unknown;
    for (let index = from; index < steps.length; index++) {
      const planStep = steps[index] as PlanStep;
      this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep });
      const started = performance.now();
      try {
        await this.act(
          `vm:${id}`,
          operation,
          index,
          planStep,
          () => this.runStep(planStep),
          {
            ok: (tx) => {
              tx.setVmStep(id, index + 1);
              // The last step's journal entry, the end state and the unlock: one commit. The end state goes in a
              // savepoint of its own: should it fail, the step stays journaled as done and the error is reported.
              if (index === steps.length - 1) {
                try {
                  done = this.finish(id, release);
                } catch (error) {
                  unfinished = error;
                }
              }
            },
            failed: (tx, failure) => {
              tx.updateVm(id, { state: 'FAILED', step: index, error: `${operation} step ${index + 1}/${steps.length} (${transferLine(planStep)}): ${failure.message}` });
              release();
            },
          },
        );
      } catch (error) {
        const failure = toFerryError(error);
        this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep, outcome: { ok: false, durationMs: performance.now() - started, message: failure.message } });
        throw failure;
      }
      this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep, outcome: { ok: true, durationMs: performance.now() - started } });
    }
    if (unfinished !== undefined) throw toFerryError(unfinished);
    return done ?? this.finish(id, release);
  }

  /** Applies an operation's end state once all its steps are done (and lets go of the VM's lock with it). */
  private finish(id: number, release: () => void = () => undefined): Vm {
    return this.catalog.transaction(() => {
      const vm = this.catalog.vm(id);
      const done = this.endState(vm, vm.operation ?? '');
      // Last: nothing after it can fail and roll the unlock back while `release` counts it as done.
      release();
      return done;
    });
  }

  /** The records an operation's end changes: the VM's state and host, its images' states, snapshot ids. */
  private endState(vm: Vm, operation: string): Vm {
    const id = vm.id;
    if (operation.endsWith('-rollback')) {
      return this.catalog.updateVm(id, { ...IDLE, state: vm.previousState ?? 'PENDING' }, vm);
    }
    const transition = TRANSITIONS[operation as VmOperation]?.to ?? 'same';
    const to = transition === 'same' ? (vm.previousState ?? vm.state) : transition;
    if (operation === 'create') {
      for (const disk of vm.disks) if (disk.imageId !== null) this.catalog.updateImage(disk.imageId, { state: 'USED' });
    }
    let disksChanged = false;
    for (const planStep of vm.plan ?? []) disksChanged = this.recordSnapshot(vm, planStep) || disksChanged;
    // Read afresh when a snapshot id changed its disks; else the VM in hand is current.
    const done = this.catalog.updateVm(id, { ...IDLE, state: to, host: operation === 'migrate' && vm.targetHost ? vm.targetHost : vm.host }, disksChanged ? undefined : vm);
    if (operation === 'shutdown') this.releaseImages(done);
    return done;
  }

  /**
   * Checks a disk save-as before anything runs (also for --dry-run): the VM's
   * disks are where they rest (RUNNING or STOPPED), the disk is an image or
   * volatile disk, the snapshot (if any) exists, and the new image's
   * datastore takes images. Returns the steps: mkfs (FSTYPE save_as: the
   * driver names a new SOURCE, the convention oned uses for save-as), cpds
   * of the disk into it, and stat for its size.
   */
  checkSaveAs(vmRef: string | number, diskId: number, input: { name: string; datastore?: string | number; snapshot?: number }): { vm: Vm; disk: Vm['disks'][number]; ds: Datastore; cpds: PlanStep; sizeMb: number | null; format: string } {
    const vm = this.catalog.vm(vmRef);
    if (vm.operation || (vm.state !== 'RUNNING' && vm.state !== 'STOPPED')) {
      throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state}${vm.operation ? ` with an unfinished ${vm.operation}` : ''}; disks are saved from a RUNNING or STOPPED VM`, {
        hint: vm.operation ? `ferry vm recover ${vm.id} --retry|--success|--failure` : `ferry vm show ${vm.id}`,
      });
    }
    const disk = this.diskOf(vm, diskId, 'only image and volatile disks are saved as images');
    if (input.snapshot !== undefined) this.checkDiskSnapshot(vm, disk, input.snapshot);
    const image = disk.imageId !== null ? this.catalog.image(disk.imageId) : undefined;
    const dsRef = input.datastore ?? image?.datastoreId;
    if (dsRef === undefined) throw new FerryError('E_USAGE', `disk ${diskId} is a volatile disk: say which datastore gets the new image`, { hint: `ferry vm disk-saveas ${vm.id} ${diskId} --name ${input.name} --datastore DS` });
    const ds = this.usableDatastore(dsRef);
    if (ds.type !== 'IMAGE') throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a ${ds.type} datastore; a saved disk becomes an image in an IMAGE datastore`, { hint: 'ferry datastore list' });
    this.catalog.checkNewImageName(input.name);
    const ctx = this.planContext(vm);
    // The disk's own TM copies it (its image datastore's, or the system datastore's for a volatile disk); ds_id is the new image's datastore.
    const tm = image ? this.catalog.datastore(image.datastoreId).tmMad : ctx.systemDs.tmMad;
    const snapshot = input.snapshot ?? -1;
    const cpds: PlanStep = {
      kind: 'tm',
      action: 'cpds',
      driver: tm,
      args: [`${diskHost(ctx)}:${disk.target}`, '(new SOURCE)', String(snapshot), String(vm.id), String(ds.id)],
      why: `disk ${diskId}: save ${snapshot >= 0 ? `snapshot ${snapshot}` : 'its current state'} as image ${input.name}`,
    };
    return { vm, disk, ds, cpds, sizeMb: image?.sizeMb ?? disk.sizeMb, format: image?.format ?? disk.format ?? 'raw' };
  }

  /**
   * Saves a VM disk (or one of its snapshots) as a new image: the image is
   * recorded LOCKED, the datastore names its SOURCE (mkfs, FSTYPE save_as),
   * the disk's TM copies it there (cpds), and stat gives its size. READY on
   * success; ERROR with the step's message on failure, the VM untouched.
   */
  async saveDisk(vmRef: string | number, diskId: number, input: { name: string; datastore?: string | number; snapshot?: number }): Promise<Image> {
    const found = this.checkSaveAs(vmRef, diskId, input);
    // The VM holds still while its disk is copied: no stop, migrate or snapshot meanwhile.
    const unlockVm = this.catalog.lock(`vm:${found.vm.id}`, 'disk-saveas');
    try {
      const { ds, cpds, sizeMb, format } = this.checkSaveAs(found.vm.id, diskId, input);
      const record = (): Image => this.catalog.addImage({ name: input.name, datastoreId: ds.id, ...(sizeMb !== null ? { sizeMb } : {}), format, persistent: false });
      return await this.imageAction(record, 'saveas', async (current) => {
        const made = (await this.datastoreAction(ds, 'mkfs', current, { dumpImage: { ...current, fs: 'save_as' }, operation: 'saveas' })).result as { source: string };
        this.catalog.updateImage(current.id, { source: made.source });
        const copy: PlanStep = { ...cpds, args: [cpds.args[0] as string, made.source, ...cpds.args.slice(2)] };
        await this.act(`image:${current.id}`, 'saveas', null, copy, () => this.runStep(copy));
        return { sizeMb: await this.statSource(ds, this.catalog.image(current.id), 'saveas'), state: 'READY' };
      });
    } finally {
      unlockVm();
    }
  }

  /** Records what a done snapshot step changed in its disk's snapshot ids. */
  private recordSnapshot(vm: Vm, planStep: PlanStep): boolean {
    const disk = vm.disks.find((candidate) => candidate.diskId === planStep.refs?.disk);
    const snapshot = planStep.refs?.snapshot;
    if (!disk || snapshot === undefined) return false;
    if (planStep.action === 'snap_create' && !disk.snapshots.includes(snapshot)) {
      this.catalog.setDiskSnapshots(vm.id, disk.diskId, [...disk.snapshots, snapshot]);
      return true;
    }
    if (planStep.action === 'snap_delete') {
      this.catalog.setDiskSnapshots(vm.id, disk.diskId, disk.snapshots.filter((id) => id !== snapshot));
      return true;
    }
    return false;
  }

  /**
   * Images of a finished VM go back to READY unless another VM still uses
   * them; a linked (persistent) disk's snapshots are the image's now, since
   * mvds put its file back.
   */
  private releaseImages(vm: Vm): void {
    for (const disk of vm.disks) {
      if (disk.imageId === null) continue;
      if (disk.mode === 'ln') this.catalog.updateImage(disk.imageId, { snapshots: disk.snapshots });
      if (this.catalog.vmsUsingImage(disk.imageId).length === 0) this.catalog.updateImage(disk.imageId, { state: 'READY' });
    }
  }

  /**
   * Continues a FAILED VM: `retry` runs the plan again from the failed step
   * (steps done are not redone), `success` marks the operation done,
   * `failure` rolls back: the steps that ran are undone in reverse and the
   * VM returns to its state before the operation.
   */
  async recover(ref: string | number, mode: 'retry' | 'success' | 'failure', dryRun = false): Promise<Vm | PlanStep[]> {
    // FAILED, or interrupted: an operation recorded but its ferry gone (the lock refuses one still running).
    const recoverable = (vm: Vm): Vm & { operation: string; plan: PlanStep[] } => {
      if (!vm.operation || !vm.plan) {
        throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state} with no failed or interrupted operation; there is nothing to recover`, { hint: `ferry vm show ${vm.id}` });
      }
      return vm as Vm & { operation: string; plan: PlanStep[] };
    };
    const found = recoverable(this.catalog.vm(ref));
    if (dryRun) return mode === 'retry' ? found.plan.slice(found.step ?? 0) : mode === 'failure' ? this.rollbackPlan(found) : [];
    const unlock = this.catalog.lock(`vm:${found.id}`, `${found.operation}-recover`);
    const release = once(unlock);
    try {
      // Read again under the lock: another ferry may have recovered it meanwhile.
      const vm = recoverable(this.catalog.vm(found.id));
      if (mode === 'success') return this.finish(vm.id, release);
      if (mode === 'retry') return await this.runFrom(vm.id, vm.step ?? 0, vm.plan, vm.operation, release);
      const undo = this.rollbackPlan(vm);
      const operation = `${vm.operation}-rollback`;
      this.catalog.updateVm(vm.id, { operation, plan: undo, step: 0, error: null });
      return await this.runFrom(vm.id, 0, undo, operation, release);
    } finally {
      unlock();
    }
  }

  /** The steps that undo what a failed operation did, last first. */
  private rollbackPlan(vm: Vm): PlanStep[] {
    const operation = (vm.operation ?? '').replace(/-rollback$/, '');
    const done = (vm.plan ?? []).slice(0, vm.step ?? 0);
    if (vm.operation?.endsWith('-rollback')) {
      throw new FerryError('E_CONFLICT', `VM ${vm.id}'s rollback of ${operation} failed itself`, { hint: `retry it: ferry vm recover ${vm.id} --retry, or mark it: --success` });
    }
    if (operation === 'shutdown') {
      throw new FerryError('E_CONFLICT', `VM ${vm.id}'s shutdown cannot be rolled back: the disks it deleted are gone`, { hint: `ferry vm recover ${vm.id} --retry (finish it) or --success` });
    }
    if (operation.startsWith('disk-snapshot-')) {
      // One step: when it failed there is nothing to undo. A snapshot taken is deleted again; a revert or delete that ran cannot be undone.
      return done.flatMap((planStep) => {
        if (planStep.action === 'snap_create') return [{ ...planStep, action: 'snap_delete', why: `undo: ${planStep.why}` }];
        throw new FerryError('E_CONFLICT', `VM ${vm.id}'s ${operation} ran and cannot be undone`, { hint: `ferry vm recover ${vm.id} --success` });
      });
    }
    if (operation === 'create') {
      const ctx = this.planContext(vm);
      const undo: PlanStep[] = [];
      for (const planStep of [...done].reverse()) {
        // Every deploy action names its destination third from last: ... host:path vm_id ds_id.
        const where = planStep.args[planStep.args.length - 3] as string;
        const rest = planStep.args.slice(-2);
        if (planStep.action === 'ln') {
          const disk = vm.disks.find((candidate) => where.endsWith(`:${candidate.target}`));
          const source = disk?.imageId !== null && disk?.imageId !== undefined ? this.catalog.image(disk.imageId).source : null;
          if (source) {
            undo.push({ ...planStep, action: 'mvds', args: [where, source, ...rest], why: `undo: ${planStep.why}` });
            continue;
          }
        }
        undo.push({ ...planStep, action: 'delete', args: [where, ...rest], why: `undo: ${planStep.why}` });
      }
      undo.push({ kind: 'tm', action: 'delete', driver: ctx.systemDs.tmMad, args: [`${vm.host}:${vmFolder(ctx)}`, String(vm.id), String(ctx.systemDs.id)], why: 'undo: VM folder' });
      return undo;
    }
    // stop, resume, migrate: each mv that ran goes back the other way.
    return [...done].reverse().map((planStep) => ({ ...planStep, args: [planStep.args[1] as string, planStep.args[0] as string, ...planStep.args.slice(2)], why: `undo: ${planStep.why}` }));
  }

  private signal(): { signal?: AbortSignal } {
    return this.options.signal ? { signal: this.options.signal } : {};
  }
}
