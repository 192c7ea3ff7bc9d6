/** How results and errors are shown: readable lines for people, one JSON object with --json. */
import { toFerryError, type FerryError } from '../errors.js';
import type { ActionResult } from '../driver/runner.js';
import type { Io } from './io.js';
import { printable } from '../log/printable.js';

export interface OutputMode {
  json: boolean;
}

/** A result value as lines: scalars as printed, objects as aligned `key  value` lines. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'object') return `${String(value)}\n`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0));
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries
    .map(([key, v]) => `${key.padEnd(width)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
    .join('');
}

/** The JSON shape of a run, success or failure. */
export function resultJson(result: ActionResult): Record<string, unknown> {
  return {
    ok: true,
    kind: result.kind,
    action: result.action,
    driver: result.driver,
    script: result.script,
    id: result.id ?? null,
    result: result.result ?? null,
    stdout: result.stdout,
    logs: result.logs,
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    truncated: { stdout: result.stdoutTruncated, stderr: result.stderrTruncated },
  };
}

export function errorJson(error: FerryError): Record<string, unknown> {
  return {
    ok: false,
    kind: error.kind ?? null,
    action: error.action ?? null,
    driver: error.driver ?? null,
    id: error.id ?? null,
    result: null,
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
    logs: error.logs ?? [],
    exitCode: error.exitCode ?? null,
    signal: error.signal ?? null,
    timedOut: error.timedOut ?? false,
    durationMs: error.durationMs ?? null,
    truncated: { stdout: error.stdoutTruncated ?? false, stderr: error.stderrTruncated ?? false },
    error: { code: error.code, message: error.message, hint: error.hint ?? null, exitStatus: error.exitStatus },
  };
}

/**
 * Text for a person on `stream`: control characters from input or drivers
 * become visible escapes on a terminal (a name or message cannot clear the
 * screen or forge output); a pipe gets the text as it is.
 */
export function shown(stream: { isTTY?: boolean }, text: string): string {
  return stream.isTTY ? printable(text) : text;
}

/**
 * The --json envelope of a success: `ok`, the command's own fields (ds and
 * tm: kind, action, driver, stdout, ...) and its answer under `result`.
 * A failure is errorJson's: `ok: false` and `error`.
 */
export function successJson(result: unknown, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { ok: true, ...fields, result: result ?? null };
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Prints a failure and returns its exit status. */
export function reportError(io: Io, mode: OutputMode, thrown: unknown, extra: Record<string, unknown> = {}): number {
  const error = toFerryError(thrown);
  if (mode.json) {
    writeJson(io, { ...errorJson(error), ...extra });
    return error.exitStatus;
  }
  const lines = [`ferry: ${headline(error)}`];
  if (error.stdoutTruncated || error.stderrTruncated) lines.push('  (driver output was cut at the capture limit)');
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  // Always escaped: a driver's message is never replayed raw, whatever reads stderr.
  io.stderr.write(`${printable(lines.join('\n'))}\n`);
  return error.exitStatus;
}

function headline(error: FerryError): string {
  if (error.code === 'E_DRIVER_FAILED') {
    const status = error.signal ? `killed by ${error.signal}` : `exit status ${error.exitCode}`;
    const body = error.message.includes('\n') ? `\n  ${error.message.split('\n').join('\n  ')}` : ` ${error.message}`;
    return `${error.kind} ${error.driver}/${error.action} failed (${status}):${body}`;
  }
  return error.message;
}
