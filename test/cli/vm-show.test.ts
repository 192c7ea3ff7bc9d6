/** `vm show` names each disk's image by name and id: in its lines, with --json, and in -x. */
import t from 'tap';
import { stage, vmYaml, world } from '../helpers/catalog-world.js';

t.test('vm show names each disk image', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const made = await w.json(['vm', 'create', vmYaml(w, '  - volatile: 4\n')]);
  const base = w.catalog().image('base');
  const data = w.catalog().image('data');
  t.match(made.disks, [{ imageId: base.id, imageName: 'base' }, { imageId: data.id, imageName: 'data' }, { kind: 'volatile', imageId: null }], 'create: the names too');

  const shown = await w.cli(['vm', 'show', 'vm01']);
  t.equal(shown.status, 0);
  t.match(shown.stdout, new RegExp(`disk\\.0  image ${base.id} base \\(clone\\)`));
  t.match(shown.stdout, new RegExp(`disk\\.1  image ${data.id} data \\(ln\\)`));
  t.match(shown.stdout, /disk\.2  volatile 4 MB/);

  const json = await w.json(['vm', 'show', 'vm01']);
  t.match(json.disks, [{ imageId: base.id, imageName: 'base' }, { imageId: data.id, imageName: 'data' }, {}]);
  t.notOk('imageName' in (json.disks[2] as object), 'a volatile disk has no image');

  const xml = await w.cli(['vm', 'show', 'vm01', '-x']);
  t.match(xml.stdout, new RegExp(`<IMAGE>base</IMAGE>\\s*<IMAGE_ID>${base.id}</IMAGE_ID>`));
});
