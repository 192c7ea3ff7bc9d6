import t, { type Test } from 'tap';
import { checkArgs, isHostPath, usageOf, type ArgSpec, type ArgType } from '../../src/contract/args.js';
import { TM_CONTRACT, DATASTORE_CONTRACT, GENERIC_CONTRACT } from '../../src/contract/table.js';
import type { FerryError } from '../../src/errors.js';
import { checkRefusal, thrown } from '../helpers/fixtures.js';
import { encodeBase64 } from '../../src/dump/base64.js';

/** checkArgs must refuse; returns the error for further checks. */
/** The refusal of `values`: E_BAD_ARGS, exit status 2, the usage line as hint, the label leading the message. */
function refused(t: Test, specs: readonly ArgSpec[], values: readonly string[], label: string): FerryError {
  const e = checkRefusal(t, thrown(() => checkArgs(specs, values, label)), { code: 'E_BAD_ARGS', exitStatus: 2, hint: `usage: ${label} ${usageOf(specs)}` });
  t.ok(e.message.startsWith(`${label}: `), 'message starts with the label');
  return e;
}

const accepted = (t: Test, specs: readonly ArgSpec[], values: readonly string[], label: string, msg?: string): void => {
  t.doesNotThrow(() => checkArgs(specs, values, label), msg ?? `accepts ${JSON.stringify(values)}`);
};

t.test('usageOf', async (t) => {
  t.equal(usageOf([]), '');
  t.equal(usageOf([{ name: 'a', type: 'text' }, { name: 'b', type: 'id' }]), '<a> <b>');
  t.equal(usageOf([{ name: 'f', type: 'text', variadic: true }]), '<f...>');
  t.equal(usageOf([{ name: 'f', type: 'text', variadic: true, optional: true }]), '[f...]');
  t.equal(usageOf([{ name: 'x', type: 'id', optional: true }]), '[x]');
});

t.test('each argument type', async (t) => {
  const cases: Record<ArgType, { good: string[]; bad: string[]; expect: RegExp }> = {
    dump: { good: [encodeBase64('<DS_DRIVER_ACTION_DATA/>'), 'PERTX0RSSVZFUl9BQ1RJT05fREFUQS8+'], bad: ['', '<XML/>', 'not base64!', 'a b'], expect: /expected a base64 action dump/ },
    id: { good: ['0', '7', '-1', '12345'], bad: ['', '-2', 'x', '1.5', '1e3', ' 1', '99999999999999999999'], expect: /expected an integer id \(-1 allowed\)/ },
    uint: { good: ['0', '1024'], bad: ['', '-1', '1.5', 'ten', '99999999999999999999'], expect: /expected a non-negative integer/ },
    hostpath: { good: ['host01:/var/lib/one/datastores/0/7/disk.0', 'fe:/a:b', 'h.example.com:/x'], bad: ['', '/no/host', 'host01:', ':/path', 'bad host:/x', 'host01:relative/x'], expect: /expected host:\/absolute\/path, e\.g\. host01:/ },
    hostsource: { good: ['fe:/var/lib/one/datastores/1/abc', 'fe:one/one-5', 'fe:dummy_path'], bad: ['', '/no/host', 'fe:', ':one/one-5', 'bad host:/x', 'fe:a\nb'], expect: /expected host:SOURCE, e\.g\. fe:/ },
    source: { good: ['host01:/var/lib/one/datastores/1/abc', '/var/lib/one/datastores/1/abc', 'rbd/one-3'], bad: ['', '   ', 'a\nb'], expect: /expected an image source or host:path/ },
    host: { good: ['host01', 'node-1.example.com', '10.0.0.1'], bad: ['', '-host', 'a b', 'h:/x'], expect: /expected a host name/ },
    path: { good: ['/', '/var/lib/one/datastores/0/7'], bad: ['', 'relative/path', 'h:/x'], expect: /expected an absolute path/ },
    word: { good: ['raw', 'qcow2', 'vmdk_thin', 'x.y-z'], bad: ['', 'two words', 'a/b'], expect: /expected a single word such as raw or qcow2/ },
    base64: { good: ['', '-', encodeBase64('<VM/>'), 'QQ=='], bad: ['<VM/>', 'a b', '!!'], expect: /expected base64 text/ },
    text: { good: ['x', 'a file with spaces', '/a:b'], bad: ['', 'nul\0byte'], expect: /expected a non-empty value/ },
  };
  for (const [type, { good, bad, expect }] of Object.entries(cases) as Array<[ArgType, (typeof cases)[ArgType]]>) {
    t.test(type, async (t) => {
      const specs: ArgSpec[] = [{ name: `the_${type}`, type }];
      for (const value of good) accepted(t, specs, [value], 'tm/x/act');
      for (const value of bad) {
        const e = refused(t, specs, [value], 'tm/x/act');
        t.match(e.message, new RegExp(`argument the_${type} is `), `names the argument for ${JSON.stringify(value)}`);
        t.match(e.message, expect, 'says the expected shape');
        t.ok(e.message.includes(JSON.stringify(value)), 'shows what it got');
      }
    });
  }
});

