/**
 * A driver's log record: one stderr line starting ERROR:, WARN:, INFO: or
 * DEBUG: (driver/stderr.ts reads them). Below the driver, the logger and the
 * errors alike, so none of them imports another for it.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogRecord {
  level: LogLevel;
  message: string;
}
