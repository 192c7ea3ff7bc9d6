/** Host rows. */
import t from 'tap';
import { thrown } from '../helpers/fixtures.js';
import { seeded } from './seed.js';

t.test('hosts', async (t) => {
  const { catalog, system } = seeded(t);
  const ssh = catalog.addHost({ name: 'kvm2', transport: 'ssh', address: '10.0.0.2', port: 2222, user: 'oneadmin', identity: '/k', knownHosts: '/kh' });
  t.match(ssh, { name: 'kvm2', transport: 'ssh', address: '10.0.0.2', port: 2222, user: 'oneadmin', identity: '/k', knownHosts: '/kh' });
  t.match(catalog.host('node1'), { transport: 'local', address: null, port: null, user: null });
  t.same(catalog.listHosts().map((h) => h.name), ['kvm2', 'node1'], 'listed by name');
  t.equal(thrown(() => catalog.addHost({ name: 'node1', transport: 'ssh' })).code, 'E_CONFLICT');
  const error = thrown(() => catalog.host('ghost'));
  t.equal(error.code, 'E_NOT_FOUND');
  t.match(error.hint, /kvm2, node1/, 'hint lists known hosts');
  t.equal(thrown(() => catalog.deleteHost('ghost')).code, 'E_NOT_FOUND');

  const vm = catalog.addVm({ name: 'vm', host: 'kvm2', systemDsId: system.id, disks: [] }, '/ds/0');
  for (const state of ['PENDING', 'RUNNING', 'STOPPED', 'FAILED'] as const) {
    catalog.updateVm(vm.id, { state });
    const refused = thrown(() => catalog.deleteHost('kvm2'));
    t.equal(refused.code, 'E_CONFLICT', `refused with a ${state} VM`);
    t.match(refused.message, String(vm.id), 'names the VM');
  }
  catalog.updateVm(vm.id, { state: 'FAILED', host: 'node1', operation: 'migrate', targetHost: 'kvm2' });
  t.match(thrown(() => catalog.deleteHost('kvm2')).message, /being moved/, 'refused while a failed migrate would still move a VM there');
  catalog.updateVm(vm.id, { state: 'DONE', host: 'kvm2', operation: null, targetHost: null });
  catalog.deleteHost('kvm2');
  t.equal(catalog.findHost('kvm2'), undefined, 'deleted once its VM is DONE');
  t.same(catalog.listHosts().map((h) => h.name), ['node1']);
});
