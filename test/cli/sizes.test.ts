/** Sizes with units wherever a size is given: image create --size, vm create --volatile, vm.yaml volatile and swap. */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stage, world } from '../helpers/catalog-world.js';

t.test('image create --size takes a unit; a bare number stays MB; anything else is refused before a driver runs', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const mb = await w.json(['image', 'create', '--datastore', 'images', '--size', '0.015625G', '--name', 'sixteen']);
  t.equal(mb.sizeMb, 16, '0.015625G is 16 MB');
  t.equal(statSync(mb.source).size, 16 * 1024 * 1024, 'and its file is 16 MiB');
  const plain = await w.json(['image', 'create', '--datastore', 'images', '--size', '3', '--name', 'three']);
  t.equal(plain.sizeMb, 3, 'a bare number is MB');
  const unit = await w.json(['image', 'create', '--datastore', 'images', '--size', '4M', '--name', 'four']);
  t.equal(unit.sizeMb, 4, '4M');
  const before = w.catalog().journal().length;
  const bad = await w.cli(['image', 'create', '--datastore', 'images', '--size', '1Q', '--name', 'bad']);
  t.equal(bad.status, 2, 'a size with an unknown unit: exit 2');
  t.match(bad.stderr, /--size "1Q" is not a size/);
  t.match(bad.stderr, /--size 1G/, 'the hint shows a unit');
  t.equal(w.catalog().journal().length, before, 'no driver ran');
  const help = await w.cli(['image', 'create', '--help']);
  t.match(help.stdout, /--size <size>\s+size of a new empty image: MB, or with a unit/, 'the help says so');
});

t.test('vm.yaml volatile and swap sizes, and --volatile, take units', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const file = join(w.root, 'units.yaml');
  writeFileSync(file, 'name: vmu\nhost: host01\nsystem_datastore: system\ndisks:\n  - volatile: 6M\n  - swap: "0.0078125G"\n  - volatile: 2\n');
  const vm = await w.json(['vm', 'create', file]);
  t.same(vm.disks.map((disk: { sizeMb: number }) => disk.sizeMb), [6, 8, 2], '6M, 0.0078125G (8 MB) and a bare 2 (MB)');
  const flags = await w.json(['vm', 'create', '--name', 'vmf', '--host', 'host02', '--system-ds', 'system', '--volatile', '5M', '--dry-run']);
  t.match(JSON.stringify(flags), /"mkimage".*"5"/, '--volatile 5M makes a 5 MB disk');
  writeFileSync(file, 'name: vmb\nhost: host01\nsystem_datastore: system\ndisks:\n  - swap: 1Q\n');
  const bad = await w.cli(['vm', 'create', file]);
  t.equal(bad.status, 2, 'a swap size with an unknown unit: exit 2');
  t.match(bad.stderr, /units\.yaml/, 'naming the file');
  const badFlag = await w.cli(['vm', 'create', '--name', 'vmg', '--host', 'host02', '--system-ds', 'system', '--volatile', 'big']);
  t.equal(badFlag.status, 2);
  t.match(badFlag.stderr, /--volatile "big" is not a size/);
});
