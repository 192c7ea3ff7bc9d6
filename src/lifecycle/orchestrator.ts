/**
 * The lifecycle's one entry point for the CLI and the library: plans (what
 * --dry-run prints) and execute(plan), which runs any of them. The work is
 * the services': images.ts, datastores.ts, vms.ts, saveas.ts, recover.ts,
 * journaled through journal.ts; plans come from plan.ts. Every action is
 * journaled; a VM operation records its plan and the next step before it
 * runs, so a failure (or a killed ferry) leaves the VM FAILED at a known
 * step, and recovery can retry from there, mark it done, or roll it back.
 */
import type { MonitorResult } from '../contract/parsers.js';
import type { Datastore, DatastorePatch, Image, NewDatastore, Vm } from '../model.js';
import { monitor, planDatastoreCreate, planDatastoreDelete, planDatastoreUpdate, runDatastorePlan } from './datastores.js';
import { planImageRecover, runImageRecover, type ImageRecoverMode, type ImageRecoverPlan } from './image-recover.js';
import { planClone, planCreate, planDelete, planSnapshot, runImagePlan, statImage, statPath } from './images.js';
import type { LifecycleOptions } from './journal.js';
import type { DatastorePlan, ImagePlan, ImageSnapshotOperation, NewImageInput, NewVmInput, OperationArgs, Plan, RecoverMode, RecoverPlan, SaveAsInput, SaveAsPlan, VmOperation, VmPlan } from './plan.js';
import { planRecover, runRecover } from './recover.js';
import { planSaveAs, runSaveAs } from './saveas.js';
import { createVm, operate, planNewVm, planVm, runVmPlan } from './vms.js';

// Moved to src/dump/from-catalog.ts and plan.ts; still importable from here.
export { DS_TYPE_NUMBER, datastoreDump, secretEnv } from '../dump/from-catalog.js';
export { isUrl } from './images.js';
export type { StepEvent } from './journal.js';
export type { NewImageInput, NewVmInput } from './plan.js';

export type OrchestratorOptions = LifecycleOptions;

export class Orchestrator {
  constructor(private readonly options: OrchestratorOptions) {}

  // --- plans: checked against the catalog, nothing runs

  planImageCreate(input: NewImageInput): ImagePlan {
    return planCreate(this.options, input);
  }
  planImageClone(ref: string | number, input: { name: string; persistent?: boolean; force?: boolean }): Extract<ImagePlan, { operation: 'clone' }> {
    return planClone(this.options, ref, input);
  }
  planImageDelete(ref: string | number): ImagePlan {
    return planDelete(this.options, ref);
  }
  planImageSnapshot(ref: string | number, operation: ImageSnapshotOperation, snapshot: number): ImagePlan {
    return planSnapshot(this.options, ref, operation, snapshot);
  }
  planDatastoreCreate(input: NewDatastore, monitor: boolean): DatastorePlan {
    return planDatastoreCreate(this.options, input, monitor);
  }
  planDatastoreUpdate(id: number, patch: DatastorePatch): DatastorePlan {
    return planDatastoreUpdate(this.options, id, patch);
  }
  planDatastoreDelete(ref: string | number): DatastorePlan {
    return planDatastoreDelete(this.options, ref);
  }
  planVm(ref: string | number, operation: VmOperation, args: OperationArgs = {}): VmPlan {
    return planVm(this.options, ref, operation, args);
  }
  planNewVm(input: NewVmInput): VmPlan {
    return planNewVm(this.options, input);
  }
  planSaveAs(vmRef: string | number, diskId: number, input: SaveAsInput): SaveAsPlan {
    return planSaveAs(this.options, vmRef, diskId, input);
  }
  planRecover(ref: string | number, mode: RecoverMode): RecoverPlan {
    return planRecover(this.options, ref, mode);
  }

  // --- execute: runs a plan (checked again under its locks: the catalog may have changed since it was made)

  execute(plan: VmPlan | RecoverPlan): Promise<Vm>;
  execute(plan: ImagePlan | SaveAsPlan): Promise<Image>;
  execute(plan: DatastorePlan): Promise<Datastore>;
  execute(plan: Plan): Promise<Vm | Image | Datastore>;
  execute(plan: Plan): Promise<Vm | Image | Datastore> {
    switch (plan.kind) {
      case 'vm':
        return runVmPlan(this.options, plan);
      case 'recover':
        return runRecover(this.options, plan);
      case 'image':
        return runImagePlan(this.options, plan);
      case 'saveas':
        return runSaveAs(this.options, plan);
      case 'datastore':
        return runDatastorePlan(this.options, plan);
    }
  }

  // --- shortcuts: plan and execute in one call (the library's API, as before plans; scripts/bench-lifecycle.mjs)

  createImage(input: NewImageInput): Promise<Image> {
    return this.execute(this.planImageCreate(input));
  }
  cloneImage(ref: string | number, input: { name: string; persistent?: boolean; force?: boolean }): Promise<Image> {
    return this.execute(this.planImageClone(ref, input));
  }
  deleteImage(image: Image): Promise<Image> {
    return this.execute(this.planImageDelete(image.id));
  }
  imageSnapshot(ref: string | number, operation: ImageSnapshotOperation, snapshot: number): Promise<Image> {
    return this.execute(this.planImageSnapshot(ref, operation, snapshot));
  }
  saveDisk(vmRef: string | number, diskId: number, input: SaveAsInput): Promise<Image> {
    return this.execute(this.planSaveAs(vmRef, diskId, input));
  }
  createVm(input: NewVmInput): Promise<Vm> {
    return createVm(this.options, input);
  }
  operate(ref: string | number, operation: VmOperation, args: OperationArgs = {}): Promise<Vm> {
    return operate(this.options, ref, operation, args);
  }
  recover(ref: string | number, mode: RecoverMode): Promise<Vm> {
    return this.execute(this.planRecover(ref, mode));
  }

  // --- an image's failed or interrupted operation (image-recover.ts)

  planImageRecover(ref: string | number, mode: ImageRecoverMode): ImageRecoverPlan {
    return planImageRecover(this.options, ref, mode);
  }
  recoverImage(plan: ImageRecoverPlan): Promise<Image> {
    return runImageRecover(this.options, plan);
  }

  // --- reads through drivers

  /** Runs the datastore's monitor (a system datastore's TM monitor) and stores the figures. */
  monitor(ds: Datastore): Promise<MonitorResult> {
    return monitor(this.options, ds);
  }
  statImage(ref: string | number): Promise<Image> {
    return statImage(this.options, ref);
  }
  statPath(dsRef: string | number, path: string): Promise<number> {
    return statPath(this.options, dsRef, path);
  }
}
