import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import type { ArgSpec } from '../../src/contract/args.js';
import { DS_ACTIONS, TM_ACTIONS, TM_CONTRACT, type TmAction } from '../../src/contract/table.js';
import { buildDump, readDump, type DumpInput } from '../../src/dump/dump.js';
import { MAX_ARG_BYTES, Runner, type ActionRequest, type RunnerOptions } from '../../src/driver/runner.js';
import { liveGroupCount } from '../../src/driver/launch/spawn-group.js';
import { FerryError } from '../../src/errors.js';
import { dumpFor, fixturesRemotes, processAlive, rejection, specExampleXml, tmpDir, waitFor } from '../helpers/fixtures.js';

type Tap = Parameters<typeof tmpDir>[0];

const remotesReal = realpathSync(fixturesRemotes);

/** The path a run shows and execs: the action's link inside the driver folder, so $0 names the behaviour. */
function scriptPath(kind: 'datastore' | 'tm', driver: string, script: string): string {
  return join(remotesReal, kind, driver, script);
}

/** A FIXTURE_RECORD file in a temp dir and a reader for its lines. */
function recorder(t: Tap): { file: string; lines(): string[]; written(): boolean } {
  const file = join(tmpDir(t), 'record');
  return {
    file,
    lines: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(0, -1) : []),
    written: () => existsSync(file),
  };
}

/** A Runner over fixtures/remotes that records into `record`, with short kill and linger times. */
function runnerFor(record: { file: string } | undefined, options: Partial<RunnerOptions> = {}): Runner {
  return new Runner({
    remotes: fixturesRemotes,
    killGraceSec: 0.3,
    lingerSec: 0.2,
    ...options,
    env: { ...(record ? { FIXTURE_RECORD: record.file } : {}), ...options.env },
  });
}

/** The line fixture.sh records for a run: `<action> <argc> [arg]...`. */
function recordLine(action: string, args: readonly string[]): string {
  return `${action} ${args.length}${args.map((a) => ` [${a}]`).join('')}`;
}

/** What the fixture's result() prints, as the contract's parsers type it. */
const DS_RESULTS: Record<string, unknown> = {
  cp: { source: '/var/lib/one/datastores/1/f00d', sizeMb: 40 },
  mkfs: { source: '/var/lib/one/datastores/1/f00d', sizeMb: 40 },
  stat: 40,
  clone: '/var/lib/one/datastores/1/beef',
  monitor: { usedMb: 10, totalMb: 100, freeMb: 90, attributes: {}, other: [] },
};
const RETURNING = ['cp', 'mkfs', 'stat', 'clone', 'monitor'];

const VM_TEMPLATE_B64 = Buffer.from('<VM><ID>7</ID></VM>').toString('base64');

/** A valid value for one TM argument. */
function valueFor(spec: ArgSpec, dumpB64: string): string[] {
  if (spec.variadic) return ['/var/lib/one/vms/7/context/init.sh', '/var/lib/one/vms/7/context/id_rsa.pub'];
  switch (spec.type) {
    case 'dump':
      return [dumpB64];
    case 'id':
      // vm 7 on system datastore 100; monitor's `id` is the datastore id; cpds's snap_id -1 is the current state.
      return [spec.name === 'vm_id' || spec.name === 'vmid' ? '7' : spec.name === 'snap_id' ? '-1' : '100'];
    case 'uint':
      return [spec.name === 'size' ? '1024' : '3'];
    case 'hostpath':
    case 'hostsource':
      return [spec.name.startsWith('fe:') ? 'frontend:/var/lib/one/datastores/1/f00d' : spec.name.startsWith('hostB') ? 'host02:/var/lib/one/datastores/100/7/disk.0' : 'host01:/var/lib/one/datastores/100/7/disk.0'];
    case 'source':
      return ['/var/lib/one/datastores/1/f00d'];
    case 'host':
      return [spec.name === 'dst_host' ? 'host02' : 'host01'];
    case 'path':
      return ['/var/lib/one/datastores/100/7'];
    case 'word':
      return ['qcow2'];
    case 'base64':
      return [VM_TEMPLATE_B64];
    case 'text':
      return ['some text'];
  }
}

function tmArgs(action: TmAction, dumpB64: string): string[] {
  return TM_CONTRACT[action].args.flatMap((spec) => valueFor(spec, dumpB64));
}

const okDump = readDump(dumpFor('ok'));

// ---------------------------------------------------------------------------
// The contract table, row by row.

t.test('datastore rows on datastore/ok: typed result, argv and command', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  t.equal(DS_ACTIONS.length, 9);
  for (const action of DS_ACTIONS) {
    const before = record.lines().length;
    const result = await runner.run({ kind: 'datastore', action, dump: dumpFor('ok'), id: 7 });
    t.same(result.result, DS_RESULTS[action], `${action} result`);
    t.equal(result.ok, true);
    t.equal(result.kind, 'datastore');
    t.equal(result.driver, 'ok');
    t.equal(result.action, action);
    t.equal(result.script, action);
    t.equal(result.id, '7');
    t.equal(result.exitCode, 0);
    t.equal(result.signal, null);
    t.equal(result.timedOut, false);
    t.equal(result.stdoutTruncated, false);
    t.same(result.logs, []);
    t.same(result.command, [scriptPath('datastore', 'ok', action), `<dump: ${okDump.base64.length} bytes>`, '7'], `${action} command hides the dump`);
    const lines = record.lines();
    t.equal(lines.length, before + 1, `${action} ran once`);
    t.equal(lines.at(-1), recordLine(action, [okDump.base64, '7']), `${action} argv`);
  }
  // The dump the script got is the spec example, byte for byte.
  const arg1 = /^\S+ 2 \[([^\]]+)\]/.exec(record.lines()[0] ?? '')?.[1] ?? '';
  t.equal(Buffer.from(arg1, 'base64').toString('utf8'), dumpFor('ok').trim());
});

