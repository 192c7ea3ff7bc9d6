/** The built-in rules and the merge order: defaults < ferry.yaml alerts < driver.yaml < ferry.yaml datastores.<name>.alerts (issue 15). */
import t from 'tap';
import * as v from 'valibot';
import { explainIssues } from '../../src/config/explain.js';
import { DEFAULT_RULES } from '../../src/monitor/defaults.js';
import { datastoreLayers, datastoreRules, mergeRules } from '../../src/monitor/merge.js';
import { AlertsSchema, type AlertRule, type RuleEntry } from '../../src/monitor/rules.js';

const entries = (input: unknown[]): RuleEntry[] => v.parse(AlertsSchema, input);
const byName = (rules: AlertRule[], name: string): AlertRule | undefined => rules.find((rule) => rule.name === name);

t.test('the defaults the issue lists', async (t) => {
  const table = DEFAULT_RULES.map((r) => [r.name, r.subject, r.attribute, r.condition.kind, r.condition.kind === 'value' ? r.condition.values.join('|') : r.condition.bound, r.severity, r.forSeconds, r.missing]);
  t.same(table, [
    ['free_low', 'datastore', 'FREE_PCT', 'lower', 20, 'warning', 0, 'keep'],
    ['free_critical', 'datastore', 'FREE_PCT', 'lower', 10, 'critical', 0, 'keep'],
    ['limit_reached', 'datastore', 'LIMIT_USED_PCT', 'upper', 100, 'major', 0, 'clear'],
    ['full_soon', 'datastore', 'DAYS_TO_FULL', 'lower', 14, 'warning', 0, 'clear'],
    ['full_imminent', 'datastore', 'DAYS_TO_FULL', 'lower', 3, 'critical', 0, 'clear'],
    ['monitor_failing', 'datastore', 'MONITOR_FAILURES', 'upper', 3, 'major', 0, 'keep'],
    ['no_sample', 'datastore', 'SAMPLE_AGE_INTERVALS', 'upper', 3, 'major', 0, 'raise'],
    ['image_failed', 'image', 'STATE', 'value', 'ERROR', 'major', 300, 'keep'],
    ['vm_failed', 'vm', 'STATE', 'value', 'FAILED', 'major', 300, 'keep'],
  ]);
  t.equal(new Set(DEFAULT_RULES.map((r) => r.name)).size, DEFAULT_RULES.length, 'names are unique');
  t.ok(DEFAULT_RULES.every((r) => r.enabled));
});

t.test('no configuration: the defaults, as copies', async (t) => {
  const rules = mergeRules([]);
  t.same(rules, DEFAULT_RULES);
  (rules[0] as AlertRule).severity = 'info';
  t.equal(DEFAULT_RULES[0]?.severity, 'warning', 'the defaults are not changed through the result');
});

t.test('same name replaces whole, in place; enabled: false disables; a new name is appended', async (t) => {
  const rules = mergeRules([
    {
      source: 'ferry.yaml alerts',
      entries: entries([
        { name: 'free_low', attribute: 'FREE_PCT', condition: { lower: 30 }, severity: 'minor', for: '10m' },
        { name: 'full_imminent', enabled: false },
        { name: 'inodes_low', attribute: 'FREE_INODES_PCT', condition: { lower: 5 }, severity: 'major' },
      ]),
    },
  ]);
  t.same(rules.map((r) => r.name), [...DEFAULT_RULES.map((r) => r.name), 'inodes_low']);
  t.same(byName(rules, 'free_low'), { name: 'free_low', attribute: 'FREE_PCT', condition: { kind: 'lower', bound: 30, hysteresis: 0 }, severity: 'minor', subject: 'datastore', forSeconds: 600, missing: 'keep', enabled: true }, 'nothing of the default is kept (no hysteresis, no message)');
  t.equal(byName(rules, 'full_imminent')?.enabled, false);
  t.equal(byName(rules, 'full_imminent')?.condition.kind, 'lower', 'a disabled rule keeps its definition');
});

