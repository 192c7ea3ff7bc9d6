/**
 * The logger interface ferry passes around (pino's shape), and its factory.
 * pino is loaded on the first record, so a command that logs nothing never
 * pays for it; records are text lines (log/text.ts) unless JSON is asked for.
 */
import { createRequire } from 'node:module';
import type { LogLevel } from './record.js';
import { textDestination } from './text.js';

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const LEVELS = ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type Level = (typeof LEVELS)[number];

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level?: Level;
  /** Where records go; default stderr. */
  destination?: { write(line: string): unknown };
  /** `text` (default): one line per record for a person; `json`: pino's JSON lines. */
  format?: LogFormat;
  /** Colour the level word of text lines (the caller decides: a terminal, and NO_COLOR unset). */
  colour?: boolean;
}

const load = createRequire(import.meta.url);

/** A pino logger now. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = load('pino') as typeof import('pino');
  const level = options.level ?? 'info';
  const base = { base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime };
  const target = options.destination ?? pino.destination({ dest: 2, sync: true });
  const destination = options.format === 'json' ? target : textDestination(target, options.colour === true);
  return pino.default(base, destination as import('pino').DestinationStream);
}

/** A logger built on its first record: `make` runs at most once, children keep their bindings. */
export function lazyLogger(make: () => Logger): Logger {
  let root: Logger | undefined;
  const get = (): Logger => (root ??= make());
  const wrap = (resolve: () => Logger): Logger => {
    let self: Logger | undefined;
    const target = (): Logger => (self ??= resolve());
    return {
      child: (bindings) => wrap(() => target().child(bindings)),
      error: (obj, msg) => target().error(obj, msg),
      warn: (obj, msg) => target().warn(obj, msg),
      info: (obj, msg) => target().info(obj, msg),
      debug: (obj, msg) => target().debug(obj, msg),
    };
  };
  return wrap(get);
}

const noop = (): void => undefined;
/** Drops every record. */
export const silentLogger: Logger = { child: () => silentLogger, error: noop, warn: noop, info: noop, debug: noop };

export function logAt(logger: Logger, level: LogLevel, obj: object, msg: string): void {
  logger[level](obj, msg);
}