t.test('datastore rows on datastore/stdin: the dump is argument 1 and also the whole of stdin', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  for (const action of DS_ACTIONS) {
    // fixture.sh exits 1 with "stdin (N bytes) differs from argument 1" unless they match.
    const result = await runner.run({ kind: 'datastore', action, dump: dumpFor('stdin'), id: '7' });
    t.same(result.result, DS_RESULTS[action], `${action} result`);
    t.equal(record.lines().at(-1), recordLine(action, [readDump(dumpFor('stdin')).base64, '7']), `${action} argv`);
  }
  t.equal(record.lines().length, DS_ACTIONS.length);
});

t.test('tm rows on tm/ok: typed result, argv and command', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  t.equal(TM_ACTIONS.length, 18);
  for (const action of TM_ACTIONS) {
    const args = tmArgs(action, okDump.base64);
    const before = record.lines().length;
    const result = await runner.run({ kind: 'tm', action, driver: 'ok', args });
    const expected = action === 'monitor' ? DS_RESULTS.monitor : undefined;
    t.same(result.result, expected, `${action} result`);
    t.equal(result.kind, 'tm');
    t.equal(result.driver, 'ok');
    t.equal(result.script, action);
    t.equal(result.exitCode, 0);
    const shown = action === 'monitor' ? [`<dump: ${okDump.base64.length} bytes>`, args[1]] : args;
    t.same(result.command, [scriptPath('tm', 'ok', action), ...shown], `${action} command`);
    t.equal(record.lines().length, before + 1, `${action} ran once`);
    t.equal(record.lines().at(-1), recordLine(action, args), `${action} argv`);
  }
});

t.test('tm rows: the id is the vm_id argument (the datastore id for monitor)', async (t) => {
  const runner = runnerFor(undefined);
  for (const action of TM_ACTIONS) {
    const result = await runner.run({ kind: 'tm', action, driver: 'ok', args: tmArgs(action, okDump.base64) });
    t.equal(result.id, action === 'monitor' ? '100' : '7', `${action} id`);
  }
  // context with one and with three files: the id still comes from vm_id, counted from the end since the
  // file list before it is variadic (`file... host:path vm_id ds_id`).
  for (const files of [['/a'], ['/a', '/b', '/c']]) {
    const result = await runner.run({ kind: 'tm', action: 'context', driver: 'ok', args: [...files, 'host01:/ds/7/disk.1', '7', '100'] });
    t.equal(result.id, '7', `context with ${files.length} file(s)`);
  }
});

t.test('tm rows on tm/stdin: only monitor gets the dump on stdin, the others get an empty stdin', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  for (const action of TM_ACTIONS) {
    const args = tmArgs(action, okDump.base64);
    if (action === 'monitor') {
      const result = await runner.run({ kind: 'tm', action, driver: 'stdin', args });
      t.same(result.result, DS_RESULTS.monitor);
      t.equal(record.lines().at(-1), recordLine(action, args));
      continue;
    }
    // fixture.sh compares stdin with argument 1 and reports both sizes.
    const error = await rejection(runner.run({ kind: 'tm', action, driver: 'stdin', args }));
    t.equal(error.code, 'E_DRIVER_FAILED', action);
    t.equal(error.message, `stdin (0 bytes) differs from argument 1 (${(args[0] as string).length} bytes)`, `${action}: stdin was empty`);
  }
  t.equal(record.lines().length, 1, 'only monitor got past the stdin check');
});

// ---------------------------------------------------------------------------
// Driver behaviours.

t.test('garbage: malformed output for every action that returns something', async (t) => {
  const runner = runnerFor(undefined);
  for (const action of DS_ACTIONS) {
    const request = { kind: 'datastore', action, dump: dumpFor('garbage'), id: 7 } as const;
    if (RETURNING.includes(action)) {
      const error = await rejection(runner.run(request));
      t.equal(error.code, 'E_MALFORMED_OUTPUT', action);
      t.equal(error.exitStatus, 1);
      t.match(error.message, /^driver returned malformed output: /);
      t.ok(error.message.endsWith('it printed "this is not a result\\n"'), error.message);
      t.match(error.hint, /must print only its result on stdout/);
      t.equal(error.stdout, 'this is not a result\n');
      t.equal(error.exitCode, 0);
    } else {
      const result = await runner.run(request);
      t.equal(result.result, undefined, `${action} returns nothing`);
      t.equal(result.stdout, 'this is not a result\n', `${action} stdout kept raw`);
    }
  }
  const tmMonitor = await rejection(runner.run({ kind: 'tm', action: 'monitor', driver: 'garbage', args: [okDump.base64, '100'] }));
  t.equal(tmMonitor.code, 'E_MALFORMED_OUTPUT');
  const tmDelete = await runner.run({ kind: 'tm', action: 'delete', driver: 'garbage', args: ['host01:/ds/7', '7', '100'] });
  t.equal(tmDelete.result, undefined);
  const exported = await runner.run({ kind: 'datastore', action: 'export', dump: dumpFor('garbage'), id: 7 });
  t.equal(exported.result, 'this is not a result', 'a driver-specific action returns stdout raw');
});

t.test('parse: false passes stdout through', async (t) => {
  const runner = runnerFor(undefined);
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('garbage'), id: 7, parse: false });
  t.equal(result.result, 'this is not a result\n');
});

t.test('fail: message from the non-log lines, logs by level, exit code and status', async (t) => {
  const runner = runnerFor(undefined);
  const error = await rejection(runner.run({ kind: 'datastore', action: 'cp', dump: dumpFor('fail'), id: 7 }));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.equal(error.message, 'disk /ds is full\nsecond line of the reason');
  t.same(error.logs, [
    { level: 'info', message: 'starting cp' },
    { level: 'warn', message: 'low space' },
    { level: 'debug', message: 'tried twice' },
    { level: 'error', message: 'giving up' },
  ]);
  t.same(
    error.logs?.map((l) => l.level),
    ['info', 'warn', 'debug', 'error'],
  );
  t.equal(error.exitCode, 3);
  t.equal(error.exitStatus, 1);
  t.equal(error.signal, null);
  t.equal(error.timedOut, false);
  t.equal(error.name, 'FerryError');
  t.type(error, FerryError);
});

t.test('fail on a tm driver', async (t) => {
  const error = await rejection(runnerFor(undefined).run({ kind: 'tm', action: 'mkswap', driver: 'fail', args: ['512', 'host01:/ds/7/disk.2', '7', '100'] }));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.equal(error.message, 'disk /ds is full\nsecond line of the reason');
  t.equal(error.exitCode, 3);
  t.equal(error.kind, 'tm');
  t.equal(error.id, '7');
});

