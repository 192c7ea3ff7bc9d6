/**
 * `ferry serve`'s process: one per catalog (a catalog lock, `service`, held while it runs), the scheduler
 * monitoring every datastore at its interval, the sweep, the alert hooks and the HTTP server. Stops cleanly on
 * the io's signal (SIGTERM, SIGINT): no new runs, running monitor scripts stopped (SIGTERM to their process
 * groups, SIGKILL after the grace), the hooks' delivery ended, the lock released, the catalog closed. Reloads
 * ferry.yaml on SIGHUP; a ferry.yaml that does not load is logged and the running configuration kept.
 */
import { hostname } from 'node:os';
import type { CatalogStore } from '../catalog/store.js';
import type { FerryConfig } from '../config/config.js';
import { FerryError, toFerryError } from '../errors.js';
import { alertingFrom } from '../lifecycle/alert-rules.js';
import { syncConfigDatastores } from '../lifecycle/config-datastores.js';
import type { Logger } from '../log/logger.js';
import type { Runner } from '../driver/runner.js';
import { Scheduler } from './scheduler.js';
import { Watch, type WatchContext } from './watch.js';

/** Monitor runs at once, by default. */
export const DEFAULT_CONCURRENCY = 8;
/** The catalog lock a running service holds. */
export const SERVICE_LOCK = 'service';

export interface ServiceEnvironment {
  /** Loads ferry.yaml (again, on SIGHUP). */
  loadConfig(): Promise<FerryConfig>;
  /** The runner and logger for a configuration (the catalog's hosts included). */
  makeRunner(config: FerryConfig, catalog: CatalogStore): Promise<{ runner: Runner; logger: Logger }>;
  env: Readonly<Record<string, string | undefined>>;
  /** Started once the service watches: the HTTP server; its close() is awaited on stop. */
  startHttp?(context: { catalog: CatalogStore; config: FerryConfig; logger: Logger }): Promise<{ url: string; close(): Promise<void> }>;
}

export interface RunningService {
  catalog: CatalogStore;
  url: string | undefined;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Opens the catalog, takes the service lock, starts watching and serving. */
export async function startService(environment: ServiceEnvironment, openCatalog: (config: FerryConfig) => Promise<CatalogStore>): Promise<RunningService> {
  let config = await environment.loadConfig();
  const catalog = await openCatalog(config);
  let release: (() => void) | undefined;
  let http: { url: string; close(): Promise<void> } | undefined;
  try {
    release = takeServiceLock(catalog);
    let context = await contextFor(environment, catalog, config);
    // Listening first: an address in use or a token file refused stops the start before anything runs.
    http = environment.startHttp ? await environment.startHttp({ catalog, config, logger: context.logger }) : undefined;
    const scheduler = new Scheduler(config.monitor?.concurrency ?? DEFAULT_CONCURRENCY, (key, error) => context.logger.error({ job: key }, toFerryError(error).message));
    const watch = new Watch(context, (jobs) => scheduler.setJobs(jobs));
    watch.refresh();
    const jobs = scheduler.size.jobs - 1;
    context.logger.info({}, `ferry serve: watching ${jobs} datastore${jobs === 1 ? '' : 's'} of ${catalog.path}${http ? `; listening on ${http.url}` : ''}`);
    let stopped = false;
    const listening = http;
    return {
      catalog,
      url: listening?.url,
      async reload() {
        try {
          const next = await environment.loadConfig();
          context = await contextFor(environment, catalog, next);
          config = next;
          watch.reconfigure(context);
          context.logger.info({}, `ferry serve: configuration reloaded${config.file ? ` from ${config.file}` : ''}`);
        } catch (error) {
          context.logger.error({}, `ferry serve: reload refused, the running configuration is kept: ${toFerryError(error).message}`);
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        context.logger.info({}, 'ferry serve: stopping');
        await scheduler.stop();
        await watch.stop();
        await listening?.close();
        release?.();
        catalog.close();
      },
    };
  } catch (error) {
    await http?.close();
    release?.();
    catalog.close();
    throw error;
  }
}

/** The catalog's service lock, or E_BUSY naming the service that holds it. */
function takeServiceLock(catalog: CatalogStore): () => void {
  try {
    return catalog.lock(SERVICE_LOCK, 'serve');
  } catch (error) {
    const failure = toFerryError(error);
    if (failure.code !== 'E_BUSY') throw error;
    throw new FerryError('E_BUSY', `ferry serve already runs on the catalog ${catalog.path}: ${failure.message}`, {
      hint: 'one service per catalog: stop the other (SIGTERM), or give this one another catalog (--catalog)',
    });
  }
}

/** What the watch needs for a configuration: datastores synced, a runner, the alert rules. */
async function contextFor(environment: ServiceEnvironment, catalog: CatalogStore, config: FerryConfig): Promise<WatchContext> {
  syncConfigDatastores(catalog, config.datastores, environment.env);
  const { runner, logger } = await environment.makeRunner(config, catalog);
  const alerting = alertingFrom(config, runner);
  return { catalog, config, logger, alerting, life: { catalog, runner, frontend: config.frontend ?? hostname(), alerting } };
}

