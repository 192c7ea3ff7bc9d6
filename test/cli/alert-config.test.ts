/**
 * Alert rules from configuration: ferry.yaml `alerts:` over the built-in
 * ones, a driver's driver.yaml `alerts:` over that, ferry.yaml
 * `datastores.<name>.alerts` over all; a list that does not merge is
 * refused, naming the list and the rule.
 */
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bundledRemotes } from './helpers.js';
import { world } from '../helpers/catalog-world.js';

t.test('rules from ferry.yaml, driver.yaml and the datastore, in that order', async (t) => {
  const w = world(t);
  // datastore/gauge: the dummy driver whose monitor prints the figures in a file, with a driver.yaml of alerts.
  const figures = join(w.root, 'figures');
  const gauge = join(w.remotes, 'datastore', 'gauge');
  cpSync(join(bundledRemotes, 'datastore', 'dummy'), gauge, { recursive: true, verbatimSymlinks: true });
  rmSync(join(gauge, 'monitor'));
  writeFileSync(join(gauge, 'monitor'), `#!/bin/sh\nset -eu\ncat '${figures}'\n`);
  chmodSync(join(gauge, 'monitor'), 0o755);
  rmSync(join(gauge, 'driver.yaml'), { force: true });
  writeFileSync(join(gauge, 'driver.yaml'), ['alerts:', '  - {name: inodes_low, attribute: FREE_INODES, condition: {lower: 100}, severity: major}', ''].join('\n'));
  const write = (usedMb: number, inodes: number) => writeFileSync(figures, `USED_MB=${usedMb}\nTOTAL_MB=1000\nFREE_MB=${1000 - usedMb}\nFREE_INODES=${inodes}\n`);
  // ferry.yaml: the warning off everywhere, a rule of its own; the datastore's own list moves its threshold.
  writeFileSync(
    join(w.root, 'ferry.yaml'),
    [
      'frontend: fe',
      'log_level: warn',
      'alerts:',
      '  - {name: free_low, enabled: false}',
      '  - {name: used_big, attribute: USED_MB, condition: {upper: 900}, severity: minor}',
      'datastores:',
      '  gauge:',
      `    ds_mad: gauge`,
      '    tm_mad: dummy',
      `    base_path: ${join(w.root, 'ds')}`,
      '    alerts:',
      '      - {name: used_big, attribute: USED_MB, condition: {upper: 700}, severity: minor}',
      '',
    ].join('\n'),
  );
  mkdirSync(join(w.root, 'ds'));
  const firing = async () => ((await w.json(['alert', 'list'])) as unknown as Array<Record<string, any>>).map((alert) => `${alert.rule}:${alert.severity}`).sort();
  write(850, 500);
  await w.json(['datastore', 'monitor', 'gauge']);
  t.same(await firing(), ['used_big:minor'], '15 % free: no free_low (ferry.yaml turned it off); used_big at the datastore\'s 700, not ferry.yaml\'s 900');
  write(950, 50);
  await w.json(['datastore', 'monitor', 'gauge']);
  t.same(await firing(), ['free_critical:critical', 'inodes_low:major', 'used_big:minor'], "5 % free: the built-in critical still fires; the driver's inodes rule too");
});

t.test('a list of rules that does not merge is refused, naming it', async (t) => {
  const w = world(t);
  mkdirSync(join(w.root, 'ds'));
  await w.json(['datastore', 'create', 'images', '--ds-mad', 'dummy', '--tm-mad', 'dummy', '--base-path', join(w.root, 'ds')]);
  writeFileSync(join(w.root, 'ferry.yaml'), ['frontend: fe', 'alerts:', '  - {name: free_lo, enabled: false}', ''].join('\n'));
  const refused = await w.cli(['datastore', 'monitor', 'images']);
  t.equal(refused.status, 2, 'a configuration error: exit 2');
  t.match(refused.stderr, /free_lo/);
  t.match(refused.stderr, /free_low/, 'the nearest rule name');
  writeFileSync(join(w.root, 'ferry.yaml'), ['frontend: fe', 'alerts:', '  - {name: x, attribute: USED_MB, condition: {upper: 1}, severity: fatal}', ''].join('\n'));
  const bad = await w.cli(['datastore', 'list']);
  t.equal(bad.status, 2, 'a rule of the wrong shape is refused when ferry.yaml is read');
  t.match(bad.stderr, /alerts/);
});
