/** DONE VMs: hidden from `vm list` unless --all, and their names free for a new VM, as in OpenNebula. */
import t from 'tap';
import { stage, vmYaml, world } from '../helpers/catalog-world.js';

t.test('a shut-down VM leaves vm list and its name can be used again', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const first = await w.json(['vm', 'create', vmYaml(w)]);
  t.equal((await w.cli(['vm', 'create', vmYaml(w)])).status, 2, 'the name is taken while the VM lives');
  await w.json(['vm', 'shutdown', 'vm01']);
  t.same(await w.json(['vm', 'list']), [], 'DONE VMs are not listed');
  t.match(await w.json(['vm', 'list', '--all']), [{ id: first.id, name: 'vm01', state: 'DONE' }], 'unless --all');
  t.notMatch((await w.cli(['vm', 'list'])).stdout, /vm01/);

  const second = await w.json(['vm', 'create', vmYaml(w)]);
  t.equal(second.state, 'RUNNING', 'a new VM takes the DONE one\'s name');
  t.ok(second.id > first.id, 'with a new id');
  t.equal((await w.json(['vm', 'show', 'vm01'])).id, second.id, 'the name means the live VM');
  t.equal((await w.json(['vm', 'show', String(first.id)])).state, 'DONE', 'the DONE one by its id');
  t.same((await w.json(['vm', 'list', '--all'])).map((vm: { id: number }) => vm.id), [first.id, second.id]);
  t.match((await w.cli(['vm', 'list', '--help'])).stdout, /Examples:\n {2}\$ ferry vm list/);
});