t.test('errblock: the error_message block is the message', async (t) => {
  const error = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'rm', dump: dumpFor('errblock'), id: 7 }));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.equal(error.message, 'Image /x not found');
  t.same(error.logs, [{ level: 'info', message: 'about to fail' }]);
  t.equal(error.exitCode, 1);
});

t.test('signal: a driver killed by a signal', async (t) => {
  const error = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'stat', dump: dumpFor('signal'), id: 7 }));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.equal(error.signal, 'SIGKILL');
  t.equal(error.exitCode, null);
  t.equal(error.message, 'datastore signal/stat was killed by SIGKILL');
  t.equal(error.exitStatus, 1);
});

t.test('slow: timeout', async (t) => {
  const started = Date.now();
  const error = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'stat', dump: dumpFor('slow'), id: 7, timeoutSec: 0.5 }));
  const elapsed = Date.now() - started;
  t.equal(error.code, 'E_TIMEOUT');
  t.equal(error.exitStatus, 124);
  t.equal(error.timedOut, true);
  t.ok(error.message.includes('timed out after 0.5 s'), error.message);
  t.match(error.message, /^datastore slow\/stat timed out after 0\.5 s/);
  t.match(error.hint, /raise the timeout/);
  t.ok(elapsed >= 480 && elapsed < 3000, `took ${elapsed} ms`);
});

t.test('stubborn: ignores SIGTERM and is killed after the grace period', async (t) => {
  const started = Date.now();
  const error = await rejection(
    runnerFor(undefined, { killGraceSec: 0.3 }).run({ kind: 'tm', action: 'delete', driver: 'stubborn', args: ['host01:/ds/7', '7', '100'], timeoutSec: 0.3 }),
  );
  const elapsed = Date.now() - started;
  t.equal(error.code, 'E_TIMEOUT');
  t.equal(error.signal, 'SIGKILL');
  t.ok(elapsed < 3000, `took ${elapsed} ms`);
  t.ok(elapsed >= 550, `waited timeout + grace (${elapsed} ms)`);
  t.same(error.logs, [{ level: 'info', message: 'ignoring SIGTERM' }]);
  t.equal(error.message, 'tm stubborn/delete timed out after 0.3 s', 'log lines are not the message');
});

t.test('hungslow: after the timeout the grandchild is dead too', async (t) => {
  const pidfile = join(tmpDir(t), 'pid');
  const error = await rejection(
    runnerFor(undefined, { env: { FIXTURE_PIDFILE: pidfile } }).run({ kind: 'datastore', action: 'stat', dump: dumpFor('hungslow'), id: 7, timeoutSec: 0.3 }),
  );
  t.equal(error.code, 'E_TIMEOUT');
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  t.ok(pid > 0, `grandchild pid ${pid}`);
  t.ok(await waitFor(() => !processAlive(pid), 2000), 'grandchild is dead');
});

t.test('hung: the script exits, its grandchild holds stdout; success after lingerSec, grandchild killed', async (t) => {
  const pidfile = join(tmpDir(t), 'pid');
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  const started = Date.now();
  const result = await runnerFor(undefined, { lingerSec: 0.2, logger, env: { FIXTURE_PIDFILE: pidfile } }).run({
    kind: 'datastore',
    action: 'stat',
    dump: dumpFor('hung'),
    id: 7,
  });
  const elapsed = Date.now() - started;
  t.equal(result.result, 40);
  t.ok(elapsed < 3000, `took ${elapsed} ms`);
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  t.ok(await waitFor(() => !processAlive(pid), 2000), 'grandchild is dead');
  const warned = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.source === 'ferry' && r.level === 40);
  t.match(warned, { msg: /kept its output open/, driver: 'hung', action: 'stat' }, 'a warning says so');
});

t.test('huge stdout: capped at maxOutputBytes, memory stays flat', async (t) => {
  const runner = runnerFor(undefined, { maxOutputBytes: 1024 * 1024 });
  let peak = 0;
  const baseline = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss - baseline);
  }, 10);
  try {
    const error = await rejection(runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('huge'), id: 7 }));
    t.equal(error.code, 'E_MALFORMED_OUTPUT', 'a cut result is not parsed');
    t.match(error.message, /its output was cut at the capture limit/);
    t.equal(error.stdoutTruncated, true);
    t.equal(error.stdout?.length, 1024 * 1024);

    const result = await runner.run({ kind: 'datastore', action: 'rm', dump: dumpFor('huge'), id: 7 });
    t.equal(result.stdoutTruncated, true);
    t.equal(result.stdout.length, 1024 * 1024);
    t.equal(result.result, undefined);
  } finally {
    clearInterval(sampler);
  }
  t.ok(peak < 64 * 1024 * 1024, `rss grew at most ${Math.round(peak / 1024 / 1024)} MiB while the driver printed 2 x 64 MiB`);
});

t.test('hugeerr: stderr keeps its end, where the reason is', async (t) => {
  const error = await rejection(runnerFor(undefined, { maxOutputBytes: 1024 * 1024 }).run({ kind: 'datastore', action: 'cp', dump: dumpFor('hugeerr'), id: 7 }));
  t.equal(error.code, 'E_DRIVER_FAILED');
  t.ok(error.message.endsWith('the real reason is at the end'), error.message.slice(-80));
  t.equal(error.stderrTruncated, true);
  t.match(error.stderr, /\[\.\.\. \d+ bytes cut \.\.\.\]/);
  t.ok((error.stderr?.length ?? 0) < 1024 * 1024 + 100, 'stderr capped');
});

t.test('stdin: the dump arrives as argument 1 and on stdin', async (t) => {
  const record = recorder(t);
  const result = await runnerFor(record).run({ kind: 'datastore', action: 'clone', dump: dumpFor('stdin'), id: 3 });
  t.equal(result.result, '/var/lib/one/datastores/1/beef');
  t.same(record.lines(), [recordLine('clone', [readDump(dumpFor('stdin')).base64, '3'])]);
});

