/**
 * The catalog's image lifecycle on OpenNebula's own fs driver, unmodified:
 * a datastore, images copied in (cp prints "<source> <format>": the size
 * comes from stat, as oned asks it), made empty (mkfs prints only the
 * source), cloned and deleted, and a datastore check that finds nothing left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ferryIn } from '../helpers/catalog-world.js';
import { oneRoot } from '../helpers/one-lab.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test("images on OpenNebula's fs driver through the catalog", async (t) => {
  const one = oneRoot(t);
  const root = tmpDir(t);
  const base = join(root, 'ds', '100');
  mkdirSync(base, { recursive: true });
  const ferry = ferryIn(root, one.remotes, join(root, 'home'));
  const ds = await ferry.json(['datastore', 'create', 'images', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', base]);
  t.ok(ds.totalMb > 0, "the datastore's capacity comes from OpenNebula's monitor");

  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'src.qcow2'), '24M']);
  const copied = await ferry.json(['image', 'create', '--datastore', 'images', '--path', join(root, 'src.qcow2'), '--name', 'base']);
  t.equal(copied.state, 'READY');
  t.equal(copied.format, 'qcow2', 'the format cp printed');
  t.equal(copied.sizeMb, 24, 'the virtual size, from stat as oned asks it');
  t.match(copied.source, new RegExp(`^${base}/[0-9a-f]{32}$`));

  const empty = await ferry.json(['image', 'create', '--datastore', 'images', '--size', '12', '--format', 'raw', '--name', 'empty']);
  t.equal(empty.state, 'READY', "mkfs printing only the source is a success");
  t.equal(empty.sizeMb, 12, 'its size is the one asked for');
  t.ok(existsSync(empty.source));

  const clone = await ferry.json(['image', 'clone', 'base', '--name', 'copy']);
  t.equal(clone.state, 'READY');
  t.not(clone.source, copied.source, 'a source of its own');

  for (const name of ['copy', 'empty']) await ferry.json(['image', 'delete', name]);
  t.notOk(existsSync(empty.source), 'rm removed the file');
  t.same(readdirSync(base).filter((name) => !name.startsWith('.ferry-')).sort(), [copied.source.split('/').pop()], 'only the remaining image is left (and the owner marker ferry keeps)');
  const check = await ferry.cli(['datastore', 'check', 'images']);
  t.equal(check.status, 0, `datastore check finds nothing wrong: ${check.stdout}${check.stderr}`);
});
