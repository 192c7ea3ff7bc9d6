/**
 * Taking up a VM operation whose queue worker died (queue/task.ts): the worker that takes the job up finds the VM
 * as the dead one left it. Steps the journal shows done are never run again (the VM's next step is committed with
 * each step's journal entry). The step the dead worker had started and not finished was in flight: it is run
 * again only when its driver action is marked safe to repeat in the contract table (ActionSpec.repeatSafe);
 * otherwise the VM is FAILED at that step, E_INTERRUPTED, for `ferry vm recover`.
 */
import { specFor } from '../contract/lookup.js';
import { FerryError } from '../errors.js';
import type { PlanStep, Vm } from '../model.js';
import type { LifecycleOptions } from './journal.js';
import { transferLine } from './plan.js';
import { runFrom } from './vm-run.js';

/** Where the dead worker stood: the step it last started and the last it finished (operations.ts). */
export interface WorkerNotes {
  stepStarted: number | null;
  stepDone: number | null;
}

/** What became of an operation whose worker died, read from its VM. */
export type VmResume =
  /** It never recorded its plan: run it from the start. */
  | { kind: 'not-started' }
  /** Its end state was committed: nothing left to run. */
  | { kind: 'done'; vm: Vm }
  /** A step failed and was recorded: the VM is FAILED. */
  | { kind: 'failed'; vm: Vm }
  /** Interrupted at `step`; `inFlight`: that step had started. */
  | { kind: 'interrupted'; vm: Vm & { operation: string; plan: PlanStep[] }; step: number; inFlight: boolean };

/** Reads what the operation left on VM `id`. */
export function vmResume(life: LifecycleOptions, id: number, notes: WorkerNotes): VmResume {
  const vm = life.catalog.vm(id);
  if (vm.operation === null || vm.plan === null) return notes.stepStarted === null ? { kind: 'not-started' } : { kind: 'done', vm };
  if (vm.state === 'FAILED') return { kind: 'failed', vm };
  const step = vm.step ?? 0;
  const inFlight = notes.stepStarted === step && notes.stepDone !== step;
  return { kind: 'interrupted', vm: vm as Vm & { operation: string; plan: PlanStep[] }, step, inFlight };
}

/**
 * Goes on with an interrupted operation from its next step; a step in flight runs again only when it is safe to
 * repeat, else the VM is FAILED there (E_INTERRUPTED). `hard`: terminate --hard's going on past failing steps.
 */
export async function resumeVm(life: LifecycleOptions, found: Extract<VmResume, { kind: 'interrupted' }>, hard = false): Promise<Vm> {
  const { vm, step, inFlight } = found;
  const planStep = vm.plan[step];
  if (planStep !== undefined && inFlight && !specFor(planStep.kind, planStep.action).repeatSafe) {
    const message = `${vm.operation} step ${step + 1}/${vm.plan.length} (${transferLine(planStep)}): the worker running it died, and ${planStep.kind} ${planStep.action} is not safe to run twice`;
    life.catalog.updateVm(vm.id, { state: 'FAILED', step, error: message });
    throw new FerryError('E_INTERRUPTED', `VM ${vm.id} (${vm.name}): ${message}`, {
      hint: `see what the step left, then: ferry vm recover ${vm.id} --retry (run it again), --success (it did finish) or --failure (undo the operation)`,
    });
  }
  return runFrom(life, vm.id, step, vm.plan, vm.operation, () => undefined, { hard });
}