t.test('stdinonly (dump: stdin): arguments are only <id>, the dump is on stdin', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('stdinonly'), id: 7 });
  t.equal(result.result, 40);
  t.same(result.command, [scriptPath('datastore', 'stdinonly', 'stat'), '7']);
  t.same(record.lines(), ['stat 1 [7]']);
  const monitor = await runner.run({ kind: 'tm', action: 'monitor', driver: 'stdinonly', args: [okDump.base64, '100'] });
  t.same(monitor.result, DS_RESULTS.monitor);
  t.equal(record.lines().at(-1), 'monitor 1 [100]');
});

/** A dump built with an IMAGE TEMPLATE attribute padded so its base64 is exactly `size` bytes (a multiple of 4). */
function dumpWithBase64Size(driver: string, size: number): ReturnType<typeof buildDump> {
  const make = (pad: number): ReturnType<typeof buildDump> =>
    buildDump({
      IMAGE: { ID: 7, NAME: 'big', TEMPLATE: { BIG: 'x'.repeat(pad) } },
      DATASTORE: { ID: 1, DS_MAD: driver, TM_MAD: 'ok', TYPE: 0 },
    } satisfies DumpInput);
  const base = Buffer.byteLength(make(0).xml);
  const dump = make((size / 4) * 3 - base);
  if (dump.base64.length !== size) throw new Error(`built ${dump.base64.length} bytes of base64, wanted ${size}`);
  return dump;
}

t.test('nostdin: a ~100 KB dump to a driver that never reads stdin (EPIPE handled)', async (t) => {
  const record = recorder(t);
  const dump = dumpWithBase64Size('nostdin', 120_000);
  t.ok(dump.base64.length > 100_000 && dump.base64.length < MAX_ARG_BYTES);
  // More than a pipe buffer goes to stdin of a script that exits without reading it; several runs to hit the race.
  for (let i = 0; i < 5; i++) {
    const result = await runnerFor(record).run({ kind: 'datastore', action: 'stat', dump, id: 7 });
    t.equal(result.result, 40, `run ${i + 1}`);
  }
  t.same(new Set(record.lines()), new Set([recordLine('stat', [dump.base64, '7'])]));
  t.equal(record.lines().length, 5);
  const monitor = await runnerFor(record).run({ kind: 'tm', action: 'monitor', driver: 'nostdin', args: [dump.base64, '100'] });
  t.same(monitor.result, DS_RESULTS.monitor);
});

t.test('a dump over the one-argument limit: E_DUMP_TOO_LARGE before running, fine for a dump: stdin driver', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const big = dumpWithBase64Size('ok', 140_000);
  const error = await rejection(runner.run({ kind: 'datastore', action: 'stat', dump: big, id: 7 }));
  t.equal(error.code, 'E_DUMP_TOO_LARGE');
  t.equal(error.exitStatus, 2);
  t.match(error.message, /140000 bytes/);
  t.match(error.hint, /dump: stdin/);
  t.ok(error.hint?.includes(join(remotesReal, 'datastore', 'ok', 'driver.yaml')));
  t.notOk(record.written(), 'nothing ran');

  const tmError = await rejection(runner.run({ kind: 'tm', action: 'monitor', driver: 'ok', args: [big.base64, '100'] }));
  t.equal(tmError.code, 'E_DUMP_TOO_LARGE', 'tm monitor too');
  t.ok(tmError.hint?.includes(join(remotesReal, 'tm', 'ok', 'driver.yaml')));
  t.notOk(record.written(), 'nothing ran');

  const viaStdin = await runner.run({ kind: 'datastore', action: 'stat', dump: big, id: 7, driver: 'stdinonly' });
  t.equal(viaStdin.result, 40);
  const tmViaStdin = await runner.run({ kind: 'tm', action: 'monitor', driver: 'stdinonly', args: [big.base64, '100'] });
  t.same(tmViaStdin.result, DS_RESULTS.monitor);
  t.same(record.lines(), ['stat 1 [7]', 'monitor 1 [100]']);
});

t.test('the one-argument limit is exact: 131068 bytes run, 131072 are refused', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const fits = dumpWithBase64Size('ok', MAX_ARG_BYTES - 4);
  const result = await runner.run({ kind: 'datastore', action: 'rm', dump: fits, id: 7 });
  t.equal(result.exitCode, 0, 'the kernel takes an argument just under the limit');
  t.equal(record.lines().length, 1);
  const over = dumpWithBase64Size('ok', MAX_ARG_BYTES);
  t.equal((await rejection(runner.run({ kind: 'datastore', action: 'rm', dump: over, id: 7 }))).code, 'E_DUMP_TOO_LARGE');
  t.equal(record.lines().length, 1);
});

t.test('timeouts driver: driver.yaml default and per action; the call overrides both', async (t) => {
  const runner = runnerFor(undefined);
  const dump = dumpFor('timeouts');
  let started = Date.now();
  const stat = await rejection(runner.run({ kind: 'datastore', action: 'stat', dump, id: 7 }));
  const statMs = Date.now() - started;
  t.equal(stat.code, 'E_TIMEOUT');
  t.equal(stat.message, 'datastore timeouts/stat timed out after 0.3 s');
  t.ok(statMs >= 280 && statMs < 1500, `stat took ${statMs} ms`);

  started = Date.now();
  const cp = await rejection(runner.run({ kind: 'datastore', action: 'cp', dump, id: 7 }));
  const cpMs = Date.now() - started;
  t.equal(cp.message, 'datastore timeouts/cp timed out after 0.5 s');
  t.ok(cpMs >= 480 && cpMs < 2000, `cp took ${cpMs} ms`);

  started = Date.now();
  const call = await rejection(runner.run({ kind: 'datastore', action: 'stat', dump, id: 7, timeoutSec: 0.15 }));
  const callMs = Date.now() - started;
  t.equal(call.message, 'datastore timeouts/stat timed out after 0.15 s');
  t.ok(callMs >= 130 && callMs < 1500, `call override took ${callMs} ms`);
});

