/** Alerts (schema 9): raised once per (rule, subject), cleared, acknowledged, listed; ids only grow; the evaluator's state. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import type { NewAlert } from '../../src/model.js';
import { thrown } from '../helpers/fixtures.js';
import { fresh, seeded, rawStore, STORE } from './seed.js';

const T0 = Date.UTC(2026, 0, 5);
const full = (id: number | string, extra: Partial<NewAlert> = {}): NewAlert => ({
  rule: 'free-below-10',
  subject: { kind: 'datastore', id },
  severity: 'critical',
  value: 7.5,
  message: 'free 7.5 % < 10 %',
  affects: [{ kind: 'image', id: 3 }, { kind: 'vm', id: '12' }],
  at: T0,
  ...extra,
});

t.test('raise is idempotent while firing; clear ends it; the next raise is a new alert with a larger id', async (t) => {
  const { catalog } = fresh(t);
  const first = catalog.raiseAlert(full(1));
  t.equal(first.raised, true, 'raised');
  t.same(first.alert, {
    id: 1,
    rule: 'free-below-10',
    subject: { kind: 'datastore', id: '1' },
    severity: 'critical',
    state: 'firing',
    value: 7.5,
    message: 'free 7.5 % < 10 %',
    affects: [{ kind: 'image', id: '3' }, { kind: 'vm', id: '12' }],
    raisedAt: new Date(T0).toISOString(),
    clearedAt: null,
    ackedAt: null,
    ackedBy: null,
  });
  const again = catalog.raiseAlert(full('1', { value: 6, message: 'free 6 %', at: T0 + 1000 }));
  t.equal(again.raised, false, 'not raised again');
  t.same(again.alert, first.alert, 'the firing alert, unchanged');
  t.equal(catalog.listAlerts().length, 1, 'no duplicate');
  t.equal(catalog.raiseAlert(full(2)).alert.id, 2, 'another subject: another alert');
  t.equal(catalog.raiseAlert(full(1, { rule: 'full-in-3-days' })).alert.id, 3, 'another rule: another alert');

  const cleared = catalog.clearAlert('free-below-10', { kind: 'datastore', id: 1 }, T0 + 5000);
  t.match(cleared, { id: 1, state: 'cleared', clearedAt: new Date(T0 + 5000).toISOString() });
  t.equal(catalog.clearAlert('free-below-10', { kind: 'datastore', id: 1 }), undefined, 'clearing again: none firing');
  const next = catalog.raiseAlert(full(1, { at: T0 + 9000 }));
  t.equal(next.raised, true);
  t.equal(next.alert.id, 4, 'a new alert, with a new id');
  t.equal(catalog.alert(1).state, 'cleared', 'the old one stays cleared');
});

t.test('ack, show, list with filters', async (t) => {
  const { catalog } = fresh(t);
  const a = catalog.raiseAlert(full(1)).alert;
  const b = catalog.raiseAlert(full(2, { rule: 'free-below-20', severity: 'warning' })).alert;
  const c = catalog.raiseAlert(full('node1', { rule: 'host-down', subject: { kind: 'host', id: 'node1' }, severity: 'major', value: null, affects: [] })).alert;
  catalog.clearAlert('free-below-20', { kind: 'datastore', id: 2 });

  t.match(catalog.ackAlert(a.id, 'alice', T0 + 1), { ackedBy: 'alice', ackedAt: new Date(T0 + 1).toISOString(), state: 'firing' });
  t.match(catalog.ackAlert(a.id, 'bob', T0 + 2), { ackedBy: 'alice', ackedAt: new Date(T0 + 1).toISOString() }, 'the first acknowledgement is kept');
  t.match(catalog.ackAlert(b.id, 'bob'), { ackedBy: 'bob', state: 'cleared' }, 'a cleared alert can be acknowledged');
  t.equal(thrown(() => catalog.ackAlert(99, 'alice')).code, 'E_NOT_FOUND');
  t.equal(thrown(() => catalog.ackAlert(a.id, '')).code, 'E_USAGE');
  t.equal(thrown(() => catalog.alert(99)).code, 'E_NOT_FOUND');
  t.equal(catalog.findAlert(99), undefined);
  t.match(catalog.alert(c.id), { subject: { kind: 'host', id: 'node1' }, value: null, affects: [] });

  const ids = (filter: Parameters<typeof catalog.listAlerts>[0]) => catalog.listAlerts(filter).map((alert) => alert.id);
  t.same(ids({}), [a.id, b.id, c.id], 'all, oldest first');
  t.same(ids({ state: 'firing' }), [a.id, c.id]);
  t.same(ids({ state: 'cleared' }), [b.id]);
  t.same(ids({ severity: 'critical' }), [a.id]);
  t.same(ids({ severity: ['critical', 'major'] }), [a.id, c.id]);
  t.same(ids({ severity: [] }), [], 'no severity: nothing');
  t.same(ids({ subject: { kind: 'datastore' } }), [a.id, b.id]);
  t.same(ids({ subject: { kind: 'datastore', id: 2 } }), [b.id]);
  t.same(ids({ subject: { kind: 'host', id: 'node1' }, state: 'firing' }), [c.id]);
  t.same(ids({ rule: 'host-down' }), [c.id]);
});

t.test('a raise is checked: rule, subject, severity, value', async (t) => {
  const { catalog } = fresh(t);
  t.equal(thrown(() => catalog.raiseAlert(full(1, { rule: '' }))).code, 'E_USAGE');
  t.equal(thrown(() => catalog.raiseAlert(full(1, { subject: { kind: 'Data Store', id: 1 } }))).code, 'E_USAGE');
  t.equal(thrown(() => catalog.raiseAlert(full(1, { subject: { kind: 'datastore', id: '' } }))).code, 'E_USAGE');
  t.equal(thrown(() => catalog.raiseAlert(full(1, { severity: 'fatal' as 'critical' }))).code, 'E_USAGE');
  t.equal(thrown(() => catalog.raiseAlert(full(1, { value: Number.POSITIVE_INFINITY }))).code, 'E_USAGE');
  t.same(catalog.listAlerts(), []);
});

t.test('the catalog refuses a second firing alert of one (rule, subject) at the SQL level too', async (t) => {
  const { catalog, path } = fresh(t);
  catalog.raiseAlert(full(1));
  const raw = rawStore(t, path);
  // Ids given: PostgreSQL's alerts take theirs from the insert (id_sequences), not from the table.
  const insert = raw.prepare("INSERT INTO alerts (id, rule, subject_kind, subject_id, severity, state, message, raised_at) VALUES (?, 'free-below-10', 'datastore', '1', 'critical', ?, 'm', 'now')");
  t.throws(() => insert.run(100, 'firing'), { code: STORE === 'postgres' ? '23505' : 'SQLITE_CONSTRAINT_UNIQUE' }, 'a second firing row is refused');
  t.doesNotThrow(() => insert.run(101, 'cleared'), 'cleared ones are many');
});

t.test('ids only grow: also past an alert deleted by hand', async (t) => {
  const { catalog, path } = fresh(t);
  for (const id of [1, 2, 3]) catalog.raiseAlert(full(id));
  const raw = rawStore(t, path);
  raw.prepare('DELETE FROM alerts WHERE id = 3').run();
  raw.close();
  t.equal(catalog.raiseAlert(full(4)).alert.id, 4, 'not 3 again');
});

t.test('the evaluator\'s state per (rule, subject): stored as JSON, replaced, deleted, listed, kept across opens', async (t) => {
  const { catalog, path } = fresh(t);
  const subject = { kind: 'datastore', id: 1 };
  t.equal(catalog.evaluatorState('free-below-10', subject), undefined, 'none yet');
  catalog.putEvaluatorState('free-below-10', subject, { pendingSince: T0, armed: true }, T0);
  catalog.putEvaluatorState('free-below-10', subject, { pendingSince: T0, armed: false }, T0 + 1);
  catalog.putEvaluatorState('free-below-10', { kind: 'datastore', id: 2 }, { pendingSince: null }, T0);
  catalog.putEvaluatorState('stale', subject, [1, 2], T0);
  t.same(catalog.evaluatorState('free-below-10', { kind: 'datastore', id: '1' }), { pendingSince: T0, armed: false }, 'replaced');
  catalog.putEvaluatorState('stale', subject, undefined);
  t.equal(catalog.evaluatorState('stale', subject), undefined, 'deleted');
  catalog.close();
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  t.same(again.listEvaluatorStates(), [
    { rule: 'free-below-10', subject: { kind: 'datastore', id: '1' }, state: { pendingSince: T0, armed: false }, updatedAt: new Date(T0 + 1).toISOString() },
    { rule: 'free-below-10', subject: { kind: 'datastore', id: '2' }, state: { pendingSince: null }, updatedAt: new Date(T0).toISOString() },
  ], 'kept across opens');
  t.equal(again.listEvaluatorStates('other').length, 0);
});

t.test('inside a transaction that fails, a raise is undone', async (t) => {
  const { catalog } = seeded(t);
  t.throws(() => catalog.transaction((tx) => {
    tx.raiseAlert(full(1));
    throw new Error('boom');
  }));
  t.same(catalog.listAlerts(), []);
});

t.test('two processes raising the same alerts at the same moment make one row each, and agree on its id', async (t) => {
  // Real processes on the built catalog module, as connection.test.ts does.
  const built = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/catalog/catalog.js');
  t.ok(existsSync(built), `${built} is missing: run npm run build (node scripts/build.mjs) before the tests`);
  const { catalog, path } = fresh(t);
  const RULES = 40;
  const script = `
    import(${JSON.stringify(built)}).then(({ Catalog }) => {
      const catalog = Catalog.open(process.argv[1]);
      process.stdout.write('ready\\n');
      const out = [];
      for (let i = 0; i < ${RULES}; i++) {
        const { alert, raised } = catalog.raiseAlert({ rule: 'rule-' + i, subject: { kind: 'datastore', id: 1 }, severity: 'warning', message: 'from ' + process.pid });
        out.push([alert.id, raised]);
      }
      process.stdout.write(JSON.stringify(out) + '\\n');
      catalog.close();
    })`;
  // Hold the write lock until both are ready, so both wait on their first raise and then race for each.
  const holder = rawStore(t, path);
  holder.prepare(STORE === 'postgres' ? 'BEGIN' : 'BEGIN IMMEDIATE').run();
  // PostgreSQL: readers pass, writers of alerts wait (SQLite's write lock, as near as PostgreSQL has one).
  if (STORE === 'postgres') holder.prepare('LOCK TABLE alerts IN EXCLUSIVE MODE').run();
  const children = [0, 1].map(() => {
    // As an ES module: a CommonJS -e script waits forever on PostgresExecutor's first call (its synckit worker never answers).
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { child, stdout: '', stderr: '', closed: new Promise<number | null>((done) => child.once('close', (code) => done(code))) };
    child.stdout?.on('data', (chunk) => (out.stdout += String(chunk)));
    child.stderr?.on('data', (chunk) => (out.stderr += String(chunk)));
    return out;
  });
  t.teardown(() => children.forEach(({ child }) => void (child.exitCode === null && child.kill('SIGKILL'))));
  const deadline = Date.now() + 20_000;
  while (!children.every((out) => out.stdout.startsWith('ready')) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
  await new Promise((done) => setTimeout(done, 50));
  holder.prepare('COMMIT').run();
  holder.close();
  const results: Array<Array<[number, boolean]>> = [];
  for (const out of children) {
    t.equal(await out.closed, 0, `child exits 0 ${out.stderr}`);
    t.equal(out.stderr, '', 'no SQLITE_BUSY, no constraint error');
    results.push(JSON.parse(out.stdout.split('\n')[1] as string) as Array<[number, boolean]>);
  }
  const [a, b] = results as [Array<[number, boolean]>, Array<[number, boolean]>];
  t.equal(catalog.listAlerts().length, RULES, 'one row per (rule, subject)');
  for (let i = 0; i < RULES; i++) {
    const rows = catalog.listAlerts({ rule: `rule-${i}` });
    if (rows.length !== 1 || a[i]?.[0] !== b[i]?.[0] || a[i]?.[1] === b[i]?.[1]) {
      t.fail(`rule-${i}: ${rows.length} rows, children saw ${JSON.stringify(a[i])} and ${JSON.stringify(b[i])}`);
    }
  }
  t.pass('for every rule both children got the same alert, and exactly one raised it');
  const ids = catalog.listAlerts().map((alert) => alert.id);
  t.same(ids, [...ids].sort((x, y) => x - y), 'ids in raise order');
  t.equal(new Set(ids).size, RULES, 'ids unique');
  t.ok(a.some(([, raised]) => raised) || b.some(([, raised]) => raised));
});
