/**
 * The orchestrator's bookkeeping when the catalog itself fails at the end of
 * an operation: the step that ran stays journaled, the VM's lock is let go,
 * and the error reaches the caller. Library-level, on the dummy drivers.
 */
import { join } from 'node:path';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { Runner } from '../../src/driver/runner.js';
import { FerryError } from '../../src/errors.js';
import { Orchestrator } from '../../src/lifecycle/orchestrator.js';
import { bundledRemotes } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';

t.test('an end state that fails to record: the step stays journaled, the lock is released, the error is reported', async (t) => {
  const dir = tmpDir(t);
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  t.teardown(() => catalog.close());
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'dummy', tmMad: 'dummy', basePath: join(dir, 'images') });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'dummy', basePath: join(dir, 'system') });
  catalog.addHost({ name: 'host01', transport: 'local' });
  const orchestrator = new Orchestrator({ catalog, runner: new Runner({ remotes: bundledRemotes }), frontend: 'fe' });
  const image = await orchestrator.createImage({ datastore: images, name: 'base', sizeMb: 10 });

  // The end state of the create (state RUNNING) fails once, as a full disk would make it.
  const real = catalog.updateVm.bind(catalog);
  let failures = 0;
  catalog.updateVm = (id, patch) => {
    if (patch.state === 'RUNNING' && failures++ === 0) throw new FerryError('E_CATALOG', 'disk full (injected)');
    return real(id, patch);
  };
  await t.rejects(orchestrator.createVm({ name: 'vm01', host: 'host01', systemDs: system.id, disks: [{ kind: 'image', image: image.id }] }), { message: 'disk full (injected)' });

  const vm = catalog.vm('vm01');
  t.same(
    catalog.journal(`vm:${vm.id}`).map((entry) => [entry.action, entry.ok]),
    [['clone', true]],
    'the clone that ran is journaled',
  );
  t.equal(vm.step, 1, 'and counted as done');
  t.equal(catalog.busy(`vm:${vm.id}`), undefined, 'no lock left behind');
  t.notOk(
    (catalog as unknown as { db: { prepare(sql: string): { get(...args: unknown[]): unknown } } }).db.prepare('SELECT 1 FROM locks WHERE subject = ?').get(`vm:${vm.id}`),
    'not even one of our own',
  );
  const finished = await orchestrator.recover(vm.id, 'retry');
  t.equal((finished as { state: string }).state, 'RUNNING', '--retry finishes it without running the clone again');
  t.equal(catalog.journal(`vm:${vm.id}`).length, 1, 'still one clone');
});
