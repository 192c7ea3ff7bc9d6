/** One list of hosts: a host made with `host create --local` serves `ferry tm transfer` as ferry.yaml's hosts do; no catalog, none made. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { world } from '../helpers/catalog-world.js';

t.test('tm transfer reaches a catalog host created --local', async (t) => {
  const w = world(t);
  const source = join(w.root, 'source.img');
  const target = join(w.root, 'vm', 'disk.0');
  writeFileSync(source, 'disk bytes\n');
  const file = join(w.root, 'clone.tm');
  writeFileSync(file, `CLONE shared fe:${source} host01:${target} 7 0\n`);

  await w.json(['host', 'create', 'host01', '--local']);
  const run = await w.cli(['tm', 'transfer', file]);
  t.equal(run.status, 0, run.stderr);
  t.notMatch(run.stderr, /resolve hostname/);
  t.equal(readFileSync(target, 'utf8'), 'disk bytes\n', 'the copy was made on host01, this machine');
});

t.test('without a catalog, tm transfer makes none', async (t) => {
  const w = world(t);
  const file = join(w.root, 'mkdir.tm');
  writeFileSync(file, `MKIMAGE shared 1 raw fe:${join(w.root, 'vol.img')} 7 0\n`);
  await w.cli(['tm', 'transfer', file]);
  t.notOk(existsSync(join(w.home, 'catalog.db')), 'no catalog file appeared');
});
