/**
 * A driver's stderr is two things: log records (lines starting ERROR:, WARN:,
 * INFO: or DEBUG:) and the failure message (every other line, in order, or
 * the text inside OpenNebula's error_message separators when present).
 */
import type { LogLevel, LogRecord } from '../log/record.js';

// Until src/protocol/mad.ts and src/lifecycle/orchestrator.ts import it from log/record.ts.

const PREFIX: Record<string, LogLevel> = { ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug' };
const LOG_LINE = /^(ERROR|WARN|INFO|DEBUG):\s?(.*)$/;
const BLOCK_START = /^ERROR MESSAGE --8<------\s*$/;
const BLOCK_END = /^ERROR MESSAGE ------>8--\s*$/;

/** Classifies one stderr line: a log record, or undefined when it belongs to the message. */
export function logRecordOf(line: string): LogRecord | undefined {
  const match = LOG_LINE.exec(line);
  if (!match) return undefined;
  return { level: PREFIX[match[1] as string] as LogLevel, message: (match[2] as string).trimEnd() };
}

export function splitStderr(stderr: string): { logs: LogRecord[]; message: string } {
  const logs: LogRecord[] = [];
  const plain: string[] = [];
  const block: string[] = [];
  let inBlock = false;
  let sawBlock = false;
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (BLOCK_START.test(line)) {
      inBlock = true;
      sawBlock = true;
      continue;
    }
    if (inBlock) {
      if (BLOCK_END.test(line)) inBlock = false;
      else block.push(line);
      continue;
    }
    const record = logRecordOf(line);
    if (record) logs.push(record);
    else if (line.trim() !== '') plain.push(line);
  }
  const message = (sawBlock ? block : plain).join('\n').trim();
  return { logs, message };
}
