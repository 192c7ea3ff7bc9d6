/**
 * Nothing stuck after a crash (issue 13), VM create, stop and resume: the
 * real ferry SIGKILLed in each step (tm/sleepy sleeps after the n-th call of
 * an action), then `vm recover --retry` (create also `--failure`): no
 * process of the run left, the VM in the operation's end state, its disks
 * where the catalog says, `datastore check` finds nothing. Migrate,
 * shutdown and terminate: crash-vm-ops-move.test.ts.
 */
import t from 'tap';
import { ALL_DISKS, crashCases, running, type Case } from '../helpers/vm-crash.js';

const create = ['vm', 'create', 'vm.yaml'];
const stopped = { state: 'STOPPED', operation: null };

// create's steps: clone disk.0, ln disk.1 (persistent), mkimage disk.2, mkswap disk.3.
crashCases(t, [
  ...['clone', 'ln', 'mkimage', 'mkswap'].map((action) => ({ op: 'create', argv: create, action, nth: 1, end: running, disks: ALL_DISKS })),
  // stop and resume: mv of each of the 4 disks, then of the VM folder.
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'stop', argv: ['vm', 'stop', 'vm01'], action: 'mv', nth, end: stopped, disks: ALL_DISKS })),
  ...[1, 2, 3, 4, 5].map((nth) => ({ op: 'resume', argv: ['vm', 'resume', 'vm01'], action: 'mv', nth, end: running, disks: ALL_DISKS })),
] satisfies Case[], 'retry');

// Rolled back: nothing deployed, the VM PENDING again, its folder gone.
crashCases(t, ['clone', 'mkswap'].map((action) => ({ op: 'create', argv: create, action, nth: 1, end: { state: 'PENDING', operation: null }, disks: null })), 'failure');