t.test('the order: defaults < ferry.yaml alerts < driver.yaml (DS, then TM) < the datastore', async (t) => {
  const severityOf = (name: string, sources: Parameters<typeof datastoreRules>[0]): string | undefined => byName(mergeRules(datastoreLayers(sources)), name)?.severity;
  const rule = (severity: string): unknown => ({ name: 'free_low', attribute: 'FREE_PCT', condition: { lower: 20 }, severity });
  const global = entries([rule('minor')]);
  const ds = { kind: 'datastore' as const, name: 'fs', alerts: entries([rule('major')]) };
  const tm = { kind: 'tm' as const, name: 'ssh', alerts: entries([rule('critical')]) };
  const mine = { name: 'fast', alerts: entries([rule('info')]) };
  t.equal(severityOf('free_low', {}), 'warning');
  t.equal(severityOf('free_low', { global }), 'minor');
  t.equal(severityOf('free_low', { global, drivers: [ds] }), 'major');
  t.equal(severityOf('free_low', { global, drivers: [ds, tm] }), 'critical');
  t.equal(severityOf('free_low', { global, drivers: [ds, tm], datastore: mine }), 'info');
  t.same(datastoreLayers({ global, drivers: [ds, tm, { kind: 'tm', name: 'none' }], datastore: mine }).map((l) => l.source), [
    'ferry.yaml alerts',
    'driver.yaml alerts of the datastore driver fs',
    'driver.yaml alerts of the TM driver ssh',
    'ferry.yaml datastores.fast.alerts',
  ]);
  // Disabled globally, re-enabled by one datastore; the rules in force leave disabled ones out.
  const off = datastoreRules({ global: entries([{ name: 'no_sample', enabled: false }]) });
  t.notOk(byName(off, 'no_sample'));
  const back = datastoreRules({ global: entries([{ name: 'no_sample', enabled: false }]), datastore: { name: 'fast', alerts: entries([{ name: 'no_sample', enabled: true }]) } });
  t.same(byName(back, 'no_sample'), byName([...DEFAULT_RULES], 'no_sample'), 'switched back on, unchanged');
  const driverOff = datastoreRules({ drivers: [{ kind: 'datastore', name: 'ceph', alerts: entries([{ name: 'full_soon', enabled: false }]) }], datastore: { name: 'fast', alerts: entries([{ name: 'full_soon', attribute: 'DAYS_TO_FULL', condition: { lower: 30 }, severity: 'info' }]) } });
  t.equal(byName(driverOff, 'full_soon')?.severity, 'info', 'a whole rule in a later layer replaces a disabled one, enabled');
});

t.test('errors name the list and the rule', async (t) => {
  t.throws(() => mergeRules([{ source: 'ferry.yaml alerts', entries: entries([{ name: 'free_low', enabled: false }, { name: 'free_low', enabled: true }]) }]), { code: 'E_CONFIG', message: 'ferry.yaml alerts: the rule "free_low" is given twice' });
  t.throws(() => mergeRules([{ source: 'ferry.yaml datastores.fast.alerts', entries: entries([{ name: 'fre_low', enabled: false }]) }]), {
    code: 'E_CONFIG',
    message: 'ferry.yaml datastores.fast.alerts: "fre_low" is not a rule defined before this list, so enabled: false has nothing to switch; did you mean "free_low"?',
  });
});

t.test('alerts: in a datastore entry reads like any other key path', async (t) => {
  const schema = v.strictObject({ datastores: v.record(v.string(), v.strictObject({ alerts: v.optional(AlertsSchema) })) });
  t.same(explainIssues(schema, { datastores: { fast: { alerts: [{ name: 'free_low', severity: 'fatal', attribute: 'FREE_PCT', condition: { lower: 20 } }] } } }), [
    'datastores.fast.alerts.0.severity: expected ("critical" | "major" | "minor" | "warning" | "info"), got "fatal"',
  ]);
  // A misspelt switch is read as a whole rule (the first shape, on a tie), and the misspelling is still named.
  const typo = explainIssues(schema, { datastores: { fast: { alerts: [{ name: 'free_low', enabld: false }] } } });
  t.match(typo[typo.length - 1], /^datastores\.fast\.alerts\.0\.enabld: unknown key "enabld"; did you mean "enabled"\?/);
});
