import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { ownerState, selfOwner, startedOf } from '../../src/catalog/owner.js';

t.test('a lock owner is its host, pid and start time', async (t) => {
  const self = selfOwner();
  t.equal(self.pid, process.pid);
  t.match(self.started, /^[0-9a-f-]+:\d+$/, 'boot id and start time');
  t.equal(ownerState(self), 'alive');
});

t.test('an owner that exited is gone; a reused pid is not the owner', async (t) => {
  const child = spawn('sleep', ['30']);
  await once(child, 'spawn');
  const pid = child.pid as number;
  const owner = { host: selfOwner().host, pid, started: startedOf(pid) as string };
  t.equal(ownerState(owner), 'alive');
  t.equal(ownerState({ ...owner, started: `${owner.started}0` }), 'gone', 'same pid, another start time: another process');
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.equal(ownerState(owner), 'gone');
  t.equal(startedOf(pid), undefined);
});

t.test('an owner on another host is never judged from here', async (t) => {
  t.equal(ownerState({ host: 'elsewhere', pid: 1, started: '' }, 'here'), 'other-host');
  t.equal(ownerState({ host: 'elsewhere', pid: 999_999_999, started: 'x:1' }, 'here'), 'other-host', 'even when no such pid runs here');
});
