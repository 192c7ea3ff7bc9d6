/** The edge-triggered evaluator: hold, hysteresis, absent values, replay, and state that survives a restart (issue 15). */
import t from 'tap';
import { activeAlerts, observe, retireRules, stateKey, type AlertStates } from '../../src/monitor/alerts.js';
import { DEFAULT_RULES } from '../../src/monitor/defaults.js';
import { evaluate, type AlertEvent, type AlertState, type Subject } from '../../src/monitor/evaluate.js';
import type { AlertRule, AttributeValue } from '../../src/monitor/rules.js';
import { prng } from '../helpers/intervals.js';

const ds: Subject = { kind: 'datastore', id: 100, name: 'fast' };
const base: AlertRule = { name: 'free_low', attribute: 'FREE_PCT', condition: { kind: 'lower', bound: 20, hysteresis: 0 }, severity: 'warning', subject: 'datastore', forSeconds: 0, missing: 'keep', enabled: true };
const S = 1000;

/** Runs (seconds, value) steps through evaluate; the events as "raised@t"/"cleared@t". */
function run(rule: AlertRule, steps: [number, AttributeValue | undefined][], start?: AlertState): { state: AlertState | undefined; events: string[] } {
  let state = start;
  const events: string[] = [];
  for (const [at, value] of steps) {
    const result = evaluate(rule, ds, state, value, at * S);
    state = result.state;
    events.push(...result.events.map((e) => `${e.type}@${e.at / S}`));
  }
  return { state, events };
}


t.test('raised once on crossing, cleared once on return', async (t) => {
  t.same(run(base, [[0, 50], [1, 19], [2, 15], [3, 19.9], [4, 20], [5, 25], [6, 10]]).events, ['raised@1', 'cleared@4', 'raised@6']);
  const upper: AlertRule = { ...base, name: 'failing', attribute: 'MONITOR_FAILURES', condition: { kind: 'upper', bound: 3, hysteresis: 0 } };
  t.same(run(upper, [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 0]]).events, ['raised@3', 'cleared@5'], 'upper: reaching the bound raises; the next success clears');
  const value: AlertRule = { ...base, attribute: 'STATE', condition: { kind: 'value', values: ['ERROR', 'FAILED'] } };
  t.same(run(value, [[0, 'READY'], [1, 'ERROR'], [2, 'FAILED'], [3, 'READY']]).events, ['raised@1', 'cleared@3'], 'value in a set');
  const numeric: AlertRule = { ...base, condition: { kind: 'value', values: [0] } };
  t.same(run(numeric, [[0, '1'], [1, '0'], [2, '0.0'], [3, 'x']]).events, ['raised@1', 'cleared@3'], '"0" and "0.0" are 0');
  t.same(run(base, [[0, '19'], [1, ' 25 ']]).events, ['raised@0', 'cleared@1'], 'numbers printed as text compare as numbers');
});

t.test('hold: raised only after the condition held for `for`, without a break', async (t) => {
  const held: AlertRule = { ...base, forSeconds: 300 };
  t.same(run(held, [[0, 10], [100, 10], [299, 10], [300, 10], [400, 10]]).events, ['raised@300']);
  t.same(run(held, [[0, 10], [200, 30], [250, 10], [500, 10], [550, 10]]).events, ['raised@550'], 'a break restarts the hold');
  t.same(run(held, [[0, 10], [100, undefined], [300, 10]]).events, ['raised@300'], 'an absent value does not break the hold');
  t.same(run(held, [[0, 10], [400, undefined]]).events, [], '...nor raise by itself');
  t.same(run(held, [[0, 10], [300, 10], [301, 30]]).events, ['raised@300', 'cleared@301'], 'clearing is not held');
  const vm: AlertRule = { ...DEFAULT_RULES.find((r) => r.name === 'vm_failed') as AlertRule, subject: 'datastore' };
  t.same(run(vm, [[0, 'RUNNING'], [60, 'FAILED'], [300, 'FAILED'], [361, 'FAILED'], [400, 'RUNNING']]).events, ['raised@361', 'cleared@400'], 'a VM FAILED for over 5 minutes');
});

