/** Global flags -> config, logger and runner for one command. */
import type { Command } from 'commander';
import { catalogLocation, catalogName } from '../config/catalog-path.js';
import { loadConfig, resolveRemotesPath, type FerryConfig } from '../config/config.js';
import { Runner } from '../driver/runner.js';
import type { Convention, ConventionChoices } from '../driver/convention.js';
import { hostsEnv, type HostConfig } from '../config/hosts.js';
import { FerryError } from '../errors.js';
import { createLogger, lazyLogger, LEVELS, LOG_FORMATS, type Level, type LogFormat, type Logger, type LoggerOptions } from '../log/logger.js';
import { catalogFileHosts } from './catalog-hosts.js';
import { parseSeconds } from './input.js';
import type { Io } from './io.js';

export interface GlobalFlags {
  remotes?: string;
  catalog?: string;
  config?: string;
  json?: boolean;
  async?: boolean;
  timeout?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface Context {
  io: Io;
  config: FerryConfig;
  logger: Logger;
  runner: Runner;
  json: boolean;
  timeoutSec: number | undefined;
}

export interface ContextOptions {
  /** More hosts for the drivers (the catalog's, open already); ferry.yaml's win for a name in both. Default: the catalog file's, when it exists. */
  hosts?: Record<string, HostConfig>;
  /** ferry.yaml, already loaded by the caller. */
  config?: FerryConfig;
  /** The log level without --log-level or ferry.yaml's (default warn; a service says more). */
  defaultLevel?: Level;
}

export function flagsOf(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

/**
 * Operators see warnings and errors (--log-level info adds drivers' INFO
 * lines), one line each, coloured only on a terminal without NO_COLOR; JSON
 * lines only when asked (--log-format json, or log_format: in ferry.yaml).
 */
export function loggerOptions(flags: GlobalFlags, config: FerryConfig, io: Io, defaultLevel: Level = 'warn'): LoggerOptions {
  const level = flags.logLevel ?? config.log_level ?? defaultLevel;
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new FerryError('E_USAGE', `--log-level ${JSON.stringify(level)} is not a level`, { hint: `one of ${LEVELS.join(', ')}` });
  }
  const format = flags.logFormat ?? config.log_format ?? 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new FerryError('E_USAGE', `--log-format ${JSON.stringify(format)} is not a log format`, { hint: `one of ${LOG_FORMATS.join(', ')}` });
  }
  const colour = io.stderr.isTTY === true && !io.env.NO_COLOR;
  return { level: level as Level, format: format as LogFormat, colour, destination: io.stderr };
}

export async function makeContext(command: Command, io: Io, options: ContextOptions = {}): Promise<Context> {
  const flags = flagsOf(command);
  const config = options.config ?? (await loadConfig(flags.config, io.cwd));
  const logOptions = loggerOptions(flags, config, io, options.defaultLevel);
  const logger = lazyLogger(() => createLogger(logOptions));
  const location = catalogLocation(flags.catalog, io.env, io.cwd, config.catalog);
  // A PostgreSQL catalog's hosts are read by the catalog commands that open it (options.hosts), not here.
  const hosts = options.hosts ?? (location.kind === 'sqlite' ? await catalogFileHosts(location.path) : {});
  const runner = new Runner({
    remotes: resolveRemotesPath(flags.remotes, io.env, config, io.cwd),
    logger,
    ...(config.timeouts ? { timeouts: config.timeouts } : {}),
    ...(config.kill_grace !== undefined ? { killGraceSec: config.kill_grace } : {}),
    ...(config.max_output !== undefined ? { maxOutputBytes: config.max_output } : {}),
    env: {
      ...hostsEnv({ ...(config.frontend ? { frontend: config.frontend } : {}), hosts: { ...hosts, ...config.hosts } }),
      ...(config.lock_dir ? { FERRY_LOCK_DIR: config.lock_dir } : {}),
      // Where ferry's onevm and onedatastore (for OpenNebula's drivers) read the catalog from.
      FERRY_CATALOG: catalogName(location),
    },
    ...(config.drivers ? { conventions: conventionChoices(config.drivers) } : {}),
  });
  return {
    io,
    config,
    logger,
    runner,
    json: flags.json === true,
    timeoutSec: flags.timeout === undefined ? undefined : parseSeconds(flags.timeout, '--timeout'),
  };
}

/** ferry.yaml's `drivers:` as the runner takes it: per kind, driver name to convention. */
function conventionChoices(drivers: NonNullable<FerryConfig['drivers']>): ConventionChoices {
  const pick = (entries: Record<string, { convention: Convention }> | undefined): Record<string, Convention> =>
    Object.fromEntries(Object.entries(entries ?? {}).map(([name, settings]) => [name, settings.convention]));
  return { datastore: pick(drivers.datastore), tm: pick(drivers.tm) };
}
