/**
 * `ferry mad datastore|tm`: OpenNebula's driver-process line protocol on
 * stdin/stdout. Requests are `<ACTION> <id> <payload>`, replies
 * `<ACTION> <SUCCESS|FAILURE> <id> <info>` and `LOG <E|W|I|D> <id> <message>`,
 * one whole line each. Many actions run at once in a KeyedPool: at most N
 * scripts, never two on one image (datastore) or one VM (tm).
 */
import { existsSync, readFileSync } from 'node:fs';
import { actionForVerb, lockKey, resolveRoute, specFor, type Target } from '../contract/lookup.js';
import { TRANSFER_REQUEST, type Kind } from '../contract/table.js';
import { readDump, type ActionDump } from '../dump/dump.js';
import type { ActionResult, Runner } from '../driver/runner.js';
import { isDriverFolder } from '../driver/locate.js';
import { parseTransfer, runTransfer } from '../driver/transfer.js';
import type { LogRecord } from '../log/record.js';
import { toFerryError } from '../errors.js';
import { KeyedPool } from './queue.js';

export interface MadOptions {
  kind: Kind;
  runner: Runner;
  /** Scripts running at once (-t). */
  concurrency: number;

  /** Seconds per action (-w); default: the contract's and the drivers'. */
  timeoutSec?: number;
  /** Drivers enabled (-d, a fixed Set); default: driverFolders(), whatever is under remotes/<kind> when an action needs it. */
  enabled: DriverSet;
  /** TM drivers allowed to monitor system datastores (-s); default every tm driver. */
  systemTm?: DriverSet;
  lines: AsyncIterable<string>;
  write(line: string): void;
  /** Aborted when ferry is told to stop (SIGTERM, Ctrl-C): running actions are killed, queued ones answered FAILURE. */
  signal?: AbortSignal;
}

/** Which drivers may run: a Set for a fixed list, or driverFolders() to follow the remotes folder as it changes. */
export interface DriverSet {
  has(name: string): boolean;
}

/**
 * Every folder under remotes/<kind>, looked up when an action needs it, so a
 * driver added or removed while ferry mad runs is seen on the next action
 * without a restart (the runner re-locates a changed script or driver.yaml by
 * itself).
 */
export function driverFolders(remotes: string, kind: Kind): DriverSet {
  return { has: (name) => isDriverFolder(remotes, kind, name) };
}

const LEVEL_LETTER: Record<LogRecord['level'], string> = { error: 'E', warn: 'W', info: 'I', debug: 'D' };
const ID = /^-?\d+$/;

/**
 * A script's stdout as the info of a SUCCESS reply, as OpenNebula's driver
 * processes send it (`puts "#{action} SUCCESS #{id} #{stdout}"`): byte for
 * byte, blanks kept, less the one newline that ends the line; empty is `-`.
 * A line break inside it, which would start a second protocol line, becomes
 * a space.
 */
export function successInfo(stdout: string): string {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  return text === '' ? '-' : text.replace(/\r?\n/g, ' ');
}