t.test('timeouts: ferry.yaml per action > driver.yaml per action > driver.yaml default > ferry.yaml default', async (t) => {
  const config = runnerFor(undefined, { timeouts: { default: 0.1, datastore: { stat: 0.2 } } });
  const operator = await rejection(config.run({ kind: 'datastore', action: 'stat', dump: dumpFor('timeouts'), id: 7 }));
  t.match(operator.message, /after 0\.2 s$/, "the operator's per-action setting beats the driver's");
  const fromManifest = await rejection(config.run({ kind: 'datastore', action: 'cp', dump: dumpFor('timeouts'), id: 7 }));
  t.match(fromManifest.message, /after 0\.5 s$/, "the driver's default beats the operator's global default");
  const perAction = await rejection(config.run({ kind: 'datastore', action: 'stat', dump: dumpFor('slow'), id: 7 }));
  t.match(perAction.message, /after 0\.2 s$/);
  const byDefault = await rejection(config.run({ kind: 'datastore', action: 'cp', dump: dumpFor('slow'), id: 7 }));
  t.match(byDefault.message, /after 0\.1 s$/);
  const tm = await rejection(config.run({ kind: 'tm', action: 'delete', driver: 'slow', args: ['host01:/ds/7', '7', '100'] }));
  t.match(tm.message, /after 0\.1 s$/, 'datastore settings do not apply to tm');
  const manifestPerAction = runnerFor(undefined, { timeouts: { default: 0.1 } });
  const fromManifestAction = await rejection(manifestPerAction.run({ kind: 'datastore', action: 'stat', dump: dumpFor('timeouts'), id: 7 }));
  t.match(fromManifestAction.message, /after 0\.3 s$/, "the driver's per-action value beats the operator's global default");
});

t.test('monitor of a system datastore runs the tm driver named by TM_MAD', async (t) => {
  const record = recorder(t);
  // DS_MAD fail would fail if the datastore driver ran.
  const dump = buildDump({ DATASTORE: { ID: 0, NAME: 'system', DS_MAD: 'fail', TM_MAD: 'ok', TYPE: 1 } });
  const result = await runnerFor(record).run({ kind: 'datastore', action: 'monitor', dump, id: 0 });
  t.equal(result.kind, 'tm');
  t.equal(result.driver, 'ok');
  t.same(result.result, DS_RESULTS.monitor);
  t.same(record.lines(), [recordLine('monitor', [dump.base64, '0'])]);

  const image = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'monitor', dump: buildDump({ DATASTORE: { ID: 1, DS_MAD: 'fail', TM_MAD: 'ok', TYPE: 0 } }), id: 1 }));
  t.equal(image.code, 'E_DRIVER_FAILED', 'an image datastore runs its datastore driver');

  const noTm = await rejection(runnerFor(record).run({ kind: 'datastore', action: 'monitor', dump: buildDump({ DATASTORE: { ID: 0, DS_MAD: 'ok', TYPE: 1 } }), id: 0 }));
  t.equal(noTm.code, 'E_BAD_DUMP');
  t.match(noTm.message, /DATASTORE\/TM_MAD/);
  t.equal(record.lines().length, 1, 'nothing more ran');
});

t.test('clone.ssh falls back to clone; delete.ssh runs delete.ssh', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const cloneArgs = tmArgs('clone', '');
  const clone = await runner.run({ kind: 'tm', action: 'clone.ssh', driver: 'ok', args: cloneArgs });
  t.equal(clone.script, 'clone');
  t.equal(clone.action, 'clone.ssh');
  t.equal(record.lines().at(-1), recordLine('clone', cloneArgs));
  const deleteArgs = tmArgs('delete', '');
  const del = await runner.run({ kind: 'tm', action: 'delete.ssh', driver: 'ok', args: deleteArgs });
  t.equal(del.script, 'delete.ssh');
  t.equal(record.lines().at(-1), recordLine('delete.ssh', deleteArgs));
  const bad = await rejection(runner.run({ kind: 'tm', action: 'clone.ssh', driver: 'ok', args: ['nohost', 'host01:/x', '7', '100'] }));
  t.equal(bad.code, 'E_BAD_ARGS', 'clone.ssh is checked against the clone row');
});

t.test('cancel: aborting the signal gives E_CANCELLED', async (t) => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const started = Date.now();
  const error = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'stat', dump: dumpFor('slow'), id: 7, signal: controller.signal }));
  t.equal(error.code, 'E_CANCELLED');
  t.equal(error.exitStatus, 1);
  t.equal(error.message, 'datastore slow/stat was cancelled');
  t.ok(Date.now() - started < 2000);

  const aborted = new AbortController();
  aborted.abort();
  const early = await rejection(runnerFor(undefined).run({ kind: 'tm', action: 'delete', driver: 'slow', args: ['host01:/ds/7', '7', '100'], signal: aborted.signal }));
  t.equal(early.code, 'E_CANCELLED');
});

t.test('shell injection: hostile values arrive verbatim and run nothing', async (t) => {
  const cwd = tmpDir(t);
  const previous = process.cwd();
  process.chdir(cwd);
  t.teardown(() => process.chdir(previous));
  writeFileSync(join(cwd, 'x'), 'keep me');
  const record = recorder(t);
  const runner = runnerFor(record);
  const hostile = '$(touch pwned) `id` ; rm -rf x';
  const dump = buildDump({
    IMAGE: { ID: 7, NAME: hostile, PATH: `/tmp/$(touch pwned)`, TEMPLATE: { DESCRIPTION: hostile } },
    DATASTORE: { ID: 1, DS_MAD: 'ok', TM_MAD: 'ok', TYPE: 0 },
  });
  for (const action of DS_ACTIONS) await runner.run({ kind: 'datastore', action, dump, id: 7 });
  const line = record.lines()[0] ?? '';
  const arg1 = /^cp 2 \[([^\]]+)\] \[7\]$/.exec(line)?.[1] ?? '';
  t.equal(arg1, dump.base64);
  t.ok(Buffer.from(arg1, 'base64').toString('utf8').includes(`<NAME>${hostile}</NAME>`), 'the name arrives verbatim');

  const tmPath = 'host01:/tmp/$(touch pwned)';
  const tmHostile = `host01:/tmp/${hostile}`;
  await runner.run({ kind: 'tm', action: 'delete', driver: 'ok', args: [tmPath, '7', '100'] });
  await runner.run({ kind: 'tm', action: 'mv', driver: 'ok', args: [tmHostile, 'host02:/tmp/`touch pwned`', '7', '100'] });
  await runner.run({ kind: 'tm', action: 'context', driver: 'ok', args: ['$(touch pwned)', ';touch pwned', 'host01:/ds/7/disk.1', '7', '100'] });
  t.equal(record.lines().at(-3), recordLine('delete', [tmPath, '7', '100']));
  t.equal(record.lines().at(-2), recordLine('mv', [tmHostile, 'host02:/tmp/`touch pwned`', '7', '100']));
  t.equal(record.lines().at(-1), recordLine('context', ['$(touch pwned)', ';touch pwned', 'host01:/ds/7/disk.1', '7', '100']));

  const places = [cwd, previous, remotesReal, join(remotesReal, 'datastore', 'ok'), join(remotesReal, 'tm', 'ok'), join(remotesReal, 'datastore'), join(remotesReal, 'tm')];
  for (const place of places) t.notOk(existsSync(join(place, 'pwned')), `no pwned in ${place}`);
  t.notOk(readdirSync(cwd).some((name) => name.includes('pwned')));
  t.equal(readFileSync(join(cwd, 'x'), 'utf8'), 'keep me', 'rm -rf x did not run');
});

