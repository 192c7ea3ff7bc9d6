/** The journal of driver actions. */
import t from 'tap';
import { fresh } from './seed.js';

t.test('journal', async (t) => {
  const { catalog } = fresh(t);
  const base = { operation: 'create', kind: 'tm', driver: 'shared', exitCode: 0, durationMs: 12.5, message: null };
  catalog.record({ ...base, subject: 'vm:1', step: 0, action: 'clone', args: ['a b', "it's", ''], ok: true, logs: [{ level: 'info', message: 'copied' }] });
  catalog.record({ ...base, subject: 'image:3', step: null, action: 'cp', args: [], ok: true, logs: [] });
  catalog.record({ ...base, subject: 'vm:1', step: 1, action: 'context', args: ['x'], ok: false, exitCode: 1, message: 'no space', logs: [{ level: 'error', message: 'ENOSPC' }, { level: 'debug', message: 'df' }] });
  const entries = catalog.journal('vm:1');
  t.same(entries.map((e) => e.action), ['clone', 'context'], 'only the subject, in order');
  t.ok(entries[0]!.id < entries[1]!.id);
  t.same(entries[0]?.args, ['a b', "it's", ''], 'args round-trip');
  t.same(entries[1]?.logs, [{ level: 'error', message: 'ENOSPC' }, { level: 'debug', message: 'df' }], 'logs round-trip');
  t.equal(entries[0]?.ok, true);
  t.equal(entries[1]?.ok, false);
  t.match(entries[1], { step: 1, exitCode: 1, message: 'no space', durationMs: 12.5, operation: 'create', kind: 'tm', driver: 'shared', subject: 'vm:1' });
  t.ok(!Number.isNaN(Date.parse(entries[0]!.at)));
  t.equal(catalog.journal('image:3')[0]?.step, null);
  t.same(catalog.journal().map((e) => e.subject), ['vm:1', 'image:3', 'vm:1'], 'all subjects without a filter');
  t.same(catalog.journal('nobody'), []);
});
