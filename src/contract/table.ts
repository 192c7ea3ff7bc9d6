/**
 * The driver contract in one table: for every action of every kind, the
 * arguments its script gets, whether the dump also goes on stdin, how stdout
 * is parsed and the default timeout. Runner code looks rows up; it never
 * names an action. Adding an action is one row here plus a fixture.
 */
import {
  parseImageSource,
  parseMonitor,
  parseNothing,
  parseRaw,
  parseSize,
  parseSource,
  type ImageSourceResult,
  type MonitorResult,
  type Parser,
} from './parsers.js';
import type { ArgSpec } from './args.js';

export const KINDS = ['datastore', 'tm'] as const;
export type Kind = (typeof KINDS)[number];

export const DS_ACTIONS = ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor', 'snap_delete', 'snap_flatten', 'snap_revert'] as const;
export type DsAction = (typeof DS_ACTIONS)[number];

export const TM_ACTIONS = [
  'clone', 'ln', 'mvds', 'cpds', 'mv', 'premigrate', 'postmigrate', 'failmigrate', 'snap_create', 'snap_create_live',
  'snap_delete', 'snap_revert', 'context', 'delete', 'mkimage', 'mkswap', 'monitor', 'resize',
] as const;
export type TmAction = (typeof TM_ACTIONS)[number];

/** Where the driver comes from when a row reroutes (monitor of a system datastore). */
export interface Route {
  kind: Kind;
  /** Dump element naming the driver, e.g. DATASTORE/TM_MAD. */
  driverFrom: string;
}

/** A reader over the decoded dump, so rows can decide on its content. */
export interface DumpFields {
  get(path: string): string | undefined;
}

export interface ActionSpec<R> {
  /** One line for --help and `drivers list`. */
  summary: string;
  /** The script's arguments, in order. A `dump` argument is the base64 action dump. */
  args: readonly ArgSpec[];
  /** Also write the dump on the script's stdin. */
  dumpOnStdin: boolean;
  /** stdout to typed result. */
  parse: Parser<R>;
  /** Default timeout in seconds, before config, driver.yaml and the caller override it. */
  timeoutSec: number;
  /** Another script to run instead, decided by the dump. */
  route?: (dump: DumpFields) => Route | undefined;
  /** Whether this action returns a result the caller needs (malformed output is then a failure). */
  returns: boolean;
}

const DUMP_ARGS = [
  { name: 'dump', type: 'dump' },
  { name: 'id', type: 'id' },
] as const satisfies readonly ArgSpec[];

const HOURS = 3600;
const MINUTES = 60;

function dsRow<R>(summary: string, parse: Parser<R>, timeoutSec: number, returns: boolean, route?: ActionSpec<R>['route']): ActionSpec<R> {
  return { summary, args: DUMP_ARGS, dumpOnStdin: true, parse, timeoutSec, returns, ...(route ? { route } : {}) };
}

function tmRow(summary: string, args: readonly ArgSpec[], timeoutSec: number): ActionSpec<undefined> {
  return { summary, args, dumpOnStdin: false, parse: parseNothing, timeoutSec, returns: false };
}

const src = (name: string): ArgSpec => ({ name, type: 'hostpath' });
const dst = (name: string): ArgSpec => ({ name, type: 'hostpath' });
const VM_DS = [
  { name: 'vm_id', type: 'id' },
  { name: 'ds_id', type: 'id' },
] as const satisfies readonly ArgSpec[];
const SNAP: ArgSpec = { name: 'snap_id', type: 'uint' };
const MIGRATE = [
  { name: 'source_host', type: 'host' },
  { name: 'dst_host', type: 'host' },
  { name: 'remote_system_dir', type: 'path' },
  { name: 'vmid', type: 'id' },
  { name: 'dsid', type: 'id' },
  { name: 'template', type: 'base64' },
] as const satisfies readonly ArgSpec[];

/** A system datastore (DATASTORE/TYPE 1) is monitored by its TM driver. */
const systemDatastoreRoute = (dump: DumpFields): Route | undefined =>
  dump.get('DATASTORE/TYPE') === '1' ? { kind: 'tm', driverFrom: 'DATASTORE/TM_MAD' } : undefined;

export const DATASTORE_CONTRACT = {
  cp: dsRow<ImageSourceResult>('copy an image into the datastore; prints "<image_source> <size>"', parseImageSource, 12 * HOURS, true),
  mkfs: dsRow<ImageSourceResult>('create an empty image; prints "<image_source> <size>"', parseImageSource, 1 * HOURS, true),
  rm: dsRow('remove an image from the datastore', parseNothing, 1 * HOURS, false),
  stat: dsRow<number>('print the size of an image in MB', parseSize, 5 * MINUTES, true),
  clone: dsRow<string>('clone an image; prints the new source', parseSource, 12 * HOURS, true),
  monitor: dsRow<MonitorResult>('print USED_MB, TOTAL_MB and FREE_MB of the datastore', parseMonitor, 5 * MINUTES, true, systemDatastoreRoute),
  snap_delete: dsRow('delete snapshot TARGET_SNAPSHOT of a persistent image', parseNothing, 1 * HOURS, false),
  snap_flatten: dsRow('flatten the image to snapshot TARGET_SNAPSHOT', parseNothing, 1 * HOURS, false),
  snap_revert: dsRow('revert the image to snapshot TARGET_SNAPSHOT', parseNothing, 1 * HOURS, false),
} as const satisfies { [A in DsAction]: ActionSpec<unknown> };