t.test('a long bad value is cut in the message', async (t) => {
  const e = refused(t, [{ name: 'vm_id', type: 'id' }], ['x'.repeat(200)], 'tm/x/act');
  t.ok(e.message.includes(`"${'x'.repeat(77)}..."`), 'truncated to 80 characters');
  t.notOk(e.message.includes('x'.repeat(100)));
});

t.test('fixed lists: wrong counts', async (t) => {
  const clone = TM_CONTRACT.clone.args;
  const good = ['fe:/var/lib/one/datastores/1/abc', 'host01:/var/lib/one/datastores/0/7/disk.0', '7', '0'];
  accepted(t, clone, good, 'tm/ssh/clone');
  t.match(refused(t, clone, good.slice(0, 3), 'tm/ssh/clone').message, /tm\/ssh\/clone: expected 4 arguments, got 3/);
  t.match(refused(t, clone, [...good, 'extra'], 'tm/ssh/clone').message, /expected 4 arguments, got 5/);
  t.match(refused(t, clone, [], 'tm/ssh/clone').message, /expected 4 arguments, got 0/);
  const e = refused(t, clone, good.slice(0, 3), 'tm/ssh/clone');
  t.equal(e.hint, 'usage: tm/ssh/clone <fe:SOURCE> <host:remote_system_ds/disk.i> <vm_id> <ds_id>');

  const mkimage = TM_CONTRACT.mkimage.args;
  accepted(t, mkimage, ['1024', 'qcow2', 'host01:/var/lib/one/datastores/0/7/disk.2', '7', '0'], 'tm/ssh/mkimage');
  const bad = refused(t, mkimage, ['1024', 'qcow 2', 'host01:/d/disk.2', '7', '0'], 'tm/ssh/mkimage');
  t.match(bad.message, /argument format is "qcow 2", expected a single word/);
  t.equal(bad.hint, 'usage: tm/ssh/mkimage <size> <format> <host:remote_system_ds/disk.i> <vm_id> <ds_id>');

  const ds = DATASTORE_CONTRACT.cp.args;
  accepted(t, ds, [encodeBase64('<DS_DRIVER_ACTION_DATA/>'), '3'], 'datastore/fs/cp');
  t.match(refused(t, ds, [encodeBase64('<DS_DRIVER_ACTION_DATA/>')], 'datastore/fs/cp').message, /expected 2 arguments, got 1/);
  t.match(refused(t, ds, ['<DS_DRIVER_ACTION_DATA/>', '3'], 'datastore/fs/cp').message, /argument dump is .*expected a base64 action dump/);
  t.match(refused(t, ds, [encodeBase64('<X/>'), 'abc'], 'datastore/fs/cp').message, /argument id is "abc"/);
});

t.test('the first bad argument is named', async (t) => {
  const e = refused(t, TM_CONTRACT.clone.args, ['/no/host', 'also-bad', 'x', 'y'], 'tm/ssh/clone');
  t.match(e.message, /argument fe:SOURCE is "\/no\/host", expected host:SOURCE/);
  const e2 = refused(t, TM_CONTRACT.clone.args, ['fe:/a', 'host01:/b', '7', 'nope'], 'tm/ssh/clone');
  t.match(e2.message, /argument ds_id is "nope", expected an integer id/);
});

t.test('variadic: context with 0, 1 and 3 files', async (t) => {
  const context = TM_CONTRACT.context.args;
  const tail = ['host01:/var/lib/one/datastores/0/7/disk.1', '7', '0'];
  accepted(t, context, tail, 'tm/ssh/context', 'no files');
  accepted(t, context, ['/var/lib/one/vms/7/context.sh', ...tail], 'tm/ssh/context', 'one file');
  accepted(t, context, ['/a/context.sh', '/b/init.sh:renamed.sh', 'relative file', ...tail], 'tm/ssh/context', 'three files');

  const short = refused(t, context, ['7', '0'], 'tm/ssh/context');
  t.match(short.message, /expected at least 3 arguments, got 2/);
  t.equal(short.hint, 'usage: tm/ssh/context <file...> <host:remote_system_ds/disk.i> <vm_id> <ds_id>');

  const emptyFile = refused(t, context, ['/a', '', ...tail], 'tm/ssh/context');
  t.match(emptyFile.message, /argument file is "", expected a non-empty value/, 'each file is checked');

  const badTail = refused(t, context, ['/a', '/b', 'host01:/d/disk.1', 'x', '0'], 'tm/ssh/context');
  t.match(badTail.message, /argument vm_id is "x"/, 'the fixed arguments after the files are checked in place');

  const noHost = refused(t, context, ['/a', '/b', '/d/disk.1', '7', '0'], 'tm/ssh/context');
  t.match(noHost.message, /argument host:remote_system_ds\/disk\.i is "\/d\/disk\.1"/, 'the last three are the fixed ones');
});

