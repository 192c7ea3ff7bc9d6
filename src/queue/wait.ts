/**
 * Waiting for a queued operation to end, as the command that queued it does by default and `ferry op wait` does:
 * the operation's row is read every so often (50 ms at first, then less often, at most every 500 ms: a short
 * operation is seen at once, a long one costs the database a read every half second), and the journal entries of
 * its subject that appeared meanwhile are handed to `onEntry` (the command's progress lines).
 */
import type { CatalogStore } from '../catalog/store.js';
import type { Executor } from '../catalog/db/executor.js';
import { EXIT_STATUS, FerryError, type ErrorCode } from '../errors.js';
import type { JournalEntry, Operation } from '../model.js';
import { PRESENCE_PREFIX } from './enqueue.js';

export interface WaitOptions {
  /** Stops waiting (not the operation): E_CANCELLED naming how to wait again. */
  signal?: AbortSignal;
  /** Journal entries of the operation's subject after `afterId`, oldest first. */
  onEntry?: (entry: JournalEntry, operation: Operation) => void;
  afterId?: number;
  /** Each change of the operation's state or step. */
  onChange?: (operation: Operation) => void;
}

const ended = (operation: Operation): boolean => operation.state === 'done' || operation.state === 'failed';

/** The newest journal id of `subject` (0: none): what a waiter shows entries after. */
export function journalMark(catalog: CatalogStore, subject: string): number {
  return catalog.journalPage({ subject, limit: 1 })[0]?.id ?? 0;
}

/** Resolves with the operation once it is done or failed. */
export async function waitForOperation(catalog: CatalogStore, id: number, options: WaitOptions = {}): Promise<Operation> {
  let operation = catalog.operation(id);
  let afterId = options.afterId ?? journalMark(catalog, operation.subject);
  let delay = 50;
  let seen = '';
  for (;;) {
    const key = `${operation.state}/${operation.subject}/${operation.stepStarted}/${operation.stepDone}/${operation.attempts}`;
    if (key !== seen) {
      seen = key;
      options.onChange?.(operation);
    }
    if (options.onEntry && !operation.subject.startsWith('op:')) {
      for (const entry of catalog.journalPage({ subject: operation.subject, afterId, limit: 100 })) {
        afterId = entry.id;
        options.onEntry(entry, operation);
      }
    }
    if (ended(operation)) return operation;
    await sleep(delay, options.signal, id);
    delay = Math.min(500, Math.round(delay * 1.5));
    operation = catalog.operation(id);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, id: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stopped = (): void => {
      clearTimeout(timer);
      reject(new FerryError('E_CANCELLED', `stopped waiting for operation ${id}; it goes on in the workers`, { hint: `wait for it again: ferry op wait ${id}` }));
    };
    if (signal?.aborted) return stopped();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stopped);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stopped, { once: true });
  });
}

/** How many `ferry worker`s are connected to the catalog's database now (their presence sessions: worker.ts). */
export function liveWorkers(executor: Executor): number {
  const row = executor.get<{ n: number }>({ sql: `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`, parameters: [`${PRESENCE_PREFIX}%`] });
  return Number(row?.n ?? 0);
}

/** The operation's failure as the error a command exits with (its code, message and hint as recorded). */
export function operationError(operation: Operation): FerryError {
  const recorded = operation.errorCode ?? 'E_INTERNAL';
  const code: ErrorCode = Object.hasOwn(EXIT_STATUS, recorded) ? (recorded as ErrorCode) : 'E_INTERNAL';
  return new FerryError(code, `operation ${operation.id} (${operation.operation} ${operation.subject}) failed: ${operation.error ?? 'no error was recorded'}`, {
    ...(operation.errorHint ? { hint: operation.errorHint } : {}),
  });
}
