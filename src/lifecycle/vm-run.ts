/**
 * Runs a VM plan that is recorded on the VM: each step journaled with the
 * VM's next step in the same commit, so a failure (or a killed ferry)
 * leaves the VM FAILED at a known step; once all steps are done, the
 * operation's end state (the VM's state and host, its images' states,
 * snapshot ids) is recorded and the VM's lock let go in one transaction.
 */
import type { CatalogTx } from '../catalog/store.js';
import { toFerryError, type FerryError } from '../errors.js';
import type { PlanStep, Vm } from '../model.js';
import { act, runStep, type LifecycleOptions } from './journal.js';
import { TRANSITIONS, transferLine, type VmOperation } from './plan.js';

/** A VM with no operation under way. */
const IDLE = { operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null } as const;

/** How a plan runs: `hard` (terminate --hard) goes on past a failing step, journaling it as skipped. */
export interface RunOptions {
  hard?: boolean;
}

/**
 * Runs the recorded plan from step `from`; on failure the VM is FAILED at
 * that step (with `hard`, the step is journaled as skipped and the rest
 * runs; never past a cancel). `release` (the VM's lock) is let go in the
 * same transaction as the end state.
 */
export async function runFrom(life: LifecycleOptions, id: number, from: number, steps: readonly PlanStep[], operation: string, release: () => void, options: RunOptions = {}): Promise<Vm> {
  let done: Vm | undefined;
  let unfinished: unknown;
  const skipped: string[] = [];
  const goOn = (failure: FerryError): boolean => options.hard === true && failure.code !== 'E_CANCELLED' && life.signal?.aborted !== true;
  const event = (index: number, planStep: PlanStep, outcome?: { ok: boolean; durationMs: number; message?: string }) =>
    life.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep, ...(outcome ? { outcome } : {}) });
  for (let index = from; index < steps.length; index++) {
    const planStep = steps[index] as PlanStep;
    event(index, planStep);
    const started = performance.now();
    try {
      await act(life, `vm:${id}`, operation, index, planStep, () => runStep(life, planStep), {
        ok: (tx) => {
          tx.setVmStep(id, index + 1);
          // The last step's journal entry, the end state and the unlock: one commit. The end state goes in a
          // savepoint of its own: should it fail, the step stays journaled as done and the error is reported.
          if (index === steps.length - 1) {
            try {
              done = finish(life, id, release);
            } catch (error) {
              unfinished = error;
            }
          }
        },
        failed: (tx, failure) => {
          if (goOn(failure)) return skip(tx, id, operation, index, planStep, failure);
          tx.updateVm(id, { state: 'FAILED', step: index, error: `${operation} step ${index + 1}/${steps.length} (${transferLine(planStep)}): ${failure.message}` });
          release();
        },
      });
    } catch (error) {
      const failure = toFerryError(error);
      event(index, planStep, { ok: false, durationMs: performance.now() - started, message: failure.message });
      if (!goOn(failure)) throw failure;
      skipped.push(`step ${index + 1}/${steps.length} (${transferLine(planStep)}): ${failure.message}`);
      continue;
    }
    event(index, planStep, { ok: true, durationMs: performance.now() - started });
  }
  if (unfinished !== undefined) throw toFerryError(unfinished);
  const end = done ?? finish(life, id, release);
  // What was left undone stays on the record (DONE, but not clean): the journal has each step's failure.
  return skipped.length === 0 ? end : life.catalog.updateVm(id, { error: `${operation} --hard skipped ${skipped.join('; ')}` });
}

/** A failed step --hard goes on past: journaled as skipped, and the next step recorded as the one to run. */
function skip(tx: CatalogTx, id: number, operation: string, index: number, planStep: PlanStep, failure: FerryError): void {
  tx.record({ subject: `vm:${id}`, operation, step: index, kind: planStep.kind, driver: planStep.driver, action: planStep.action, args: planStep.args, ok: false, exitCode: null, durationMs: 0, message: `skipped (--hard): ${failure.message}`, logs: [] });
  tx.setVmStep(id, index + 1);
}

/** Applies an operation's end state once all its steps are done (and lets go of the VM's lock with it). */
export function finish(life: LifecycleOptions, id: number, release: () => void = () => undefined): Vm {
  return life.catalog.transaction((tx) => {
    const vm = tx.vm(id);
    const done = endState(tx, vm, vm.operation ?? '');
    // Last: nothing after it can fail and roll the unlock back while `release` counts it as done.
    release();
    return done;
  });
}

/** The records an operation's end changes: the VM's state and host, its images' states, snapshot ids. */
function endState(tx: CatalogTx, vm: Vm, operation: string): Vm {
  const id = vm.id;
  if (operation.endsWith('-rollback')) {
    return tx.updateVm(id, { ...IDLE, state: vm.previousState ?? 'PENDING' }, vm);
  }
  const transition = TRANSITIONS[operation as VmOperation]?.to ?? 'same';
  const to = transition === 'same' ? (vm.previousState ?? vm.state) : transition;
  if (operation === 'create') {
    for (const disk of vm.disks) if (disk.imageId !== null) tx.updateImage(disk.imageId, { state: 'USED' });
  }
  let disksChanged = false;
  for (const planStep of vm.plan ?? []) disksChanged = recordSnapshot(tx, vm, planStep) || disksChanged;
  // Read afresh when a snapshot id changed its disks; else the VM in hand is current.
  const done = tx.updateVm(id, { ...IDLE, state: to, host: operation === 'migrate' && vm.targetHost ? vm.targetHost : vm.host }, disksChanged ? undefined : vm);
  if (operation === 'shutdown' || operation === 'terminate') releaseImages(tx, done);
  return done;
}

/** Records what a done snapshot step changed in its disk's snapshot ids. */
function recordSnapshot(tx: CatalogTx, vm: Vm, planStep: PlanStep): boolean {
  const disk = vm.disks.find((candidate) => candidate.diskId === planStep.refs?.disk);
  const snapshot = planStep.refs?.snapshot;
  if (!disk || snapshot === undefined) return false;
  if (planStep.action === 'snap_create' && !disk.snapshots.includes(snapshot)) {
    tx.setDiskSnapshots(vm.id, disk.diskId, [...disk.snapshots, snapshot]);
    return true;
  }
  if (planStep.action === 'snap_delete') {
    tx.setDiskSnapshots(vm.id, disk.diskId, disk.snapshots.filter((each) => each !== snapshot));
    return true;
  }
  return false;
}

/**
 * Images of a finished VM go back to READY unless another VM still uses
 * them; a linked (persistent) disk's snapshots are the image's now, since
 * mvds put its file back.
 */
function releaseImages(tx: CatalogTx, vm: Vm): void {
  for (const disk of vm.disks) {
    if (disk.imageId === null) continue;
    if (disk.mode === 'ln') tx.updateImage(disk.imageId, { snapshots: disk.snapshots });
    // Only from USED: an image a VM never got to use (terminated PENDING) keeps the state it has.
    if (tx.vmsUsingImage(disk.imageId).length === 0 && tx.image(disk.imageId).state === 'USED') tx.updateImage(disk.imageId, { state: 'READY' });
  }
}
