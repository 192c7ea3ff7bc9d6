/**
 * Log records as one line of text each, for a person: the level, what the
 * record is about (kind, driver/action, id), the message, then any other
 * fields as key=value. Colour only on the level word, and only when asked
 * (stderr is a terminal and NO_COLOR is unset). Control characters from a
 * driver are shown as escapes, never sent raw to the terminal.
 */
import { printable } from './printable.js';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields shown in the line's head or not at all. */
const SHOWN = new Set(['level', 'time', 'msg', 'kind', 'driver', 'action', 'id', 'source', 'pid', 'hostname']);

/** One pino JSON record as a line of text (with its newline). */
export function formatRecord(json: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return printable(json.endsWith('\n') ? json : `${json}\n`);
  }
  const levelNumber = typeof record.level === 'number' ? record.level : 30;
  const name = (LEVEL_NAMES[levelNumber] ?? String(record.level)).padEnd(5);
  const level = colour ? `\u001b[${LEVEL_COLOURS[levelNumber] ?? '0'}m${name}\u001b[39m` : name;
  const about = [record.kind, record.driver !== undefined ? `${String(record.driver)}/${String(record.action ?? '')}` : record.action, record.id]
    .filter((part) => part !== undefined && part !== '')
    .map(String)
    .join(' ');
  const rest = Object.entries(record)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const message = typeof record.msg === 'string' ? record.msg : '';
  const text = `${about ? `${about}: ` : ''}${message}${rest.length > 0 ? ` (${rest.join(' ')})` : ''}`;
  return `${level} ${printable(text)}\n`;
}

/** A pino destination writing each record as text to `target`. */
export function textDestination(target: { write(line: string): unknown }, colour: boolean): { write(line: string): void } {
  return {
    write: (chunk) => {
      for (const json of chunk.split('\n')) if (json !== '') target.write(formatRecord(json, colour));
    },
  };
}
