/**
 * serveMad in-process: a Runner over fixtures/remotes (and a few drivers
 * written here), an async generator of request lines the test feeds, and a
 * write() that collects the reply lines.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Runner, type RunnerOptions } from '../../src/driver/runner.js';
import { liveGroupCount } from '../../src/driver/launch/spawn-group.js';
import { driverFolders, serveMad, type DriverSet, type MadOptions } from '../../src/protocol/mad.js';
import { maxOverlap, intervalsOf, overlapsPerId } from '../helpers/intervals.js';
import { dumpFor, fixturesRemotes, liveGroupMembers, processAlive, specExampleXml, tmpDir, waitFor } from '../helpers/fixtures.js';
import { startedGroup } from '../helpers/spawn.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const fixtureScript = join(fixturesRemotes, 'fixture.sh');
const DS_DRIVERS = readdirSync(join(fixturesRemotes, 'datastore'));
const TM_DRIVERS = readdirSync(join(fixturesRemotes, 'tm'));
const ALL_DS_ACTIONS = ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor', 'snap_delete', 'snap_flatten', 'snap_revert', 'restore', 'increment_flatten'];

/** One protocol line: a reply, a log record or the INIT answer. */
const PROTOCOL_LINE = /^(?:[A-Z_]{1,40} (?:SUCCESS|FAILURE) (?:-?\d+|-) \S.*|LOG [EWID] (?:-?\d+|-) \S.*|INIT SUCCESS - -)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The base64 dump of an image datastore whose DS_MAD is `driver` (IMAGE/NAME `name` when given). */
function dsDump(driver: string, name?: string): string {
  const xml = dumpFor(driver);
  return b64(name === undefined ? xml : xml.replace('<NAME>ttylinux</NAME>', `<NAME>${name}</NAME>`));
}

/** The base64 dump of a system datastore (TYPE 1) with DS_MAD `ds` and TM_MAD `tm`. */
function systemDump(ds: string, tm: string): string {
  const before = dumpFor(ds);
  const xml = before.replace(/<TM_MAD>shared<\/TM_MAD>(\s*)<TYPE>0<\/TYPE>/, `<TM_MAD>${tm}</TM_MAD>$1<TYPE>1</TYPE>`);
  if (xml === before) throw new Error('spec-example.xml no longer has DATASTORE TM_MAD followed by TYPE');
  return b64(xml);
}

/**
 * A remotes folder of our own: datastore/ok with every protocol action (restore
 * and increment_flatten included) linked to fixture.sh, datastore/multi whose
 * stat prints two lines, and a `stamp` driver (datastore and tm) that appends
 * `start <id> <epoch-ns> <tag>` and `end ...` to $STAMP_FILE around a sleep.
 * The tag is IMAGE/NAME (datastore) or the last path part of the first
 * argument (tm); a tag `name-0.05` sleeps 0.05 s, otherwise $STAMP_SLEEP.
 */
function ownRemotes(t: Tap): string {
  const root = tmpDir(t, 'ferry-mad-remotes-');
  // A script must resolve inside the remotes folder: a copy of fixture.sh at its root, linked like the fixtures'.
  writeFileSync(join(root, 'fixture.sh'), readFileSync(fixtureScript));
  chmodSync(join(root, 'fixture.sh'), 0o755);
  mkdirSync(join(root, 'datastore', 'ok'), { recursive: true });
  for (const action of ALL_DS_ACTIONS) symlinkSync('../../fixture.sh', join(root, 'datastore', 'ok', action));
  mkdirSync(join(root, 'datastore', 'multi'));
  writeFileSync(join(root, 'datastore', 'multi', 'stat'), "#!/bin/sh\nprintf 'line one\\n\\nline two  \\n'\n");
  chmodSync(join(root, 'datastore', 'multi', 'stat'), 0o755);
  const stamp = [
    '#!/bin/sh',
    'if [ "$FERRY_KIND" = tm ]; then tag=${1##*/}; else tag=$FERRY_IMAGE_NAME; fi',
    'id=$2',
    'case "$tag" in *-*) pause=${tag##*-} ;; *) pause=${STAMP_SLEEP:-0.1} ;; esac',
    'printf \'start %s %s %s\\n\' "$id" "$(date +%s%N)" "$tag" >>"$STAMP_FILE"',
    'sleep "$pause"',
    'printf \'end %s %s %s\\n\' "$id" "$(date +%s%N)" "$tag" >>"$STAMP_FILE"',
    '',
  ].join('\n');
  for (const kind of ['datastore', 'tm']) {
    mkdirSync(join(root, kind, 'stamp'), { recursive: true });
    writeFileSync(join(root, kind, 'stamp', 'stat'), stamp);
    chmodSync(join(root, kind, 'stamp', 'stat'), 0o755);
    for (const action of ['cp', 'rm', 'clone', 'delete', 'mkswap']) symlinkSync(join(root, kind, 'stamp', 'stat'), join(root, kind, 'stamp', action));
  }
  return root;
}

