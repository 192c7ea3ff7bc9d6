/**
 * Nothing stuck after a crash (issue 13), VM migrate, shutdown and
 * terminate: the real ferry SIGKILLed in each step (tm/sleepy sleeps after
 * the n-th call of an action), then `vm recover --retry` (migrate also
 * `--failure`): no process of the run left, the VM in the operation's end
 * state, its disks where the catalog says (the persistent one back in its
 * image datastore), `datastore check` finds nothing.
 */
import t from 'tap';
import { ALL_DISKS, crashCases, running, type Case } from '../helpers/vm-crash.js';

const migrate = ['vm', 'migrate', 'vm01', 'host02'];
const done = { state: 'DONE', operation: null };

crashCases(t, [
  // migrate: mv of each of the 4 disks, then of the VM folder.
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'migrate', argv: migrate, action: 'mv', nth, end: { ...running, host: 'host02' }, disks: ALL_DISKS })),
  // shutdown and terminate: delete disk.0, mvds disk.1 (persistent), delete disk.2, disk.3, the VM folder.
  ...['shutdown', 'terminate'].flatMap((op) => [
    ...[1, 2, 3, 4].map((nth) => ({ op, argv: ['vm', op, 'vm01'], action: 'delete', nth, end: done, disks: null })),
    { op, argv: ['vm', op, 'vm01'], action: 'mvds', nth: 1, end: done, disks: null },
  ]),
] satisfies Case[], 'retry');

// Rolled back: the VM RUNNING on host01 again with all its disks.
crashCases(t, [1, 5].map((nth) => ({ op: 'migrate', argv: migrate, action: 'mv', nth, end: running, disks: ALL_DISKS })), 'failure');
