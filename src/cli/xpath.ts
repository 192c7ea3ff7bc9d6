/**
 * `ferry xpath [-b B64 | --stdin] <xpath>...`: each value followed by a NUL
 * byte, for `while IFS= read -r -d '' v; do ...; done < <(ferry xpath ...)`.
 * Kept apart from the rest of the CLI so it loads nothing else.
 */
import { decodeBase64 } from '../dump/base64.js';
import { parseXml } from '../dump/xml.js';
import { xpathValues } from '../dump/xpath.js';
import { toFerryError } from '../errors.js';
import type { Io } from './io.js';

export const XPATH_HELP = `Usage: ferry xpath [-b B64 | --stdin] <xpath>...

Print the value of each xpath in an action dump, each followed by a NUL byte.
A missing element prints an empty value. %m%/PATH joins every match with a space.

Options:
  -b, --base64 <b64>  the dump as base64 (as drivers get it in argument 1)
  --stdin             read the dump (XML or base64) from stdin
  -h, --help          display help for command

Examples:
  $ ferry xpath -b "$DRV_ACTION" /DS_DRIVER_ACTION_DATA/IMAGE/PATH
  $ while IFS= read -r -d '' v; do XPATH_ELEMENTS+=("$v"); done < <(ferry xpath -b "$1" \\
      /DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH /DS_DRIVER_ACTION_DATA/IMAGE/SIZE)
`;

/** Runs `ferry xpath`; argv excludes `xpath` itself. Returns the exit status. */
export async function runXpath(argv: readonly string[], io: Io): Promise<number> {
  let source: { b64: string } | { stdin: true } | undefined;
  const exprs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') {
      io.stdout.write(XPATH_HELP);
      return 0;
    } else if (arg === '-b' || arg === '--base64') {
      const value = argv[++i];
      if (value === undefined) return usage(io, `${arg} needs the base64 dump`);
      source = { b64: value };
    } else if (arg.startsWith('--base64=')) {
      source = { b64: arg.slice('--base64='.length) };
    } else if (arg === '--stdin') {
      source = { stdin: true };
    } else if (arg === '--') {
      exprs.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg.length > 1) {
      return usage(io, `unknown option ${arg}`);
    } else {
      exprs.push(arg);
    }
  }
  if (source === undefined) return usage(io, 'give the dump with -b B64 or --stdin');
  if (exprs.length === 0) return usage(io, 'give at least one xpath');
  try {
    const text = ('b64' in source ? source.b64 : await io.readStdin()).trim();
    const { root, body } = parseXml(text.startsWith('<') ? text : decodeBase64(text), 'dump');
    const values = xpathValues(root, body, exprs);
    io.stdout.write(values.map((value) => `${value}\0`).join(''));
    return 0;
  } catch (error) {
    const failure = toFerryError(error);
    io.stderr.write(`ferry xpath: ${failure.message}\n${failure.hint ? `  hint: ${failure.hint}\n` : ''}`);
    return failure.exitStatus;
  }
}

function usage(io: Io, problem: string): number {
  io.stderr.write(`ferry xpath: ${problem}\n  hint: ferry xpath [-b B64 | --stdin] <xpath>...\n`);
  return 2;
}
