// The bundled dummy drivers implement every action of the contract and answer each with valid output.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { listDrivers } from '../../src/driver/inventory.js';
import { Runner } from '../../src/driver/runner.js';
import { buildDump } from '../../src/dump/dump.js';

const remotes = join(dirname(fileURLToPath(import.meta.url)), '../../remotes');

t.test('dummy drivers cover the contract', async (t) => {
  const drivers = await listDrivers(remotes);
  const ds = drivers.find((d) => d.kind === 'datastore' && d.name === 'dummy');
  const tm = drivers.find((d) => d.kind === 'tm' && d.name === 'dummy');
  t.same(ds?.missing, [], 'datastore/dummy lacks no action');
  t.same([...(ds?.actions ?? [])].sort(), [...DS_ACTIONS].sort());
  t.same(tm?.missing, [], 'tm/dummy lacks no action');
  t.same([...(tm?.actions ?? [])].sort(), [...TM_ACTIONS].sort());
});

t.test('every datastore action of dummy parses', async (t) => {
  const runner = new Runner({ remotes });
  const dump = buildDump({ IMAGE: { ID: 3, NAME: 'img' }, DATASTORE: { ID: 1, DS_MAD: 'dummy', TM_MAD: 'dummy', TYPE: 0 }, TARGET_SNAPSHOT: 0 });
  const expected: Record<string, unknown> = {
    cp: { source: 'dummy_path', sizeMb: 1024 },
    mkfs: { source: 'dummy_path', sizeMb: 1024 },
    stat: 1024,
    clone: 'dummy_path',
    monitor: { usedMb: 9720, totalMb: 20480, freeMb: 10760, attributes: {}, other: [] },
  };
  for (const action of DS_ACTIONS) {
    const result = await runner.run({ kind: 'datastore', action, dump, id: 3 });
    t.same(result.result, expected[action], action);
  }
});
