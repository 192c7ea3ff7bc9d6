/** bind: a request against its contract row, before any file is looked at. */
import t from 'tap';
import { readDump } from '../../../src/dump/dump.js';
import { bind } from '../../../src/driver/run/bind.js';
import { dumpFor, thrown } from '../../helpers/fixtures.js';

const xml = dumpFor('fs');
const base64 = Buffer.from(xml).toString('base64');

t.test('a datastore request: the dump (XML, base64 or parsed) and the id become the arguments', async (t) => {
  for (const dump of [xml, base64, readDump(xml)]) {
    const bound = bind({ kind: 'datastore', action: 'stat', dump, id: 7 });
    t.same(bound.args.map((arg) => [arg.spec.name, arg.value]), [['dump', bound.dump?.base64], ['id', '7']]);
    t.equal(bound.id, '7', "the row's id argument");
    t.equal(bound.dump?.get('DATASTORE/DS_MAD'), 'fs');
  }
});

t.test('a tm request: the arguments checked in order, the id from vm_id, a dump argument decoded', async (t) => {
  const bound = bind({ kind: 'tm', action: 'delete', driver: 'shared', args: ['host01:/var/lib/one/datastores/100/7/disk.0', '7', '100'] });
  t.same(bound.args.map((arg) => arg.spec.name), ['host:remote_system_ds/path', 'vm_id', 'ds_id']);
  t.equal(bound.id, '7');
  t.equal(bound.dump, undefined, 'no dump argument, no dump');
  const generic = bind({ kind: 'tm', action: 'export_something', driver: 'shared', args: ['a', 'b'] });
  t.equal(generic.id, undefined, 'a generic action has no id');
});

t.test('refusals before anything runs', async (t) => {
  for (const timeoutSec of [0, -1, Number.NaN, Number.NEGATIVE_INFINITY]) {
    t.equal(thrown(() => bind({ kind: 'tm', action: 'delete', driver: 'shared', args: [], timeoutSec })).code, 'E_USAGE', `timeout ${timeoutSec}`);
  }
  t.equal(thrown(() => bind({ kind: 'tm', action: '../x', driver: 'shared', args: [] })).code, 'E_USAGE', 'an action name with a slash');
  t.equal(thrown(() => bind({ kind: 'tm', action: 'delete', driver: 'shared', args: ['host01:/x'] })).code, 'E_BAD_ARGS', 'too few arguments');
  t.equal(thrown(() => bind({ kind: 'datastore', action: 'stat', dump: 'not a dump', id: 7 })).code, 'E_BAD_DUMP');
});
