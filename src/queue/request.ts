/**
 * An operation as a queued job carries it: how a worker plans it again (JSON, no secret: datastores travel by id,
 * never as records with their secret attributes), the resource it locks and queues on, and the hosts and datastores
 * it touches (which workers may run it). The worker plans it afresh under the operation's lock and runs that plan:
 * whatever changed between the command and the worker is checked again, as a plan run in-process is.
 */
import { FerryError } from '../errors.js';
import type { Image, Vm } from '../model.js';
import type { ImageRecoverMode, ImageRecoverPlan } from '../lifecycle/image-recover.js';
import type { Orchestrator } from '../lifecycle/orchestrator.js';
import type { ImagePlan, ImageSnapshotOperation, OperationArgs, Plan, RecoverMode, SaveAsInput, VmOperation } from '../lifecycle/plan.js';
import type { CatalogTx } from '../catalog/store.js';

export type OperationRequest =
  | { kind: 'vm'; vm: number; operation: VmOperation; args: OperationArgs }
  | { kind: 'recover'; vm: number; mode: RecoverMode }
  | { kind: 'image-create'; datastore: number; name: string; path?: string; sizeMb?: number; fs?: string; format?: string; persistent?: boolean; type?: string; force?: boolean }
  | { kind: 'image-clone'; image: number; name: string; persistent?: boolean; force?: boolean }
  | { kind: 'image-delete'; image: number }
  | { kind: 'image-snapshot'; image: number; operation: ImageSnapshotOperation; snapshot: number }
  | { kind: 'saveas'; vm: number; disk: number; input: SaveAsInput }
  | { kind: 'image-recover'; image: number; mode: ImageRecoverMode };

/** What the queue needs of a plan: the request, its name, and the subject it locks (none: a new image's). */
export interface Described {
  request: OperationRequest;
  operation: string;
  subject: string | undefined;
}

/** The queued form of `plan`; a datastore plan is not queued (it runs in the command). */
export function describe(plan: Plan | ImageRecoverPlan): Described {
  switch (plan.kind) {
    case 'vm':
      // A new VM is recorded by submit() and its create queued on it.
      return { request: { kind: 'vm', vm: plan.vm.id, operation: plan.operation, args: plan.args }, operation: plan.operation, subject: plan.input ? undefined : `vm:${plan.vm.id}` };
    case 'recover':
      return { request: { kind: 'recover', vm: plan.vm.id, mode: plan.mode }, operation: `recover --${plan.mode}`, subject: `vm:${plan.vm.id}` };
    case 'saveas':
      return { request: { kind: 'saveas', vm: plan.vm.id, disk: plan.disk.diskId, input: plan.input }, operation: 'saveas', subject: undefined };
    case 'image-recover':
      return { request: { kind: 'image-recover', image: plan.image.id, mode: plan.mode }, operation: `recover --${plan.mode}`, subject: `image:${plan.image.id}` };
    case 'image':
      return describeImage(plan);
    case 'datastore':
      throw new FerryError('E_USAGE', 'datastore changes run in the command, not through the queue');
  }
}

function describeImage(plan: ImagePlan): Described {
  switch (plan.operation) {
    case 'create': {
      const { datastore, name, ...rest } = plan.input;
      return { request: { kind: 'image-create', datastore: datastore.id, name, ...rest }, operation: 'create', subject: undefined };
    }
    case 'clone':
      return {
        request: { kind: 'image-clone', image: plan.original.id, name: plan.image.name, ...(plan.persistent !== undefined ? { persistent: plan.persistent } : {}), ...(plan.force ? { force: true } : {}) },
        operation: 'clone',
        subject: `image:${plan.original.id}`,
      };
    case 'delete':
      return { request: { kind: 'image-delete', image: plan.image.id }, operation: 'delete', subject: `image:${plan.image.id}` };
    default: {
      const operation = plan.operation.slice('snapshot-'.length) as ImageSnapshotOperation;
      return { request: { kind: 'image-snapshot', image: plan.image.id, operation, snapshot: plan.snapshot }, operation: plan.operation, subject: `image:${plan.image.id}` };
    }
  }
}

/** The plan of `request`, made again now (by the worker, under the operation's lock). */
export function planOf(orchestrator: Orchestrator, tx: CatalogTx, request: OperationRequest): Plan | ImageRecoverPlan {
  switch (request.kind) {
    case 'vm':
      return orchestrator.planVm(request.vm, request.operation, request.args);
    case 'recover':
      return orchestrator.planRecover(request.vm, request.mode);
    case 'image-create': {
      const { kind: _kind, datastore, ...input } = request;
      return orchestrator.planImageCreate({ ...input, datastore: tx.datastore(datastore) });
    }
    case 'image-clone':
      return orchestrator.planImageClone(request.image, { name: request.name, ...(request.persistent !== undefined ? { persistent: request.persistent } : {}), ...(request.force ? { force: true } : {}) });
    case 'image-delete':
      return orchestrator.planImageDelete(request.image);
    case 'image-snapshot':
      return orchestrator.planImageSnapshot(request.image, request.operation, request.snapshot);
    case 'saveas':
      return orchestrator.planSaveAs(request.vm, request.disk, request.input);
    case 'image-recover':
      return orchestrator.planImageRecover(request.image, request.mode);
  }
}

/** Runs a plan made by planOf. */
export function runPlan(orchestrator: Orchestrator, plan: Plan | ImageRecoverPlan): Promise<Vm | Image | unknown> {
  return plan.kind === 'image-recover' ? orchestrator.recoverImage(plan) : orchestrator.execute(plan);
}

/** The hosts and datastores an operation touches (`host:NAME`, `ds:ID`): a worker limited to others leaves it. */
export function scopeOf(tx: CatalogTx, plan: Plan | ImageRecoverPlan): string[] {
  const scope = new Set<string>();
  const vm = (v: Vm): void => {
    scope.add(`host:${v.host}`);
    scope.add(`ds:${v.systemDsId}`);
    for (const disk of v.disks) if (disk.imageId !== null) scope.add(`ds:${tx.image(disk.imageId).datastoreId}`);
  };
  switch (plan.kind) {
    case 'vm':
      vm(plan.vm);
      if (plan.args.target) scope.add(`host:${plan.args.target}`);
      break;
    case 'recover':
      vm(plan.vm);
      if (plan.vm.targetHost) scope.add(`host:${plan.vm.targetHost}`);
      break;
    case 'saveas':
      vm(plan.vm);
      scope.add(`ds:${plan.datastore.id}`);
      break;
    case 'image':
    case 'image-recover':
      scope.add(`ds:${plan.datastore.id}`);
      break;
    case 'datastore':
      break;
  }
  return [...scope].sort();
}
