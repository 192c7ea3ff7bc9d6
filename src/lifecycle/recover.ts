/**
 * Continuing a FAILED (or interrupted) VM operation: `retry` runs the plan
 * again from the failed step (steps done are not redone), `success` marks
 * the operation done, `failure` rolls back: the steps that ran are undone
 * in reverse (plan.ts builds the undo from what each step recorded) and the
 * VM returns to its state before the operation.
 */
import { FerryError } from '../errors.js';
import type { PlanStep, Vm } from '../model.js';
import { once, type LifecycleOptions } from './journal.js';
import { rollbackPlan, type RecoverMode, type RecoverPlan } from './plan.js';
import { finish, runFrom } from './vm-run.js';
import { planContext } from './vms.js';

type Recoverable = Vm & { operation: string; plan: PlanStep[] };

/** FAILED, or interrupted: an operation recorded but its ferry gone (the lock refuses one still running). */
function recoverable(vm: Vm): Recoverable {
  if (!vm.operation || !vm.plan) {
    throw new FerryError('E_CONFLICT', `VM ${vm.id} (${vm.name}) is ${vm.state} with no failed or interrupted operation; there is nothing to recover`, { hint: `ferry vm show ${vm.id}` });
  }
  return vm as Recoverable;
}

/** What recovering `ref` in `mode` would run: the rest of the plan, its undo, or nothing. */
export function planRecover(life: LifecycleOptions, ref: string | number, mode: RecoverMode): RecoverPlan {
  return life.catalog.transaction((tx) => {
    const vm = recoverable(tx.vm(ref));
    const busy = tx.busy(`vm:${vm.id}`);
    if (busy) throw busy;
    const steps = mode === 'retry' ? vm.plan.slice(vm.step ?? 0) : mode === 'failure' ? rollbackPlan(planContext(life, tx, vm)) : [];
    return { kind: 'recover', mode, vm, steps };
  });
}

/** Recovers the plan's VM, read again under its lock (another ferry may have recovered it meanwhile). */
export async function runRecover(life: LifecycleOptions, plan: RecoverPlan): Promise<Vm> {
  const unlock = life.catalog.lock(`vm:${plan.vm.id}`, `${plan.vm.operation}-recover`);
  const release = once(unlock);
  try {
    if (plan.mode === 'success') {
      life.catalog.transaction((tx) => recoverable(tx.vm(plan.vm.id)));
      return finish(life, plan.vm.id, release);
    }
    if (plan.mode === 'retry') {
      const vm = recoverable(life.catalog.vm(plan.vm.id));
      // Under way again: no longer FAILED while it runs, so a ferry (or queue worker) stopped in it leaves it
      // interrupted at its step, as any operation, not FAILED with the old error.
      if (vm.state === 'FAILED') life.catalog.updateVm(vm.id, { state: vm.previousState ?? 'PENDING', error: null });
      return await runFrom(life, vm.id, vm.step ?? 0, vm.plan, vm.operation, release);
    }
    const { vm, undo } = life.catalog.transaction((tx) => {
      const vm = recoverable(tx.vm(plan.vm.id));
      const undo = rollbackPlan(planContext(life, tx, vm));
      tx.updateVm(vm.id, { operation: `${vm.operation}-rollback`, plan: undo, step: 0, error: null }, vm);
      return { vm, undo };
    });
    return await runFrom(life, vm.id, 0, undo, `${vm.operation}-rollback`, release);
  } finally {
    unlock();
  }
}
