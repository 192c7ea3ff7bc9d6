/** Locks on images and VMs, and their takeover from a process that is gone. */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import t from 'tap';
import { startedOf } from '../../src/catalog/owner.js';
import { thrown } from '../helpers/fixtures.js';
import { fresh, rawStore, waitExit } from './seed.js';

t.test('locks', async (t) => {
  const { catalog, path } = fresh(t);
  const raw = rawStore(t, path);
  const row = (subject: string) => raw.prepare('SELECT * FROM locks WHERE subject = ?').get(subject) as Record<string, unknown> | undefined;

  t.equal(catalog.lockHolder('vm:1'), undefined, 'a free lock has no holder');
  const release = catalog.lock('vm:1', 'create');
  t.type(release, 'function');
  t.match(catalog.lockHolder('vm:1'), { subject: 'vm:1', pid: process.pid, host: hostname(), operation: 'create', since: /^\d{4}-/, state: 'alive' }, 'this process as the holder');
  t.match(row('vm:1'), { owner_pid: process.pid, owner_host: hostname(), operation: 'create' });
  const again = catalog.lock('vm:1', 'stop');
  t.type(again, 'function', 're-entrant for the same process');
  t.ok(row('vm:1'));
  again();
  t.ok(row('vm:1'), 'the outer lock is still held after the inner release');
  release();
  t.equal(row('vm:1'), undefined, 'release deletes the row');

  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void (sleeper.exitCode === null && sleeper.signalCode === null && sleeper.kill('SIGKILL')));
  const pid = sleeper.pid as number;
  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run('image:3', pid, hostname(), 'clone-xyz', new Date().toISOString());
  const error = thrown(() => catalog.lock('image:3', 'delete'));
  t.equal(error.code, 'E_BUSY');
  t.match(error.message, String(pid), 'names the owner pid');
  t.match(error.message, 'clone-xyz', 'names the operation');
  t.equal(error.exitStatus, 75);
  t.match(row('image:3'), { owner_pid: pid }, 'the row is untouched');
  t.match(catalog.lockHolder('image:3'), { pid, operation: 'clone-xyz', state: 'alive' }, 'a live holder');

  sleeper.kill('SIGKILL');
  await waitExit(sleeper);
  t.equal(catalog.lockHolder('image:3'), undefined, 'a holder gone is no holder');
  const taken = catalog.lock('image:3', 'delete');
  t.match(row('image:3'), { owner_pid: process.pid, operation: 'delete' }, 'taken over from a dead owner');
  taken();
  t.equal(row('image:3'), undefined);

  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run('vm:9', pid, `not-${hostname()}`, 'stop', 'then');
  t.equal(thrown(() => catalog.lock('vm:9', 'x')).code, 'E_BUSY', 'an owner on another host is assumed alive');
  t.match(catalog.lockHolder('vm:9'), { pid, host: `not-${hostname()}`, operation: 'stop', state: 'other-host' }, 'a holder on another host');
});

t.test('a lock whose pid now belongs to another process is stale', async (t) => {
  const { catalog, path } = fresh(t);
  const raw = rawStore(t, path);
  const row = (subject: string) => raw.prepare('SELECT * FROM locks WHERE subject = ?').get(subject) as Record<string, unknown> | undefined;
  // A live, unrelated process with the killed owner's pid: same pid, another start time than the one recorded.
  const unrelated = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void (unrelated.exitCode === null && unrelated.signalCode === null && unrelated.kill('SIGKILL')));
  const pid = unrelated.pid as number;
  const started = startedOf(pid) as string;
  const insert = raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, owner_started, operation, since) VALUES (?, ?, ?, ?, ?, ?)');
  insert.run('vm:4', pid, hostname(), `${started}1`, 'stop', 'then');
  const taken = catalog.lock('vm:4', 'recover');
  t.match(row('vm:4'), { owner_pid: process.pid, operation: 'recover' }, 'taken over though the pid runs');
  taken();
  insert.run('vm:5', pid, hostname(), started, 'stop', 'then');
  t.equal(thrown(() => catalog.lock('vm:5', 'recover')).code, 'E_BUSY', 'the very process that took it: busy');
  t.match(catalog.busy('vm:5')?.message, String(pid));
  t.equal(thrown(() => catalog.breakLocks(hostname(), 'vm:5')).code, 'E_BUSY', 'a live owner here is never broken');
  t.ok(row('vm:5'));
});

t.test('a lock held from another host is refused, naming the host and the command that breaks it', async (t) => {
  const { catalog, path } = fresh(t);
  const raw = rawStore(t, path);
  const insert = raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, owner_started, operation, since) VALUES (?, ?, ?, ?, ?, ?)');
  insert.run('vm:9', 4242, 'node7', 'boot:1', 'migrate', 'then');
  insert.run('image:2', 4243, 'node7', 'boot:1', 'clone', 'then');
  const error = thrown(() => catalog.lock('vm:9', 'recover'));
  t.equal(error.code, 'E_BUSY');
  t.match(error.message, /vm:9 is locked from another host: ferry process 4242 on node7 is running migrate/);
  t.match(error.hint, 'ferry host break-locks node7 --subject vm:9');
  t.match(catalog.breakLocks('node7', 'vm:9'), [{ subject: 'vm:9', host: 'node7', pid: 4242, operation: 'migrate' }]);
  const taken = catalog.lock('vm:9', 'recover');
  taken();
  t.equal(thrown(() => catalog.lock('image:2', 'rm')).code, 'E_BUSY', 'only the lock named was broken');
  t.same(catalog.breakLocks('node7').map((each) => each.subject), ['image:2'], 'all of a host\'s locks');
  t.same(catalog.breakLocks('node7'), [], 'none left');
});
