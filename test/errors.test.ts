import t from 'tap';
import { EXIT_STATUS, FerryError, isFerryError, toFerryError, type ErrorCode } from '../src/errors.js';

t.test('exit statuses tell the kinds of failure apart', async (t) => {
  const statuses = new Set<number>(Object.values(EXIT_STATUS));
  // The statuses ferry --help and the README document for failures; 130 is an interrupt, never an error code.
  t.same([...statuses].sort((a, b) => a - b), [1, 2, 70, 75, 124], 'every code maps to a documented failure status');
  const kinds: ErrorCode[] = ['E_DRIVER_FAILED', 'E_USAGE', 'E_INTERNAL', 'E_BUSY', 'E_TIMEOUT'];
  t.equal(new Set(kinds.map((code) => EXIT_STATUS[code])).size, kinds.length, 'a driver failure, bad input, a bug, busy and a timeout each exit differently');
  for (const code of ['E_CONFIG', 'E_BAD_DUMP', 'E_BAD_ARGS', 'E_DRIVER_NOT_FOUND', 'E_NOT_FOUND', 'E_CONFLICT'] as const) {
    t.equal(EXIT_STATUS[code], EXIT_STATUS.E_USAGE, `${code}: refused before anything ran, as bad usage`);
  }
  for (const code of ['E_MALFORMED_OUTPUT', 'E_SPAWN'] as const) {
    t.equal(EXIT_STATUS[code], EXIT_STATUS.E_DRIVER_FAILED, `${code}: the driver's fault, as a failed run`);
  }
});

t.test('FerryError fields', async (t) => {
  const e = new FerryError('E_DRIVER_FAILED', 'datastore/fs/cp failed', {
    hint: 'look at the driver log',
    kind: 'datastore',
    driver: 'fs',
    action: 'cp',
    id: '7',
    command: ['/remotes/datastore/fs/cp', '<dump: 10 bytes>', '7'],
    exitCode: 3,
    signal: null,
    stdout: 'out',
    stderr: 'err',
    logs: [],
    timedOut: false,
    durationMs: 12,
    stdoutTruncated: false,
    stderrTruncated: true,
  });
  t.ok(e instanceof Error, 'an Error');
  t.ok(e instanceof FerryError);
  t.equal(e.name, 'FerryError');
  t.equal(e.code, 'E_DRIVER_FAILED');
  t.equal(e.message, 'datastore/fs/cp failed');
  t.equal(e.hint, 'look at the driver log');
  t.equal(e.kind, 'datastore');
  t.equal(e.driver, 'fs');
  t.equal(e.action, 'cp');
  t.equal(e.id, '7');
  t.same(e.command, ['/remotes/datastore/fs/cp', '<dump: 10 bytes>', '7']);
  t.equal(e.exitCode, 3);
  t.equal(e.signal, null);
  t.equal(e.stdout, 'out');
  t.equal(e.stderr, 'err');
  t.same(e.logs, []);
  t.equal(e.timedOut, false);
  t.equal(e.durationMs, 12);
  t.equal(e.stdoutTruncated, false);
  t.equal(e.stderrTruncated, true);
  t.notOk('cause' in e, 'no cause when none was given');
  t.match(String(e.stack), /FerryError: datastore\/fs\/cp failed/, 'stack names the class and message');

  const bare = new FerryError('E_USAGE', 'bad flag');
  t.equal(bare.hint, undefined);
  t.equal(bare.driver, undefined);
  t.equal(bare.exitCode, undefined);
  t.notOk(Object.hasOwn(bare, 'cause'));
  t.equal(isFerryError(bare), true);
  t.equal(isFerryError(new Error('x')), false);
  t.equal(isFerryError({ code: 'E_USAGE', message: 'x' }), false, 'a look-alike is not one');
});

t.test('exitStatus getter', async (t) => {
  for (const code of Object.keys(EXIT_STATUS) as ErrorCode[]) {
    t.equal(new FerryError(code, 'x').exitStatus, EXIT_STATUS[code], code);
  }
  t.equal(new FerryError('E_TIMEOUT', 'x').exitStatus, 124);
  t.equal(new FerryError('E_INTERNAL', 'x').exitStatus, 70);
  t.equal(new FerryError('E_MALFORMED_OUTPUT', 'x').exitStatus, 1);
  t.equal(new FerryError('E_CONFIG', 'x').exitStatus, 2);
});

t.test('cause is kept', async (t) => {
  const root = new Error('ENOENT');
  const e = new FerryError('E_SPAWN', 'cannot start', { cause: root });
  t.equal(e.cause, root);
  t.notOk(Object.hasOwn(e, 'hint') && e.hint !== undefined);
  const falsy = new FerryError('E_SPAWN', 'x', { cause: 0 });
  t.equal(falsy.cause, 0, 'a falsy cause is still a cause');
  t.ok('cause' in falsy);
});

t.test('toFerryError', async (t) => {
  const original = new FerryError('E_TIMEOUT', 'too slow', { hint: 'raise the timeout' });
  t.equal(toFerryError(original), original, 'FerryErrors are returned unchanged');
  t.equal(original.code, 'E_TIMEOUT');

  const plain = new TypeError('x is not a function');
  const wrapped = toFerryError(plain);
  t.type(wrapped, FerryError);
  t.equal(wrapped.code, 'E_INTERNAL');
  t.equal(wrapped.exitStatus, 70);
  t.equal(wrapped.message, 'internal error: x is not a function');
  t.equal(wrapped.cause, plain, 'the original is the cause');

  const fromString = toFerryError('boom');
  t.equal(fromString.code, 'E_INTERNAL');
  t.equal(fromString.message, 'internal error: boom');
  t.equal(fromString.cause, 'boom');

  const fromUndefined = toFerryError(undefined);
  t.equal(fromUndefined.code, 'E_INTERNAL');
  t.equal(fromUndefined.message, 'internal error: undefined');

  const fromObject = toFerryError({ code: 'E_USAGE', message: 'looks like one' });
  t.equal(fromObject.code, 'E_INTERNAL', 'a look-alike object is wrapped too');
});
