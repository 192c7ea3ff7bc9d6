/** `ferry datastore create|update|delete --dry-run`: checked, the monitor named, nothing recorded or run. */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ferryIn, stage, world } from '../helpers/catalog-world.js';
import { jsonOf, runCli } from './helpers.js';

t.test('datastore create/update/delete --dry-run check everything and change nothing', async (t) => {
  const w = world(t);
  const dir = join(w.root, 'ds1');
  mkdirSync(dir);
  const dry = await w.json(['datastore', 'create', 'one', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir, '--dry-run']);
  t.same(dry.plan, [{ kind: 'datastore', action: 'monitor', driver: 'fs' }], 'the monitor it would run');
  t.equal(dry.datastore.name, 'one');
  t.same(w.catalog().listDatastores(), [], 'nothing recorded');
  t.same(w.catalog().journal(), [], 'no driver ran');
  const system = await w.cli(['datastore', 'create', 'sys', '--type', 'SYSTEM', '--tm-mad', 'shared', '--base-path', dir, '--dry-run']);
  t.match(system.stdout, /^# ferry tm shared monitor of datastore sys, then record it\n/, 'a system datastore is checked by its TM monitor');
  const bad = await w.cli(['datastore', 'create', 'two', '--tm-mad', 'shared', '--base-path', dir, '--dry-run']);
  t.equal(bad.status, 2, 'bad flags are refused in a dry run too');
  t.match(bad.stderr, /needs --ds-mad/);

  await stage(t, w, 'shared');
  const before = w.catalog().datastore('images');
  const update = await w.json(['datastore', 'update', 'images', '--attr', 'LIMIT_MB=100', '--dry-run']);
  t.equal(update.datastore.template.LIMIT_MB, '100', 'the datastore as it would be');
  t.same(w.catalog().datastore('images').template, before.template, 'unchanged');
  const held = await w.cli(['datastore', 'delete', 'images', '--dry-run']);
  t.equal(held.status, 2, 'a datastore holding images cannot go, dry run or not');
  const empty = join(w.root, 'ds3');
  mkdirSync(empty);
  await w.json(['datastore', 'create', 'spare', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', empty]);
  const spare = await w.cli(['datastore', 'delete', 'spare', '--dry-run']);
  t.equal(spare.status, 0, spare.stderr);
  t.match(spare.stdout, /would delete datastore \d+ \(spare\)/);
  t.ok(w.catalog().findDatastore('spare'), 'still there');
});

t.test('datastore create checks attributes against the drivers\' driver.yaml config before anything is recorded', async (t) => {
  const w = world(t);
  const vault = join(w.remotes, 'datastore', 'vault');
  cpSync(join(w.remotes, 'datastore', 'fs'), vault, { recursive: true });
  writeFileSync(
    join(vault, 'driver.yaml'),
    'api: 1\nkind: datastore\nconfig:\n  BASE_PATH: { type: path, required: true }\n  TOKEN: { secret: true, required: true }\n  LIMIT: { type: integer }\n',
  );
  const dir = join(w.root, 'vault');
  mkdirSync(dir);
  const base = ['datastore', 'create', 'v', '--ds-mad', 'vault', '--tm-mad', 'shared', '--base-path', dir];
  const env = { FERRY_HOME: w.home, TOKEN: 't0ps3cret' };
  const cli = (argv: string[]) => runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, ...argv], { env, cwd: w.root });
  for (const [extra, pattern] of [
    [['--attr', 'TOKEN=t0ps3cret'], /TOKEN is a secret of driver datastore\/vault \(driver\.yaml\): give it with --secret TOKEN/],
    [[], /driver datastore\/vault needs TOKEN: --secret TOKEN/],
    [['--secret', 'TOKEN', '--attr', 'LIMIT=lots'], /LIMIT="lots" is not a whole number, as driver datastore\/vault expects/],
  ] as const) {
    const refused = await cli([...base, ...extra]);
    t.equal(refused.status, 2, `${extra.join(' ') || 'no TOKEN'}: exit 2`);
    t.match(refused.stderr, pattern);
    t.notMatch(refused.stderr, /t0ps3cret/, 'the value is never echoed');
  }
  t.same(w.catalog().listDatastores(), [], 'nothing recorded');
  t.same(w.catalog().journal(), [], 'no driver ran');
  const made = await cli(['--json', ...base, '--secret', 'TOKEN', '--attr', 'LIMIT=5']);
  t.equal(made.status, 0, made.stderr);
  t.equal(jsonOf(made.stdout).result.secrets.TOKEN, '***');
  const update = await cli(['datastore', 'update', 'v', '--attr', 'LIMIT=x']);
  t.equal(update.status, 2, 'update is checked too');
  t.equal(w.catalog().datastore('v').template.LIMIT, '5', 'and left as it was');
});

t.test('datastore create|update refuse a BASE_PATH with a space, with the reason; nothing recorded, no file made', async (t) => {
  const w = world(t);
  const spaced = join(w.root, 'my images');
  mkdirSync(spaced);
  const created = await w.cli(['datastore', 'create', 'spaced', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', spaced]);
  t.equal(created.status, 2, 'refused: exit 2');
  t.match(created.stderr, /BASE_PATH ".*my images" has a space: the contract's "<image_source> <size>" reply cannot carry it/);
  t.notOk(w.catalog().findDatastore('spaced'), 'not recorded');
  await stage(t, w, 'shared');
  const updated = await w.cli(['datastore', 'update', 'images', '--base-path', spaced]);
  t.equal(updated.status, 2, 'update refused too');
  t.match(updated.stderr, /has a space/);
  t.notMatch(w.catalog().datastore('images').basePath, / /, 'the datastore keeps its path');
  writeFileSync(join(w.root, 'ferry.yaml'), `frontend: fe\nlog_level: warn\ndatastores:\n  cfg:\n    ds_mad: fs\n    tm_mad: shared\n    base_path: "${spaced}"\n`);
  const config = await w.cli(['datastore', 'list']);
  t.equal(config.status, 2, 'a ferry.yaml datastore with one is a config error');
  t.match(config.stderr, /datastores\.cfg\.base_path: .*my images/, 'naming the key');
});

t.test('datastore monitor DS|--all refreshes the figures on demand, journaled; --all reports a failing one and goes on', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const images = w.catalog().datastore('images');
  const monitors = () => w.catalog().journal(`datastore:${images.id}`).filter((entry) => entry.action === 'monitor').length;
  const before = monitors();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const one = await w.json(['datastore', 'monitor', 'images']);
  t.match(one, { id: images.id, name: 'images', totalMb: Number, usedMb: Number, freeMb: Number, availableMb: Number, monitoredAt: String });
  t.ok(one.monitoredAt > (images.monitoredAt as string), 'monitored again');
  t.equal(monitors(), before + 1, 'journaled under the datastore');
  t.equal(w.catalog().datastore('images').monitoredAt, one.monitoredAt, 'the figures are stored');
  const text = await w.cli(['datastore', 'monitor', '1']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /^datastore 1 images: total \d+ MB, used \d+ MB, free \d+ MB, available \d+ MB \(monitored .*\)\n$/);

  const all = await w.json(['datastore', 'monitor', '--all']);
  t.same(all.map((entry: { name: string }) => entry.name), ['images', 'system'], 'every datastore');
  const gone = join(w.root, 'gone');
  mkdirSync(gone);
  await w.json(['datastore', 'create', 'gone', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', gone]);
  rmSync(gone, { recursive: true });
  const partly = await w.cli(['datastore', 'monitor', '--all']);
  t.equal(partly.status, 1, 'a failing monitor: its exit status');
  t.match(partly.stdout, /^ID\s+NAME\s+TOTAL_MB\s+USED_MB\s+FREE_MB\s+AVAIL_MB\s+MONITORED\n1\s+images .*\n2\s+system .*\n$/, 'the others are listed');
  t.match(partly.stderr, /^ferry: datastore gone: .*does not exist/m, 'the failure names its datastore');
  const partlyJson = await w.cli(['--json', 'datastore', 'monitor', '--all']);
  t.equal(partlyJson.status, 1);
  t.match(jsonOf(partlyJson.stdout), {
    ok: false,
    result: [{ name: 'images', freeMb: Number }, { name: 'system' }, { name: 'gone', error: { code: 'E_DRIVER_FAILED', message: /does not exist/ } }],
    error: { code: 'E_DRIVER_FAILED', exitStatus: 1 },
  });

  for (const argv of [['datastore', 'monitor'], ['datastore', 'monitor', 'images', '--all']]) {
    const bad = await w.cli(argv);
    t.equal(bad.status, 2, `${argv.join(' ')}: a usage error`);
    t.match(bad.stderr, /give a datastore, or --all/);
  }
  t.equal((await w.cli(['datastore', 'monitor', 'nope'])).status, 2, 'an unknown datastore');
});

t.test('a second catalog\'s datastore create on a folder another catalog owns is refused, naming the owner; after delete it is free', async (t) => {
  const w = world(t);
  const dir = join(w.root, 'shared-folder');
  mkdirSync(dir);
  const created = await w.json(['datastore', 'create', 'first', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir]);
  t.ok(existsSync(join(dir, '.ferry-datastore.json')), 'the folder names its owner');
  const check = await w.cli(['datastore', 'check', 'first']);
  t.equal(check.status, 0, 'datastore check finds nothing unowned');
  const other = ferryIn(w.root, w.remotes, join(w.root, 'other-home'));
  const refused = await other.cli(['datastore', 'create', 'second', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir]);
  t.equal(refused.status, 2);
  t.match(refused.stderr, `belongs to datastore first (id ${created.id}) of the catalog ${w.catalog().path}`);
  t.match(refused.stderr, `rm ${join(dir, '.ferry-datastore.json')}`);
  await w.json(['datastore', 'delete', 'first']);
  t.notOk(existsSync(join(dir, '.ferry-datastore.json')), 'delete removed the marker');
  t.equal((await other.cli(['datastore', 'create', 'second', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir])).status, 0, 'the freed folder can be taken');
});
