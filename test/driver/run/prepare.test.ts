/** prepare: driver.yaml checks, argv and stdin, the argument size limit, the timeout's precedence, the environment. */
import t from 'tap';
import { specFor } from '../../../src/contract/lookup.js';
import type { Manifest } from '../../../src/driver/manifest.js';
import { bind } from '../../../src/driver/run/bind.js';
import { MAX_ARG_BYTES, prepare, scriptEnv, timeoutFor } from '../../../src/driver/run/prepare.js';
import type { Located } from '../../../src/driver/locate.js';
import { dumpFor, thrown } from '../../helpers/fixtures.js';

const located = (kind: 'datastore' | 'tm', driver: string, action: string): Located => ({
  kind,
  driver,
  action,
  script: action,
  path: `/remotes/${kind}/${driver}/${action}`,
  realPath: `/remotes/${kind}/${driver}/${action}`,
  driverDir: `/remotes/${kind}/${driver}`,
});

const stat = bind({ kind: 'datastore', action: 'stat', dump: dumpFor('fs'), id: 7 });
const fsStat = located('datastore', 'fs', 'stat');
const statSpec = specFor('datastore', 'stat');

t.test('a datastore action: the dump as argument 1 and on stdin, shown by its size', async (t) => {
  const dump = stat.dump?.base64 as string;
  const prepared = prepare(fsStat, statSpec, {}, stat, undefined, undefined);
  t.same(prepared.argv, [dump, '7']);
  t.same(prepared.shown, [`<dump: ${dump.length} bytes>`, '7']);
  t.equal(prepared.input, `${dump}\n`);
  t.equal(prepared.timeoutSec, statSpec.timeoutSec, "the contract's timeout");
});

t.test('dump: stdin in driver.yaml: the dump on stdin only', async (t) => {
  const prepared = prepare(fsStat, statSpec, { dump: 'stdin' }, stat, undefined, undefined);
  t.same(prepared.argv, ['7']);
  t.same(prepared.shown, ['7']);
  t.equal(prepared.input, `${stat.dump?.base64}\n`);
});

t.test('a tm action without a dump: nothing on stdin', async (t) => {
  const bound = bind({ kind: 'tm', action: 'delete', driver: 'shared', args: ['host01:/var/lib/one/datastores/100/7', '7', '100'] });
  const prepared = prepare(located('tm', 'shared', 'delete'), specFor('tm', 'delete'), {}, bound, undefined, undefined);
  t.same(prepared.argv, ['host01:/var/lib/one/datastores/100/7', '7', '100']);
  t.equal(prepared.input, undefined);
});

t.test("driver.yaml for another API or kind is refused, naming the driver", async (t) => {
  const api = thrown(() => prepare(fsStat, statSpec, { api: 99 }, stat, undefined, undefined));
  t.equal(api.code, 'E_BAD_MANIFEST');
  t.match(api.message, /datastore driver 'fs' targets driver API 99/);
  const kind = thrown(() => prepare(fsStat, statSpec, { kind: 'tm' }, stat, undefined, undefined));
  t.equal(kind.code, 'E_BAD_MANIFEST');
  t.match(kind.hint, /move it to remotes\/tm\//);
});

t.test('an argument at the kernel limit is refused, unless the dump goes on stdin only', async (t) => {
  const big = bind({ kind: 'tm', action: 'export_x', driver: 'shared', args: ['x'.repeat(MAX_ARG_BYTES)] });
  const error = thrown(() => prepare(located('tm', 'shared', 'export_x'), specFor('tm', 'export_x'), {}, big, undefined, undefined));
  t.equal(error.code, 'E_DUMP_TOO_LARGE');
  t.match(error.hint, /dump: stdin/);
  const under = bind({ kind: 'tm', action: 'export_x', driver: 'shared', args: ['x'.repeat(MAX_ARG_BYTES - 1)] });
  t.equal(prepare(located('tm', 'shared', 'export_x'), specFor('tm', 'export_x'), {}, under, undefined, undefined).argv[0]?.length, MAX_ARG_BYTES - 1);
});

t.test('timeout: call > ferry.yaml per action > driver.yaml per action > driver.yaml default > ferry.yaml default > contract', async (t) => {
  const config = { default: 5, datastore: { stat: 4 } };
  const manifest: Manifest = { timeouts: { stat: 3, default: 2 } };
  t.equal(timeoutFor(fsStat, statSpec, manifest, config, 1), 1);
  t.equal(timeoutFor(fsStat, statSpec, manifest, config, undefined), 4);
  t.equal(timeoutFor(fsStat, statSpec, manifest, { default: 5, tm: { stat: 9 } }, undefined), 3, "the other kind's entry does not apply");
  t.equal(timeoutFor(fsStat, statSpec, manifest, { default: 5 }, undefined), 3);
  t.equal(timeoutFor(fsStat, statSpec, { timeouts: { default: 2 } }, { default: 5 }, undefined), 2);
  t.equal(timeoutFor(fsStat, statSpec, {}, { default: 5 }, undefined), 5);
  t.equal(timeoutFor(fsStat, statSpec, {}, undefined, undefined), statSpec.timeoutSec);
});

t.test('the script environment: fixed entries, what runs, the dump fields, then the call', async (t) => {
  const env = scriptEnv({ FERRY_REMOTES: '/remotes', A: 'fixed' }, 'datastore', 'fs', 'stat', stat.dump, { A: 'call' });
  t.equal(env.FERRY_REMOTES, '/remotes');
  t.same([env.FERRY_KIND, env.FERRY_DRIVER, env.FERRY_ACTION], ['datastore', 'fs', 'stat']);
  t.equal(env.FERRY_DS_MAD, 'fs', "the dump's fields");
  t.equal(env.A, 'call', "the call's own entries last");
  t.notOk('FERRY_DS_MAD' in scriptEnv({}, 'tm', 'shared', 'delete', undefined, undefined), 'no dump, no dump fields');
});
