/** The catalog, the runner (with the catalog's hosts) and the orchestrator, for the catalog commands. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { CatalogStore } from '../catalog/store.js';
import type { Runner } from '../driver/runner.js';
import { alertingFrom } from '../lifecycle/alert-rules.js';
import { existsSync } from 'node:fs';
import { catalogLocation } from '../config/catalog-path.js';
import { loadConfig } from '../config/config.js';
import { syncConfigDatastores } from '../lifecycle/config-datastores.js';
import { Orchestrator, type StepEvent } from '../lifecycle/orchestrator.js';
import { transferLine } from '../lifecycle/plan.js';
import { hostsOf } from './catalog-hosts.js';
import { run, type SetStatus } from './command.js';
import { flagsOf, makeContext, type Context } from './context.js';
import type { Io } from './io.js';
import { shown, successJson, writeJson } from './output.js';
import { StepTicker, stepTarget } from './progress.js';
import { printable } from '../log/printable.js';

export interface CatalogContext extends Context {
  catalog: CatalogStore;
  orchestrator: Orchestrator;
  frontend: string;
}

/** Opens the catalog for one command, runs `work`, closes it; failures become the exit status. */
export function withCatalog(command: Command, io: Io, setStatus: SetStatus, work: (ctx: CatalogContext) => Promise<void> | void): Promise<void> {
  return run(command, io, setStatus, ({ json }) => openAndWork(command, io, json, work));
}

async function openAndWork(command: Command, io: Io, json: boolean, work: (ctx: CatalogContext) => Promise<void> | void): Promise<void> {
  let catalog: CatalogStore | undefined;
  const ticker = new StepTicker(io);
  try {
    // Loaded here, not at start-up: the native SQLite module is only for catalog commands.
    const { Catalog } = await import('../catalog/catalog.js');
    const flags = flagsOf(command) as { catalog?: string; config?: string };
    const config = await loadConfig(flags.config, io.cwd);
    const location = catalogLocation(flags.catalog, io.env, io.cwd, config.catalog);
    const isNew = location.kind === 'sqlite' && !existsSync(location.path);
    catalog = Catalog.openAt(location, io.env);
    // Said once, on stderr: a catalog made by mistake in a new place is seen at once, not after an empty listing.
    if (isNew && !json) io.stderr.write(`ferry: created a new, empty catalog at ${catalog.path}\n`);
    // Hosts from the catalog join those of ferry.yaml (ferry.yaml wins for a name in both).
    const hosts = hostsOf(catalog);
    const base = await makeContext(command, io, { hosts, config });
    const frontend = base.config.frontend ?? hostname();
    const runner = base.runner;
    const orchestrator = new Orchestrator({
      catalog,
      runner,
      frontend,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(base.config.monitor?.max_age !== undefined ? { monitorMaxAgeS: base.config.monitor.max_age } : {}),
      alerting: alertingFrom(base.config, runner),
      onStep: json ? undefined : (event) => printStep(io, event, ticker),
    });
    syncConfigDatastores(catalog, base.config.datastores, io.env);
    await work({ ...base, runner, catalog, orchestrator, frontend });
    await announceAlerts(catalog, runner, base);
  } finally {
    ticker.stop();
    catalog?.close();
  }
}

/**
 * Runs the alert hooks for alerts this command raised or cleared (a monitor run's), unless a running service
 * takes them first: whoever claims a notice runs its hooks (service/hooks.ts). Nothing pending: one query.
 */
async function announceAlerts(catalog: CatalogStore, runner: Runner, base: Context): Promise<void> {
  if (catalog.listNotices().length === 0) return;
  const { deliverNotices } = await import('../service/hooks.js');
  const { noticeOwner } = await import('../catalog/notices.js');
  const timeout = base.config.hooks?.timeout;
  await deliverNotices({ catalog, runner, logger: base.logger, owner: noticeOwner(), ...(timeout !== undefined ? { timeoutSec: timeout } : {}), ...(base.io.signal ? { signal: base.io.signal } : {}) });
}

/** One line per driver action as it finishes, on stderr (stdout stays the command's result); on a terminal, the one in flight. */
function printStep(io: Io, event: StepEvent, ticker: StepTicker): void {
  const label = printable(`[${event.index + 1}/${event.total}] ${transferLine(event.step)}`);
  if (!event.outcome) return ticker.start(label, stepTarget(event.step));
  ticker.stop();
  const mark = event.outcome.ok ? 'ok  ' : 'FAIL';
  io.stderr.write(printable(`  ${mark} [${event.index + 1}/${event.total}] ${transferLine(event.step)}  (${Math.round(event.outcome.durationMs)} ms)  ${event.step.why}`) + '\n');
}


/** Prints `value` in the --json envelope (`{"ok": true, "result": value}`) with --json, else the text. */
export function print(ctx: { io: Io; json: boolean; catalog?: { path: string } }, value: unknown, text: () => string): void {
  if (ctx.json) return writeJson(ctx.io, successJson(value));
  ctx.io.stdout.write(shown(ctx.io.stdout, text()));
  // An empty listing names the catalog it read: an empty table from the wrong catalog is seen for what it is.
  if (Array.isArray(value) && value.length === 0 && ctx.catalog) ctx.io.stderr.write(`ferry: nothing listed: the catalog ${printable(ctx.catalog.path)} holds none\n`);
}

/** A fixed-width table. */
export function table(headers: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return `${cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')}\n`;
}
