/**
 * A job taken up again after its worker died: what the operation left in the catalog decides what is run.
 * VM operations go on step by step (lifecycle/resume.ts: a step in flight runs again only when safe to repeat).
 * Image operations are one driver action: an image its operation left marked unfinished was in flight; an rm runs
 * again (safe to repeat), any other stops the image in ERROR for `ferry image recover` (E_INTERRUPTED).
 */
import type { CatalogStore } from '../catalog/store.js';
import { FerryError } from '../errors.js';
import type { Image, Operation, Vm } from '../model.js';
import type { Orchestrator } from '../lifecycle/orchestrator.js';
import { resumeVm, vmResume } from '../lifecycle/resume.js';
import type { LifecycleOptions } from '../lifecycle/journal.js';
import { planOf, runPlan, type OperationRequest } from './request.js';

/** What a resumed job ends with: a result to record, or a fresh start (the operation never got going). */
export type Resumed = { kind: 'result'; value: unknown } | { kind: 'start-again' };

/** Takes up `op` as its dead worker left it. */
export async function resume(life: LifecycleOptions, orchestrator: Orchestrator, op: Operation): Promise<Resumed> {
  const request = op.request as OperationRequest;
  if (request.kind === 'vm' || request.kind === 'recover') {
    const found = vmResume(life, request.vm, op);
    switch (found.kind) {
      case 'not-started':
        return { kind: 'start-again' };
      case 'done':
        return { kind: 'result', value: found.vm };
      case 'failed':
        throw failedVm(found.vm);
      case 'interrupted':
        return { kind: 'result', value: await resumeVm(life, found, request.kind === 'vm' && request.args.hard === true) };
    }
  }
  return resumeImage(life.catalog, orchestrator, op, request);
}

function failedVm(vm: Vm): FerryError {
  return new FerryError('E_DRIVER_FAILED', `VM ${vm.id} (${vm.name}) is FAILED: ${vm.error ?? 'its operation failed'}`, { hint: `ferry vm recover ${vm.id} --retry|--success|--failure` });
}

/** The image an image request acts on or makes; undefined when it is not (or no longer) there. */
function imageOf(catalog: CatalogStore, request: Exclude<OperationRequest, { kind: 'vm' | 'recover' }>): Image | undefined {
  switch (request.kind) {
    case 'image-create':
    case 'image-clone':
      return catalog.findImage(request.name);
    case 'saveas':
      return catalog.findImage(request.input.name);
    default:
      return catalog.findImage(request.image);
  }
}

async function resumeImage(catalog: CatalogStore, orchestrator: Orchestrator, op: Operation, request: Exclude<OperationRequest, { kind: 'vm' | 'recover' }>): Promise<Resumed> {
  const image = imageOf(catalog, request);
  const makes = request.kind === 'image-create' || request.kind === 'image-clone' || request.kind === 'saveas';
  if (image === undefined) {
    if (request.kind === 'image-delete' && op.stepStarted !== null) return { kind: 'result', value: undefined };
    return { kind: 'start-again' };
  }
  if (image.state === 'DELETING') {
    // rm is safe to repeat: image recover --retry runs the delete again.
    return { kind: 'result', value: await runPlan(orchestrator, orchestrator.planImageRecover(image.id, 'retry')) };
  }
  if (image.error?.includes(': not finished:')) {
    const what = image.error.slice(0, image.error.indexOf(':'));
    catalog.updateImage(image.id, { state: 'ERROR', error: `${what}: the worker running it died, and ${what} is not safe to run twice` });
    throw new FerryError('E_INTERRUPTED', `image ${image.name}: the worker running its ${what} died, and ${what} is not safe to run twice`, {
      hint: `see what it left, then: ferry image recover ${image.id} --retry, --success, --failure or --delete`,
    });
  }
  if (image.state === 'ERROR') throw new FerryError('E_DRIVER_FAILED', `image ${image.name} is ERROR: ${image.error ?? 'its operation failed'}`, { hint: `ferry image recover ${image.id}` });
  // Never got to its action (the worker notes the start before it plans).
  if (op.stepStarted === null) return { kind: 'start-again' };
  if (makes) return { kind: 'result', value: image };
  // A snapshot action on a READY image, started and not seen to end: whether it ran cannot be told.
  if (request.kind === 'image-snapshot') {
    throw new FerryError('E_INTERRUPTED', `image ${image.name}: the worker running snapshot ${request.operation} ${request.snapshot} died; whether it ran cannot be told`, {
      hint: `check the image's snapshots (ferry image show ${image.id}), then run the snapshot command again if it did not`,
    });
  }
  return { kind: 'result', value: image };
}

/** The plan of `request`, checked now, run: an operation's first (or fresh) run. */
export async function startFresh(orchestrator: Orchestrator, catalog: CatalogStore, request: OperationRequest): Promise<unknown> {
  return runPlan(orchestrator, catalog.transaction((tx) => planOf(orchestrator, tx, request)));
}
