/**
 * Turns an operator's intent into driver actions and runs them against the
 * catalog: images (cp, mkfs, rm), datastore monitoring, and VM operations
 * whose plans come from plan.ts. Every action is journaled; a VM operation
 * records its plan and the next step before it runs, so a failure (or a
 * killed ferry) leaves the VM FAILED at a known step, and recover() can
 * retry from there, mark it done, or roll it back.
 */
import { existsSync } from 'node:fs';
import type { Catalog, Datastore, Image, NewVm, PlanStep, Vm } from '../catalog/catalog.js';
import type { MonitorResult } from '../contract/parsers.js';
import { buildDump, type ActionDump } from '../dump/dump.js';
import { envName } from '../dump/env.js';
import type { ActionResult, Runner } from '../driver/runner.js';
import type { LogRecord } from '../driver/stderr.js';
import { FerryError, toFerryError } from '../errors.js';
import { diskPath } from '../catalog/layout.js';
import { planFor, TRANSITIONS, transferLine, vmFolder, type PlanContext, type VmOperation } from './plan.js';

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
  catalog: Catalog;
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

/** A VM with no operation under way. */
const IDLE = { operation: null, plan: null, step: null, previousState: null, targetHost: null, error: null } as const;

const DS_TYPE_NUMBER = { IMAGE: 0, SYSTEM: 1, FILE: 2 } as const;

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

  private get catalog(): Catalog {
    return this.options.catalog;
  }

  /** Runs one driver action and journals it under `subject`, success or failure. */
  private async act(subject: string, operation: string, stepIndex: number | null, planStep: PlanStep, run: () => Promise<ActionResult>): Promise<ActionResult> {
    const started = performance.now();
    const entry = { subject, operation, step: stepIndex, kind: planStep.kind, action: planStep.action, args: planStep.args };
    const logsOf = (logs: readonly LogRecord[] | undefined) => (logs ?? []).map((record) => ({ level: record.level, message: record.message }));
    try {
      const result = await run();
      this.catalog.record({ ...entry, driver: result.driver, ok: true, exitCode: 0, durationMs: result.durationMs, message: null, logs: logsOf(result.logs) });
      return result;
    } catch (error) {
      const failure = toFerryError(error);
      this.catalog.record({
        ...entry,
        driver: failure.driver ?? planStep.driver,
        ok: false,
        exitCode: failure.exitCode ?? null,
        durationMs: failure.durationMs ?? Math.round(performance.now() - started),
        message: failure.message,
        logs: logsOf(failure.logs),
      });
      throw failure;
    }
  }

  /** Runs a datastore action on `ds` (for `image` when given), journaled under the image or the datastore. */
  private datastoreAction(ds: Datastore, action: 'cp' | 'mkfs' | 'rm' | 'monitor', image?: Image): Promise<ActionResult> {
    const id = image?.id ?? ds.id;
    const driver = action === 'monitor' && ds.type === 'SYSTEM' ? ds.tmMad : (ds.dsMad ?? '');
    const planStep: PlanStep = { kind: 'datastore', action, driver, args: [String(id)], why: image ? `${action} image ${image.name}` : action };
    return this.act(image ? `image:${image.id}` : `datastore:${ds.id}`, action, null, planStep, () =>
      this.options.runner.run({ kind: 'datastore', action, dump: datastoreDump(ds, image), id, env: secretEnv(ds), ...this.signal() }),
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
  imagePlan(action: 'cp' | 'mkfs' | 'rm', ds: Datastore, what: string): string {
    return `# ferry ds ${action} (datastore ${ds.id} ${ds.name}, driver ${ds.dsMad ?? '?'}): ${what}`;
  }

  /** Checks a new image against its datastore before anything runs (also for --dry-run); returns the action it needs. */
  checkNewImage(input: NewImageInput): 'cp' | 'mkfs' {
    const ds = input.datastore;
    if (ds.type === 'SYSTEM') {
      throw new FerryError('E_CONFLICT', `datastore ${ds.name} is a SYSTEM datastore; images go in an IMAGE (or FILE) datastore`, { hint: 'pick an IMAGE datastore: ferry datastore list' });
    }
    if (!ds.dsMad) throw new FerryError('E_CONFLICT', `datastore ${ds.name} has no datastore driver (ds_mad)`, { hint: 'ferry datastore update --ds-mad NAME' });
    if (input.path !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(input.path) && !existsSync(input.path)) {
      throw new FerryError('E_USAGE', `image file ${input.path} does not exist`, { hint: 'pass an existing file or an http(s) URL to --path' });
    }
    if (input.path === undefined && input.sizeMb === undefined) throw new FerryError('E_USAGE', 'an image needs --path FILE|URL or --size MB', { hint: 'ferry image create --help' });
    return input.path !== undefined ? 'cp' : 'mkfs';
  }

  /** Registers an image: cp from a path or URL, or mkfs of a new empty one. READY on success, ERROR with the reason on failure. */
  async createImage(input: NewImageInput): Promise<Image> {
    const action = this.checkNewImage(input);
    const ds = input.datastore;
    const image = this.catalog.addImage({
      name: input.name,
      datastoreId: ds.id,
      ...(input.path !== undefined ? { path: input.path } : {}),
      ...(input.sizeMb !== undefined ? { sizeMb: input.sizeMb } : {}),
      ...(input.fs !== undefined ? { fs: input.fs } : {}),
      ...(input.format !== undefined ? { format: input.format } : {}),
      ...(input.persistent !== undefined ? { persistent: input.persistent } : {}),
      ...(input.type !== undefined ? { type: input.type } : {}),
    });
    const unlock = this.catalog.lock(`image:${image.id}`, action);
    try {
      const result = await this.datastoreAction(ds, action, image);
      const made = result.result as { source: string; sizeMb?: number; format?: string };
      return this.catalog.updateImage(image.id, {
        source: made.source,
        sizeMb: made.sizeMb ?? image.sizeMb,
        format: made.format ?? image.format,
        state: 'READY',
        error: null,
      });
    } catch (error) {
      const failure = toFerryError(error);
      this.catalog.updateImage(image.id, { state: 'ERROR', error: `${action}: ${failure.message}` });
      throw failure;
    } finally {
      unlock();
    }
  }

  /** Removes an image (rm in its datastore, then the record); refused while a VM uses it. */
  async deleteImage(image: Image): Promise<void> {
    const users = this.catalog.vmsUsingImage(image.id);
    if (users.length > 0) throw new FerryError('E_CONFLICT', `image ${image.name} is used by VM(s) ${users.join(', ')}`, { hint: 'shut those VMs down first' });
    const ds = this.catalog.datastore(image.datastoreId);
    const unlock = this.catalog.lock(`image:${image.id}`, 'rm');
    try {
      if (image.source && ds.dsMad) {
        this.catalog.updateImage(image.id, { state: 'DELETING' });
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

  // --- VMs

  planContext(vm: Vm): PlanContext {
    return {
      vm,
      systemDs: this.catalog.datastore(vm.systemDsId),
      frontend: this.options.frontend,
      image: (id) => this.catalog.image(id),
      datastore: (id) => this.catalog.datastore(id),
    };
  }

  /** The plan an operation would run, checked against the VM's state; nothing runs. */
  plan(vm: Vm, operation: VmOperation, target?: string): PlanStep[] {
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
    return planFor(operation, this.planContext(vm), target);
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
        if (image.persistent) {
          const users = this.catalog.vmsUsingImage(image.id);
          if (users.length > 0 || claimed.has(image.id)) {
            throw new FerryError('E_CONFLICT', `persistent image ${image.name} is already in use by VM ${users[0] ?? 'being created'}`, { hint: 'a persistent image serves one VM at a time: shut that VM down, or clone the image' });
          }
          claimed.add(image.id);
        }
        disks.push({ diskId, kind: 'image', imageId: image.id, mode: image.persistent ? 'ln' : 'clone', sizeMb: null, format: null, files: null });
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
    const checked = this.checkVm(input);
    const systemDs = this.catalog.datastore(checked.systemDsId);
    const id = this.catalog.listVms().reduce((max, vm) => Math.max(max, vm.id), 0) + 1;
    const vm: Vm = {
      id,
      name: checked.name,
      host: checked.host,
      systemDsId: checked.systemDsId,
      state: 'PENDING',
      ...IDLE,
      disks: checked.disks.map((disk) => ({ ...disk, target: diskPath(systemDs.basePath, id, disk.diskId) })),
      createdAt: '',
      updatedAt: '',
    };
    return planFor('create', this.planContext(vm));
  }

  /** Records a new VM (PENDING) and deploys it. */
  async createVm(input: NewVmInput): Promise<Vm> {
    const vm = this.catalog.transaction(() => {
      const checked = this.checkVm(input);
      return this.catalog.addVm(checked, this.catalog.datastore(checked.systemDsId).basePath);
    });
    return this.operate(vm.id, 'create');
  }

  /** Runs an operation on a VM: plan, record, run each step, reach the next state. */
  async operate(ref: string | number, operation: VmOperation, target?: string): Promise<Vm> {
    const vm = this.catalog.vm(ref);
    const unlock = this.catalog.lock(`vm:${vm.id}`, operation);
    try {
      // Read again under the lock: another ferry may have changed it before we got it.
      const current = this.catalog.vm(vm.id);
      const steps = this.plan(current, operation, target);
      this.catalog.updateVm(current.id, { operation, plan: steps, step: 0, previousState: current.state, targetHost: target ?? null, error: null });
      return await this.runFrom(current.id, 0);
    } finally {
      unlock();
    }
  }

  /** Runs the recorded plan from step `from`; on failure the VM is FAILED at that step. */
  private async runFrom(id: number, from: number): Promise<Vm> {
    const vm = this.catalog.vm(id);
    const steps = vm.plan ?? [];
    const operation = vm.operation ?? 'unknown';
    for (let index = from; index < steps.length; index++) {
      const planStep = steps[index] as PlanStep;
      this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep });
      const started = performance.now();
      try {
        await this.act(`vm:${id}`, operation, index, planStep, () =>
          this.options.runner.run({ kind: 'tm', action: planStep.action, driver: planStep.driver, args: planStep.args, ...this.signal() }),
        );
      } catch (error) {
        const failure = toFerryError(error);
        this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep, outcome: { ok: false, durationMs: performance.now() - started, message: failure.message } });
        this.catalog.updateVm(id, { state: 'FAILED', step: index, error: `${operation} step ${index + 1}/${steps.length} (${transferLine(planStep)}): ${failure.message}` });
        throw failure;
      }
      this.catalog.updateVm(id, { step: index + 1 });
      this.options.onStep?.({ subject: `vm:${id}`, operation, index, total: steps.length, step: planStep, outcome: { ok: true, durationMs: performance.now() - started } });
    }
    return this.finish(id);
  }

  /** Applies an operation's end state once all its steps are done. */
  private finish(id: number): Vm {
    const vm = this.catalog.vm(id);
    const operation = vm.operation ?? '';
    return this.catalog.transaction(() => {
      if (operation.endsWith('-rollback')) {
        return this.catalog.updateVm(id, { ...IDLE, state: vm.previousState ?? 'PENDING' });
      }
      const to = TRANSITIONS[operation as VmOperation]?.to ?? vm.state;
      if (operation === 'create') {
        for (const disk of vm.disks) if (disk.imageId !== null) this.catalog.updateImage(disk.imageId, { state: 'USED' });
      }
      const done = this.catalog.updateVm(id, { ...IDLE, state: to, host: operation === 'migrate' && vm.targetHost ? vm.targetHost : vm.host });
      if (operation === 'shutdown') this.releaseImages(done);
      return done;
    });
  }

  /** Images of a finished VM go back to READY unless another VM still uses them. */
  private releaseImages(vm: Vm): void {
    for (const disk of vm.disks) {
      if (disk.imageId === null) continue;
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
    try {
      // Read again under the lock: another ferry may have recovered it meanwhile.
      const vm = recoverable(this.catalog.vm(found.id));
      if (mode === 'success') return this.finish(vm.id);
      if (mode === 'retry') return await this.runFrom(vm.id, vm.step ?? 0);
      const undo = this.rollbackPlan(vm);
      this.catalog.updateVm(vm.id, { operation: `${vm.operation}-rollback`, plan: undo, step: 0, error: null });
      return await this.runFrom(vm.id, 0);
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
    if (operation === 'create') {
      const ctx = this.planContext(vm);
      const undo: PlanStep[] = [];
      for (const planStep of [...done].reverse()) {
        // Every deploy action names its destination third from last: ... host:path vm_id ds_id.
        const where = planStep.args[planStep.args.length - 3] as string;
        const rest = planStep.args.slice(-2);
        if (planStep.action === 'ln') {
          const image = vm.disks.find((disk) => where.endsWith(`:${disk.target}`));
          const source = image?.imageId !== null && image?.imageId !== undefined ? this.catalog.image(image.imageId).source : null;
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
