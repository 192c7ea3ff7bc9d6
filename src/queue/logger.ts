/**
 * graphile-worker's Logger over ferry's (pino-shaped) logger. graphile-worker's levels map onto ferry's (its
 * `warning` is ferry's `warn`); its scope (worker id, task, job id) and metadata become fields of the record.
 * Only plain values cross: an Error becomes `err` (message and code), any other object is dropped (a job row
 * carries its payload, a pool object its connection settings), and every text is scrubbed of a URL's password.
 */
import { Logger as WorkerLogger, type LogFunctionFactory } from 'graphile-worker';
import type { Logger } from '../log/logger.js';

/** `text` without a password in any URL's user part (scheme://user:secret@host → scheme://user@host). */
export function scrubbed(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@\s]*@/gi, '$1@');
}

type Level = 'error' | 'warn' | 'info' | 'debug';

function levelOf(level: string): Level {
  return level === 'error' ? 'error' : level === 'warning' ? 'warn' : level === 'info' ? 'info' : 'debug';
}

function plainFields(from: Record<string, unknown> | undefined, into: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from ?? {})) {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      into.err = { message: scrubbed(value.message), ...(typeof code === 'string' ? { code } : {}) };
    } else if (typeof value === 'string') {
      into[key] = scrubbed(value);
    } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      into[key] = value;
    }
  }
}

/** A graphile-worker Logger writing to `logger`. */
export function workerLogger(logger: Logger): WorkerLogger {
  const factory: LogFunctionFactory = (scope) => (level, message, meta) => {
    const fields: Record<string, unknown> = {};
    plainFields(scope as Record<string, unknown>, fields);
    plainFields(meta, fields);
    logger[levelOf(level)](fields, scrubbed(message));
  };
  return new WorkerLogger(factory);
}
