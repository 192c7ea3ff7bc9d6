/**
 * Capacity from the command line on the fs datastore: an image that does not
 * fit is refused (exit 2) before anything is made, --force goes ahead and is
 * journaled, LIMIT_MB caps the space, and ferry.yaml's monitor.max_age says
 * when the figures are refreshed.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { stage, world } from '../helpers/catalog-world.js';

t.test('image create that does not fit is refused with the figures; nothing recorded, no file left', async (t) => {
  const w = world(t);
  const { images } = await stage(t, w, 'shared');
  const before = readdirSync(images).sort();
  const huge = await w.cli(['image', 'create', '--datastore', 'images', '--size', '1P', '--name', 'huge']);
  t.equal(huge.status, 2, 'exit 2 (E_CONFLICT)');
  t.match(huge.stderr, /image huge needs 1073741824 MB but datastore images has \d+ MB available \(free \d+ MB, monitored /);
  t.match(huge.stderr, /--force/);
  t.notOk(w.catalog().findImage('huge'), 'not recorded');
  t.same(readdirSync(images).sort(), before, 'nothing made in BASE_PATH');
  const json = await w.cli(['--json', 'image', 'create', '--datastore', 'images', '--size', '1P', '--name', 'huge']);
  t.match(JSON.parse(json.stdout), { ok: false, error: { code: 'E_CONFLICT', message: /needs 1073741824 MB/ } }, '--json says so too');
});

t.test('LIMIT_MB caps the space; --force makes the image anyway and journals the override', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  await w.json(['datastore', 'update', 'images', '--attr', 'LIMIT_MB=1']);
  const refused = await w.cli(['image', 'create', '--datastore', 'images', '--size', '4', '--name', 'small']);
  t.equal(refused.status, 2, 'LIMIT_MB below what is used: no room');
  t.match(refused.stderr, /has 0 MB available \(free \d+ MB, LIMIT_MB 1 - used \d+ MB/);
  t.match(refused.stderr, /LIMIT_MB=/, 'the hint names LIMIT_MB');
  const clone = await w.cli(['image', 'clone', 'data', '--name', 'copy']);
  t.equal(clone.status, 2, 'a clone is refused too');
  t.match(clone.stderr, /image copy needs 8 MB/);

  const forced = await w.json(['image', 'create', '--datastore', 'images', '--size', '4', '--name', 'small', '--force']);
  t.equal(forced.state, 'READY', '--force: made');
  const journal = w.catalog().journal(`image:${forced.id}`);
  t.match(journal[0], { kind: 'capacity', action: 'override', message: /image small needs 4 MB .*; --force/ }, 'the override journaled first');
  const forcedClone = await w.json(['image', 'clone', 'data', '--name', 'copy', '--force']);
  t.equal(forcedClone.state, 'READY', 'clone --force: made');
  for (const sub of [['image', 'create'], ['image', 'clone'], ['vm', 'disk-saveas']]) {
    t.match((await w.cli([...sub, '--help'])).stdout, /--force/, `${sub.join(' ')} has --force`);
  }
});

t.test('monitor.max_age in ferry.yaml: 0 refreshes the figures before every create; by default fresh ones are trusted', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const id = w.catalog().datastore('images').id;
  const monitors = () => w.catalog().journal(`datastore:${id}`).filter((entry) => entry.action === 'monitor').length;
  const first = monitors();
  await w.json(['image', 'create', '--datastore', 'images', '--size', '1', '--name', 'one']);
  t.equal(monitors(), first, 'figures taken at datastore create are younger than 300 s: no monitor');
  writeFileSync(`${w.root}/ferry.yaml`, 'frontend: fe\nlog_level: warn\nmonitor:\n  max_age: 0\n');
  await w.json(['image', 'create', '--datastore', 'images', '--size', '1', '--name', 'two']);
  t.equal(monitors(), first + 1, 'max_age 0: the monitor ran first');
  writeFileSync(`${w.root}/ferry.yaml`, 'frontend: fe\nmonitor:\n  max_age: -1\n');
  const bad = await w.cli(['datastore', 'list']);
  t.equal(bad.status, 2, 'a negative max_age is a config error');
  t.match(bad.stderr, /monitor\.max_age/);
});
