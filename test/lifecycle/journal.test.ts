/** journal.ts: each driver action journaled, success or failure, with what its outcome changes in the same commit. */
import t from 'tap';
import { act, datastoreAction } from '../../src/lifecycle/journal.js';
import { monitorStep } from '../../src/lifecycle/plan.js';
import type { PlanStep } from '../../src/model.js';
import { rejection } from '../helpers/fixtures.js';
import { lifeWorld } from './world.js';

const mv: PlanStep = { kind: 'tm', action: 'mv', driver: 'flaky', args: ['host01:/a', 'host02:/a', '1', '0'], why: 'test' };

t.test('a successful action: journaled with its driver and duration, and `ok` written in the same transaction', async (t) => {
  const { life, catalog } = lifeWorld(t, 'flaky');
  await act(life, 'vm:1', 'migrate', 0, mv, () => life.runner.run({ kind: 'tm', action: 'mv', driver: 'flaky', args: mv.args }), { ok: (tx) => void tx.addHost({ name: 'made-by-ok', transport: 'local' }) });
  const [entry] = catalog.journal('vm:1');
  t.match(entry, { operation: 'migrate', step: 0, kind: 'tm', driver: 'flaky', action: 'mv', args: mv.args, ok: true, exitCode: 0, message: null });
  t.ok(catalog.findHost('made-by-ok'), 'what `ok` wrote is kept');
});

t.test('a failed action: journaled with the message; `failed` writes with it; a failing `failed` takes the entry down too', async (t) => {
  const { life, catalog, fail } = lifeWorld(t, 'flaky');
  fail('mv');
  const run = () => life.runner.run({ kind: 'tm', action: 'mv', driver: 'flaky', args: mv.args });
  const error = await rejection(act(life, 'vm:1', 'migrate', 0, mv, run, { failed: (tx, failure) => void tx.addHost({ name: `failed-${failure.exitCode}`, transport: 'local' }) }));
  t.match(error.message, /injected failure in mv/);
  t.match(catalog.journal('vm:1'), [{ ok: false, exitCode: 1, message: /injected failure/, driver: 'flaky' }]);
  t.ok(catalog.findHost('failed-1'), '`failed` saw the failure and wrote in the same commit');

  // One transaction: when what the failure changes cannot be written, neither is its journal entry.
  await t.rejects(act(life, 'vm:2', 'migrate', 0, mv, run, { failed: (tx) => void tx.addHost({ name: 'host01', transport: 'local' }) }), { code: 'E_CONFLICT' });
  t.same(catalog.journal('vm:2'), [], 'no entry without its change');
});

t.test('a datastore action is journaled under its datastore, or the image it is for', async (t) => {
  const { life, catalog, images } = lifeWorld(t);
  const result = await datastoreAction(life, images, monitorStep(images));
  t.match(result.result, { totalMb: 20480 });
  t.match(catalog.journal(`datastore:${images.id}`), [{ operation: 'monitor', kind: 'datastore', action: 'monitor', driver: 'dummy', args: [String(images.id)], ok: true }]);
});
