/** Locks on images and VMs, and their takeover from a process that is gone. */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import t from 'tap';
import { thrown } from '../helpers/fixtures.js';
import { fresh, waitExit } from './seed.js';

t.test('locks', async (t) => {
  const { catalog, path } = fresh(t);
  const raw = new Database(path);
  t.teardown(() => raw.close());
  const row = (subject: string) => raw.prepare('SELECT * FROM locks WHERE subject = ?').get(subject) as Record<string, unknown> | undefined;

  const release = catalog.lock('vm:1', 'create');
  t.type(release, 'function');
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

  sleeper.kill('SIGKILL');
  await waitExit(sleeper);
  const taken = catalog.lock('image:3', 'delete');
  t.match(row('image:3'), { owner_pid: process.pid, operation: 'delete' }, 'taken over from a dead owner');
  taken();
  t.equal(row('image:3'), undefined);

  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run('vm:9', pid, `not-${hostname()}`, 'stop', 'then');
  t.equal(thrown(() => catalog.lock('vm:9', 'x')).code, 'E_BUSY', 'an owner on another host is assumed alive');
});
