/**
 * `ferry onecompat <onevm|onedatastore|onehost> <args...>` (hidden): what
 * OpenNebula's driver scripts ask of OpenNebula's CLI, answered from ferry's
 * catalog. The shims scripts/opennebula/bin/{onevm,onedatastore,onehost}
 * exec it. It answers `show ID -x` (either order) for the three, and
 * `onehost list --csv` with --list, --filter and --operator as libfs.sh uses
 * it; anything else is refused naming what is answered. Every failure exits
 * 255 (OpenNebula's CLI exits -1), its first line as OpenNebula's
 * ("[one.vm.info] Error getting virtual machine [7]."), then ferry's reason.
 * It only reads the catalog: a missing one is reported, never made.
 */
import { existsSync } from 'node:fs';
import type { CatalogStore } from '../catalog/store.js';
import { catalogLocation } from '../config/catalog-path.js';
import { toFerryError } from '../errors.js';
import type { Host } from '../model.js';
import type { Io } from './io.js';

/** OpenNebula's CLI exits -1 on an error: 255. */
export const ONE_CLI_FAILURE = 255;

const SUPPORTED = 'ferry answers: onevm show ID -x, onedatastore show ID -x, onehost show NAME -x, onehost list --csv [--list NAME,STAT] [--filter COL=VALUE,...] [--operator AND|OR] [--no-pager]';

/** What each command's `show` is called in OpenNebula's first error line. */
const RESOURCE = {
  onevm: { method: 'one.vm.info', noun: 'virtual machine', rname: 'VM' },
  onedatastore: { method: 'one.datastore.info', noun: 'datastore', rname: 'DATASTORE' },
  onehost: { method: 'one.host.info', noun: 'host', rname: 'HOST' },
} as const;
type OneCommand = keyof typeof RESOURCE;

/** A failure: OpenNebula's line (when it has one), then ferry's reason and hint. */
class OneFailure extends Error {
  constructor(
    readonly oneLine: string | undefined,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** OpenNebula's first error line for `ref` of `command`: "[one.vm.info] Error getting virtual machine [7]." or "VM named x not found." */
function notFoundLine(command: OneCommand, ref: string): string {
  const { method, noun, rname } = RESOURCE[command];
  return /^\d+$/.test(ref) ? `[${method}] Error getting ${noun} [${ref}].` : `${rname} named ${ref} not found.`;
}

/** `show` arguments: one reference and -x/--xml, in either order. */
function parseShow(command: OneCommand, args: readonly string[]): string {
  let xml = false;
  const refs: string[] = [];
  for (const arg of args) {
    if (arg === '-x' || arg === '--xml') xml = true;
    else if (arg.startsWith('-') && arg.length > 1) throw new OneFailure(undefined, `${command} show: option ${arg} is not answered under ferry`, SUPPORTED);
    else refs.push(arg);
  }
  if (refs.length !== 1) throw new OneFailure(undefined, `${command} show needs one ${RESOURCE[command].noun} id, got ${refs.length === 0 ? 'none' : refs.join(' ')}`, SUPPORTED);
  if (!xml) throw new OneFailure(undefined, `${command} show is answered as XML only: add -x`, SUPPORTED);
  return refs[0] as string;
}

/** `onehost list` options as OpenNebula's CLI takes them (--opt=value or --opt value). */
interface ListOptions {
  columns: string[];
  filters: Array<{ column: string; negate: boolean; value: string }>;
  operator: 'AND' | 'OR';
}

/** Columns of `onehost list` ferry has values for. */
const HOST_COLUMNS: Record<string, (host: Host) => string> = {
  NAME: (host) => host.name,
  // Every host ferry has is usable: OpenNebula's "on" (MONITORED). ferry has no disabled, off or failed host.
  STAT: () => 'on',
};

function parseList(args: readonly string[]): ListOptions {
  const options: ListOptions = { columns: ['NAME', 'STAT'], filters: [], operator: 'AND' };
  let csv = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const given = inline ?? args[++i];
      if (given === undefined) throw new OneFailure(undefined, `onehost list: ${flag} needs a value`, SUPPORTED);
      return given;
    };
    if (flag === '--csv') csv = true;
    else if (flag === '--no-pager') continue;
    else if (flag === '--list' || flag === '-l') options.columns = value().split(',').map((column) => column.trim().toUpperCase());
    else if (flag === '--operator') {
      const operator = value().toUpperCase();
      if (operator !== 'AND' && operator !== 'OR') throw new OneFailure(undefined, `onehost list: --operator ${operator} is not AND or OR`, SUPPORTED);
      options.operator = operator;
    } else if (flag === '--filter' || flag === '-f') {
      for (const condition of value().split(',')) {
        const match = /^([A-Za-z_]+)(!?=)(.*)$/.exec(condition);
        if (!match) throw new OneFailure(undefined, `onehost list: filter ${JSON.stringify(condition)} is not COLUMN=VALUE or COLUMN!=VALUE`, SUPPORTED);
        options.filters.push({ column: (match[1] as string).toUpperCase(), negate: match[2] === '!=', value: match[3] as string });
      }
    } else throw new OneFailure(undefined, `onehost list: ${arg} is not answered under ferry`, SUPPORTED);
  }
  if (!csv) throw new OneFailure(undefined, 'onehost list is answered as CSV only: add --csv', SUPPORTED);
  for (const column of [...options.columns, ...options.filters.map((filter) => filter.column)]) {
    if (!(column in HOST_COLUMNS)) throw new OneFailure(undefined, `onehost list: column ${column} is not known to ferry (it has ${Object.keys(HOST_COLUMNS).join(', ')})`, SUPPORTED);
  }
  return options;
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `onehost list --csv`: a header line, then one line per host that passes the filters. */
function hostList(hosts: readonly Host[], options: ListOptions): string {
  const passes = (host: Host): boolean => {
    if (options.filters.length === 0) return true;
    const results = options.filters.map((filter) => ((HOST_COLUMNS[filter.column] as (h: Host) => string)(host) === filter.value) !== filter.negate);
    return options.operator === 'OR' ? results.some(Boolean) : results.every(Boolean);
  };
  const lines = [options.columns.join(','), ...hosts.filter(passes).map((host) => options.columns.map((column) => csvField((HOST_COLUMNS[column] as (h: Host) => string)(host))).join(','))];
  return `${lines.join('\n')}\n`;
}

/** Opens the catalog for reading: one that is not there is an error here, never created. */
async function openCatalog(io: Io, flag: string | undefined, oneLine: string | undefined): Promise<CatalogStore> {
  const location = catalogLocation(flag, io.env, io.cwd);
  if (location.kind === 'sqlite' && !existsSync(location.path)) {
    throw new OneFailure(oneLine, `there is no oned under ferry, and no catalog at ${location.path} (from ${location.from}) to answer from`, 'ferry sets $FERRY_CATALOG for the drivers it runs with a catalog (ferry vm, ferry image, ferry datastore); run the driver that way, or set FERRY_CATALOG');
  }
  const { Catalog } = await import('../catalog/catalog.js');
  return Catalog.openAt(location, io.env);
}

/** The answer to one command line, or a OneFailure. */
async function answer(command: OneCommand, args: readonly string[], io: Io, flag: string | undefined): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'list' && command === 'onehost') {
    const options = parseList(rest);
    const catalog = await openCatalog(io, flag, undefined);
    try {
      return hostList(catalog.listHosts(), options);
    } finally {
      catalog.close();
    }
  }
  if (sub !== 'show') throw new OneFailure(undefined, `${command} ${sub ?? ''} is not answered under ferry (there is no oned: ferry answers from its catalog)`.replace(/ {2}/, ' '), SUPPORTED);
  const ref = parseShow(command, rest);
  const oneLine = notFoundLine(command, ref);
  const catalog = await openCatalog(io, flag, oneLine);
  try {
    const xml = await import('../compat/one-xml.js');
    const where = `in the catalog ${catalog.path}`;
    if (command === 'onevm') {
      const vm = catalog.findVm(ref);
      if (!vm) throw new OneFailure(oneLine, `no VM ${JSON.stringify(ref)} ${where}`, 'ferry vm list --all lists them');
      return xml.vmXml(catalog, vm);
    }
    if (command === 'onedatastore') {
      const ds = catalog.findDatastore(ref);
      if (!ds) throw new OneFailure(oneLine, `no datastore ${JSON.stringify(ref)} ${where}`, 'ferry datastore list lists them');
      return xml.datastoreXml(catalog, ds);
    }
    const host = catalog.findHost(ref);
    if (!host) throw new OneFailure(oneLine, `no host named ${JSON.stringify(ref)} ${where} (ferry's hosts have names, not numeric ids)`, 'ferry host list lists them');
    return xml.hostXml(catalog, host);
  } catch (error) {
    if (error instanceof OneFailure) throw error;
    const failure = toFerryError(error);
    throw new OneFailure(oneLine, failure.message, failure.hint);
  } finally {
    catalog.close();
  }
}