function runnerOver(remotes: string, env: Record<string, string> = {}, options: Partial<RunnerOptions> = {}): Runner {
  return new Runner({ remotes, killGraceSec: 0.3, lingerSec: 0.2, ...options, env });
}

interface Session {
  /** Every line written, in order. */
  out: string[];
  /** Writes that were not exactly one line. */
  broken: string[];
  send(...lines: string[]): void;
  /** EOF on the request stream. */
  end(): void;
  /** Sends `lines`, then EOF, and waits until serving ends (every action answered). */
  finish(...lines: string[]): Promise<void>;
  done: Promise<void>;
  finished(): boolean;
  /** Waits for a written line matching `match`; undefined after `ms`. */
  line(match: RegExp, ms?: number): Promise<string | undefined>;
  count(match: RegExp): number;
}

/** Runs serveMad over a request stream the test feeds; stopped (EOF) on teardown. */
function serve(t: Tap, given: Partial<Omit<MadOptions, 'enabled' | 'systemTm'>> & Pick<MadOptions, 'kind' | 'runner'> & { enabled?: string[] | DriverSet; systemTm?: string[] }): Session {
  const { enabled, systemTm, ...rest } = given;
  // Lists as the -d and -s flags give them; a DriverSet as the default (driverFolders) does.
  const options: Partial<MadOptions> & Pick<MadOptions, 'kind' | 'runner'> = {
    ...rest,
    ...(enabled ? { enabled: Array.isArray(enabled) ? new Set(enabled) : enabled } : {}),
    ...(systemTm ? { systemTm: new Set(systemTm) } : {}),
  };
  const pending: string[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  async function* lines(): AsyncGenerator<string> {
    for (;;) {
      const next = pending.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (closed) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  }
  const out: string[] = [];
  const broken: string[] = [];
  let finished = false;
  const done = serveMad({
    concurrency: 15,
    enabled: new Set(options.kind === 'datastore' ? DS_DRIVERS : TM_DRIVERS),
    ...options,
    lines: lines(),
    write: (line) => {
      if (typeof line !== 'string' || /[\r\n]/.test(line)) broken.push(String(line));
      out.push(line);
    },
  }).finally(() => {
    finished = true;
  });
  const session: Session = {
    out,
    broken,
    send: (...lines) => {
      pending.push(...lines);
      wake?.();
    },
    end: () => {
      closed = true;
      wake?.();
    },
    finish: async (...lines) => {
      session.send(...lines);
      session.end();
      await done;
    },
    done,
    finished: () => finished,
    line: async (match, ms = 5000) => {
      await waitFor(() => out.some((line) => match.test(line)), ms, 5);
      return out.find((line) => match.test(line));
    },
    count: (match) => out.filter((line) => match.test(line)).length,
  };
  t.teardown(async () => {
    session.end();
    await done;
  });
  return session;
}

/** Checks every written line is one whole protocol line. */
function wellFormed(t: Tap, session: Session): void {
  t.same(session.broken, [], 'every write is one line, without line breaks');
  t.same(
    session.out.filter((line) => !PROTOCOL_LINE.test(line)).map((line) => line.slice(0, 200)),
    [],
    'every line is `<ACTION> <SUCCESS|FAILURE> <id> <info>`, `LOG <E|W|I|D> <id> <message>` or the INIT answer',
  );
}

/** A record file (FIXTURE_RECORD) and its lines' first words. */
function recorder(t: Tap): { file: string; actions(): string[]; lines(): string[] } {
  const file = join(tmpDir(t, 'ferry-mad-record-'), 'record');
  const lines = (): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => /^[a-z_]+ \d+/.test(line)) : []);
  return { file, lines, actions: () => lines().map((line) => line.split(' ')[0] as string) };
}