t.test('hysteresis: clears only back past threshold ± hysteresis', async (t) => {
  const lower: AlertRule = { ...base, condition: { kind: 'lower', bound: 20, hysteresis: 2 } };
  t.same(run(lower, [[0, 19], [1, 20], [2, 21.9], [3, 19.5], [4, 22], [5, 21]]).events, ['raised@0', 'cleared@4'], 'lower 20 ± 2: clears at 22');
  t.same(run(lower, [[0, 21], [1, 20]]).events, [], 'raising is at the bound itself, not moved');
  const upper: AlertRule = { ...base, condition: { kind: 'upper', bound: 90, hysteresis: 5 } };
  t.same(run(upper, [[0, 90], [1, 86], [2, 85], [3, 84.9]]).events, ['raised@0', 'cleared@3'], 'upper 90 ± 5: clears below 85');
});

t.test('absent values: keep, except raise (no_sample) and clear (full_soon)', async (t) => {
  t.same(run(base, [[0, 10], [1, undefined], [2, 'n/a'], [3, 30]]).events, ['raised@0', 'cleared@3'], 'keep: neither clears');
  t.same(run(base, [[0, undefined], [1, 30]]).events, [], 'keep: neither raises');
  const noSample = DEFAULT_RULES.find((r) => r.name === 'no_sample') as AlertRule;
  t.same(run(noSample, [[0, 1], [1, 3], [2, 0], [3, undefined], [4, 0.5]]).events, ['raised@1', 'cleared@2', 'raised@3', 'cleared@4']);
  const soon = DEFAULT_RULES.find((r) => r.name === 'full_soon') as AlertRule;
  t.same(run(soon, [[0, 30], [1, 10], [2, 14.5], [3, undefined], [4, undefined]]).events, ['raised@1', 'cleared@3'], 'not growing any more ends it');
});

t.test('an observation at or before the last applied is ignored (replay after a restart)', async (t) => {
  const first = run(base, [[0, 50], [10, 10]]);
  t.same(first.events, ['raised@10']);
  t.same(run(base, [[10, 10], [5, 50], [10, 50]], first.state).events, [], 'nothing raised twice, nothing cleared by a stale value');
  t.same(run(base, [[11, 50]], first.state).events, ['cleared@11']);
});

t.test('property: raised and cleared alternate however values flap (200 seeded runs)', async (t) => {
  let failures = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const hysteresis = [0, 0.5, 2][seed % 3] as number;
    const rule: AlertRule = { ...base, condition: { kind: seed % 2 ? 'lower' : 'upper', bound: 20, hysteresis }, forSeconds: [0, 5, 30][seed % 3] as number };
    const steps: [number, AttributeValue | undefined][] = [];
    for (let i = 0; i < 300; i++) steps.push([i * 3, random() < 0.05 ? undefined : 20 + (random() - 0.5) * 6]);
    const { events, state } = run(rule, steps);
    const kinds = events.map((e) => e.split('@')[0]);
    const alternates = kinds.every((kind, i) => kind === (i % 2 === 0 ? 'raised' : 'cleared'));
    const agrees = state?.active === (kinds.length % 2 === 1);
    if (!alternates || !agrees) failures++;
  }
  t.equal(failures, 0);
});

t.test('property: no event at all while a raised value flaps inside the hysteresis band (200 seeded runs)', async (t) => {
  let extra = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed * 7919);
    const h = 1 + random() * 4;
    const rule: AlertRule = { ...base, condition: { kind: 'lower', bound: 20, hysteresis: h } };
    const steps: [number, AttributeValue | undefined][] = [[0, 10]];
    // Around the threshold, never reaching bound + h: a flap, not a recovery.
    for (let i = 1; i < 200; i++) steps.push([i, 20 + (random() * 2 - 1) * h * 0.99]);
    extra += run(rule, steps).events.length - 1;
  }
  t.equal(extra, 0);
});

