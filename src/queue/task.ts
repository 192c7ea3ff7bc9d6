/**
 * The job a worker runs for a queued operation: take the operation up (running, one attempt more), plan it afresh
 * under its lock and run it, or, when a worker before this one died in it, go on from where it stood (resume.ts);
 * then end it, done or failed, its locks let go in the same transaction. A failure of the operation is recorded on
 * it, not thrown: graphile-worker would retry a thrown job later while younger jobs of its queue ran. Thrown are
 * only what leaves the operation unfinished on purpose: a lost catalog connection (the job is tried again, and
 * resumes), and a hand-back on stop (`ferry worker --on-stop handback`).
 *
 * Each job running at once has a catalog connection of its own: the operation's locks are a connection's own
 * while it acts for that operation (Catalog.actFor).
 */
import type { Task } from 'graphile-worker';
import type { Catalog } from '../catalog/catalog.js';
import { FerryError, toFerryError } from '../errors.js';
import type { LifecycleOptions, StepEvent } from '../lifecycle/journal.js';
import { Orchestrator } from '../lifecycle/orchestrator.js';
import type { Logger } from '../log/logger.js';
import type { Operation } from '../model.js';
import { operationPayload } from './enqueue.js';
import type { OperationRequest } from './request.js';
import { resume, startFresh } from './resume.js';

export interface OperationTaskOptions {
  /** A new catalog connection (one per job running at once). */
  openCatalog: () => Catalog;
  /** What a job's lifecycle runs with, on `catalog` (its runner with the catalog's current hosts, the frontend …). */
  life: (catalog: Catalog) => Omit<LifecycleOptions, 'catalog' | 'onStep' | 'signal'>;
  /** host:pid, recorded on the operations it runs. */
  worker: string;
  logger: Logger;
  /** Aborted to hand running operations back (--on-stop handback): their driver actions are stopped. */
  handback?: AbortSignal;
  /** Each step as it starts and ends (the worker's log). */
  onStep?: (operation: Operation, event: StepEvent) => void;
}

/** The idle connections, reused by the next job. */
class CatalogPool {
  private readonly idle: Catalog[] = [];
  private readonly all = new Set<Catalog>();
  constructor(private readonly open: () => Catalog) {}
  take(): Catalog {
    const catalog = this.idle.pop() ?? this.open();
    this.all.add(catalog);
    return catalog;
  }
  give(catalog: Catalog): void {
    catalog.actFor(undefined);
    this.idle.push(catalog);
  }
  close(): void {
    for (const catalog of this.all) catalog.close();
    this.all.clear();
    this.idle.length = 0;
  }
}

const IMAGE_KINDS = new Set<OperationRequest['kind']>(['image-create', 'image-clone', 'image-delete', 'image-snapshot', 'saveas', 'image-recover']);

/** The task, and close() for the connections it opened. */
export function operationTask(options: OperationTaskOptions): { task: Task; close(): void } {
  const pool = new CatalogPool(options.openCatalog);
  const task: Task = async (payload, helpers) => {
    const { operationId } = operationPayload(payload);
    const catalog = pool.take();
    try {
      catalog.actFor(operationId);
      await runOperation(options, catalog, operationId, helpers.job.attempts >= helpers.job.max_attempts);
    } finally {
      pool.give(catalog);
    }
  };
  return { task, close: () => pool.close() };
}

/** `lastAttempt`: the queue will not run the job again, so nothing is thrown back to it: the failure is recorded. */
async function runOperation(options: OperationTaskOptions, catalog: Catalog, id: number, lastAttempt: boolean): Promise<void> {
  const before = catalog.startOperation(id, options.worker);
  const log = options.logger.child({ operation: id, subject: before.subject });
  if (before.state === 'done' || before.state === 'failed') {
    log.info({ state: before.state }, 'operation already ended');
    return;
  }
  const current = { ...before, state: 'running' as const, worker: options.worker, attempts: before.attempts + 1 };
  const request = before.request as OperationRequest;
  // Only a VM operation's steps are stopped for a hand-back; an image operation (one action) is let finish.
  const handsBack = options.handback !== undefined && !IMAGE_KINDS.has(request.kind);
  const life: LifecycleOptions = {
    ...options.life(catalog),
    catalog,
    ...(handsBack && options.handback ? { signal: options.handback } : {}),
    onStep: (event) => {
      // The dead worker's successor reads these: a step started and not done was in flight.
      if (event.outcome === undefined) catalog.markStepStarted(id, event.index, event.total);
      else if (event.outcome.ok) catalog.markStepDone(id, event.index);
      options.onStep?.(current, event);
    },
  };
  const orchestrator = new Orchestrator(life);
  log.info({ kind: before.operation, attempt: current.attempts, resumed: before.state === 'running' }, before.state === 'running' ? 'operation taken up after its worker stopped' : 'operation started');
  let value: unknown;
  try {
    const resumed = before.state === 'running' ? await resume(life, orchestrator, before) : ({ kind: 'start-again' } as const);
    if (resumed.kind === 'result') value = resumed.value;
    else {
      // An image operation is one action: noted as started before it is planned, so a successor knows.
      if (IMAGE_KINDS.has(request.kind)) catalog.markStepStarted(id, 0, 1);
      value = await startFresh(orchestrator, catalog, request);
      if (IMAGE_KINDS.has(request.kind)) catalog.markStepDone(id, 0);
    }
  } catch (error) {
    const failure = toFerryError(error);
    if (!lastAttempt && handsBack && options.handback?.aborted === true && handBack(catalog, request, failure)) {
      log.warn({ error: failure.message }, 'operation handed back to the queue');
      throw new Error(`operation ${id} handed back: the worker is stopping`);
    }
    if (failure.code === 'E_CATALOG' && !lastAttempt) {
      // The catalog is not there to record the outcome: the job is tried again later and resumes.
      log.error({ error: failure.message }, 'operation left unfinished: the catalog failed');
      throw failure;
    }
    catalog.endOperation(id, { ok: false, error: failure });
    log.warn({ code: failure.code, error: failure.message }, 'operation failed');
    return;
  }
  const resultId = typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' ? (value as { id: number }).id : null;
  catalog.endOperation(id, { ok: true, resultId });
  log.info({ resultId }, 'operation done');
}

/**
 * A VM operation whose step was stopped for the hand-back: the VM is put back as interrupted at that step (its
 * state before the operation, the step in flight), not FAILED, so the worker that takes the job up decides as
 * after a death. Image operations are one action each and are not handed back (false: recorded as failed).
 */
function handBack(catalog: Catalog, request: OperationRequest, failure: FerryError): boolean {
  if (failure.code !== 'E_CANCELLED' || (request.kind !== 'vm' && request.kind !== 'recover')) return false;
  const vm = catalog.vm(request.vm);
  if (vm.state !== 'FAILED' || vm.operation === null) return false;
  catalog.updateVm(vm.id, { state: vm.previousState ?? 'PENDING', error: null });
  return true;
}