t.test('INIT is answered; FINALIZE ends serving once the actions already received are answered', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes, { FIXTURE_SLEEP: '0.3' }) });
  s.send('INIT');
  t.equal(await s.line(/^INIT/), 'INIT SUCCESS - -');
  s.send(`STAT 1 ${dsDump('slow')}`, 'FINALIZE', `STAT 2 ${dsDump('ok')}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.notOk(s.finished(), 'still serving while STAT 1 runs');
  await s.done;
  t.same(s.out, ['INIT SUCCESS - -', 'STAT SUCCESS 1 40'], 'STAT 1 answered before the end; nothing read after FINALIZE');
  t.equal(liveGroupCount(), 0, 'no driver left running');
  wellFormed(t, s);
});

t.test('EOF ends serving too, after answering; no process of a driver survives', async (t) => {
  const pidfile = join(tmpDir(t), 'pid');
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes, { FIXTURE_SLEEP: '0.3', FIXTURE_PIDFILE: pidfile }) });
  await s.finish(`STAT 1 ${dsDump('slow')}`, `STAT 2 ${dsDump('hung')}`);
  t.same([...s.out].sort(), ['STAT SUCCESS 1 40', 'STAT SUCCESS 2 40']);
  const grandchild = Number(readFileSync(pidfile, 'utf8'));
  t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the hung driver\'s grandchild is dead');
  t.equal(liveGroupCount(), 0);
});

t.test('every datastore action runs DS_MAD\'s script with the dump and the id; stdout goes back as is', async (t) => {
  const record = recorder(t);
  const s = serve(t, { kind: 'datastore', runner: runnerOver(ownRemotes(t), { FIXTURE_RECORD: record.file }), enabled: ['ok'] });
  const dump = dsDump('ok');
  const expected: Record<string, string> = {
    CP: '/var/lib/one/datastores/1/f00d 40',
    MKFS: '/var/lib/one/datastores/1/f00d 40',
    STAT: '40',
    CLONE: '/var/lib/one/datastores/1/beef',
    RM: '-',
    SNAP_DELETE: '-',
    SNAP_FLATTEN: '-',
    SNAP_REVERT: '-',
    RESTORE: '-',
    INCREMENT_FLATTEN: '-',
  };
  ALL_DS_ACTIONS.forEach((action, index) => s.send(`${action.toUpperCase()} ${100 + index} ${dump}`));
  await s.finish();
  ALL_DS_ACTIONS.forEach((action, index) => {
    const upper = action.toUpperCase();
    const replies = s.out.filter((line) => line.startsWith(`${upper} `) && line.split(' ')[2] === String(100 + index));
    t.equal(replies.length, 1, `${upper}: one reply`);
    const [, status, , ...info] = (replies[0] ?? '').split(' ');
    t.equal(status, 'SUCCESS', `${upper} succeeds`);
    if (upper === 'MONITOR') t.equal(squash(unb64(info.join(' '))), 'USED_MB=10 TOTAL_MB=100 FREE_MB=90', 'MONITOR: the base64 of its output');
    else t.equal(info.join(' '), expected[upper], `${upper}: its stdout`);
  });
  t.same(record.actions().sort(), [...ALL_DS_ACTIONS].sort(), 'each script ran once');
  for (const line of record.lines()) {
    const action = line.split(' ')[0] as string;
    const id = 100 + ALL_DS_ACTIONS.indexOf(action);
    t.equal(line, `${action} 2 [${dump}] [${id}]`, `${action}: arguments <dump> <id>`);
  }
  wellFormed(t, s);
});

t.test('fields split on runs of white space: the core\'s empty status field, tabs, CRLF, blank lines', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  const dump = dsDump('ok');
  await s.finish(`STAT 3  ${dump}`, `STAT\t4\t\t${dump}`, `  STAT 5 ${dump}  `, `STAT 6 ${dump}\r`, '', '   ');
  t.same([...s.out].sort(), ['STAT SUCCESS 3 40', 'STAT SUCCESS 4 40', 'STAT SUCCESS 5 40', 'STAT SUCCESS 6 40'], 'four replies, blank lines ignored');
});

t.test('no typed parsing: garbage stdout is still SUCCESS; several lines of stdout become one, blanks kept', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  await s.finish(`STAT 1 ${dsDump('garbage')}`, `CP 2 ${dsDump('garbage')}`, `RM 3 ${dsDump('garbage')}`);
  t.same([...s.out].sort(), ['CP SUCCESS 2 this is not a result', 'RM SUCCESS 3 this is not a result', 'STAT SUCCESS 1 this is not a result']);
  const own = serve(t, { kind: 'datastore', runner: runnerOver(ownRemotes(t)), enabled: ['multi'] });
  await own.finish(`STAT 4 ${dsDump('multi')}`);
  t.equal(own.out.length, 1);
  // OpenNebula's driver processes send stdout as it is, less its last newline; only a line break inside becomes a space.
  t.equal(own.out[0], 'STAT SUCCESS 4 line one  line two  ', 'one line, both lines of output, blanks kept');
  wellFormed(t, own);
});

t.test('a failing driver: FAILURE with the non-log stderr lines on one line; log lines become LOG records', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  await s.finish(`STAT 7 ${dsDump('fail')}`);
  t.same(s.out, ['LOG I 7 starting stat', 'LOG W 7 low space', 'LOG D 7 tried twice', 'LOG E 7 giving up', 'STAT FAILURE 7 disk /ds is full second line of the reason']);
  const other = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  await other.finish(`RM 8 ${dsDump('errblock')}`, `CP 9 ${dsDump('signal')}`);
  const rm = other.out.filter((line) => / 8 /.test(line));
  t.same(rm, ['LOG I 8 about to fail', 'RM FAILURE 8 Image /x not found'], 'the error block is the message');
  t.match(other.out.find((line) => line.startsWith('CP ')), /^CP FAILURE 9 \S/, 'a driver killed by a signal fails, with a reason');
  wellFormed(t, other);
});

t.test('a success with log lines: the LOG records come before the reply', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  await s.finish(`STAT 4 ${dsDump('noisy')}`);
  t.equal(s.out.length, 201);
  t.same(s.out.slice(0, 200), Array.from({ length: 200 }, (_, i) => `LOG I 4 progress ${i}`));
  t.equal(s.out[200], 'STAT SUCCESS 4 40');
});

t.test('MONITOR: the info is base64, success or failure; a driver not enabled is answered in plain text', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes), enabled: ['ok', 'fail', 'garbage'] });
  await s.finish(`MONITOR 1 ${dsDump('ok')}`, `MONITOR 2 ${dsDump('fail')}`, `MONITOR 3 ${dsDump('slow')}`, `MONITOR 4 ${dsDump('garbage')}`, 'MONITOR 5 %%%not-a-dump%%%');
  const reply = (id: number): string[] => (s.out.find((line) => line.startsWith(`MONITOR `) && line.split(' ')[2] === String(id)) ?? '').split(' ');
  const [, ok, , okInfo = ''] = reply(1);
  t.equal(ok, 'SUCCESS');
  t.match(okInfo, BASE64);
  t.equal(squash(unb64(okInfo)), 'USED_MB=10 TOTAL_MB=100 FREE_MB=90');
  const [, failed, , failInfo = '', ...rest] = reply(2);
  t.equal(failed, 'FAILURE');
  t.same(rest, [], 'one base64 field');
  t.match(failInfo, BASE64);
  t.equal(squash(unb64(failInfo)), 'disk /ds is full second line of the reason', 'the base64 of the failure message, without the log lines');
  t.equal(s.count(/^LOG E 2 giving up$/), 1, 'log lines stay LOG records');
  t.equal(s.out.find((line) => line.startsWith('MONITOR FAILURE 3 ')), "MONITOR FAILURE 3 Datastore driver 'slow' not available", 'not available: plain text');
  const [, garbage, , garbageInfo = ''] = reply(4);
  t.equal(garbage, 'SUCCESS');
  t.equal(squash(unb64(garbageInfo)), 'this is not a result');
  const [, bad, , badInfo = '', ...badRest] = reply(5);
  t.equal(bad, 'FAILURE', 'an unreadable dump fails');
  t.same(badRest, []);
  t.match(badInfo, BASE64, 'in base64 too');
  t.ok(unb64(badInfo).trim().length > 1, 'with a reason');
  wellFormed(t, s);
});

t.test('MONITOR of a system datastore runs tm/<TM_MAD>/monitor, allowed by the system TM list', async (t) => {
  const record = recorder(t);
  const runner = runnerOver(fixturesRemotes, { FIXTURE_RECORD: record.file });
  const s = serve(t, { kind: 'datastore', runner, enabled: ['ok'], systemTm: ['garbage'] });
  // DS_MAD ok would print USED_MB...; tm/garbage/monitor prints "this is not a result".
  await s.finish(`MONITOR 0 ${systemDump('ok', 'garbage')}`, `MONITOR 10 ${systemDump('ok', 'ok')}`, `STAT 11 ${systemDump('ok', 'fail')}`, `MONITOR 12 ${systemDump('fail', 'garbage')}`);
  const info = (id: number): string => s.out.find((line) => line.startsWith('MONITOR SUCCESS ') && line.split(' ')[2] === String(id))?.split(' ')[3] ?? '';
  t.equal(squash(unb64(info(0))), 'this is not a result', 'tm/garbage/monitor ran');
  t.equal(squash(unb64(info(12))), 'this is not a result', 'the datastore driver list does not apply to a system datastore\'s MONITOR');
  t.ok(s.out.includes("MONITOR FAILURE 10 Datastore driver 'ok' not available"), 'a TM driver outside the system list: plain text');
  t.ok(s.out.includes('STAT SUCCESS 11 40'), 'other actions of a system datastore run DS_MAD');
  t.same(record.actions(), ['stat'], 'the refused MONITOR ran nothing');

  const all = serve(t, { kind: 'datastore', runner, enabled: ['ok'] });
  await all.finish(`MONITOR 3 ${systemDump('ok', 'garbage')}`);
  t.match(all.out, [/^MONITOR SUCCESS 3 \S+$/], 'without a system TM list every TM driver may monitor');
});

t.test('a driver not enabled: plain-text FAILURE, nothing runs', async (t) => {
  const record = recorder(t);
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes, { FIXTURE_RECORD: record.file }), enabled: ['fail'] });
  await s.finish(`STAT 5 ${dsDump('ok')}`, `CP 6 ${dsDump('ok')}`, `STAT 7 ${dsDump('nosuchdriver')}`);
  t.same(s.out, ["STAT FAILURE 5 Datastore driver 'ok' not available", "CP FAILURE 6 Datastore driver 'ok' not available", "STAT FAILURE 7 Datastore driver 'nosuchdriver' not available"]);
  t.same(record.lines(), []);
});

t.test('a dump cannot forge protocol lines through the driver name', async (t) => {
  // DS_MAD with a line break: the reply must still be one line, and no reply for another id may appear.
  const xml = specExampleXml().replace(/<DS_MAD>fs<\/DS_MAD>/g, '<DS_MAD>ok&#10;STAT SUCCESS 99 forged</DS_MAD>');
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes), enabled: ['ok'] });
  await s.finish(`STAT 5 ${b64(xml)}`);
  t.equal(s.out.length, 1, 'one reply');
  t.match(s.out[0], /^STAT FAILURE 5 /);
  t.notOk(s.out.some((line) => /^STAT SUCCESS 99/m.test(line)), 'no forged reply line');
  wellFormed(t, s);
});

t.test('bad messages get one FAILURE or LOG line each and serving goes on (datastore)', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes) });
  const dump = dsDump('ok');
  const bad: Array<[string, RegExp]> = [
    ['FOO 1 x', /^FOO FAILURE 1 \S/],
    ['stat 2 x', /^\S+ FAILURE 2 \S/],
    ['STAT', /^LOG [EW] - \S/],
    [`STAT abc ${dump}`, /^LOG [EW] - \S|^STAT FAILURE - \S/],
    [`STAT 1.5 ${dump}`, /^LOG [EW] - \S|^STAT FAILURE - \S/],
    [`STAT 12x ${dump}`, /^LOG [EW] - \S|^STAT FAILURE - \S/],
    ['STAT 8', /^STAT FAILURE 8 \S/],
    ['STAT 9 !!!not-base64!!!', /^STAT FAILURE 9 \S/],
    [`STAT 10 ${b64('<not xml')}`, /^STAT FAILURE 10 \S/],
    ['TRANSFER 11 /tmp/whatever', /^TRANSFER FAILURE 11 \S/],
    ['\u0000\u00ff\u001b[31m\ufffd 12 zz', /^\S+ FAILURE 12 \S/],
    ['\u0001\u0002\u0003', /^LOG [EW] - \S/],
    ['DRIVER_CANCEL', /^LOG [EWID] - \S/],
    ['DRIVER_CANCEL 42', /^LOG [EWID] 42 \S/],
    ['x'.repeat(10 * 1024 * 1024), /^LOG [EW] - \S|^\S+ FAILURE - \S/],
    [`${'x'.repeat(10 * 1024 * 1024)} 13 ${dump}`, /^\S+ FAILURE 13 \S/],
  ];
  for (const [line] of bad) s.send(line);
  s.send(`STAT 14 ${dump}`);
  t.equal(await s.line(/^STAT SUCCESS 14 /), 'STAT SUCCESS 14 40', 'a valid request after them is served');
  await s.finish();
  t.equal(s.out.length, bad.length + 1, 'exactly one line per bad message');
  bad.forEach(([request, expected], index) => t.match(s.out[index], expected, `${JSON.stringify(request.slice(0, 30))} -> ${JSON.stringify(s.out[index]?.slice(0, 100))}`));
  t.ok(s.out.every((line) => line.length < 4096), 'no bad message is echoed back whole');
  wellFormed(t, s);
});

t.test('bad messages (tm): unknown action, missing id, missing or empty transfer file', async (t) => {
  const s = serve(t, { kind: 'tm', runner: runnerOver(fixturesRemotes) });
  const empty = join(tmpDir(t), 'empty');
  writeFileSync(empty, '');
  await s.finish('STAT 1 x', 'TRANSFER', 'TRANSFER x /tmp/a', 'TRANSFER 2', 'TRANSFER 3 /no/such/transfer/file', `TRANSFER 4 ${empty}`);
  t.match(s.out[0], /^STAT FAILURE 1 \S/);
  t.match(s.out[1], /^LOG [EW] - \S/);
  t.match(s.out[2], /^LOG [EW] - \S|^TRANSFER FAILURE - \S/);
  t.equal(s.out[3], "TRANSFER FAILURE 2 Transfer file '' does not exist");
  t.equal(s.out[4], "TRANSFER FAILURE 3 Transfer file '/no/such/transfer/file' does not exist");
  t.equal(s.out[5], 'TRANSFER SUCCESS 4 -', 'an empty transfer file has nothing to fail');
  t.equal(s.out.length, 6);
  wellFormed(t, s);
});

t.test('TRANSFER runs the file\'s lines in order and stops at the first failure', async (t) => {
  const dir = tmpDir(t);
  const record = recorder(t);
  const good = join(dir, 'good');
  writeFileSync(good, '# a comment\nCLONE ok fe:/var/lib/one/ds/1/abc host01:/var/lib/one/ds/0/7/disk.0 7 0\n\nMKSWAP ok 512 host01:/var/lib/one/ds/0/7/disk.1 7 0\nCONTEXT ok /a/init.sh host01:/var/lib/one/ds/0/7/disk.2 7 0\n');
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'LN ok fe:/var/lib/one/ds/1/abc host01:/var/lib/one/ds/0/8/disk.0 8 0\nDELETE fail host01:/var/lib/one/ds/0/8/disk.0 8 0\nMKSWAP ok 512 host01:/var/lib/one/ds/0/8/disk.1 8 0\n');
  const unknown = join(dir, 'unknown');
  writeFileSync(unknown, 'CLONE ok fe:/a host01:/b/disk.0 9 0\nDELETE nosuchtm host01:/b/disk.0 9 0\n');
  const s = serve(t, { kind: 'tm', runner: runnerOver(fixturesRemotes, { FIXTURE_RECORD: record.file }), enabled: ['ok', 'fail'] });
  s.send(`TRANSFER 7 ${good}`);
  t.equal(await s.line(/^TRANSFER \S+ 7 /), 'TRANSFER SUCCESS 7 -');
  t.same(record.actions(), ['clone', 'mkswap', 'context'], 'the lines ran in order');
  t.equal(record.lines()[1], 'mkswap 4 [512] [host01:/var/lib/one/ds/0/7/disk.1] [7] [0]', 'with their arguments');
  s.send(`TRANSFER 8 ${bad}`);
  const failed = await s.line(/^TRANSFER \S+ 8 /);
  t.match(failed, /^TRANSFER FAILURE 8 .*disk \/ds is full second line of the reason/, 'the failing line\'s message');
  t.same(record.actions(), ['clone', 'mkswap', 'context', 'ln'], 'the line after the failure did not run');
  t.ok(s.out.indexOf('LOG E 8 giving up') >= 0 && s.out.indexOf('LOG E 8 giving up') < s.out.indexOf(failed as string), 'the failing script\'s log lines come first');
  s.send(`TRANSFER 9 ${unknown}`);
  t.equal(await s.line(/^TRANSFER \S+ 9 /), "TRANSFER FAILURE 9 Transfer Driver 'nosuchtm' not available");
  t.same(record.actions(), ['clone', 'mkswap', 'context', 'ln'], 'a file naming a driver not enabled runs nothing');
  await s.finish();
  wellFormed(t, s);
});

t.test('DRIVER_CANCEL kills the running script\'s whole process group; that action replies FAILURE', async (t) => {
  const dir = tmpDir(t);
  const pidfile = join(dir, 'pid');
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes, { FIXTURE_PIDFILE: pidfile, FIXTURE_SLEEP: '0.8' }) });
  s.send(`STAT 9 ${dsDump('hungslow')}`, `STAT 10 ${dsDump('slow')}`);
  const { grandchild, pgid } = await startedGroup(t, pidfile);
  t.ok(liveGroupMembers(pgid).length >= 2, 'the script and its grandchild run');
  const cancelled = Date.now();
  s.send('DRIVER_CANCEL 9');
  const reply = await s.line(/^STAT \S+ 9 /, 3000);
  t.match(reply, /^STAT FAILURE 9 \S/);
  t.ok(Date.now() - cancelled < 2000, 'promptly');
  t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the grandchild is dead');
  t.ok(await waitFor(() => liveGroupMembers(pgid).length === 0, 1000), 'the whole group is gone');
  t.equal(await s.line(/^STAT \S+ 10 /), 'STAT SUCCESS 10 40', 'another id is untouched');
  await s.finish();
  t.equal(s.count(/ 9 /), 1, 'one reply for the cancelled id');
  wellFormed(t, s);
});

t.test('DRIVER_CANCEL of a TRANSFER: FAILURE, grandchild dead, the rest of the file not run', async (t) => {
  const dir = tmpDir(t);
  const pidfile = join(dir, 'pid');
  const record = recorder(t);
  const file = join(dir, 'transfer');
  writeFileSync(file, 'CLONE hungslow fe:/a host01:/b/disk.0 7 0\nMKSWAP ok 512 host01:/b/disk.1 7 0\n');
  const s = serve(t, { kind: 'tm', runner: runnerOver(fixturesRemotes, { FIXTURE_PIDFILE: pidfile, FIXTURE_RECORD: record.file }) });
  s.send(`TRANSFER 7 ${file}`);
  const { grandchild } = await startedGroup(t, pidfile);
  s.send('DRIVER_CANCEL 7');
  t.match(await s.line(/^TRANSFER \S+ 7 /, 3000), /^TRANSFER FAILURE 7 \S/);
  t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the grandchild is dead');
  t.same(record.actions(), [], 'the next line did not run');
  await s.finish();
});

t.test('a timeout bounds every action, TM included', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'transfer');
  writeFileSync(file, 'CLONE slow fe:/a host01:/b/disk.0 7 0\n');
  const runner = runnerOver(fixturesRemotes, { FIXTURE_SLEEP: '10' });
  const ds = serve(t, { kind: 'datastore', runner, timeoutSec: 0.5 });
  const tm = serve(t, { kind: 'tm', runner, timeoutSec: 0.5 });
  const started = Date.now();
  ds.send(`CP 1 ${dsDump('slow')}`);
  tm.send(`TRANSFER 7 ${file}`);
  t.match(await ds.line(/^CP \S+ 1 /, 4000), /^CP FAILURE 1 .*timed out/);
  t.match(await tm.line(/^TRANSFER \S+ 7 /, 4000), /^TRANSFER FAILURE 7 .*timed out/);
  t.ok(Date.now() - started < 2500, `both within the timeout and the kill grace (${Date.now() - started} ms)`);
});

t.test('a hung driver holds one slot until its timeout and never stalls replies for others', async (t) => {
  const s = serve(t, { kind: 'datastore', runner: runnerOver(fixturesRemotes), concurrency: 2, timeoutSec: 1.5 });
  const started = Date.now();
  s.send(`STAT 1 ${dsDump('stubborn')}`);
  for (let id = 2; id <= 11; id += 1) s.send(`STAT ${id} ${dsDump('ok')}`);
  t.ok(await waitFor(() => s.count(/^STAT SUCCESS/) === 10, 1400, 5), 'ten quick actions answered on the other slot');
  t.ok(Date.now() - started < 1400, `before the hung driver times out (${Date.now() - started} ms)`);
  t.equal(s.count(/^STAT \S+ 1 /), 0, 'the hung action is not answered yet');
  t.match(await s.line(/^STAT \S+ 1 /, 4000), /^STAT FAILURE 1 .*timed out/);
  await s.finish();
  wellFormed(t, s);
});

t.test('concurrency: at most N scripts at once, and N are used', async (t) => {
  const stamps = join(tmpDir(t), 'stamps');
  const s = serve(t, { kind: 'datastore', runner: runnerOver(ownRemotes(t), { STAMP_FILE: stamps }), enabled: ['stamp'], concurrency: 3 });
  for (let i = 0; i < 12; i += 1) s.send(`STAT ${i} ${dsDump('stamp', `r${i}-0.2`)}`);
  await s.finish();
  t.equal(s.count(/^STAT SUCCESS \d+ -$/), 12, 'all answered');
  const intervals = intervalsOf(stamps);
  t.equal(intervals.length, 12);
  t.equal(maxOverlap(intervals), 3, 'three scripts at a time at most, and three did run together');
});

t.test('concurrency 1: scripts run one by one, in arrival order', async (t) => {
  const stamps = join(tmpDir(t), 'stamps');
  const s = serve(t, { kind: 'datastore', runner: runnerOver(ownRemotes(t), { STAMP_FILE: stamps }), enabled: ['stamp'], concurrency: 1 });
  const order = [3, 1, 3, 2, 1, 4];
  order.forEach((id, i) => s.send(`STAT ${id} ${dsDump('stamp', `r${i}-0.02`)}`));
  await s.finish();
  const intervals = intervalsOf(stamps).sort((a, b) => (a.start < b.start ? -1 : 1));
  t.same(intervals.map((i) => i.tag), order.map((_, i) => `r${i}-0.02`), 'started in arrival order');
  t.equal(maxOverlap(intervals), 1);
});

t.test('two in-flight actions with one id are both answered and never overlap (datastore and tm)', async (t) => {
  const remotes = ownRemotes(t);
  const stamps = join(tmpDir(t), 'stamps');
  const runner = runnerOver(remotes, { STAMP_FILE: stamps });
  const s = serve(t, { kind: 'datastore', runner, enabled: ['stamp'] });
  await s.finish(`CP 5 ${dsDump('stamp', 'a-0.2')}`, `RM 5 ${dsDump('stamp', 'b-0.05')}`, `STAT 6 ${dsDump('stamp', 'c-0.1')}`, `STAT 5 ${dsDump('stamp', 'd-0.05')}`);
  t.same([...s.out].sort(), ['CP SUCCESS 5 -', 'RM SUCCESS 5 -', 'STAT SUCCESS 5 -', 'STAT SUCCESS 6 -']);
  const ds = intervalsOf(stamps);
  t.same(overlapsPerId(ds), [], 'image 5\'s actions one after the other');
  t.same(ds.filter((i) => i.id === '5').sort((a, b) => (a.start < b.start ? -1 : 1)).map((i) => i.tag), ['a-0.2', 'b-0.05', 'd-0.05'], 'in arrival order');
  const c = ds.find((i) => i.tag === 'c-0.1');
  const a = ds.find((i) => i.tag === 'a-0.2');
  t.ok(c && a && c.start < a.end, 'another image ran alongside');

  const tmStamps = join(tmpDir(t), 'tm-stamps');
  const dir = tmpDir(t);
  const transfer = (name: string, vm: number): string => {
    const file = join(dir, name);
    writeFileSync(file, `DELETE stamp host01:/var/lib/one/ds/0/${vm}/${name}-0.15 ${vm} 0\n`);
    return file;
  };
  const tm = serve(t, { kind: 'tm', runner: runnerOver(remotes, { STAMP_FILE: tmStamps }), enabled: ['stamp'] });
  await tm.finish(`TRANSFER 7 ${transfer('x', 7)}`, `TRANSFER 7 ${transfer('y', 7)}`, `TRANSFER 8 ${transfer('z', 8)}`);
  t.same([...tm.out].sort(), ['TRANSFER SUCCESS 7 -', 'TRANSFER SUCCESS 7 -', 'TRANSFER SUCCESS 8 -']);
  const vm = intervalsOf(tmStamps);
  t.equal(vm.length, 3);
  t.same(overlapsPerId(vm), [], 'VM 7\'s transfers one after the other');
  t.equal(maxOverlap(vm), 2, 'VM 8 ran alongside');
});

t.test('property: random interleavings of actions over a few images never overlap per image', async (t) => {
  const remotes = ownRemotes(t);
  const actions = ['CP', 'RM', 'STAT', 'CLONE'];
  for (const seed of [11, 12, 13]) {
    let a = seed;
    const random = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let x = a;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const stamps = join(tmpDir(t), 'stamps');
    const s = serve(t, { kind: 'datastore', runner: runnerOver(remotes, { STAMP_FILE: stamps }), enabled: ['stamp'], concurrency: 3 });
    const sent: Array<{ id: number; tag: string }> = [];
    for (let i = 0; i < 24; i += 1) {
      const id = Math.floor(random() * 4);
      const tag = `s${seed}n${i}-0.0${1 + Math.floor(random() * 5)}`;
      sent.push({ id, tag });
      s.send(`${actions[Math.floor(random() * actions.length)]} ${id} ${dsDump('stamp', tag)}`);
      if (random() < 0.4) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 30)));
    }
    await s.finish();
    t.equal(s.out.length, sent.length, `seed ${seed}: one reply per action`);
    t.ok(s.out.every((line) => / SUCCESS \d+ -$/.test(line)), `seed ${seed}: all succeeded`);
    const intervals = intervalsOf(stamps);
    t.equal(intervals.length, sent.length, `seed ${seed}: every script ran once`);
    t.same(overlapsPerId(intervals), [], `seed ${seed}: no two actions on one image at once`);
    t.ok(maxOverlap(intervals) <= 3, `seed ${seed}: at most 3 at once`);
    for (let id = 0; id < 4; id += 1) {
      const ran = intervals.filter((i) => i.id === String(id)).sort((x, y) => (x.start < y.start ? -1 : 1)).map((i) => i.tag);
      t.same(ran, sent.filter((x) => x.id === id).map((x) => x.tag), `seed ${seed}: image ${id} in arrival order`);
    }
  }
});

t.test('reload: a driver folder added, changed or removed while serving is seen on the next action; a broken one is reported and skipped', async (t) => {
  const remotes = ownRemotes(t);
  const s = serve(t, { kind: 'datastore', runner: runnerOver(remotes), enabled: driverFolders(remotes, 'datastore') });
  const dir = join(remotes, 'datastore', 'late');
  const script = (size: number): void => {
    writeFileSync(join(dir, 'stat'), `#!/bin/sh\necho ${size}\n`);
    chmodSync(join(dir, 'stat'), 0o755);
  };
  s.send(`STAT 1 ${dsDump('late')}`);
  t.equal(await s.line(/^STAT \S+ 1 /), "STAT FAILURE 1 Datastore driver 'late' not available", 'not there yet');

  mkdirSync(dir);
  script(7);
  s.send(`STAT 2 ${dsDump('late')}`);
  t.equal(await s.line(/^STAT \S+ 2 /), 'STAT SUCCESS 2 7', 'added: runs without a restart');

  script(9);
  s.send(`STAT 3 ${dsDump('late')}`);
  t.equal(await s.line(/^STAT \S+ 3 /), 'STAT SUCCESS 3 9', 'changed: the new script runs');

  writeFileSync(join(dir, 'driver.yaml'), 'api: 1\ntimeout: 5\n');
  s.send(`STAT 4 ${dsDump('late')}`, `STAT 5 ${dsDump('ok')}`);
  t.match(await s.line(/^STAT \S+ 4 /), /^STAT FAILURE 4 .*driver\.yaml.*timeout/, 'a broken driver.yaml: that driver fails, saying what is wrong');
  t.equal(await s.line(/^STAT \S+ 5 /), 'STAT SUCCESS 5 40', 'the others still run');

  writeFileSync(join(dir, 'driver.yaml'), 'api: 1\n');
  s.send(`STAT 6 ${dsDump('late')}`);
  t.equal(await s.line(/^STAT \S+ 6 /), 'STAT SUCCESS 6 9', 'fixed: runs again');

  rmSync(dir, { recursive: true });
  s.send(`STAT 7 ${dsDump('late')}`);
  t.equal(await s.line(/^STAT \S+ 7 /), "STAT FAILURE 7 Datastore driver 'late' not available", 'removed: not available');
  s.send(`STAT 8 ${dsDump('../ok')}`);
  t.equal(await s.line(/^STAT \S+ 8 /), "STAT FAILURE 8 Datastore driver '../ok' not available", 'a name that leaves the folder is never a driver');
  await s.finish();
  wellFormed(t, s);
});
