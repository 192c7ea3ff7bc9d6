/** Global flags -> config, logger and runner for one command. */
import type { Command } from 'commander';
import { loadConfig, resolveRemotesPath, type FerryConfig } from '../config/config.js';
import { Runner } from '../driver/runner.js';
import { hostsEnv, type HostConfig } from '../config/hosts.js';
import { FerryError } from '../errors.js';
import { createLogger, lazyLogger, LEVELS, type Level, type Logger } from '../log/logger.js';
import { parseSeconds } from './input.js';
import type { Io } from './io.js';

export interface GlobalFlags {
  remotes?: string;
  config?: string;
  json?: boolean;
  timeout?: string;
  logLevel?: string;
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
  /** More hosts for the drivers (the catalog's); ferry.yaml's win for a name in both. */
  hosts?: Record<string, HostConfig>;
}

export function flagsOf(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

export async function makeContext(command: Command, io: Io, options: ContextOptions = {}): Promise<Context> {
  const flags = flagsOf(command);
  const config = await loadConfig(flags.config, io.cwd);
  const level = flags.logLevel ?? config.log_level ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new FerryError('E_USAGE', `--log-level ${JSON.stringify(level)} is not a level`, { hint: `one of ${LEVELS.join(', ')}` });
  }
  const logger = lazyLogger(() => createLogger({ level: level as Level, pretty: io.stderr.isTTY === true, destination: io.stderr }));
  const runner = new Runner({
    remotes: resolveRemotesPath(flags.remotes, io.env, config, io.cwd),
    logger,
    ...(config.timeouts ? { timeouts: config.timeouts } : {}),
    ...(config.kill_grace !== undefined ? { killGraceSec: config.kill_grace } : {}),
    ...(config.max_output !== undefined ? { maxOutputBytes: config.max_output } : {}),
    env: {
      ...hostsEnv({ ...(config.frontend ? { frontend: config.frontend } : {}), hosts: { ...options.hosts, ...config.hosts } }),
      ...(config.lock_dir ? { FERRY_LOCK_DIR: config.lock_dir } : {}),
    },
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