t.test('logger sink: driver log records with kind, driver, action and id bound', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  await rejection(runnerFor(undefined, { logger }).run({ kind: 'datastore', action: 'stat', dump: dumpFor('fail'), id: 7 }));
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const fromDriver = records.filter((r) => r.source === 'driver');
  t.same(
    fromDriver.map((r) => [r.level, r.msg]),
    [
      [30, 'starting stat'],
      [40, 'low space'],
      [20, 'tried twice'],
      [50, 'giving up'],
    ],
  );
  for (const record of fromDriver) t.match(record, { kind: 'datastore', driver: 'fail', action: 'stat', id: '7' });
  const summary = records.find((r) => r.source === 'ferry');
  t.match(summary, { level: 20, code: 'E_DRIVER_FAILED', exitCode: 3, kind: 'datastore', driver: 'fail', msg: 'disk /ds is full\nsecond line of the reason' });

  // A call's logger replaces the runner's; tm runs bind their kind and vm id.
  const callLines: string[] = [];
  const callLogger = pino({ level: 'debug' }, { write: (line: string) => callLines.push(line) });
  const before = lines.length;
  await rejection(runnerFor(undefined, { logger }).run({ kind: 'tm', action: 'delete', driver: 'fail', args: ['host01:/ds/7', '9', '100'], logger: callLogger }));
  t.equal(lines.length, before, 'runner logger untouched');
  const callRecords = callLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.equal(callRecords.filter((r) => r.source === 'driver').length, 4);
  for (const record of callRecords) t.match(record, { kind: 'tm', driver: 'fail', action: 'delete', id: '9' });
});

t.test('FerryError carries the run facts', async (t) => {
  const error = await rejection(runnerFor(undefined).run({ kind: 'datastore', action: 'mkfs', dump: dumpFor('fail'), id: 12 }));
  const b64 = readDump(dumpFor('fail')).base64;
  t.same(error.command, [scriptPath('datastore', 'fail', 'mkfs'), `<dump: ${b64.length} bytes>`, '12']);
  t.notOk(error.command?.some((part) => part.includes(b64)), 'the dump itself is not in the command');
  t.equal(error.stdout, '');
  t.equal(error.stderr, 'INFO: starting mkfs\nWARN: low space\ndisk /ds is full\nDEBUG: tried twice\nERROR: giving up\nsecond line of the reason\n');
  t.type(error.durationMs, 'number');
  t.ok((error.durationMs ?? 0) > 0 && (error.durationMs ?? 0) < 5000);
  t.equal(error.exitCode, 3);
  t.equal(error.kind, 'datastore');
  t.equal(error.driver, 'fail');
  t.equal(error.action, 'mkfs');
  t.equal(error.id, '12');
  t.equal(error.stdoutTruncated, false);
  t.equal(error.stderrTruncated, false);
  t.equal(error.hint, undefined);
});

t.test('the dump may be given as XML, base64, typed sections or a parsed dump', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const xml = dumpFor('ok');
  const b64 = readDump(xml).base64;
  const wrapped = b64.replace(/(.{76})/g, '$1\n');
  for (const dump of [xml, `\n${xml}\n`, b64, wrapped, readDump(xml)]) {
    await runner.run({ kind: 'datastore', action: 'rm', dump, id: 7 });
  }
  t.same(new Set(record.lines()), new Set([recordLine('rm', [b64, '7'])]), 'the same base64 every time');
  t.equal(record.lines().length, 5);
  const sections = buildDump({ IMAGE: { ID: 7 }, DATASTORE: { ID: 1, DS_MAD: 'ok' } });
  const fromSections = await runner.run({ kind: 'datastore', action: 'stat', dump: { IMAGE: { ID: 7 }, DATASTORE: { ID: 1, DS_MAD: 'ok' } }, id: 7 });
  t.equal(fromSections.result, 40);
  t.equal(record.lines().at(-1), recordLine('stat', [sections.base64, '7']));
});

t.test('an explicit driver overrides DS_MAD', async (t) => {
  const record = recorder(t);
  const result = await runnerFor(record).run({ kind: 'datastore', action: 'stat', dump: specExampleXml(), id: 7, driver: 'ok' });
  t.equal(result.driver, 'ok');
  t.equal(record.lines().length, 1);
  const error = await rejection(runnerFor(record).run({ kind: 'datastore', action: 'stat', dump: specExampleXml(), id: 7 }));
  t.equal(error.code, 'E_DRIVER_NOT_FOUND', 'the spec example names fs, which the fixtures do not have');
});

// ---------------------------------------------------------------------------
// Refused before anything runs.

