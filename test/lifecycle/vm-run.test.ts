/**
 * vm-run.ts: the bookkeeping when the catalog itself fails at the end of an
 * operation: the step that ran stays journaled, the VM's lock is let go,
 * and the error reaches the caller. Library-level, through the Orchestrator
 * facade, on the dummy drivers.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { Runner } from '../../src/driver/runner.js';
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

  // The end state of the create (state RUNNING) fails, as a full disk would make it: a trigger in the catalog file,
  // added by another connection, refuses that one write until it is dropped.
  const raw = new Database(catalog.path);
  t.teardown(() => raw.close());
  raw.exec("CREATE TRIGGER full BEFORE UPDATE OF state ON vms WHEN NEW.state = 'RUNNING' BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END");
  await t.rejects(orchestrator.createVm({ name: 'vm01', host: 'host01', systemDs: system.id, disks: [{ kind: 'image', image: image.id }] }), { message: /disk full \(injected\)/ });
  raw.exec('DROP TRIGGER full');

  const vm = catalog.vm('vm01');
  t.same(
    catalog.journal(`vm:${vm.id}`).map((entry) => [entry.action, entry.ok]),
    [['clone', true]],
    'the clone that ran is journaled',
  );
  t.equal(vm.step, 1, 'and counted as done');
  t.equal(vm.state, 'PENDING', 'the end state was not recorded');
  t.equal(catalog.busy(`vm:${vm.id}`), undefined, 'no lock left behind');
  t.notOk(raw.prepare('SELECT 1 FROM locks WHERE subject = ?').get(`vm:${vm.id}`), 'not even one of our own');
  const finished = await orchestrator.recover(vm.id, 'retry');
  t.equal((finished as { state: string }).state, 'RUNNING', '--retry finishes it without running the clone again');
  t.equal(catalog.journal(`vm:${vm.id}`).length, 1, 'still one clone');
});
