/** Alert rules as written in ferry.yaml and driver.yaml: the model, and errors a person can act on (issue 15). */
import t from 'tap';
import * as v from 'valibot';
import { explainIssues } from '../../src/config/explain.js';
import { renderMessage } from '../../src/monitor/message.js';
import { AlertsSchema, durationSeconds, RuleEntrySchema, type AlertRule } from '../../src/monitor/rules.js';

const wrap = v.strictObject({ alerts: AlertsSchema });
const problems = (alerts: unknown[]): string[] => explainIssues(wrap, { alerts });

t.test('each condition shape, with defaults filled in', async (t) => {
  const parsed = v.parse(AlertsSchema, [
    { name: 'free_low', attribute: 'FREE_PCT', condition: { lower: 25, hysteresis: 3 }, severity: 'major', for: '5m' },
    { name: 'hot', attribute: 'TEMP', condition: { upper: 70 }, severity: 'info', for: 30, subject: 'host', message: '{subject} at {value}' },
    { name: 'stuck', attribute: 'STATE', condition: { value: ['LOCKED', 'ERROR'] }, severity: 'minor', subject: 'image', missing: 'clear' },
    { name: 'one', attribute: 'MODE', condition: { value: 3 }, severity: 'warning', enabled: false },
    { name: 'full_soon', enabled: false },
  ]);
  t.same(parsed, [
    { name: 'free_low', attribute: 'FREE_PCT', condition: { kind: 'lower', bound: 25, hysteresis: 3 }, severity: 'major', subject: 'datastore', forSeconds: 300, missing: 'keep', enabled: true },
    { name: 'hot', attribute: 'TEMP', condition: { kind: 'upper', bound: 70, hysteresis: 0 }, severity: 'info', subject: 'host', forSeconds: 30, missing: 'keep', message: '{subject} at {value}', enabled: true },
    { name: 'stuck', attribute: 'STATE', condition: { kind: 'value', values: ['LOCKED', 'ERROR'] }, severity: 'minor', subject: 'image', forSeconds: 0, missing: 'clear', enabled: true },
    { name: 'one', attribute: 'MODE', condition: { kind: 'value', values: [3] }, severity: 'warning', subject: 'datastore', forSeconds: 0, missing: 'keep', enabled: false },
    { name: 'full_soon', enabled: false },
  ]);
});

t.test('durations: seconds, or a number with a unit', async (t) => {
  t.equal(durationSeconds('90'), 90);
  t.equal(durationSeconds('30s'), 30);
  t.equal(durationSeconds('5m'), 300);
  t.equal(durationSeconds('1.5h'), 5400);
  t.equal(durationSeconds('2d'), 172800);
  t.equal(durationSeconds('soon'), undefined);
  t.equal(durationSeconds('5 minutes'), undefined);
});

t.test('mistakes name the key path and what was expected', async (t) => {
  const rule = { name: 'r', attribute: 'FREE_PCT', condition: { lower: 20 }, severity: 'warning' };
  t.same(problems([rule]), [], 'a good rule has no problems');
  t.same(problems([{ ...rule, severity: 'fatal' }]), ['alerts.0.severity: expected ("critical" | "major" | "minor" | "warning" | "info"), got "fatal"']);
  t.same(problems([{ ...rule, for: 'soon' }]), ['alerts.0.for: expected a duration: seconds, or a number with a unit (30s, 5m, 1h, 2d), got "soon"']);
  t.same(problems([{ ...rule, severty: 'warning' }]), ['alerts.0.severty: unknown key "severty"; did you mean "severity"? (valid keys here: name, attribute, condition, severity, for, subject, missing, message, enabled)']);
  t.same(problems([{ ...rule, condition: { lower: 'low' } }]), ['alerts.0.condition.lower: expected number, got "low"']);
  t.same(problems([{ ...rule, condition: { below: 20 } }]), ['alerts.0.condition: expected one of {value}, {upper, hysteresis}, {lower, hysteresis}, got keys below']);
  t.same(problems([{ ...rule, condition: { value: 'FAILED', hysteresis: 2 } }]), ['alerts.0.condition.hysteresis: unknown key "hysteresis" (valid keys here: value)'], 'hysteresis is for bounds only');
  t.same(problems([{ ...rule, subject: 'pool' }]), ['alerts.0.subject: expected ("datastore" | "image" | "vm" | "host"), got "pool"']);
  t.same(problems([{ name: 'r', severity: 'major' }]), ['alerts.0.attribute: required, but missing', 'alerts.0.condition: required, but missing'], 'a partial rule is told what a whole one needs');
  t.match(problems([{ ...rule, attribute: 'free_pct' }])[0], /^alerts\.0\.attribute: expected .*A-Z.*, got "free_pct"$/);
  t.ok(v.safeParse(RuleEntrySchema, { name: 'free_low', enabled: false }).success, 'a switch is an entry');
});

t.test('messages: the template, or one written from the condition', async (t) => {
  const rule = v.parse(RuleEntrySchema, { name: 'r', attribute: 'FREE_PCT', condition: { lower: 20 }, severity: 'warning' }) as AlertRule;
  t.equal(renderMessage(rule, 'fast', 12), 'datastore fast: FREE_PCT is 12, under 20');
  t.equal(renderMessage({ ...rule, message: '{rule}/{severity}: {subject} {attribute}={value} < {threshold} {typo}' }, 'fast', 12), 'r/warning: fast FREE_PCT=12 < 20 {typo}', 'an unknown placeholder stays as written');
  t.equal(renderMessage({ ...rule, condition: { kind: 'upper', bound: 3, hysteresis: 0 } }, '7', undefined), 'datastore 7: FREE_PCT is (absent), at or above 3');
  t.equal(renderMessage({ ...rule, subject: 'vm', attribute: 'STATE', condition: { kind: 'value', values: ['FAILED', 'ERROR'] } }, '9', 'FAILED'), 'vm 9: STATE is FAILED (one of FAILED, ERROR)');
});
