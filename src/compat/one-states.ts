/**
 * A ferry VM's state as OpenNebula numbers it (VM STATE, LCM_STATE and the
 * HISTORY ACTION), for OpenNebula's driver scripts that branch on them.
 *
 * ferry runs no hypervisor: a VM whose disks are deployed on a host has no
 * domain running there, which is OpenNebula's POWEROFF. Reporting that (and
 * the *_POWEROFF states of operations) sends OpenNebula's scripts down their
 * offline paths: they never try `virsh` on a domain that does not exist
 * (qcow2 snap_delete goes live only in DISK_SNAPSHOT_DELETE, cpds only in
 * HOTPLUG_SAVEAS, ssh mv skips moving in PROLOG_MIGRATE_UNKNOWN).
 */
import type { Vm, VmState } from '../model.js';

/** OpenNebula's VM STATE values ferry reports. */
export const ONE_VM_STATE = { PENDING: 1, ACTIVE: 3, STOPPED: 4, DONE: 6, POWEROFF: 8 } as const;

/** OpenNebula's LCM_STATE values ferry reports (an LCM state means something only with STATE ACTIVE). */
export const ONE_LCM_STATE = {
  LCM_INIT: 0,
  PROLOG: 1,
  PROLOG_RESUME: 9,
  EPILOG_STOP: 10,
  EPILOG: 11,
  PROLOG_MIGRATE_FAILURE: 38,
  PROLOG_FAILURE: 39,
  EPILOG_FAILURE: 40,
  EPILOG_STOP_FAILURE: 41,
  PROLOG_MIGRATE_POWEROFF: 43,
  PROLOG_MIGRATE_POWEROFF_FAILURE: 44,
  PROLOG_RESUME_FAILURE: 49,
  DISK_SNAPSHOT_POWEROFF: 51,
  DISK_SNAPSHOT_REVERT_POWEROFF: 52,
  DISK_SNAPSHOT_DELETE_POWEROFF: 53,
} as const;

/** OpenNebula's HISTORY/ACTION numbers of the actions ferry's operations are (VMActions). */
const ONE_ACTION: Record<string, number> = {
  none: 0,
  migrate: 1,
  stop: 9,
  resume: 11,
  'disk-snapshot-create': 25,
  'disk-snapshot-delete': 26,
  terminate: 27,
  shutdown: 27,
  create: 30,
  'disk-snapshot-revert': 41,
};

export interface OneState {
  state: number;
  lcmState: number;
}

/** An idle VM in `state`: deployed ones are POWEROFF (no hypervisor), the rest as OpenNebula has them. */
function idle(state: VmState | null): OneState {
  switch (state) {
    case 'PENDING':
      return { state: ONE_VM_STATE.PENDING, lcmState: ONE_LCM_STATE.LCM_INIT };
    case 'STOPPED':
      return { state: ONE_VM_STATE.STOPPED, lcmState: ONE_LCM_STATE.LCM_INIT };
    case 'DONE':
      return { state: ONE_VM_STATE.DONE, lcmState: ONE_LCM_STATE.LCM_INIT };
    default:
      return { state: ONE_VM_STATE.POWEROFF, lcmState: ONE_LCM_STATE.LCM_INIT };
  }
}

/** The LCM state while an operation runs, and once it failed (OpenNebula's *_FAILURE states). */
const RUNNING_LCM: Record<string, readonly [number, number]> = {
  create: [ONE_LCM_STATE.PROLOG, ONE_LCM_STATE.PROLOG_FAILURE],
  stop: [ONE_LCM_STATE.EPILOG_STOP, ONE_LCM_STATE.EPILOG_STOP_FAILURE],
  resume: [ONE_LCM_STATE.PROLOG_RESUME, ONE_LCM_STATE.PROLOG_RESUME_FAILURE],
  migrate: [ONE_LCM_STATE.PROLOG_MIGRATE_POWEROFF, ONE_LCM_STATE.PROLOG_MIGRATE_POWEROFF_FAILURE],
  shutdown: [ONE_LCM_STATE.EPILOG, ONE_LCM_STATE.EPILOG_FAILURE],
  terminate: [ONE_LCM_STATE.EPILOG, ONE_LCM_STATE.EPILOG_FAILURE],
  'disk-snapshot-create': [ONE_LCM_STATE.DISK_SNAPSHOT_POWEROFF, -1],
  'disk-snapshot-revert': [ONE_LCM_STATE.DISK_SNAPSHOT_REVERT_POWEROFF, -1],
  'disk-snapshot-delete': [ONE_LCM_STATE.DISK_SNAPSHOT_DELETE_POWEROFF, -1],
};

/**
 * STATE and LCM_STATE of `vm`. An operation under way is ACTIVE in its
 * OpenNebula LCM state; its rollback (`<op>-rollback`) and a failed one are
 * in the operation's *_FAILURE state, except a failed disk snapshot
 * operation, which OpenNebula (like ferry) leaves in the state it had.
 */
export function oneState(vm: Vm): OneState {
  const operation = vm.operation?.replace(/-rollback$/, '') ?? null;
  const lcm = operation === null ? undefined : RUNNING_LCM[operation];
  if (lcm === undefined) return idle(vm.state === 'FAILED' ? vm.previousState : vm.state);
  const failed = vm.state === 'FAILED' || vm.operation !== operation;
  const lcmState = failed ? lcm[1] : lcm[0];
  if (lcmState < 0) return idle(vm.previousState ?? vm.state);
  return { state: ONE_VM_STATE.ACTIVE, lcmState };
}

/** HISTORY/ACTION of the VM's last record: the operation under way or last run, as OpenNebula numbers it. */
export function oneAction(vm: Vm): number {
  const operation = vm.operation?.replace(/-rollback$/, '') ?? 'none';
  return ONE_ACTION[operation] ?? 0;
}
