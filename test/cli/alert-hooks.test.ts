/**
 * The alert hooks from a catalog command, with no service running: `ferry datastore monitor` that raises an
 * alert runs remotes/hooks/alert/* once for it, a second monitor (the alert still firing) runs nothing, and
 * the monitor that clears it runs them once more with `cleared`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { world } from '../helpers/catalog-world.js';

t.test('datastore monitor raising an alert runs the hook once; a second monitor does not; the clear runs it again', async (t) => {
  const w = world(t);
  const log = join(w.root, 'hooks.log');
  const hooks = join(w.remotes, 'hooks', 'alert');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(join(hooks, 'record'), `#!/bin/sh\n# Appends its argument and the JSON it read, on one line.\nset -eu\nprintf '%s ' "$1" >> '${log}'\ncat >> '${log}'\n`);
  chmodSync(join(hooks, 'record'), 0o755);
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => ({ event: line.slice(0, line.indexOf(' ')), input: JSON.parse(line.slice(line.indexOf(' ') + 1)) }))
      : [];
  const config = (bound: number) =>
    writeFileSync(join(w.root, 'ferry.yaml'), ['frontend: fe', 'log_level: warn', 'alerts:', `  - {name: big, attribute: TOTAL_MB, condition: {upper: ${bound}}, severity: info}`, ''].join('\n'));
  // Created with the bound out of reach (create monitors the datastore too), then lowered below its size.
  config(1e12);
  const base = join(w.root, 'ds', 'images');
  mkdirSync(base, { recursive: true });
  const ds = await w.json(['datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', base]);
  t.same(calls(), [], 'creating the datastore raised nothing, ran no hook');
  config(0);

  const first = await w.cli(['datastore', 'monitor', 'images']);
  t.equal(first.status, 0, `the monitor succeeds ${first.stderr}`);
  const raised = calls();
  t.equal(raised.length, 1, 'the hook ran once');
  t.equal(raised[0]?.event, 'raised', 'with `raised` as its argument');
  t.match(raised[0]?.input, { event: 'raised', notice: Number, alert: { rule: 'big', severity: 'info', state: 'firing', subject: { kind: 'datastore', id: String(ds.id) } } }, 'the alert as JSON on stdin');
  const alerts = (await w.json(['alert', 'list', '--state', 'firing'])) as unknown as Array<Record<string, any>>;
  t.same(alerts.map((alert) => [alert.rule, alert.id]), [['big', raised[0]?.input.alert.id]], 'the alert it announced is the one firing');
  t.equal(w.catalog().listNotices().length, 0, 'its notice delivered');

  const second = await w.cli(['datastore', 'monitor', 'images']);
  t.equal(second.status, 0);
  t.equal(calls().length, 1, 'a second monitor, the alert still firing: the hook does not run again');
  await w.json(['alert', 'list']);
  t.equal(calls().length, 1, 'nor does a command that raises nothing');

  // The bound out of reach: the next monitor clears the alert, and the hook hears it once.
  config(1e12);
  t.equal((await w.cli(['datastore', 'monitor', 'images'])).status, 0);
  const after = calls();
  t.same(after.map((call) => call.event), ['raised', 'cleared'], 'cleared: the hook ran once more');
  t.match(after[1]?.input, { event: 'cleared', alert: { id: raised[0]?.input.alert.id, state: 'cleared' } });
  t.ok((after[1]?.input.notice as number) > (raised[0]?.input.notice as number), 'a new notice id');
  t.equal((await w.cli(['datastore', 'monitor', 'images'])).status, 0);
  t.equal(calls().length, 2, 'nothing more');
  const shown = await w.json(['alert', 'show', String(raised[0]?.input.alert.id)]);
  t.match(shown.notices, [{ event: 'raised', deliveredAt: String, lastError: null }, { event: 'cleared', deliveredAt: String, lastError: null }], 'alert show: what the hooks made of each event');
  const text = await w.cli(['alert', 'show', String(raised[0]?.input.alert.id)]);
  t.match(text.stdout, /hooks +raised \(notice \d+\): delivered .*\n +hooks +cleared \(notice \d+\): delivered/);
});