export const ONECOMPAT_HELP = `Usage: ferry onecompat <onevm|onedatastore|onehost> <args...>

OpenNebula's onevm, onedatastore and onehost, as far as OpenNebula's own
drivers call them, answered from ferry's catalog (\$FERRY_CATALOG): the
commands an OpenNebula install root's bin/ holds run this. See
docs/opennebula.md.

Examples:
  $ ferry onecompat onevm show -x 7
  $ ferry onecompat onedatastore show 100 -x
`;

/** Runs `ferry onecompat`; argv excludes `onecompat` itself; `catalogFlag` is ferry's --catalog when run through main. */
export async function runOneCompat(argv: readonly string[], io: Io, catalogFlag?: string): Promise<number> {
  const [command, ...args] = argv;
  if (command === '--help' || command === '-h') {
    io.stdout.write(ONECOMPAT_HELP);
    return 0;
  }
  try {
    if (command !== 'onevm' && command !== 'onedatastore' && command !== 'onehost') {
      throw new OneFailure(undefined, `ferry onecompat answers onevm, onedatastore and onehost, not ${command === undefined ? 'nothing' : JSON.stringify(command)}`, SUPPORTED);
    }
    io.stdout.write(await answer(command, args, io, catalogFlag));
    return 0;
  } catch (error) {
    const failure = error instanceof OneFailure ? error : new OneFailure(undefined, toFerryError(error).message, toFerryError(error).hint);
    const name = command === 'onevm' || command === 'onedatastore' || command === 'onehost' ? command : 'ferry onecompat';
    io.stderr.write(`${failure.oneLine ? `${failure.oneLine}\n` : ''}${name} (ferry): ${failure.message}\n${failure.hint ? `  hint: ${failure.hint}\n` : ''}`);
    return ONE_CLI_FAILURE;
  }
}
