/**
 * Stage 1 of a run: the request against its contract row, before any file is
 * looked at. The timeout and the action name are checked, the dump read, the
 * arguments checked in the row's order, and the id the action is about found.
 */
import { checkArgs, type BoundArg } from '../../contract/args.js';
import { specFor } from '../../contract/lookup.js';
import { buildDump, dumpFromBase64, readDump, type ActionDump, type DumpInput } from '../../dump/dump.js';
import { FerryError } from '../../errors.js';
import { checkName } from '../locate.js';
import type { ActionRequest } from './types.js';

export interface Bound {
  /** The script's arguments, checked, in order (a datastore action's are the dump and the id). */
  args: BoundArg[];
  /** The decoded dump, when the action has one. */
  dump: ActionDump | undefined;
  /** The value of the row's id argument. */
  id: string | undefined;
}

function isActionDump(value: unknown): value is ActionDump {
  return typeof value === 'object' && value !== null && 'base64' in value && typeof (value as ActionDump).get === 'function';
}

function toDump(input: ActionDump | DumpInput | string): ActionDump {
  if (typeof input === 'string') return readDump(input);
  if (isActionDump(input)) return input;
  return buildDump(input);
}

/** Checks a request against its row; E_USAGE, E_BAD_ARGS or E_BAD_DUMP before anything runs. */
export function bind(request: ActionRequest): Bound {
  // Infinity is "no timeout" (`--timeout none`); NaN, zero and negatives are mistakes.
  if (request.timeoutSec !== undefined && !(request.timeoutSec > 0)) {
    throw new FerryError('E_USAGE', `timeout ${request.timeoutSec} is not a positive number of seconds`, { hint: 'pass timeoutSec > 0, e.g. 30 or 0.5, or Infinity for none' });
  }
  const action = request.action;
  checkName(action, 'action');
  const asked = specFor(request.kind, action);
  let dump: ActionDump | undefined;
  let args: BoundArg[];
  const label = `${request.kind === 'datastore' ? 'ds' : 'tm'} ${action}`;
  if (request.kind === 'datastore') {
    dump = toDump(request.dump);
    args = checkArgs(asked.args, [dump.base64, String(request.id)], label);
  } else {
    args = checkArgs(asked.args, request.args, `${label} ${request.driver}`);
    const dumpArg = args.find((arg) => arg.spec.type === 'dump');
    if (dumpArg) dump = dumpFromBase64(dumpArg.value);
  }
  const id = asked.idArg === undefined ? undefined : args.find((arg) => arg.spec.name === asked.idArg)?.value;
  return { args, dump, id };
}
