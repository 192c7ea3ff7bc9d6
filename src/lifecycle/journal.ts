/**
 * Runs driver actions for the lifecycle and journals each one, success or
 * failure, under its subject (vm:7, image:3, datastore:1). What the outcome
 * changes in the catalog is written in the same transaction as the journal
 * entry, so the two never disagree and each action costs one commit.
 */
import type { CatalogStore, CatalogTx } from '../catalog/store.js';
import type { DsAction } from '../contract/table.js';
import type { ActionResult, Runner } from '../driver/runner.js';
import type { LogRecord } from '../log/record.js';
import { datastoreDump, secretEnv } from '../dump/from-catalog.js';
import { toFerryError, type FerryError } from '../errors.js';
import type { Datastore, Image, PlanStep } from '../model.js';
import type { Alerting } from './alert-rules.js';

/** Reported before and after each driver action of a VM plan, for the CLI's progress lines. */
export interface StepEvent {
  subject: string;
  operation: string;
  index: number;
  total: number;
  step: PlanStep;
  outcome?: { ok: boolean; durationMs: number; message?: string };
}

/** What every lifecycle service works with. */
export interface LifecycleOptions {
  /** The catalog, through the store interface (the SQLite Catalog, or another store). */
  catalog: CatalogStore;
  runner: Runner;
  /** The frontend's name in host:path arguments. */
  frontend: string;
  onStep?: (event: StepEvent) => void;
  signal?: AbortSignal;
  /** Seconds a datastore's figures are trusted before an image create, clone or save-as refreshes them (capacity.ts; default 300). */
  monitorMaxAgeS?: number;
  /** The alert rules of each datastore (alert-rules.ts); default the built-in ones. */
  alerting?: Alerting;
}

/** Which outcomes go in the journal: all, or (for the service's periodic monitor runs, whose successes are history samples) failures only. */
export type JournalPolicy = 'all' | 'failures';

/** What the outcome of an action changes, written with its journal entry. */
export interface AfterAction {
  ok?: (tx: CatalogTx) => void;
  failed?: (tx: CatalogTx, failure: FerryError) => void;
}

/** `fn`, run at most once. */
export function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function signalOf(life: LifecycleOptions): { signal?: AbortSignal } {
  return life.signal ? { signal: life.signal } : {};
}

const logsOf = (logs: readonly LogRecord[] | undefined) => (logs ?? []).map((record) => ({ level: record.level, message: record.message }));

/**
 * Runs one driver action and journals it under `subject`, success or
 * failure; `after` records what the outcome changes (the next step, a
 * FAILED state) in the same transaction as the journal entry.
 */
export async function act(life: LifecycleOptions, subject: string, operation: string, stepIndex: number | null, planStep: PlanStep, run: () => Promise<ActionResult>, after: AfterAction = {}, journal: JournalPolicy = 'all'): Promise<ActionResult> {
  const started = performance.now();
  const entry = { subject, operation, step: stepIndex, kind: planStep.kind, action: planStep.action, args: planStep.args };
  let result: ActionResult;
  try {
    result = await run();
  } catch (error) {
    const failure = toFerryError(error);
    life.catalog.transaction((tx) => {
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
  if (journal === 'all' || after.ok) {
    life.catalog.transaction((tx) => {
      if (journal === 'all') tx.record({ ...entry, driver: result.driver, ok: true, exitCode: 0, durationMs: result.durationMs, message: null, logs: logsOf(result.logs) });
      after.ok?.(tx);
    });
  }
  return result;
}

/** Runs a plan step's TM action. */
export function runStep(life: LifecycleOptions, planStep: PlanStep): Promise<ActionResult> {
  return life.runner.run({ kind: 'tm', action: planStep.action, driver: planStep.driver, args: planStep.args, ...signalOf(life) });
}

export interface DatastoreActionOptions {
  /** The image the action is for: its dump describes it, and it is journaled under it. */
  image?: Image;
  /** What the dump says of the image instead (a new one, a PATH left out …). */
  dumpImage?: Partial<Image> & { id: number };
  /** Root elements added to the dump (TARGET_SNAPSHOT). */
  extra?: Record<string, string | number>;
  /** The operation journaled (default: the action). */
  operation?: string;
  journal?: JournalPolicy;
  /** Seconds the action may take (over the contract's and ferry.yaml's), and its own cancel signal (over the lifecycle's). */
  timeoutSec?: number;
  signal?: AbortSignal;
}

/** Runs a datastore action step on `ds`, journaled under the image or the datastore. */
export function datastoreAction(life: LifecycleOptions, ds: Datastore, planStep: PlanStep, options: DatastoreActionOptions = {}): Promise<ActionResult> {
  const { image } = options;
  const id = image?.id ?? options.dumpImage?.id ?? ds.id;
  const dump = datastoreDump(ds, options.dumpImage ?? image, options.extra);
  return act(life, image ? `image:${image.id}` : `datastore:${ds.id}`, options.operation ?? planStep.action, null, planStep, () =>
    life.runner.run({
      kind: 'datastore',
      action: planStep.action as DsAction,
      dump,
      id,
      env: secretEnv(ds),
      ...signalOf(life),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutSec !== undefined ? { timeoutSec: options.timeoutSec } : {}),
    }),
    {},
    options.journal,
  );
}
