/**
 * alertOnRecords (issue 15): the built-in image_failed and vm_failed rules over the catalog's records. An image
 * in ERROR raises only after its 300 s hold, listing the VMs using it; READY again clears it; deleted while
 * firing clears it and forgets its state; healthy records keep no evaluator state; a VM FAILED raises
 * vm_failed after 300 s, cleared when it is DONE. Times are passed as `at`, nothing sleeps.
 */
import t from 'tap';
import { alertOnRecords } from '../../src/lifecycle/alerting-records.js';
import { DEFAULT_RULES } from '../../src/monitor/defaults.js';
import type { AlertRule } from '../../src/monitor/rules.js';
import { seeded, vmInput } from '../catalog/seed.js';

const T0 = Date.UTC(2026, 0, 5, 12);
const S = 1000;
const SYSTEM_BASE = '/var/lib/one/datastores/0';

type World = ReturnType<typeof seeded>;

/** A READY image in the images datastore. */
function readyImage(w: World, name: string): number {
  const image = w.catalog.addImage({ name, datastoreId: w.images.id });
  return w.catalog.updateImage(image.id, { state: 'READY' }).id;
}

/** A RUNNING VM on node1 with a disk of `imageId`. */
function runningVm(w: World, name: string, imageId: number | null): number {
  const vm = w.catalog.addVm(vmInput(name, w.system.id, imageId), SYSTEM_BASE);
  return w.catalog.updateVm(vm.id, { state: 'RUNNING' }).id;
}

const firing = (w: World, rule: string) => w.catalog.listAlerts({ rule, state: 'firing' });

t.test('an image in ERROR raises image_failed only once held 300 s, with the VMs using it; READY again clears it', async (t) => {
  const w = seeded(t);
  const broken = readyImage(w, 'broken');
  readyImage(w, 'fine');
  const a = runningVm(w, 'vm-a', broken);
  const b = runningVm(w, 'vm-b', broken);
  runningVm(w, 'vm-other', null);
  // A VM that used the image and is DONE uses it no more (as vmsUsingImage says).
  const gone = runningVm(w, 'vm-gone', broken);
  w.catalog.updateVm(gone, { state: 'DONE' });
  t.same(w.catalog.vmsUsingImage(broken), [a, b]);

  t.same(alertOnRecords(w.catalog, T0).events, [], 'all healthy: nothing');
  w.catalog.updateImage(broken, { state: 'ERROR', error: 'cp failed' });
  const held = alertOnRecords(w.catalog, T0 + S);
  t.same([held.events, held.raised, held.cleared], [[], [], []], 'ERROR just seen: held, not raised');
  t.match(w.catalog.listEvaluatorStates('image_failed'), [{ subject: { kind: 'image', id: String(broken) }, state: { active: false, pendingSince: T0 + S } }], 'its hold is remembered');
  t.same(alertOnRecords(w.catalog, T0 + 300 * S).raised, [], '299 s held: not yet');
  t.same(firing(w, 'image_failed'), []);

  const raised = alertOnRecords(w.catalog, T0 + 301 * S);
  t.equal(raised.raised.length, 1, '300 s held: raised');
  t.match(raised.raised[0], {
    rule: 'image_failed',
    subject: { kind: 'image', id: String(broken) },
    severity: 'major',
    state: 'firing',
    message: 'image broken has been in ERROR for over 5 minutes',
    raisedAt: new Date(T0 + 301 * S).toISOString(),
  });
  t.same(raised.raised[0]?.affects, [{ kind: 'vm', id: String(a) }, { kind: 'vm', id: String(b) }], 'it affects the VMs using the image, only those (not a DONE one)');
  t.match(raised.events, [{ type: 'raised', rule: 'image_failed' }]);
  t.equal(w.catalog.listNotices().length, 1, 'its hooks are due (a notice)');

  t.same(alertOnRecords(w.catalog, T0 + 400 * S).raised, [], 'still in ERROR: not raised again');
  t.same(alertOnRecords(w.catalog, T0 + 900 * S).events, [], 'nor later');
  t.equal(w.catalog.listAlerts({ rule: 'image_failed' }).length, 1, 'one alert');

  w.catalog.updateImage(broken, { state: 'READY', error: null });
  const cleared = alertOnRecords(w.catalog, T0 + 1000 * S);
  t.equal(cleared.cleared.length, 1, 'READY again: cleared');
  t.match(cleared.cleared[0], { rule: 'image_failed', state: 'cleared', clearedAt: new Date(T0 + 1000 * S).toISOString() });
  t.same(firing(w, 'image_failed'), []);
  t.same(w.catalog.listEvaluatorStates(), [], 'healthy again: no state left');
  t.same(w.catalog.listNotices().map((notice) => notice.event), ['raised', 'cleared']);
});

t.test('the hold restarts when the image leaves ERROR before 300 s, and a short failure leaves no state behind', async (t) => {
  const w = seeded(t);
  const image = readyImage(w, 'flaky');
  w.catalog.updateImage(image, { state: 'ERROR' });
  alertOnRecords(w.catalog, T0);
  w.catalog.updateImage(image, { state: 'READY' });
  t.same(alertOnRecords(w.catalog, T0 + 200 * S).events, []);
  t.same(w.catalog.listEvaluatorStates(), [], 'recovered within the hold: its state dropped');
  w.catalog.updateImage(image, { state: 'ERROR' });
  t.same(alertOnRecords(w.catalog, T0 + 250 * S).raised, []);
  t.same(alertOnRecords(w.catalog, T0 + 500 * S).raised, [], '300 s after the first ERROR, but only 250 s of this one: not raised');
  t.equal(alertOnRecords(w.catalog, T0 + 550 * S).raised.length, 1, '300 s into the second: raised');
});

