/**
 * Parsers from a driver's stdout to typed results. Each returns a result or a
 * reason the output is malformed; the runner turns a reason into E_MALFORMED_OUTPUT.
 */

export type Parsed<R> = { ok: true; value: R } | { ok: false; reason: string };

export type Parser<R> = (stdout: string) => Parsed<R>;

/** cp and mkfs: `image_source size`, or `image_source format` as newer drivers print. */
export interface ImageSourceResult {
  source: string;
  /** Size in MB, when the driver printed one. */
  sizeMb?: number;
  /** Image format (raw, qcow2 …), when the driver printed one instead of, or after, the size. */
  format?: string;
}

export interface MonitorResult {
  usedMb: number;
  totalMb: number;
  freeMb: number;
  /** Other KEY=VALUE pairs the driver printed, as strings. */
  attributes: Record<string, string>;
  /** Lines that are not KEY=VALUE pairs (for example `VM = [ ... ]` blocks), in order. */
  other: string[];
}

const ok = <R>(value: R): Parsed<R> => ({ ok: true, value });
const bad = (reason: string): Parsed<never> => ({ ok: false, reason });

const UNSIGNED = /^\d+$/;
const isSize = (text: string): boolean => UNSIGNED.test(text) && Number.isSafeInteger(Number(text));
const NUMBER = /^\d+(\.\d+)?$/;
const FORMAT = /^[A-Za-z][A-Za-z0-9_-]*$/;

function tokens(stdout: string): string[] {
  const trimmed = stdout.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

function singleLine(stdout: string): string | undefined {
  const trimmed = stdout.trim();
  return trimmed.includes('\n') ? undefined : trimmed;
}

/** Actions that return nothing: anything printed is kept raw in the result's stdout. */
export const parseNothing: Parser<undefined> = () => ok(undefined);

/** Actions without a declared result (export, restore …): stdout as printed, trailing newline removed. */
export const parseRaw: Parser<string> = (stdout) => ok(stdout.replace(/\r?\n$/, ''));

export const parseImageSource: Parser<ImageSourceResult> = (stdout) => {
  const line = singleLine(stdout);
  if (line === undefined) return bad('expected one line "<image_source> <size>"');
  const [source, second, third, ...rest] = tokens(line);
  if (source === undefined) return bad('expected "<image_source> <size>", got nothing');
  if (second === undefined) return bad('expected "<image_source> <size>", got only the source');
  if (rest.length > 0) return bad('expected "<image_source> <size> [format]", got more fields');
  if (isSize(second)) {
    if (third === undefined) return ok({ source, sizeMb: Number(second) });
    if (FORMAT.test(third)) return ok({ source, sizeMb: Number(second), format: third });
    return bad(`third field "${third}" is not an image format`);
  }
  if (third !== undefined) return bad(`second field "${second}" is not a size in MB`);
  if (FORMAT.test(second)) return ok({ source, format: second });
  return bad(`second field "${second}" is neither a size in MB nor an image format`);
};

/**
 * mkfs: as cp's reply, or the source alone, as OpenNebula's current mkfs
 * prints it (oned knows the size: it asked for it). A source-only result
 * has neither sizeMb nor format; withDumpSize completes it from the dump.
 */
export const parseMkfsSource: Parser<ImageSourceResult> = (stdout) => {
  const line = singleLine(stdout);
  const fields = line === undefined ? [] : tokens(line);
  if (fields.length === 1 && fields[0] !== undefined) return ok({ source: fields[0] });
  return parseImageSource(stdout);
};

/**
 * An mkfs result with its size: the one the driver printed, else the dump's
 * IMAGE/SIZE (`dumpSize`, the size mkfs was asked to make). A source-only
 * reply without a usable SIZE in the dump is refused, saying so (a reply
 * with a format keeps its missing size, as it always has).
 */
export function withDumpSize(result: ImageSourceResult, dumpSize: string | number | null | undefined): Parsed<ImageSourceResult> {
  if (result.sizeMb !== undefined) return ok(result);
  const size = dumpSize === null || dumpSize === undefined ? '' : String(dumpSize).trim();
  if (isSize(size)) return ok({ ...result, sizeMb: Number(size) });
  if (result.format !== undefined) return ok(result);
  const found = size === '' ? 'has no IMAGE/SIZE' : `has IMAGE/SIZE "${size}", not a whole number of MB,`;
  return bad(`expected "<image_source> <size>", got only the source "${result.source}", and the dump ${found} to take the size from`);
}

export const parseSize: Parser<number> = (stdout) => {
  const line = singleLine(stdout);
  if (line === undefined || !isSize(line)) return bad('expected one line with the size in MB (a whole number)');
  return ok(Number(line));
};

export const parseSource: Parser<string> = (stdout) => {
  const line = singleLine(stdout);
  const fields = line === undefined ? [] : tokens(line);
  if (fields.length !== 1 || fields[0] === undefined) return bad('expected one line with the new image source');
  return ok(fields[0]);
};

/** One KEY=VALUE pair and the blanks after it; the value is "quoted" (spaces allowed) or a run of non-blanks. */
const PAIR = /([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|[^\s"]*)(?:\s+|$)/y;

/** The pairs of a line made only of KEY=VALUE pairs, or undefined. */
function pairsOf(line: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  PAIR.lastIndex = 0;
  while (PAIR.lastIndex < line.length) {
    const match = PAIR.exec(line);
    if (match === null) return undefined;
    pairs.push([match[1] as string, (match[2] as string).replace(/^"(.*)"$/, '$1')]);
  }
  return pairs;
}

export const parseMonitor: Parser<MonitorResult> = (stdout) => {
  const attributes: Record<string, string> = {};
  const other: string[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const pairs = pairsOf(line);
    if (pairs !== undefined) {
      for (const [key, value] of pairs) attributes[key] = value;
    } else {
      other.push(line);
    }
  }
  const figures: number[] = [];
  for (const key of ['USED_MB', 'TOTAL_MB', 'FREE_MB']) {
    const value = attributes[key];
    if (value === undefined) return bad(`expected ${key}=<MB>, it is missing`);
    if (!NUMBER.test(value)) return bad(`${key}=${value} is not a number of MB`);
    figures.push(Number(value));
    delete attributes[key];
  }
  const [usedMb, totalMb, freeMb] = figures as [number, number, number];
  return ok({ usedMb, totalMb, freeMb, attributes, other });
};
