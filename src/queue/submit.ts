/**
 * Queuing an operation (a command on a PostgreSQL catalog): in one transaction, the plan is checked again, the
 * operation recorded, its resource's lock taken for it (held until it ends, whichever worker runs it) and its job
 * queued. A refusal leaves none of them; a commit makes all of them visible at once, and wakes a worker.
 * A new VM is recorded (PENDING) in that transaction too, so its create locks and queues on the VM like any other
 * operation; a new image (create, clone's copy, save-as) is recorded by the worker, and its job queues on its own.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { ImageRecoverPlan } from '../lifecycle/image-recover.js';
import type { LifecycleOptions } from '../lifecycle/journal.js';
import { Orchestrator } from '../lifecycle/orchestrator.js';
import type { Plan } from '../lifecycle/plan.js';
import { recordVm } from '../lifecycle/vms.js';
import type { Operation } from '../model.js';
import { enqueueOperation } from './enqueue.js';
import { describe, planOf, scopeOf } from './request.js';

export interface SubmitOptions {
  /** host:pid of the command. */
  createdBy: string;
  /** Times a job may be taken up (a worker dying in it uses one): enqueue.ts. */
  maxAttempts?: number;
}

/** Queues `plan` as an operation for the workers; returns it, queued. */
export function submit(catalog: Catalog, life: LifecycleOptions, plan: Plan | ImageRecoverPlan, options: SubmitOptions): Operation {
  const orchestrator = new Orchestrator({ ...life, catalog });
  return catalog.transaction((tx) => {
    const described = describe(plan);
    let { request, subject } = described;
    if (plan.kind === 'vm' && plan.input) {
      const vm = recordVm(life, tx, plan.input);
      request = { ...request, vm: vm.id } as typeof request;
      subject = `vm:${vm.id}`;
    }
    // Checked again here: the plan was made before this transaction, and the catalog may have moved since.
    const checked = planOf(orchestrator, tx, request);
    const scope = scopeOf(tx, checked);
    const operation = tx.addOperation({ subject: subject ?? 'op:new', kind: request.kind, operation: described.operation, request, scope, createdBy: options.createdBy });
    if (subject === undefined) {
      subject = `op:${operation.id}`;
      tx.setOperationSubject(operation.id, subject);
    } else {
      tx.lockForOperation(subject, described.operation, operation.id);
    }
    enqueueOperation(catalog.executor, { operationId: operation.id, subject, kind: request.kind }, { flags: scope, ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}) });
    return tx.operation(operation.id);
  });
}