t.test('an image deleted while its alert fires: the alert is cleared and its state forgotten', async (t) => {
  const w = seeded(t);
  const doomed = readyImage(w, 'doomed');
  const other = readyImage(w, 'other');
  w.catalog.updateImage(doomed, { state: 'ERROR' });
  w.catalog.updateImage(other, { state: 'ERROR' });
  alertOnRecords(w.catalog, T0);
  t.equal(alertOnRecords(w.catalog, T0 + 300 * S).raised.length, 2, 'both raised');
  t.equal(w.catalog.listEvaluatorStates('image_failed').length, 2);

  w.catalog.deleteImageRecord(doomed);
  const result = alertOnRecords(w.catalog, T0 + 360 * S);
  t.same(result.cleared.map((alert) => alert.subject), [{ kind: 'image', id: String(doomed) }], 'the deleted image\'s alert cleared, only it');
  t.match(result.cleared[0], { state: 'cleared', clearedAt: new Date(T0 + 360 * S).toISOString() });
  t.same(w.catalog.listEvaluatorStates('image_failed').map((entry) => entry.subject), [{ kind: 'image', id: String(other) }], 'its state dropped, the other\'s kept');
  t.same(firing(w, 'image_failed').map((alert) => alert.subject.id), [String(other)]);
  t.same(alertOnRecords(w.catalog, T0 + 420 * S).events, [], 'nothing more for it');
});

t.test('healthy images and VMs keep no evaluator state rows', async (t) => {
  const w = seeded(t);
  for (let i = 0; i < 25; i++) {
    const image = readyImage(w, `img-${i}`);
    if (i % 5 === 0) runningVm(w, `vm-${i}`, image);
  }
  const locked = w.catalog.addImage({ name: 'being-made', datastoreId: w.images.id });
  t.equal(locked.state, 'LOCKED');
  const stopped = runningVm(w, 'stopped', null);
  w.catalog.updateVm(stopped, { state: 'STOPPED' });
  for (let round = 0; round < 4; round++) t.same(alertOnRecords(w.catalog, T0 + round * 600 * S).events, [], `round ${round}: no events`);
  t.same(w.catalog.listEvaluatorStates(), [], 'not one state row');
  t.same(w.catalog.listAlerts(), []);
});

t.test('a VM FAILED raises vm_failed after 300 s, affecting its host; DONE ends it', async (t) => {
  const w = seeded(t);
  const vm = runningVm(w, 'crashy', null);
  const fine = runningVm(w, 'fine', null);
  w.catalog.updateVm(vm, { state: 'FAILED', error: 'deploy failed' });
  t.same(alertOnRecords(w.catalog, T0).raised, []);
  t.same(alertOnRecords(w.catalog, T0 + 299 * S).raised, [], 'not before 300 s');
  const raised = alertOnRecords(w.catalog, T0 + 300 * S).raised;
  t.equal(raised.length, 1, 'raised at 300 s');
  t.match(raised[0], { rule: 'vm_failed', subject: { kind: 'vm', id: String(vm) }, severity: 'major', message: 'VM crashy has been FAILED for over 5 minutes', affects: [{ kind: 'host', id: 'node1' }] });
  t.same(w.catalog.listEvaluatorStates('vm_failed').map((entry) => entry.subject.id), [String(vm)], 'only the failed VM has a state');
  t.same(alertOnRecords(w.catalog, T0 + 600 * S).raised, [], 'not again');

  w.catalog.updateVm(vm, { state: 'DONE' });
  const ended = alertOnRecords(w.catalog, T0 + 700 * S);
  t.same(ended.cleared.map((alert) => alert.subject), [{ kind: 'vm', id: String(vm) }], 'DONE: its alert cleared');
  t.same(w.catalog.listEvaluatorStates(), [], 'and its state forgotten');
  t.same(firing(w, 'vm_failed'), []);
  t.equal(w.catalog.vm(fine).state, 'RUNNING');
});

t.test('the rules given: only image and VM rules count; a disabled rule, or none, does nothing', async (t) => {
  const w = seeded(t);
  const image = readyImage(w, 'img');
  w.catalog.updateImage(image, { state: 'ERROR' });
  const byName = (name: string) => DEFAULT_RULES.find((rule) => rule.name === name) as AlertRule;
  const disabled = DEFAULT_RULES.map((rule) => (rule.subject === 'image' ? { ...rule, enabled: false } : rule));
  t.same(alertOnRecords(w.catalog, T0, disabled).events, []);
  t.same(alertOnRecords(w.catalog, T0 + 900 * S, disabled).events, [], 'disabled: never raised');
  const datastoreOnly = DEFAULT_RULES.filter((rule) => rule.subject === 'datastore');
  t.ok(datastoreOnly.length > 0);
  t.same(alertOnRecords(w.catalog, T0 + 1000 * S, datastoreOnly), { events: [], raised: [], cleared: [] }, 'no image or VM rule: nothing');
  t.same(w.catalog.listEvaluatorStates(), []);
  const immediate: AlertRule = { ...byName('image_failed'), name: 'image_broken_now', forSeconds: 0, severity: 'critical' };
  const now = alertOnRecords(w.catalog, T0 + 1001 * S, [immediate]);
  t.match(now.raised, [{ rule: 'image_broken_now', severity: 'critical', subject: { kind: 'image', id: String(image) } }], 'a rule with no hold raises at once');
});