t.test('property: state JSON round trip at any step (mid-hold too) gives the same events (200 seeded runs)', async (t) => {
  let differ = 0;
  let midHold = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed * 104729);
    const rule: AlertRule = { ...base, forSeconds: 20, condition: { kind: 'lower', bound: 20, hysteresis: 1 }, missing: seed % 4 === 0 ? 'raise' : 'keep' };
    const steps: [number, AttributeValue | undefined][] = [];
    let value = 21;
    for (let i = 0; i < 120; i++) {
      value += (random() - 0.5) * 4;
      steps.push([i * 5, random() < 0.05 ? undefined : Math.round(value * 10) / 10]);
    }
    const straight = run(rule, steps).events;
    // Every other run is cut where a hold is under way, if one ever is.
    const pendingAt: number[] = [];
    let probe: AlertState | undefined;
    steps.forEach(([at, v], i) => {
      probe = evaluate(rule, ds, probe, v, at * S).state;
      if (probe.pendingSince !== undefined && i + 1 < steps.length) pendingAt.push(i + 1);
    });
    const cut = seed % 2 === 0 && pendingAt.length > 0 ? (pendingAt[Math.floor(random() * pendingAt.length)] as number) : 1 + Math.floor(random() * (steps.length - 2));
    const before = run(rule, steps.slice(0, cut));
    if (before.state?.pendingSince !== undefined) midHold++;
    const restored = JSON.parse(JSON.stringify(before.state)) as AlertState;
    // The service died before storing the last step's state: that step comes again from the old state, then on.
    const replayed = run(rule, steps.slice(cut - 1), restored);
    const events = [...before.events, ...replayed.events];
    if (JSON.stringify(events) !== JSON.stringify(straight)) differ++;
  }
  t.equal(differ, 0);
  t.ok(midHold >= 50, `cut mid-hold ${midHold} times`);
});

t.test('many rules, many subjects: observe, retire, list', async (t) => {
  const rules = DEFAULT_RULES.map((r) => ({ ...r }));
  let states: AlertStates = {};
  const events: AlertEvent[] = [];
  const step = (subject: Subject, at: number, values: Record<string, AttributeValue>): void => {
    const result = observe(rules, states, { subject, at, values });
    states = JSON.parse(JSON.stringify(result.states)) as AlertStates;
    events.push(...result.events);
  };
  step(ds, 1000, { FREE_PCT: 8, MONITOR_FAILURES: 0, SAMPLE_AGE_INTERVALS: 0.2, DAYS_TO_FULL: 2 });
  t.same(events.map((e) => `${e.type} ${e.rule} ${e.severity}`), ['raised free_low warning', 'raised free_critical critical', 'raised full_soon warning', 'raised full_imminent critical']);
  t.equal(events[1]?.message, 'datastore fast has 8 % free, under 10 %');
  t.notOk(stateKey('image_failed', ds) in states, 'image rules are not applied to a datastore');
  step({ kind: 'image', id: 7 }, 2000, { STATE: 'ERROR' });
  t.equal(states[stateKey('image_failed', { kind: 'image', id: 7 })]?.pendingSince, 2000);
  t.same(activeAlerts(states).map((s) => s.rule), ['free_critical', 'free_low', 'full_imminent', 'full_soon'], 'oldest first, then by key');
  const retired = retireRules(rules.filter((r) => r.name !== 'free_low'), states, 3000);
  t.same(retired.events.map((e) => `${e.type} ${e.rule} ${e.reason}`), ['cleared free_low the rule was removed or disabled']);
  t.notOk(stateKey('free_low', ds) in retired.states);
  t.ok(stateKey('image_failed', { kind: 'image', id: 7 }) in retired.states, 'others are kept');
});