export const TM_CONTRACT = {
  clone: tmRow('clone a non-persistent image to a host', [src('fe:SOURCE'), dst('host:remote_system_ds/disk.i'), ...VM_DS], 12 * HOURS),
  ln: tmRow('link a persistent image to a host', [src('fe:SOURCE'), dst('host:remote_system_ds/disk.i'), ...VM_DS], 12 * HOURS),
  mvds: tmRow('move a persistent image back to its datastore', [src('host:remote_system_ds/disk.i'), { name: 'fe:SOURCE', type: 'source' }, ...VM_DS], 12 * HOURS),
  cpds: tmRow('copy a disk back to its datastore (saveas)', [src('host:remote_system_ds/disk.i'), { name: 'fe:SOURCE', type: 'source' }, { name: 'snap_id', type: 'id' }, ...VM_DS], 12 * HOURS),
  mv: tmRow('move a disk or a VM folder between hosts', [src('hostA:system_ds/path'), dst('hostB:system_ds/path'), ...VM_DS], 12 * HOURS),
  premigrate: tmRow('run before a live migration', MIGRATE, 10 * MINUTES),
  postmigrate: tmRow('run after a live migration', MIGRATE, 10 * MINUTES),
  failmigrate: tmRow('run after a failed live migration', MIGRATE, 10 * MINUTES),
  snap_create: tmRow('create a disk snapshot', [src('host:remote_system_ds/disk.i'), SNAP, ...VM_DS], 1 * HOURS),
  snap_create_live: tmRow('create a disk snapshot of a running VM', [src('host:remote_system_ds/disk.i'), SNAP, ...VM_DS], 1 * HOURS),
  snap_delete: tmRow('delete a disk snapshot', [src('host:remote_system_ds/disk.i'), SNAP, ...VM_DS], 1 * HOURS),
  snap_revert: tmRow('revert a disk to a snapshot', [src('host:remote_system_ds/disk.i'), SNAP, ...VM_DS], 1 * HOURS),
  context: tmRow('build a context ISO of the files on a host', [{ name: 'file', type: 'text', variadic: true }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 10 * MINUTES),
  delete: tmRow('delete a disk or a VM folder', [dst('host:remote_system_ds/path'), ...VM_DS], 1 * HOURS),
  mkimage: tmRow('create a volatile disk', [{ name: 'size', type: 'uint' }, { name: 'format', type: 'word' }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 1 * HOURS),
  mkswap: tmRow('create a swap disk', [{ name: 'size', type: 'uint' }, dst('host:remote_system_ds/disk.i'), ...VM_DS], 1 * HOURS),
  monitor: {
    summary: 'print USED_MB, TOTAL_MB and FREE_MB of a shared system datastore',
    args: DUMP_ARGS,
    dumpOnStdin: true,
    parse: parseMonitor,
    timeoutSec: 5 * MINUTES,
    returns: true,
  } satisfies ActionSpec<MonitorResult>,
  resize: tmRow('resize a disk', [src('host:remote_system_ds/disk.i'), { name: 'size', type: 'uint' }, { name: 'vm_id', type: 'id' }, { name: 'ds_id', type: 'id', optional: true }], 1 * HOURS),
} as const satisfies { [A in TmAction]: ActionSpec<unknown> };

/** Actions a driver folder holds that the contract does not name (export, restore …): run as given, stdout raw. */
export const GENERIC_CONTRACT = {
  datastore: dsRow<string>('driver-specific action; stdout returned as printed', parseRaw, 1 * HOURS, false),
  tm: {
    summary: 'driver-specific action; arguments passed as given, stdout returned as printed',
    args: [{ name: 'arg', type: 'text', variadic: true, optional: true }],
    dumpOnStdin: false,
    parse: parseRaw,
    timeoutSec: 1 * HOURS,
    returns: false,
  } satisfies ActionSpec<string>,
} as const;

export const CONTRACT = { datastore: DATASTORE_CONTRACT, tm: TM_CONTRACT } as const satisfies { [K in Kind]: Record<string, ActionSpec<unknown>> };

export type ContractOf<K extends Kind> = (typeof CONTRACT)[K];
export type ActionOf<K extends Kind> = keyof ContractOf<K> & string;
/** The typed result of action A of kind K; a driver-specific action returns its stdout. */
export type ResultOf<K extends Kind, A extends string> = A extends ActionOf<K>
  ? ContractOf<K>[A] extends ActionSpec<infer R> ? R : never
  : string;

/** The action a script name stands for: `clone.ssh` is a `clone`. */
export function baseAction(action: string): string {
  const dot = action.indexOf('.');
  return dot > 0 ? action.slice(0, dot) : action;
}

/** The row for an action, or the generic row when the contract does not name it. */
export function specFor(kind: Kind, action: string): ActionSpec<unknown> {
  const table: Record<string, ActionSpec<unknown>> = CONTRACT[kind];
  return Object.hasOwn(table, baseAction(action)) ? (table[baseAction(action)] as ActionSpec<unknown>) : GENERIC_CONTRACT[kind];
}

export function isKnownAction(kind: Kind, action: string): boolean {
  return Object.hasOwn(CONTRACT[kind], baseAction(action));
}

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}
