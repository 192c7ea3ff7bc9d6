/**
 * Alert hooks: every executable in `<remotes>/hooks/alert/` runs once for each alert raised or cleared, with
 * the alert as JSON on stdin and `raised` or `cleared` as its argument, through the runner (its own process
 * group, a timeout, SIGTERM then SIGKILL). The alerts to announce come from the catalog's outbox (notices.ts),
 * claimed for a lease, so a hook runs once per notice even with the service and a command both delivering,
 * and a crash in between is made good by the next delivery (at least once: the notice id tells a repeat).
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CatalogStore } from '../catalog/store.js';
import type { Runner } from '../driver/runner.js';
import { inside } from '../fs/inside.js';
import type { Logger } from '../log/logger.js';
import { printable } from '../log/printable.js';
import type { AlertNotice } from '../model.js';

/** Seconds a hook may run (ferry.yaml `hooks: {timeout}`). */
export const DEFAULT_HOOK_TIMEOUT_S = 30;
/** Delivery attempts of one notice before it is given up (its error kept). */
export const HOOK_ATTEMPTS = 5;

export interface HookOptions {
  runner: Runner;
  catalog: CatalogStore;
  logger: Logger;
  /** Who claims notices: noticeOwner() of this process. */
  owner: string;
  timeoutSec?: number;
  signal?: AbortSignal;
  /** Notices handled per call (the rest wait for the next). */
  batch?: number;
}

export interface DeliveryReport {
  delivered: number;
  failed: number;
}

/** The alert hooks in `remotes`: executable regular files of hooks/alert/ (their real paths inside remotes), by name. */
export function alertHooks(remotes: string): string[] {
  let root: string;
  try {
    root = realpathSync(remotes);
  } catch {
    return [];
  }
  const folder = join(root, 'hooks', 'alert');
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => !name.startsWith('.') && !name.endsWith('~')).sort();
  } catch {
    return [];
  }
  const hooks: string[] = [];
  for (const name of names) {
    try {
      const real = realpathSync(join(folder, name));
      const stat = statSync(real);
      // A link out of the remotes folder is not followed: hooks stay inside it, as drivers do.
      if (inside(root, real) && stat.isFile() && (stat.mode & 0o111) !== 0) hooks.push(real);
    } catch {
      // Gone or unreadable since the listing: not a hook.
    }
  }
  return hooks;
}

/** Seconds before notice attempt `attempts` + 1: 30 s, 2 min, 8 min, 32 min. */
function retryDelayS(attempts: number): number {
  return 30 * 4 ** Math.max(0, attempts - 1);
}

/** Claims the pending notices and runs every hook for each, in order; returns how many were delivered and failed. */
export async function deliverNotices(options: HookOptions): Promise<DeliveryReport> {
  const { catalog, runner, logger, owner } = options;
  const timeoutSec = options.timeoutSec ?? DEFAULT_HOOK_TIMEOUT_S;
  const hooks = alertHooks(runner.remotes);
  // The lease covers every hook's timeout and its kill grace: a live deliverer never loses a claim it works on.
  const leaseMs = (hooks.length * (timeoutSec + 10) + 30) * 1000;
  const report: DeliveryReport = { delivered: 0, failed: 0 };
  for (;;) {
    if (options.signal?.aborted) return report;
    const notices = catalog.claimNotices(owner, Date.now(), leaseMs, options.batch ?? 50);
    if (notices.length === 0) return report;
    for (const notice of notices) {
      if (options.signal?.aborted) return report;
      const error = hooks.length === 0 ? undefined : await runHooks(options, hooks, notice, timeoutSec);
      if (error === undefined) {
        catalog.finishNotice(notice.id, owner, { ok: true });
        report.delivered += 1;
        continue;
      }
      if (options.signal?.aborted) {
        // Stopped by ferry's own shutdown: due again at once, for the next service or command to deliver.
        catalog.finishNotice(notice.id, owner, { ok: false, error, retryAtMs: Date.now() });
        return report;
      }
      report.failed += 1;
      const retry = notice.attempts < HOOK_ATTEMPTS ? { retryAtMs: Date.now() + retryDelayS(notice.attempts) * 1000 } : {};
      catalog.finishNotice(notice.id, owner, { ok: false, error, ...retry });
      logger.warn({ alert: notice.alertId, notice: notice.id, attempts: notice.attempts }, `alert hook failed: ${error}${retry.retryAtMs ? '; retried later' : '; given up'}`);
    }
  }
}

/** Runs each hook for `notice`; the first failure's description, or undefined when all succeeded. */
async function runHooks(options: HookOptions, hooks: readonly string[], notice: AlertNotice, timeoutSec: number): Promise<string | undefined> {
  const alert = options.catalog.findAlert(notice.alertId);
  if (alert === undefined) return undefined;
  const input = `${JSON.stringify({ notice: notice.id, event: notice.event, at: notice.at, alert })}\n`;
  const env = { FERRY_ALERT_EVENT: notice.event, FERRY_ALERT_ID: String(alert.id), FERRY_ALERT_NOTICE: String(notice.id) };
  let failure: string | undefined;
  for (const hook of hooks) {
    const outcome = await options.runner.runProgram(hook, { args: [notice.event], input, timeoutSec, env, ...(options.signal ? { signal: options.signal } : {}) });
    const name = basename(hook);
    const why = outcome.spawnError
      ? `could not start: ${outcome.spawnError.message}`
      : outcome.timedOut
        ? `timed out after ${timeoutSec} s and was killed`
        : outcome.cancelled
          ? 'stopped: ferry is shutting down'
          : outcome.exitCode !== 0
            ? `exited ${outcome.exitCode ?? outcome.signal}${outcome.stderr.trim() ? `: ${outcome.stderr.trim().split('\n').at(-1)}` : ''}`
            : undefined;
    if (why !== undefined) failure ??= printable(`hook ${name} ${why}`);
    else options.logger.info({ alert: alert.id, notice: notice.id, hook: name }, `alert hook ${name} ran for alert ${alert.id} ${notice.event}`);
  }
  return failure;
}
