/**
 * Issue 17, library-level: PostgreSQL restarts in the middle of a VM operation. The catalog is on a PostgreSQL
 * of this test's own, with the lifecycle world of world.ts (its setup copied: datastores, hosts, remotes) and
 * tm/held, tm/dummy whose first action waits, once a `hold` marker exists, until a `go` marker does: the
 * server restarts (or goes down) while a step runs, and the step ends when the test says so.
 *
 * No transaction spans a driver action, so the outage falls between catalog calls: the step's journal write
 * reconnects (waiting for the server when it is still down) and commits, and the operation finishes. The
 * catalog is then as after an undisturbed run: the VM at its end state with no operation, each step journaled
 * once, no lock left.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { TM_ACTIONS } from '../../src/contract/table.js';
import { Runner } from '../../src/driver/runner.js';
import { planCreate, runImagePlan } from '../../src/lifecycle/images.js';
import type { LifecycleOptions } from '../../src/lifecycle/journal.js';
import { createVm, operate } from '../../src/lifecycle/vms.js';
import type { Vm } from '../../src/model.js';
import { bundledRemotes } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { comeBackLater } from '../catalog/db/pg-outage.js';

let server: TestPostgres;
t.before(async () => {
  server = await startPostgres(t, { own: true });
});

/** A catalog on a new database of the server, world.ts's datastores and hosts, and a RUNNING VM vm01. */
async function heldWorld(t: Test) {
  const dir = tmpDir(t);
  const remotes = join(dir, 'remotes');
  const markers = join(dir, 'markers');
  mkdirSync(join(remotes, 'tm', 'held'), { recursive: true });
  mkdirSync(markers);
  cpSync(join(bundledRemotes, 'datastore'), join(remotes, 'datastore'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundledRemotes, 'tm', 'dummy'), join(remotes, 'tm', 'dummy'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundledRemotes, 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  for (const action of TM_ACTIONS) {
    const script = join(remotes, 'tm', 'held', action);
    writeFileSync(
      script,
      `#!/bin/sh
# tm/dummy; while 'hold' exists and 'go' does not, says it started and waits for 'go' (at most a minute).
set -eu
if [ -e '${markers}/hold' ] && [ ! -e '${markers}/go' ]; then
  echo ${action} > '${markers}/started'
  i=0
  while [ ! -e '${markers}/go' ]; do
    i=$((i + 1)); [ "$i" -le 1200 ] || { echo "ERROR: ${action} was never let go" >&2; exit 1; }
    sleep 0.05
  done
fi
exec '${join(bundledRemotes, 'tm', 'dummy', action)}' "$@"
`,
    );
    chmodSync(script, 0o755);
  }
  const catalog = Catalog.open(await server.createDatabase(), undefined, { PGPASSWORD: server.password, FERRY_HOME: join(dir, 'home') });
  t.teardown(() => catalog.close());
  const images = catalog.addDatastore({ name: 'images', type: 'IMAGE', dsMad: 'dummy', tmMad: 'held', basePath: join(dir, 'images') });
  catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'held', basePath: join(dir, 'system') });
  catalog.addHost({ name: 'host01', transport: 'local' });
  catalog.addHost({ name: 'host02', transport: 'local' });
  const life: LifecycleOptions = { catalog, runner: new Runner({ remotes }), frontend: 'fe' };
  await runImagePlan(life, planCreate(life, { datastore: images, name: 'base', sizeMb: 8 }));
  const vm = await createVm(life, { name: 'vm01', host: 'host01', systemDs: 'system', disks: [{ kind: 'image', image: 'base' }, { kind: 'volatile', sizeMb: 4 }] });

  /** Starts `operation` on vm01 with its first step held; resolves once that step runs. */
  const held = async (operation: () => Promise<Vm>): Promise<{ release: () => void; outcome: Promise<Vm | Error> }> => {
    writeFileSync(join(markers, 'hold'), '');
    const outcome = operation().catch((error: Error) => error);
    for (let waited = 0; !existsSync(join(markers, 'started')); waited++) {
      if (waited > 1200) throw new Error(`the held step never started: ${String(await Promise.race([outcome, 'still running']))}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    return { release: () => writeFileSync(join(markers, 'go'), ''), outcome };
  };
  return { catalog, life, vm, held };
}

/** The catalog after an operation ended: its state, the operation's journal, the VM's lock. */
function consistent(t: Test, catalog: Catalog, id: number, operation: string, state: string): void {
  t.match(catalog.vm(id), { state, operation: null, plan: null, step: null, error: null }, `vm01 ${state}, no operation under way`);
  const steps = catalog.journal(`vm:${id}`).filter((entry) => entry.operation === operation);
  t.same(
    steps.map((entry) => [entry.step, entry.ok]),
    steps.map((_, index) => [index, true]),
    `each ${operation} step journaled once, done: ${steps.map((entry) => entry.action).join(' ')}`,
  );
  t.ok(steps.length >= 1);
  t.equal(catalog.lockHolder(`vm:${id}`), undefined, 'no lock left');
  t.equal(catalog.image('base').state, 'USED');
}

t.test('PostgreSQL restarts while a step runs: the operation finishes, the catalog consistent', async (t) => {
  const { catalog, life, vm, held } = await heldWorld(t);
  const stop = await held(() => operate(life, vm.id, 'stop'));
  t.match(catalog.vm(vm.id), { operation: 'stop', step: 0 }, 'the step recorded as running');
  // Every catalog connection ends with the restart; the step's journal write comes after it.
  await server.restart();
  stop.release();
  const outcome = await stop.outcome;
  t.notOk(outcome instanceof Error, outcome instanceof Error ? `it failed: ${outcome.message}` : 'the operation finished');
  t.match(outcome, { state: 'STOPPED' });
  consistent(t, catalog, vm.id, 'stop', 'STOPPED');
});

t.test('PostgreSQL still down when the step ends: the journal write waits for it and commits', async (t) => {
  const { catalog, life, vm, held } = await heldWorld(t);
  const migrate = await held(() => operate(life, vm.id, 'migrate', { target: 'host02' }));
  // Down now, up again a second from now, started by a shell: this thread will be blocked in the catalog call.
  const outage = await comeBackLater(t, server, 1000);
  migrate.release();
  const outcome = await migrate.outcome;
  t.notOk(outcome instanceof Error, outcome instanceof Error ? `it failed: ${outcome.message}` : 'the operation finished');
  t.match(outcome, { state: 'RUNNING', host: 'host02' });
  consistent(t, catalog, vm.id, 'migrate', 'RUNNING');
  await outage.settle();
  t.match(catalog.vm(vm.id), { host: 'host02' }, 'and the catalog works on after the server is handed back');
});