/** Text as one protocol field: line breaks become spaces, empty becomes `-`. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat === '' ? '-' : flat;
}

export async function serveMad(options: MadOptions): Promise<void> {
  const pool = new KeyedPool(options.concurrency);
  const running = new Map<string, Set<AbortController>>();
  /** Actions received but not started, per id, so DRIVER_CANCEL reaches them too. */
  const queued = new Map<string, Set<{ cancelled: boolean }>>();
  /** Remembers a queued action under its id; returns its ticket and a way to forget it when it starts. */
  const enqueue = (id: string): { ticket: { cancelled: boolean }; started(): void } => {
    const ticket = { cancelled: false };
    const set = queued.get(id) ?? new Set();
    set.add(ticket);
    queued.set(id, set);
    return {
      ticket,
      started: () => {
        set.delete(ticket);
        if (set.size === 0) queued.delete(id);
      },
    };
  };
  let stopping = false;
  const enabled = options.enabled;
  const systemTm = options.systemTm;
  const write = options.write;
  const logLines = (id: string, logs: readonly LogRecord[] | undefined): void => {
    for (const record of logs ?? []) write(`LOG ${LEVEL_LETTER[record.level]} ${id} ${oneLine(record.message)}`);
  };
  const call = (id: string): { signal: AbortSignal; done(): void; timeoutSec?: number } => {
    const controller = new AbortController();
    const set = running.get(id) ?? new Set<AbortController>();
    set.add(controller);
    running.set(id, set);
    return {
      signal: controller.signal,
      ...(options.timeoutSec !== undefined ? { timeoutSec: options.timeoutSec } : {}),
      done: () => {
        set.delete(controller);
        if (set.size === 0) running.delete(id);
      },
    };
  };

  /** A datastore request: `verb` is a protocol verb of the contract table (CP, MONITOR, RESTORE …), `action` its row. */
  const datastore = (verb: string, action: string, id: string, payload: string | undefined): void => {
    const spec = specFor('datastore', action);
    const reply = (ok: boolean, info: string): void => {
      const field = spec.protocol?.reply === 'base64' ? Buffer.from(info === '' ? '-' : info).toString('base64') : ok ? successInfo(info) : oneLine(info);
      write(`${verb} ${ok ? 'SUCCESS' : 'FAILURE'} ${id} ${field}`);
    };
    if (!payload) return write(`${verb} FAILURE ${id} ${oneLine('missing payload: the base64 action dump')}`);
    // Only the base64 text waits in the queue, so a long queue costs its payloads; the dump is read once, when the
    // action starts (as the anchor's driver checks the driver inside the action, not on arrival).
    const entry = enqueue(id);
    pool.push({
      // The row says what the id names (MONITOR's is a datastore's, not an image's).
      key: lockKey(spec, id),
      run: async () => {
        entry.started();
        if (entry.ticket.cancelled) return reply(false, 'cancelled (DRIVER_CANCEL) before it started');
        if (stopping) return reply(false, 'ferry mad is stopping; the action did not start');
        let dump: ActionDump;
        let target: Target | undefined;
        try {
          dump = readDump(payload);
        } catch (error) {
          return reply(false, toFerryError(error).message);
        }
        try {
          target = resolveRoute('datastore', action, dump);
        } catch {
          // No driver named in the dump: answered below as OpenNebula's driver process does.
        }
        // A routed action (a system datastore's MONITOR) runs a TM driver, allowed by -s; the others by -d.
        const allowed = target?.kind === 'tm' ? (systemTm ?? null) : enabled;
        let available: boolean;
        try {
          available = target !== undefined && (allowed === null || allowed.has(target.driver));
        } catch (error) {
          // The remotes folder could not be read (EACCES …): say so, never leave the core without a reply.
          return reply(false, toFerryError(error).message);
        }
        if (!available) {
          return write(`${verb} FAILURE ${id} ${oneLine(`Datastore driver '${target?.driver ?? dump.get('DATASTORE/DS_MAD') ?? ''}' not available`)}`);
        }
        const each = call(id);
        try {
          const result = await options.runner.runAny({ kind: 'datastore', action, dump, id, parse: false, signal: each.signal, ...(each.timeoutSec ? { timeoutSec: each.timeoutSec } : {}) });
          logLines(id, result.logs);
          reply(true, result.stdout);
        } catch (error) {
          const failure = toFerryError(error);
          logLines(id, failure.logs);
          reply(false, failure.message);
        } finally {
          each.done();
        }
      },
    });
  };

  const transfer = (id: string, file: string | undefined): void => {
    const fail = (message: string): void => write(`TRANSFER FAILURE ${id} ${oneLine(message)}`);
    if (!file || !existsSync(file)) return fail(`Transfer file '${file ?? ''}' does not exist`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      const unknown = parseTransfer(text).find((line) => !enabled.has(line.driver));
      if (unknown) return fail(`Transfer Driver '${unknown.driver}' not available`);
    } catch (error) {
      return fail(toFerryError(error).message);
    }
    const entry = enqueue(id);
    pool.push({
      key: `${TRANSFER_REQUEST.lockOn}:${id}`,
      run: async () => {
        entry.started();
        if (entry.ticket.cancelled) return fail('cancelled (DRIVER_CANCEL) before it started');
        if (stopping) return fail('ferry mad is stopping; the transfer did not start');
        const each = call(id);
        const completed: ActionResult[] = [];
        try {
          await runTransfer(options.runner, text, { parse: false, signal: each.signal, ...(each.timeoutSec ? { timeoutSec: each.timeoutSec } : {}), onStep: (_line, result) => completed.push(result) });
          for (const result of completed) logLines(id, result.logs);
          write(`TRANSFER SUCCESS ${id} -`);
        } catch (error) {
          const failure = toFerryError(error);
          for (const result of completed) logLines(id, result.logs);
          logLines(id, failure.logs);
          fail(failure.message);
        } finally {
          each.done();
        }
      },
    });
  };

  const iterator = options.lines[Symbol.asyncIterator]();
  // One wake-up promise per read, replaced each time, so a stop ends a read that waits on an idle stdin
  // without keeping a callback per line.
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopping = true;
    for (const set of running.values()) for (const controller of set) controller.abort();
    wake?.();
  };
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  for (;;) {
    if (stopping) break;
    const woken = new Promise<'stop'>((resolve) => {
      wake = () => resolve('stop');
    });
    const next = await Promise.race([iterator.next(), woken]);
    wake = undefined;
    if (next === 'stop' || next.done || stopping) break;
    const line = next.value.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const [action = '', id, payload] = line.trim().split(/\s+/);
    if (action === 'INIT') {
      write('INIT SUCCESS - -');
      continue;
    }
    if (action === 'FINALIZE') break;
    if (action === 'DRIVER_CANCEL') {
      const set = id === undefined ? undefined : running.get(id);
      const waiting = id === undefined ? undefined : queued.get(id);
      if (!set && !waiting) write(`LOG W ${id !== undefined && ID.test(id) ? id : '-'} ${oneLine(`DRIVER_CANCEL: nothing running or queued for id ${id ?? ''}`)}`);
      for (const controller of set ?? []) controller.abort();
      for (const ticket of waiting ?? []) ticket.cancelled = true;
      continue;
    }
    const known = options.kind === 'datastore' ? actionForVerb('datastore', action) : action === TRANSFER_REQUEST.verb ? TRANSFER_REQUEST.verb : undefined;
    const shownAction = /^[A-Z_]{1,40}$/.test(action) ? action : 'UNKNOWN';
    if (id === undefined || !ID.test(id)) {
      write(`LOG E - ${oneLine(`${shownAction}: missing or non-integer id ${JSON.stringify((id ?? '').slice(0, 40))}`)}`);
      continue;
    }
    if (known === undefined) {
      write(`${shownAction} FAILURE ${id} ${oneLine(`Unknown action ${JSON.stringify(action.slice(0, 40))} for the ${options.kind} driver`)}`);
      continue;
    }
    if (options.kind === 'datastore') datastore(action, known, id, payload);
    else transfer(id, payload);
  }
  // Let go of stdin (a core may keep its end open after FINALIZE).
  void iterator.return?.();
  // FINALIZE or EOF: every action already received is answered (DRIVER_CANCEL and -w still bound them);
  // a signal to ferry stops them instead (bin.ts kills every process group).
  await pool.idle();
}
