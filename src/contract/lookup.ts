/**
 * Reading the contract table: every layer asks here, at the time it needs
 * the answer (never from a list copied at load time), so a row added to the
 * table is seen by the runner, `ferry mad`, validate and the CLI help alike.
 */
import { FerryError } from '../errors.js';
import { isName } from './names.js';
import { CONTRACT, EXTRA_ACTIONS, GENERIC_CONTRACT } from './table.js';
import { KINDS, type ActionSpec, type DumpFields, type Kind } from './spec.js';

type Rows = Readonly<Record<string, ActionSpec>>;

/** The contract's rows of a kind (what a driver implements). */
export function rowsOf(kind: Kind): Rows {
  return CONTRACT[kind];
}

/** The contract's action names of a kind, in table order. */
export function actionsOf(kind: Kind): string[] {
  return Object.keys(rowsOf(kind));
}

/** Contract actions and the known extras (export, restore …): every name validate accepts as meant. */
export function knownActionsOf(kind: Kind): string[] {
  return [...actionsOf(kind), ...Object.keys(EXTRA_ACTIONS[kind])];
}

/** The action a script name stands for: `clone.ssh` is a `clone`. */
export function baseAction(action: string): string {
  const dot = action.indexOf('.');
  return dot > 0 ? action.slice(0, dot) : action;
}

export function isKnownAction(kind: Kind, action: string): boolean {
  return Object.hasOwn(rowsOf(kind), baseAction(action));
}

/** An action OpenNebula knows but ferry's contract does not define (run as given). */
export function isExtraAction(kind: Kind, action: string): boolean {
  return Object.hasOwn(EXTRA_ACTIONS[kind], baseAction(action));
}

/** The row for an action: the contract's, else a known extra's, else the generic row. */
export function specFor(kind: Kind, action: string): ActionSpec {
  const base = baseAction(action);
  const rows: Rows = rowsOf(kind);
  if (Object.hasOwn(rows, base)) return rows[base] as ActionSpec;
  const extras: Rows = EXTRA_ACTIONS[kind];
  return Object.hasOwn(extras, base) ? (extras[base] as ActionSpec) : GENERIC_CONTRACT[kind];
}

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

/** The action whose protocol verb is `verb` (CP, MONITOR, RESTORE …), among the contract's rows and the extras. */
export function actionForVerb(kind: Kind, verb: string): string | undefined {
  for (const rows of [rowsOf(kind), EXTRA_ACTIONS[kind] as Rows]) {
    for (const [action, spec] of Object.entries(rows)) if (spec.protocol?.verb === verb) return action;
  }
  return undefined;
}

/** Where an action runs. */
export interface Target {
  kind: Kind;
  driver: string;
  spec: ActionSpec;
}

/**
 * The kind, driver and row an action runs with: the asked kind and driver
 * (a datastore action's driver defaults to the dump's DS_MAD), unless the
 * row's route says otherwise (a system datastore's monitor runs
 * tm/<TM_MAD>/monitor). Refuses a dump that lacks the driver's name.
 */
export function resolveRoute(kind: Kind, action: string, dump: DumpFields | undefined, driver?: string): Target {
  const spec = specFor(kind, action);
  if (driver !== undefined && !isName(driver)) {
    throw new FerryError('E_USAGE', `driver name ${JSON.stringify(driver)} is not a driver folder name`, {
      hint: 'name a folder under remotes/<kind>/ (letters, digits, _ . -), or leave --driver out to use the dump\'s',
      kind,
      action,
    });
  }
  const named = driver ?? (kind === 'datastore' ? dump?.get('DATASTORE/DS_MAD') : undefined);
  if (!named) {
    throw new FerryError('E_BAD_DUMP', 'dump has no DATASTORE/DS_MAD, so the datastore driver is unknown', {
      hint: 'add <DS_MAD> to the dump\'s DATASTORE section, or name the driver (--driver NAME)',
      kind,
      action,
    });
  }
  const route = dump ? spec.route?.(dump) : undefined;
  if (!route) return { kind, driver: named, spec };
  const routed = dump?.get(route.driverFrom);
  if (!routed) {
    throw new FerryError('E_BAD_DUMP', `dump has no ${route.driverFrom}, needed to run ${action} through the ${route.kind} driver`, {
      hint: `add ${route.driverFrom} to the dump`,
      kind,
      action,
    });
  }
  return { kind: route.kind, driver: routed, spec: specFor(route.kind, action) };
}

/** The resource an action on `id` serializes on, e.g. `image:7`, `datastore:1`, `vm:7`. */
export function lockKey(spec: Pick<ActionSpec, 'lockOn'>, id: string | number): string {
  return `${spec.lockOn}:${id}`;
}