t.test('refused before spawning', async (t) => {
  const record = recorder(t);
  const runner = runnerFor(record);
  const ds = (driver: string, action = 'stat', extra: object = {}): ActionRequest => ({ kind: 'datastore', action, dump: dumpFor('ok'), id: 7, driver, ...extra });
  const tm = (action: string, args: string[], driver = 'ok'): ActionRequest => ({ kind: 'tm', action, driver, args });

  const expectCode = async (request: ActionRequest, code: string, label: string): Promise<FerryError> => {
    const error = await rejection(runner.runAny(request));
    t.equal(error.code, code, label);
    t.equal(error.exitStatus, code === 'E_SPAWN' ? 1 : 2, `${label} exit status`);
    t.notOk(record.written(), `${label}: nothing ran`);
    return error;
  };

  const missing = await expectCode(ds('nosuch'), 'E_DRIVER_NOT_FOUND', 'missing driver');
  t.ok(missing.message.includes(join(remotesReal, 'datastore', 'nosuch')), 'names the path');
  const missingTm = await expectCode(tm('delete', ['host01:/x', '7', '100'], 'nosuch'), 'E_DRIVER_NOT_FOUND', 'missing tm driver');
  t.ok(missingTm.message.includes(join(remotesReal, 'tm', 'nosuch')));

  const noAction = await expectCode(ds('noexec', 'stat'), 'E_ACTION_NOT_FOUND', 'missing action');
  t.match(noAction.message, /has no action 'stat'/);
  await expectCode(tm('resize.ssh', ['host01:/x', '5', '7'], 'noexec'), 'E_DRIVER_NOT_FOUND', 'no tm/noexec');

  const noexec = await expectCode(ds('noexec', 'cp'), 'E_NOT_EXECUTABLE', 'not executable');
  t.match(noexec.hint, /chmod \+x/);

  const escape = await expectCode(ds('escape'), 'E_ACTION_NOT_FOUND', 'link outside remotes');
  t.match(escape.message, /outside the remotes folder/);

  for (const driver of ['../ok', '/etc', '..', '.', 'ok/../ok']) await expectCode(ds(driver), 'E_USAGE', `driver ${driver}`);
  await expectCode(tm('delete', ['host01:/x', '7', '100'], '../ok'), 'E_USAGE', 'tm driver ../ok');
  await expectCode(ds('ok', '../../fixture.sh'), 'E_USAGE', 'action ../../fixture.sh');
  await expectCode(tm('../../fixture.sh', []), 'E_USAGE', 'tm action ../../fixture.sh');
  await expectCode({ kind: 'datastore', action: 'stat', dump: dumpFor('../ok'), id: 7 }, 'E_USAGE', 'DS_MAD ../ok');

  const bad = await expectCode(ds('badmanifest'), 'E_BAD_MANIFEST', 'badmanifest');
  t.match(bad.message, /unknown key "timeout"/);
  t.match(bad.message, /dump/);
  t.match(bad.message, /sideways/);
  const future = await expectCode(ds('futureapi'), 'E_BAD_MANIFEST', 'futureapi');
  t.match(future.message, /\b99\b/);

  const interp = await expectCode(ds('badinterp'), 'E_SPAWN', 'badinterp');
  t.match(interp.message, /ENOENT/);
  t.match(`${interp.message} ${interp.hint}`, /interpreter/);
  t.ok(interp.hint?.includes(join(remotesReal, 'datastore', 'badinterp', 'stat')));

  await expectCode(tm('delete', ['host01:/x', 'abc', '100']), 'E_BAD_ARGS', 'non-integer vm_id');
  await expectCode(tm('delete', ['host01:/x', '7.5', '100']), 'E_BAD_ARGS', 'fractional vm_id');
  await expectCode(tm('delete', ['host01:/x', '-2', '100']), 'E_BAD_ARGS', 'vm_id below -1');
  const noHost = await expectCode(tm('clone', ['/var/lib/one/1/f00d', 'host01:/ds/7/disk.0', '7', '100']), 'E_BAD_ARGS', 'missing host:');
  t.match(noHost.message, /fe:SOURCE/);
  t.match(noHost.hint, /^usage: tm clone ok /);
  await expectCode(tm('clone', ['frontend:', 'host01:/ds/7/disk.0', '7', '100']), 'E_BAD_ARGS', 'empty path after host:');
  await expectCode(tm('delete', ['host01:/x', '7']), 'E_BAD_ARGS', 'too few');
  await expectCode(tm('delete', ['host01:/x', '7', '100', 'extra']), 'E_BAD_ARGS', 'too many');
  await expectCode(tm('mkimage', ['-5', 'raw', 'host01:/x', '7', '100']), 'E_BAD_ARGS', 'negative size');
  await expectCode(tm('mkimage', ['5', 'raw; rm', 'host01:/x', '7', '100']), 'E_BAD_ARGS', 'format with spaces');
  await expectCode(tm('premigrate', ['host01', 'host02', 'relative/dir', '7', '100', VM_TEMPLATE_B64]), 'E_BAD_ARGS', 'relative path');
  await expectCode(tm('premigrate', ['host01', 'host 02', '/dir', '7', '100', VM_TEMPLATE_B64]), 'E_BAD_ARGS', 'host with a space');
  await expectCode(tm('context', ['host01:/x', '7', '100'].slice(0, 2)), 'E_BAD_ARGS', 'context too short');
  await expectCode({ kind: 'datastore', action: 'stat', dump: dumpFor('ok'), id: 'abc' }, 'E_BAD_ARGS', 'datastore id not a number');

  const noMad = buildDump({ IMAGE: { ID: 7 }, DATASTORE: { ID: 1 } });
  const noDriver = await expectCode({ kind: 'datastore', action: 'stat', dump: noMad, id: 7 }, 'E_BAD_DUMP', 'no DS_MAD');
  t.match(noDriver.message, /DS_MAD/);
  await expectCode({ kind: 'datastore', action: 'stat', dump: 'not base64 at all!', id: 7 }, 'E_BAD_DUMP', 'not base64');
  await expectCode({ kind: 'datastore', action: 'stat', dump: Buffer.from('just some text').toString('base64'), id: 7 }, 'E_BAD_DUMP', 'base64 of non-XML');
  await expectCode({ kind: 'datastore', action: 'stat', dump: '<DS_DRIVER_ACTION_DATA><IMAGE>', id: 7 }, 'E_BAD_DUMP', 'broken XML');
  await expectCode({ kind: 'datastore', action: 'stat', dump: '<OTHER><DATASTORE><DS_MAD>ok</DS_MAD></DATASTORE></OTHER>', id: 7 }, 'E_BAD_DUMP', 'wrong root');
  await expectCode({ kind: 'datastore', action: 'stat', dump: '', id: 7 }, 'E_BAD_DUMP', 'empty dump');
  await expectCode(tm('monitor', [Buffer.from('just some text').toString('base64'), '100']), 'E_BAD_DUMP', 'tm monitor with a non-XML dump');
  await expectCode(tm('monitor', ['@@@', '100']), 'E_BAD_ARGS', 'tm monitor with a non-base64 dump');

  const config = await rejection(new Runner({ remotes: join(tmpDir(t), 'missing'), env: { FIXTURE_RECORD: record.file } }).run({ kind: 'datastore', action: 'stat', dump: dumpFor('ok'), id: 7 }));
  t.equal(config.code, 'E_CONFIG', 'missing remotes folder');
  t.notOk(record.written());
});

