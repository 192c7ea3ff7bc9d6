/**
 * vm-run.ts: the bookkeeping when the catalog itself fails at the end of an
 * operation: the step that ran stays journaled, the VM's lock is let go,
 * and the error reaches the caller. Library-level, through the Orchestrator
 * facade, on the dummy drivers, on either store.
 */
import t from 'tap';
import { Orchestrator } from '../../src/lifecycle/orchestrator.js';
import { rawStore, STORE } from '../catalog/seed.js';
import { lifeWorld } from './world.js';

/** A trigger that refuses setting a VM's state to RUNNING, as a full disk would; and what drops it. */
const refuseRunning =
  STORE === 'postgres'
    ? {
        create: `CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (injected)'; END $$;
                 CREATE TRIGGER disk_full BEFORE UPDATE OF state ON vms FOR EACH ROW WHEN (NEW.state = 'RUNNING') EXECUTE FUNCTION disk_full()`,
        drop: 'DROP TRIGGER disk_full ON vms',
      }
    : {
        create: "CREATE TRIGGER disk_full BEFORE UPDATE OF state ON vms WHEN NEW.state = 'RUNNING' BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END",
        drop: 'DROP TRIGGER disk_full',
      };

t.test('an end state that fails to record: the step stays journaled, the lock is released, the error is reported', async (t) => {
  const { catalog, life, images, system } = lifeWorld(t);
  const orchestrator = new Orchestrator({ catalog, runner: life.runner, frontend: 'fe' });
  const image = await orchestrator.createImage({ datastore: images, name: 'base', sizeMb: 10 });

  // The end state of the create (state RUNNING) fails, as a full disk would make it: a trigger in the catalog,
  // added by another connection, refuses that one write until it is dropped.
  const raw = rawStore(t, catalog.path);
  raw.exec(refuseRunning.create);
  await t.rejects(orchestrator.createVm({ name: 'vm01', host: 'host01', systemDs: system.id, disks: [{ kind: 'image', image: image.id }] }), { message: /disk full \(injected\)/ });
  raw.exec(refuseRunning.drop);

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