t.test('checkArgs binds each value to its spec, in order', async (t) => {
  const context = TM_CONTRACT.context.args;
  const bound = checkArgs(context, ['/a', '/b', '/c', 'host01:/d/disk.1', '7', '0'], 'tm/ssh/context');
  t.same(
    bound.map(({ spec, value }) => [spec.name, value]),
    [
      ['file', '/a'],
      ['file', '/b'],
      ['file', '/c'],
      ['host:remote_system_ds/disk.i', 'host01:/d/disk.1'],
      ['vm_id', '7'],
      ['ds_id', '0'],
    ],
  );
  t.same(
    checkArgs(context, ['host01:/d/disk.1', '7', '0'], 'tm/ssh/context').map(({ spec }) => spec.name),
    ['host:remote_system_ds/disk.i', 'vm_id', 'ds_id'],
    'no files bound when none are given',
  );
  t.same(
    checkArgs(TM_CONTRACT.resize.args, ['host01:/d/disk.0', '2048', '7'], 'tm/ssh/resize').map(({ spec }) => spec.name),
    ['host:remote_system_ds/disk.i', 'size', 'vm_id'],
    'a left-off optional is not bound',
  );
  t.same(checkArgs(GENERIC_CONTRACT.tm.args, [], 'tm/x/foo'), [], 'nothing to bind');
});

t.test('variadic and optional: the generic tm row takes anything, even nothing', async (t) => {
  accepted(t, GENERIC_CONTRACT.tm.args, [], 'tm/x/foo');
  accepted(t, GENERIC_CONTRACT.tm.args, ['a'], 'tm/x/foo');
  accepted(t, GENERIC_CONTRACT.tm.args, ['a', 'b c', 'host:/d'], 'tm/x/foo');
});

t.test('optional: resize with and without ds_id', async (t) => {
  const resize = TM_CONTRACT.resize.args;
  accepted(t, resize, ['host01:/var/lib/one/datastores/0/7/disk.0', '2048', '7', '0'], 'tm/ssh/resize', 'with ds_id');
  accepted(t, resize, ['host01:/var/lib/one/datastores/0/7/disk.0', '2048', '7'], 'tm/ssh/resize', 'without ds_id');
  const few = refused(t, resize, ['host01:/d/disk.0', '2048'], 'tm/ssh/resize');
  t.match(few.message, /expected 3 to 4 arguments, got 2/);
  t.equal(few.hint, 'usage: tm/ssh/resize <host:remote_system_ds/disk.i> <size> <vm_id> [ds_id]');
  t.match(refused(t, resize, ['host01:/d/disk.0', '2048', '7', '0', '1'], 'tm/ssh/resize').message, /expected 3 to 4 arguments, got 5/);
  t.match(refused(t, resize, ['host01:/d/disk.0', '2048', '7', 'x'], 'tm/ssh/resize').message, /argument ds_id is "x"/, 'a given optional is checked');
  t.match(refused(t, resize, ['host01:/d/disk.0', '-5', '7'], 'tm/ssh/resize').message, /argument size is "-5", expected a non-negative integer/);
});

t.test('isHostPath', async (t) => {
  const yes = [
    'host01:/var/lib/one/datastores/0/7/disk.0',
    'host01:/var/lib/one/datastores/0/7/disk.0:snap', // path holding ':'
    'host01:/a:b:c',
    'host01:/var/lib/one//datastores/0/7/disk.0', // double slash
    'host01://var/lib/one', // double slash right after the colon
    'host01:/var/lib/one/datastores/0/7/', // trailing slash
    'host01:/',
    'node-1.example.com:/x',
    'h_1:/x',
  ];
  const no = [
    '', // nothing
    'host01:', // empty path
    ':/var/lib/one', // empty host
    ':', // both empty
    '/var/lib/one/disk.0', // no host
    'host01', // no colon
    '-host:/x', // host starting with '-'
    'bad host:/x', // space in host
    'host01:/a\0b', // NUL
    'host01:var/lib/one/disk.0', // a relative path: the bundled drivers refuse one, so ferry does first
    'host01:disk.0',
  ];
  for (const value of yes) t.equal(isHostPath(value), true, `${JSON.stringify(value)} is host:path`);
  for (const value of no) t.equal(isHostPath(value), false, `${JSON.stringify(value)} is not host:path`);
});