t.test('no process group is left behind', async (t) => {
  t.equal(liveGroupCount(), 0);
});

t.test('a located script is reused only while its folder, link and file are unchanged', async (t) => {
  const { chmodSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync, utimesSync } = await import('node:fs');
  const root = tmpDir(t);
  const remotes = join(root, 'remotes');
  const dir = join(remotes, 'tm', 'live');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, body: string): void => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  write('clone', 'echo plain');
  const runner = new Runner({ remotes });
  const args = ['fe:/a', 'host01:/b', '7', '0'];
  const run = () => runner.run({ kind: 'tm', action: 'clone.ssh', driver: 'live', args, parse: false });

  t.equal((await run()).stdout, 'plain\n', 'clone.ssh falls back to clone');
  write('clone.ssh', 'echo suffixed');
  // A new file changes the folder's mtime; make sure the clock moved on coarse file systems.
  utimesSync(dir, new Date(), new Date(Date.now() + 2000));
  t.equal((await run()).stdout, 'suffixed\n', 'a clone.ssh added later is picked up');

  chmodSync(join(dir, 'clone.ssh'), 0o644);
  await t.rejects(run(), { code: 'E_NOT_EXECUTABLE' }, 'losing the run bit is noticed');
  chmodSync(join(dir, 'clone.ssh'), 0o755);
  t.equal((await run()).stdout, 'suffixed\n');

  // Retarget the action to a link that leaves the remotes folder.
  const outside = join(root, 'outside.sh');
  writeFileSync(outside, '#!/bin/sh\necho escaped\n');
  chmodSync(outside, 0o755);
  unlinkSync(join(dir, 'clone.ssh'));
  symlinkSync(outside, join(dir, 'clone.ssh'));
  await t.rejects(run(), { code: 'E_ACTION_NOT_FOUND' }, 'a link moved outside the remotes folder is refused');
});

t.test('the script environment: what runs, the dump fields, the runner env, no stale dump variables', async (t) => {
  const { chmodSync, mkdirSync, writeFileSync } = await import('node:fs');
  const root = tmpDir(t);
  const remotes = join(root, 'remotes');
  mkdirSync(join(remotes, 'datastore', 'envdump'), { recursive: true });
  const script = join(remotes, 'datastore', 'envdump', 'export');
  writeFileSync(script, '#!/bin/sh\nenv | grep ^FERRY | sort\n');
  chmodSync(script, 0o755);
  const previous = process.env.FERRY_IMAGE_TEMPLATE_STALE;
  process.env.FERRY_IMAGE_TEMPLATE_STALE = 'from an outer ferry';
  t.teardown(() => {
    if (previous === undefined) delete process.env.FERRY_IMAGE_TEMPLATE_STALE;
    else process.env.FERRY_IMAGE_TEMPLATE_STALE = previous;
  });
  const runner = new Runner({ remotes, env: { FERRY_LOCAL_HOSTS: 'fe host01', FERRY_LOCK_DIR: '/run/locks' } });
  const result = await runner.run({
    kind: 'datastore',
    action: 'export',
    dump: { IMAGE: { ID: 9, PATH: '/srv/img one', TEMPLATE: { MD5: 'abc' } }, DATASTORE: { ID: 1, DS_MAD: 'envdump', BASE_PATH: '/ds/1' } },
    id: 9,
  });
  const env = Object.fromEntries((result.result as string).split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  t.equal(env.FERRY_KIND, 'datastore');
  t.equal(env.FERRY_DRIVER, 'envdump');
  t.equal(env.FERRY_ACTION, 'export');
  t.equal(env.FERRY_REMOTES, remotes);
  t.match(env.FERRY, /dist\/bin\/ferry\.js$/);
  t.equal(env.FERRY_LOCAL_HOSTS, 'fe host01');
  t.equal(env.FERRY_LOCK_DIR, '/run/locks', 'the runner env wins over the default lock dir');
  t.equal(env.FERRY_IMAGE_ID, '9');
  t.equal(env.FERRY_IMAGE_PATH, '/srv/img one');
  t.equal(env.FERRY_IMAGE_TEMPLATE_MD5, 'abc');
  t.equal(env.FERRY_DS_BASE_PATH, '/ds/1');
  t.equal(env.FERRY_IMAGE_SOURCE, '', 'well-known fields are set even when empty');
  t.notOk('FERRY_IMAGE_TEMPLATE_STALE' in env, 'dump variables inherited from ferry\'s own environment are cleared');
  t.ok(process.env.PATH && result.stdout.length > 0, 'the rest of the environment is inherited');
});

t.test('a variable added to ferry\'s environment between runs reaches the next script', async (t) => {
  const runner = runnerFor(undefined);
  const args = ['fe:/a', 'host01:/b', '7', '0'];
  await runner.run({ kind: 'tm', action: 'clone', driver: 'ok', args });
  const record = recorder(t);
  const saved = process.env.FIXTURE_RECORD;
  process.env.FIXTURE_RECORD = record.file;
  t.teardown(() => {
    if (saved === undefined) delete process.env.FIXTURE_RECORD;
    else process.env.FIXTURE_RECORD = saved;
  });
  await runner.run({ kind: 'tm', action: 'clone', driver: 'ok', args });
  t.same(record.lines(), [recordLine('clone', args)], 'the second run saw FIXTURE_RECORD, set after the first');
});
