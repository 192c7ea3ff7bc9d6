import t from 'tap';
import { LEVELS, createLogger, lazyLogger, logAt, silentLogger, type Logger } from '../../src/log/logger.js';

/** An in-memory destination and its parsed JSON lines. */
function memory(): { destination: { write(line: string): void }; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return {
    destination: { write: (line: string) => void lines.push(line) },
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

t.test('LEVELS', async (t) => {
  t.same([...LEVELS], ['silent', 'error', 'warn', 'info', 'debug', 'trace']);
});

t.test('createLogger writes JSON lines', async (t) => {
  const mem = memory();
  const log = createLogger({ destination: mem.destination, level: 'debug', format: 'json' });
  log.info({ driver: 'fs' }, 'hello');
  log.error({ code: 'E_TIMEOUT' }, 'bad');
  log.warn({}, 'careful');
  log.debug({ n: 1 }, 'detail');
  t.equal(mem.lines.length, 4, 'one write per record');
  for (const line of mem.lines) {
    t.ok(line.endsWith('\n'), 'newline-terminated');
    t.equal(line.indexOf('\n'), line.length - 1, 'one line each');
  }
  const records = mem.records();
  t.match(records[0], { level: 30, msg: 'hello', driver: 'fs' });
  t.match(records[1], { level: 50, msg: 'bad', code: 'E_TIMEOUT' });
  t.match(records[2], { level: 40, msg: 'careful' });
  t.match(records[3], { level: 20, msg: 'detail', n: 1 });
  t.match(records[0]?.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO time');
  t.notOk('pid' in (records[0] ?? {}), 'no pid');
  t.notOk('hostname' in (records[0] ?? {}), 'no hostname');
});

t.test('level filters records; info by default', async (t) => {
  const mem = memory();
  const log = createLogger({ destination: mem.destination, format: 'json' });
  log.debug({}, 'hidden');
  log.info({}, 'shown');
  t.same(mem.records().map((r) => r.msg), ['shown']);

  const quiet = memory();
  const errorsOnly = createLogger({ destination: quiet.destination, level: 'error', format: 'json' });
  errorsOnly.warn({}, 'no');
  errorsOnly.info({}, 'no');
  errorsOnly.error({}, 'yes');
  t.same(quiet.records().map((r) => r.msg), ['yes']);

  const none = memory();
  const silent = createLogger({ destination: none.destination, level: 'silent', format: 'json' });
  silent.error({}, 'no');
  t.same(none.lines, [], 'silent writes nothing');
});

t.test('child() adds bindings', async (t) => {
  const mem = memory();
  const log = createLogger({ destination: mem.destination, format: 'json' });
  const child = log.child({ kind: 'datastore', driver: 'fs' });
  const grandchild = child.child({ action: 'cp' });
  grandchild.info({ id: '7' }, 'run');
  child.warn({}, 'child');
  log.info({}, 'parent');
  const [first, second, third] = mem.records();
  t.match(first, { kind: 'datastore', driver: 'fs', action: 'cp', id: '7', msg: 'run', level: 30 });
  t.match(second, { kind: 'datastore', driver: 'fs', msg: 'child' });
  t.notOk('action' in (second ?? {}), 'a child does not get its own child\'s bindings');
  t.notOk('driver' in (third ?? {}), 'the parent keeps no bindings');
});

t.test('lazyLogger', async (t) => {
  const mem = memory();
  let made = 0;
  const log = lazyLogger(() => {
    made += 1;
    return createLogger({ destination: mem.destination, level: 'debug', format: 'json' });
  });
  t.equal(made, 0, 'not made when created');
  const child = log.child({ driver: 'fs' });
  const grandchild = child.child({ action: 'stat' });
  t.equal(made, 0, 'not made by child()');
  t.same(mem.lines, []);

  grandchild.info({ n: 1 }, 'first');
  t.equal(made, 1, 'made on the first record');
  log.warn({}, 'second');
  child.debug({}, 'third');
  grandchild.error({}, 'fourth');
  log.child({ other: true }).info({}, 'fifth');
  t.equal(made, 1, 'made once');

  const records = mem.records();
  t.same(records.map((r) => r.msg), ['first', 'second', 'third', 'fourth', 'fifth']);
  t.match(records[0], { driver: 'fs', action: 'stat', n: 1, level: 30 });
  t.notOk('driver' in (records[1] ?? {}), 'root has no bindings');
  t.match(records[2], { driver: 'fs', level: 20 });
  t.notOk('action' in (records[2] ?? {}));
  t.match(records[3], { driver: 'fs', action: 'stat', level: 50 });
  t.match(records[4], { other: true });
});

t.test('lazyLogger: children made before the root are made once each', async (t) => {
  let made = 0;
  let children = 0;
  const fake = (bindings: Record<string, unknown>, out: Array<[string, Record<string, unknown>]>): Logger => ({
    child: (more) => {
      children += 1;
      return fake({ ...bindings, ...more }, out);
    },
    error: (_obj, msg) => void out.push([`error:${msg}`, bindings]),
    warn: (_obj, msg) => void out.push([`warn:${msg}`, bindings]),
    info: (_obj, msg) => void out.push([`info:${msg}`, bindings]),
    debug: (_obj, msg) => void out.push([`debug:${msg}`, bindings]),
  });
  const out: Array<[string, Record<string, unknown>]> = [];
  const log = lazyLogger(() => {
    made += 1;
    return fake({}, out);
  });
  const child = log.child({ a: 1 });
  child.info({}, 'x');
  child.info({}, 'y');
  child.debug({}, 'z');
  t.equal(made, 1);
  t.equal(children, 1, 'the child logger is built once, not per record');
  t.same(out, [
    ['info:x', { a: 1 }],
    ['info:y', { a: 1 }],
    ['debug:z', { a: 1 }],
  ]);
});

t.test('silentLogger drops records', async (t) => {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    t.equal(silentLogger.error({ a: 1 }, 'x'), undefined);
    t.equal(silentLogger.warn({}, 'x'), undefined);
    t.equal(silentLogger.info({}, 'x'), undefined);
    t.equal(silentLogger.debug({}), undefined);
    const child = silentLogger.child({ driver: 'fs' });
    t.equal(child, silentLogger, 'children are silent too');
    child.error({}, 'x');
  } finally {
    process.stderr.write = original;
  }
  t.same(writes, [], 'nothing reaches stderr');
});

t.test('logAt calls the method of the level', async (t) => {
  const mem = memory();
  const log = createLogger({ destination: mem.destination, level: 'debug', format: 'json' });
  logAt(log, 'error', { a: 1 }, 'e');
  logAt(log, 'warn', {}, 'w');
  logAt(log, 'info', {}, 'i');
  logAt(log, 'debug', {}, 'd');
  t.same(
    mem.records().map((r) => [r.level, r.msg]),
    [
      [50, 'e'],
      [40, 'w'],
      [30, 'i'],
      [20, 'd'],
    ],
  );
});

t.test('text format: one line per record for a person, colour only when asked, control characters escaped', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => void lines.push(line) }, level: 'info' });
  const child = log.child({ kind: 'datastore', driver: 'fs', action: 'cp', id: '7' });
  child.warn({ source: 'driver' }, 'low space');
  child.info({ source: 'driver', bytes: 42 }, 'copied \u001b[2Jall');
  log.error({}, 'plain');
  t.same(lines, ['WARN  datastore fs/cp 7: low space\n', 'INFO  datastore fs/cp 7: copied \\x1b[2Jall (bytes=42)\n', 'ERROR plain\n']);
  const coloured: string[] = [];
  createLogger({ destination: { write: (line: string) => void coloured.push(line) }, colour: true }).warn({}, 'x');
  t.equal(coloured[0], '\u001b[33mWARN \u001b[39m x\n', 'only the level word is coloured');
});
