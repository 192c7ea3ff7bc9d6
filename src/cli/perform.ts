/**
 * Running a command's plan: in this process (a SQLite catalog, a datastore change, or `queue: false`), or, on a
 * PostgreSQL catalog, queued to the workers (queue/submit.ts) and waited for, its steps printed as the journal
 * shows them; with --async the operation's id is printed and the command returns. Either way the command gets the
 * same VM or image back and prints it the same way.
 */
import { hostname } from 'node:os';
import type { Catalog } from '../catalog/catalog.js';
import { FerryError } from '../errors.js';
import type { ImageRecoverPlan } from '../lifecycle/image-recover.js';
import type { DatastorePlan, ImagePlan, Plan, RecoverPlan, SaveAsPlan, VmPlan } from '../lifecycle/plan.js';
import { printable } from '../log/printable.js';
import type { Datastore, Image, JournalEntry, Operation, Vm } from '../model.js';
import type { CatalogContext } from './catalog-context.js';
import { print } from './catalog-context.js';
import { flagsOf } from './context.js';
import type { Command } from 'commander';

export type Performable = Plan | ImageRecoverPlan;
export type PerformResult<P> = P extends VmPlan | RecoverPlan ? Vm : P extends DatastorePlan ? Datastore : P extends ImagePlan | SaveAsPlan | ImageRecoverPlan ? Image : never;

/**
 * Whether this command's operations go through the queue: a PostgreSQL catalog, unless $FERRY_QUEUE (off/on) or
 * ferry.yaml's `queue: false` says otherwise ($FERRY_QUEUE wins: one command run in-process on a queued catalog).
 */
export function queued(ctx: Pick<CatalogContext, 'catalog' | 'config' | 'io'>): boolean {
  if (ctx.catalog.dialect !== 'postgres') return false;
  const fromEnv = ctx.io.env.FERRY_QUEUE;
  if (fromEnv === undefined || fromEnv === '') return ctx.config.queue !== false;
  if (['off', 'false', '0'].includes(fromEnv)) return false;
  if (['on', 'true', '1'].includes(fromEnv)) return true;
  throw new FerryError('E_USAGE', `$FERRY_QUEUE ${JSON.stringify(fromEnv)} is neither on nor off`, { hint: 'FERRY_QUEUE=off runs the operation in this command; on (or unset) queues it to the workers' });
}

/**
 * Runs `plan` and returns what it made or changed; undefined with --async (the queued operation was printed).
 */
export async function perform<P extends Performable>(ctx: CatalogContext, command: Command, plan: P): Promise<PerformResult<P> | undefined> {
  const isAsync = flagsOf(command).async === true;
  if (plan.kind === 'datastore' || !queued(ctx)) {
    if (isAsync) {
      throw new FerryError('E_USAGE', plan.kind === 'datastore' ? 'datastore changes run in the command; --async is for VM and image operations' : '--async queues an operation to ferry workers, which needs a PostgreSQL catalog with the queue on', {
        hint: 'leave out --async (the command runs the operation itself and waits), or see docs/workers.md',
      });
    }
    return (await (plan.kind === 'image-recover' ? ctx.orchestrator.recoverImage(plan) : ctx.orchestrator.execute(plan))) as PerformResult<P>;
  }
  const [{ submit }, { liveWorkers, journalMark, operationError, waitForOperation }] = await Promise.all([import('../queue/submit.js'), import('../queue/wait.js')]);
  const catalog = ctx.catalog as Catalog;
  await ensureQueue(catalog, ctx);
  const before = plan.kind === 'vm' && !plan.input ? journalMark(catalog, `vm:${plan.vm.id}`) : undefined;
  const operation = submit(catalog, { catalog, runner: ctx.runner, frontend: ctx.frontend }, plan, { createdBy: `${hostname()}:${process.pid}` });
  const workers = liveWorkers(catalog.executor);
  if (workers === 0) ctx.io.stderr.write(`ferry: no ferry worker is connected to this catalog; operation ${operation.id} waits for one (start one: ferry worker)\n`);
  if (isAsync) {
    print(ctx, { operation }, () => `operation ${operation.id} queued: ${printable(operation.operation)} ${operation.subject}\n`);
    if (!ctx.json) ctx.io.stderr.write(`ferry: wait for it: ferry op wait ${operation.id}; see it: ferry op show ${operation.id}\n`);
    return undefined;
  }
  if (!ctx.json) ctx.io.stderr.write(`ferry: operation ${operation.id} queued (${printable(operation.operation)} ${operation.subject})\n`);
  const ended = await waitForOperation(catalog, operation.id, {
    ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
    ...(before !== undefined ? { afterId: before } : {}),
    ...(ctx.json ? {} : { onEntry: (entry: JournalEntry, op: Operation) => ctx.io.stderr.write(`${entryLine(entry, op)}\n`) }),
  });
  if (ended.state === 'failed') throw operationError(ended);
  return resultOf(catalog, ended, plan) as PerformResult<P>;
}

/**
 * Installs the queue's schema when no worker has yet (a worker installs it on start): the first command queuing
 * on a new catalog must not fail for want of one. A query when it is there.
 */
async function ensureQueue(catalog: Catalog, ctx: CatalogContext): Promise<void> {
  const found = catalog.executor.get<{ t: string | null }>({ sql: `SELECT to_regclass('graphile_worker._private_jobs')::text AS t`, parameters: [] });
  if (found?.t) return;
  const [{ parsePostgresUrl }, { findPassword }, { installQueue, queuePool }] = await Promise.all([import('../catalog/location.js'), import('../catalog/pgpass.js'), import('../queue/install.js')]);
  const location = parsePostgresUrl(catalog.path, '--catalog', ctx.io.env);
  const pool = queuePool(location, findPassword(location, ctx.io.env)?.password, 2, 'ferry-queue-install');
  try {
    await installQueue(pool, ctx.logger);
  } finally {
    await pool.end();
  }
}

/** A journal entry as a progress line, like the in-process steps' (catalog-context.ts printStep). */
function entryLine(entry: JournalEntry, operation: Operation): string {
  const of = entry.step !== null ? ` [${entry.step + 1}/${operation.steps ?? '?'}]` : '';
  return printable(`  ${entry.ok ? 'ok  ' : 'FAIL'}${of} ${entry.action.toUpperCase()} ${entry.driver} ${entry.args.join(' ')}  (${Math.round(entry.durationMs ?? 0)} ms)${entry.ok ? '' : `  ${entry.message ?? ''}`}`);
}

/** What an ended operation made or changed, read from the catalog as the in-process run would return it. */
function resultOf(catalog: Catalog, operation: Operation, plan: Performable): Vm | Image | undefined {
  const request = operation.request as { kind: string; vm?: number; image?: number };
  if (request.kind === 'vm' || request.kind === 'recover') return catalog.vm(operation.resultId ?? (request.vm as number));
  if (operation.resultId !== null) return catalog.findImage(operation.resultId) ?? undefined;
  // An image deleted: the record is gone; the plan's image is what was deleted.
  return 'image' in plan ? (plan.image as Image) : undefined;
}
