/** `ferry mad datastore|tm` as a real process: the driver protocol on stdin/stdout. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { liveGroupMembers, processAlive, tmpDir, waitFor } from '../helpers/fixtures.js';
import { intervalsOf, maxOverlap, overlapsPerId, prng } from '../helpers/intervals.js';
import { startedGroup } from '../helpers/spawn.js';
import { base64Of, binBuilt, binMissingMessage, binPath, cleanEnv, dumpFor, fixturesRemotes, repoRoot, systemDumpXml } from './helpers.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const PROTOCOL_LINE = /^(?:[A-Z_]{1,40} (?:SUCCESS|FAILURE) (?:-?\d+|-) \S.*|LOG [EWID] (?:-?\d+|-) \S.*|INIT SUCCESS - -)$/;
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Base64 dump of an image datastore with DS_MAD `driver` and, when given, IMAGE/NAME `name`. */
function dsDump(driver: string, name?: string): string {
  const xml = dumpFor(driver);
  return base64Of(name === undefined ? xml : xml.replace('<NAME>ttylinux</NAME>', `<NAME>${name}</NAME>`));
}

/** Base64 dump of a system datastore (TYPE 1): DS_MAD `ds`, TM_MAD `tm`. */
function systemDump(ds: string, tm: string): string {
  return base64Of(systemDumpXml(tm, ds));
}

interface Mad {
  child: ChildProcessWithoutNullStreams;
  /** Complete lines written so far. */
  lines(): string[];
  /** Everything written on stdout. */
  stdout(): string;
  stderr(): string;
  send(...lines: string[]): void;
  sendRaw(bytes: Buffer): void;
  end(): void;
  /** Waits for a complete line matching `match`; undefined after `ms`. */
  line(match: RegExp, ms?: number): Promise<string | undefined>;
  count(match: RegExp): number;
  /** Resolves when the process has exited and its output is read; `ms` after the start when it did not. */
  exit(ms: number): Promise<{ status: number | null; signal: NodeJS.Signals | null } | 'still running'>;
}

/** Starts `ferry --remotes <remotes> mad <args...>`; killed on teardown if it still runs. */
function startMad(t: Tap, args: readonly string[], options: { env?: Record<string, string>; remotes?: string } = {}): Mad {
  const child = spawn(process.execPath, [binPath, '--remotes', options.remotes ?? fixturesRemotes, 'mad', ...args], {
    cwd: repoRoot,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  child.stdin.on('error', () => undefined);
  let closed: { status: number | null; signal: NodeJS.Signals | null } | undefined;
  const closing = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => {
      closed = { status, signal };
      resolve(closed);
    }),
  );
  t.teardown(async () => {
    if (closed) return;
    child.kill('SIGKILL');
    await closing;
  });
  const lines = (): string[] => {
    const all = out.split('\n');
    all.pop();
    return all;
  };
  return {
    child,
    lines,
    stdout: () => out,
    stderr: () => err,
    send: (...requests) => {
      child.stdin.write(requests.map((request) => `${request}\n`).join(''));
    },
    sendRaw: (bytes) => {
      child.stdin.write(bytes);
    },
    end: () => {
      child.stdin.end();
    },
    line: async (match, ms = 5000) => {
      await waitFor(() => lines().some((line) => match.test(line)), ms, 10);
      return lines().find((line) => match.test(line));
    },
    count: (match) => lines().filter((line) => match.test(line)).length,
    exit: async (ms) => {
      const timer = sleep(ms).then(() => 'still running' as const);
      return Promise.race([closing, timer]);
    },
  };
}

/** All of stdout is whole protocol lines. */
function wellFormed(t: Tap, mad: Mad): void {
  const out = mad.stdout();
  t.ok(out === '' || out.endsWith('\n'), 'stdout ends with a line break');
  t.same(
    mad.lines().filter((line) => !PROTOCOL_LINE.test(line)).map((line) => line.slice(0, 200)),
    [],
    'every line is a whole protocol line',
  );
}

function killGroupsOnTeardown(t: Tap, pgids: () => number[]): void {
  t.teardown(() => {
    for (const pgid of pgids()) {
      if (pgid <= 1) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });
}

/**
 * A remotes folder written here. datastore/stamp and tm/stamp: append
 * `start <id> <epoch-ns> <tag>` and `end ...` to $STAMP_FILE around a sleep
 * (tag: IMAGE/NAME, or the last path part of a TM action's first argument;
 * `name-0.05` sleeps 0.05 s). datastore/leak: records "<its pid> <grandchild pid>"
 * in $PIDS_FILE; IMAGE/NAME `stay` sleeps for ever, `nap` 0.3 s and leaves no
 * grandchild, anything else exits at once leaving a grandchild that holds stdout.
 */
function ownRemotes(t: Tap): string {
  const root = tmpDir(t, 'ferry-mad-cli-remotes-');
  const write = (path: string, text: string): void => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), 0o755);
  };
  const stamp = [
    '#!/bin/sh',
    'if [ "$FERRY_KIND" = tm ]; then tag=${1##*/}; else tag=$FERRY_IMAGE_NAME; fi',
    'id=$2',
    'case "$tag" in *-*) pause=${tag##*-} ;; *) pause=0.1 ;; esac',
    'printf \'start %s %s %s\\n\' "$id" "$(date +%s%N)" "$tag" >>"$STAMP_FILE"',
    'sleep "$pause"',
    'printf \'end %s %s %s\\n\' "$id" "$(date +%s%N)" "$tag" >>"$STAMP_FILE"',
    '',
  ].join('\n');
  for (const action of ['stat', 'cp', 'rm', 'clone', 'mkfs']) write(`datastore/stamp/${action}`, stamp);
  write('tm/stamp/delete', stamp);
  write(
    'datastore/leak/stat',
    [
      '#!/bin/sh',
      'case "$FERRY_IMAGE_NAME" in',
      '  nap) echo "$$ $$" >>"$PIDS_FILE"; sleep 0.3 ;;',
      '  stay) sleep 600 & echo "$$ $!" >>"$PIDS_FILE"; sleep 600 ;;',
      '  *) sleep 600 & echo "$$ $!" >>"$PIDS_FILE" ;;',
      'esac',
      'echo 1',
      '',
    ].join('\n'),
  );
  return root;
}

if (!binBuilt()) {
  t.fail(binMissingMessage);
} else {
  t.test('INIT / FINALIZE: answered, then a clean exit although stdin stays open', async (t) => {
    const mad = startMad(t, ['tm']);
    mad.send('INIT');
    t.equal(await mad.line(/^INIT/), 'INIT SUCCESS - -');
    mad.send('FINALIZE');
    const exit = await mad.exit(2000);
    t.same(exit, { status: 0, signal: null }, 'exits 0 after FINALIZE, without waiting for EOF');
    t.equal(mad.stdout(), 'INIT SUCCESS - -\n', 'nothing else on stdout');
    t.equal(mad.stderr(), '');
  });

  t.test('FINALIZE with an action running: it is answered first, then the process exits', async (t) => {
    const mad = startMad(t, ['datastore'], { env: { FIXTURE_SLEEP: '0.3' } });
    mad.send('INIT', `STAT 4 ${dsDump('slow')}`, 'FINALIZE', `STAT 5 ${dsDump('ok')}`);
    const exit = await mad.exit(2500);
    t.same(exit, { status: 0, signal: null }, 'exits 0 after FINALIZE, without waiting for EOF');
    t.equal(mad.stdout(), 'INIT SUCCESS - -\nSTAT SUCCESS 4 40\n', 'the running action answered, nothing after FINALIZE read');
  });

  t.test('datastore failure paths each get a FAILURE or LOG line, and serving goes on', async (t) => {
    const mad = startMad(t, ['datastore', '-d', 'ok,fail,garbage', '-s', 'ok']);
    const dump = dsDump('ok');
    mad.send('INIT');
    mad.send('FOO 1 x');
    mad.send('STAT');
    mad.send(`STAT abc ${dump}`);
    mad.send('STAT 2');
    mad.send(`STAT 3 ${dsDump('slow')}`);
    mad.send(`MONITOR 4 ${dsDump('slow')}`);
    mad.send('STAT 5 ***');
    mad.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x20, 0x36, 0x20, 0xc3, 0x28, 0x0a]));
    mad.sendRaw(Buffer.from([0x80, 0x81, 0x82, 0x0a]));
    mad.send('DRIVER_CANCEL 77');
    mad.send(`STAT 8 ${dsDump('fail')}`);
    mad.send(`MONITOR 9 ${dsDump('fail')}`);
    mad.send(`CP 10 ${dsDump('garbage')}`);
    mad.send(`STAT 11  ${dump}`);
    t.equal(await mad.line(/^STAT \S+ 11 /), 'STAT SUCCESS 11 40', 'a valid request after the bad ones is answered');
    await mad.line(/^MONITOR \S+ 9 /);
    await mad.line(/^CP \S+ 10 /);
    await mad.line(/^STAT \S+ 8 /);
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null }, 'exits 0 at EOF');
    const lines = mad.lines();
    t.equal(lines[0], 'INIT SUCCESS - -');
    t.match(lines[1], /^FOO FAILURE 1 \S/, 'unknown action');
    t.match(lines[2], /^LOG [EW] - \S/, 'missing id');
    t.match(lines[3], /^LOG [EW] - \S/, 'non-integer id');
    t.match(lines[4], /^STAT FAILURE 2 \S/, 'empty payload');
    t.equal(lines[5], "STAT FAILURE 3 Datastore driver 'slow' not available", 'driver not enabled');
    t.equal(lines[6], "MONITOR FAILURE 4 Datastore driver 'slow' not available", 'MONITOR of a driver not enabled: plain text');
    t.match(lines[7], /^STAT FAILURE 5 \S/, 'a payload that is not a dump');
    t.match(lines[8], /^\S+ FAILURE 6 \S/, 'garbage bytes with an id');
    t.match(lines[9], /^LOG [EW] - \S/, 'garbage bytes alone');
    t.match(lines[10], /^LOG [EWID] 77 \S/, 'DRIVER_CANCEL with nothing running');
    t.equal(mad.count(/ FAILURE 8 disk \/ds is full second line of the reason$/), 1, 'a failing driver: its non-log stderr on one line');
    t.same(lines.filter((line) => line.startsWith('LOG ') && line.split(' ')[2] === '8'), ['LOG I 8 starting stat', 'LOG W 8 low space', 'LOG D 8 tried twice', 'LOG E 8 giving up'], 'its log lines as LOG records');
    const monitor = lines.find((line) => line.startsWith('MONITOR FAILURE 9 '))?.split(' ') ?? [];
    t.equal(monitor.length, 4, 'MONITOR failure: one info field');
    t.equal(squash(unb64(monitor[3] ?? '')), 'disk /ds is full second line of the reason', 'MONITOR failure: base64 of the message');
    t.ok(lines.includes('CP SUCCESS 10 this is not a result'), 'garbage output is SUCCESS, as is');
    t.equal(lines.length, 11 + 5 + 5 + 1 + 1, 'no other line');
    wellFormed(t, mad);
  });

  t.test('tm failure paths', async (t) => {
    const dir = tmpDir(t);
    const unknownDriver = join(dir, 'unknown');
    writeFileSync(unknownDriver, 'CLONE ok fe:/a host01:/b/disk.0 7 0\nDELETE nosuchtm host01:/b/disk.0 7 0\n');
    const failing = join(dir, 'failing');
    writeFileSync(failing, 'CLONE ok fe:/a host01:/b/disk.0 8 0\nDELETE fail host01:/b/disk.0 8 0\nMKSWAP ok 512 host01:/b/disk.1 8 0\n');
    const good = join(dir, 'good');
    writeFileSync(good, 'CLONE ok fe:/a host01:/b/disk.0 9 0\nMKSWAP ok 512 host01:/b/disk.1 9 0\n');
    const record = join(dir, 'record');
    const mad = startMad(t, ['tm'], { env: { FIXTURE_RECORD: record } });
    mad.send(`TRANSFER 7 ${unknownDriver}`, `TRANSFER 6 ${join(dir, 'missing')}`, 'TRANSFER 5', 'CLONE 4 x', 'TRANSFER', `TRANSFER 8 ${failing}`, `TRANSFER 9 ${good}`);
    t.equal(await mad.line(/^TRANSFER \S+ 7 /), "TRANSFER FAILURE 7 Transfer Driver 'nosuchtm' not available");
    t.equal(await mad.line(/^TRANSFER \S+ 6 /), `TRANSFER FAILURE 6 Transfer file '${join(dir, 'missing')}' does not exist`);
    t.equal(await mad.line(/^TRANSFER \S+ 5 /), "TRANSFER FAILURE 5 Transfer file '' does not exist");
    t.match(await mad.line(/^CLONE /), /^CLONE FAILURE 4 \S/, 'a datastore action sent to the tm driver');
    t.match(await mad.line(/^TRANSFER \S+ 8 /), /^TRANSFER FAILURE 8 .*disk \/ds is full second line of the reason/, 'the first failing line\'s message');
    t.equal(await mad.line(/^TRANSFER \S+ 9 /), 'TRANSFER SUCCESS 9 -');
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null });
    t.equal(mad.count(/^LOG [EW] - /), 1, 'the TRANSFER without an id');
    const ran = readFileSync(record, 'utf8').split('\n').filter((line) => /^[a-z]+ \d/.test(line)).map((line) => line.split(' ').slice(0, 2).join(' ') + ' ' + line.split(' ').slice(-2).join(' '));
    t.same(ran.filter((line) => line.endsWith('[8] [0]')), ['clone 4 [8] [0]'], 'the line after the failure did not run');
    t.same(ran.filter((line) => line.endsWith('[7] [0]')), [], 'a file naming a driver not enabled runs nothing');
    wellFormed(t, mad);
  });

  t.test('DRIVER_CANCEL of a hung action: FAILURE for that id, its grandchild dead', async (t) => {
    const pidfile = join(tmpDir(t), 'pid');
    const mad = startMad(t, ['datastore'], { env: { FIXTURE_PIDFILE: pidfile } });
    mad.send(`STAT 9 ${dsDump('hungslow')}`);
    const { grandchild, pgid } = await startedGroup(t, pidfile);
    t.ok(liveGroupMembers(pgid).length >= 2, 'the script and its grandchild run');
    const cancelled = Date.now();
    mad.send('DRIVER_CANCEL 9');
    t.match(await mad.line(/^STAT \S+ 9 /, 8000), /^STAT FAILURE 9 \S/);
    t.ok(Date.now() - cancelled < 6000, `answered within the kill grace period (${Date.now() - cancelled} ms)`);
    t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the grandchild is dead');
    t.ok(await waitFor(() => liveGroupMembers(pgid).length === 0, 1000), 'no process of the group is left');
    mad.send(`STAT 10 ${dsDump('ok')}`);
    t.equal(await mad.line(/^STAT \S+ 10 /), 'STAT SUCCESS 10 40', 'still serving');
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null });
    t.equal(mad.count(/ 9 /), 1, 'one reply for the cancelled id');
    wellFormed(t, mad);
  });

  t.test('EOF with actions running: each is answered, then the process exits and no process of their groups survives', async (t) => {
    const pids = join(tmpDir(t), 'pids');
    const mad = startMad(t, ['datastore', '-w', '1', '-d', 'leak'], { remotes: ownRemotes(t), env: { PIDS_FILE: pids } });
    const recorded = (): number[][] => (existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ').map(Number)) : []);
    killGroupsOnTeardown(t, () => recorded().map(([pgid]) => pgid as number));
    const started = Date.now();
    mad.send(`STAT 1 ${dsDump('leak', 'stay')}`, `STAT 2 ${dsDump('leak', 'linger')}`, `STAT 3 ${dsDump('leak', 'nap')}`);
    mad.end();
    const exit = await mad.exit(6000);
    t.same(exit, { status: 0, signal: null }, `exits 0 (after ${Date.now() - started} ms)`);
    const lines = mad.lines();
    t.match(lines.find((line) => / 1 /.test(line)), /^STAT FAILURE 1 .*timed out/, 'the hung action timed out (-w 1)');
    t.ok(lines.includes('STAT SUCCESS 2 1'), 'the action whose grandchild held its output');
    t.ok(lines.includes('STAT SUCCESS 3 1'), 'the short action');
    t.equal(lines.length, 3);
    t.equal(recorded().length, 3, 'all three scripts ran');
    for (const [pgid, grandchild] of recorded()) {
      t.ok(await waitFor(() => !processAlive(grandchild as number), 1000), `process ${grandchild} is dead`);
      t.same(liveGroupMembers(pgid as number), [], `process group ${pgid} is empty`);
    }
    wellFormed(t, mad);
  });

  t.test('scripts start from ferry-spawn; ferry mad killed outright takes them and the helper down', async (t) => {
    const pidfile = join(tmpDir(t), 'pid');
    const mad = startMad(t, ['datastore'], { env: { FIXTURE_PIDFILE: pidfile } });
    mad.send(`STAT 1 ${dsDump('hungslow')}`);
    const { pgid: script } = await startedGroup(t, pidfile);
    const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    const helper = parentOf(script);
    t.equal(readFileSync(`/proc/${helper}/comm`, 'utf8').trim(), 'ferry-spawn', "the script's parent is ferry-spawn");
    t.equal(parentOf(helper), mad.child.pid, "and ferry-spawn's is ferry mad");
    mad.child.kill('SIGKILL');
    t.ok(await waitFor(() => liveGroupMembers(script).length === 0, 3000), "the script's process group is gone");
    t.ok(await waitFor(() => !processAlive(helper), 3000), 'ferry-spawn exited');
  });

  t.test('-w bounds a TRANSFER too', async (t) => {
    const file = join(tmpDir(t), 'transfer');
    writeFileSync(file, 'CLONE slow fe:/a host01:/b/disk.0 7 0\n');
    const mad = startMad(t, ['tm', '-w', '0.5'], { env: { FIXTURE_SLEEP: '10' } });
    const started = Date.now();
    mad.send(`TRANSFER 7 ${file}`);
    t.match(await mad.line(/^TRANSFER \S+ 7 /, 8000), /^TRANSFER FAILURE 7 .*timed out/);
    t.ok(Date.now() - started < 3000, `within the timeout (${Date.now() - started} ms)`);
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null });
  });

  t.test('-d and -s pick the enabled drivers; by default every driver folder', async (t) => {
    const picked = startMad(t, ['datastore', '-d', 'ok,garbage', '-s', 'garbage']);
    picked.send(`STAT 1 ${dsDump('fail')}`, `STAT 2 ${dsDump('ok')}`, `MONITOR 3 ${systemDump('ok', 'ok')}`, `MONITOR 4 ${systemDump('fail', 'garbage')}`, `STAT 5 ${dsDump('nosuch')}`);
    t.equal(await picked.line(/^STAT \S+ 1 /), "STAT FAILURE 1 Datastore driver 'fail' not available");
    t.equal(await picked.line(/^STAT \S+ 2 /), 'STAT SUCCESS 2 40');
    t.equal(await picked.line(/^MONITOR \S+ 3 /), "MONITOR FAILURE 3 Datastore driver 'ok' not available", '-s: a TM driver outside the list');
    const monitor = (await picked.line(/^MONITOR \S+ 4 /))?.split(' ') ?? [];
    t.equal(monitor[1], 'SUCCESS');
    t.equal(squash(unb64(monitor[3] ?? '')), 'this is not a result', 'a system datastore is monitored by tm/<TM_MAD>/monitor');
    t.equal(await picked.line(/^STAT \S+ 5 /), "STAT FAILURE 5 Datastore driver 'nosuch' not available");
    picked.end();
    t.same(await picked.exit(3000), { status: 0, signal: null });

    const all = startMad(t, ['datastore']);
    all.send(`STAT 1 ${dsDump('fail')}`, `MONITOR 3 ${systemDump('fail', 'ok')}`, `STAT 5 ${dsDump('nosuch')}`);
    t.equal(await all.line(/^STAT \S+ 1 /), 'STAT FAILURE 1 disk /ds is full second line of the reason', 'default: every datastore folder is enabled');
    const allMonitor = (await all.line(/^MONITOR \S+ 3 /))?.split(' ') ?? [];
    t.equal(allMonitor[1], 'SUCCESS', 'default: every tm folder may monitor a system datastore');
    t.equal(squash(unb64(allMonitor[3] ?? '')), 'USED_MB=10 TOTAL_MB=100 FREE_MB=90');
    t.equal(await all.line(/^STAT \S+ 5 /), "STAT FAILURE 5 Datastore driver 'nosuch' not available", 'a name that is no folder');
    all.end();
    t.same(await all.exit(3000), { status: 0, signal: null });

    const dir = tmpDir(t);
    const file = join(dir, 'transfer');
    writeFileSync(file, 'DELETE fail host01:/b/disk.0 7 0\n');
    const tmPicked = startMad(t, ['tm', '-d', 'ok']);
    const tmAll = startMad(t, ['tm']);
    tmPicked.send(`TRANSFER 7 ${file}`);
    tmAll.send(`TRANSFER 7 ${file}`);
    t.equal(await tmPicked.line(/^TRANSFER /), "TRANSFER FAILURE 7 Transfer Driver 'fail' not available");
    t.match(await tmAll.line(/^TRANSFER /), /^TRANSFER FAILURE 7 .*disk \/ds is full/, 'default: every tm folder is enabled');
    tmPicked.end();
    tmAll.end();
    t.same(await tmPicked.exit(3000), { status: 0, signal: null });
    t.same(await tmAll.exit(3000), { status: 0, signal: null });
  });

  t.test('bad options: a usage error, not a server', async (t) => {
    const cases = [['datastore', '-t', '0'], ['datastore', '-t', 'many'], ['tm', '-w', 'soon'], ['nfs']];
    const runs = cases.map((args) => ({ args, mad: startMad(t, args) }));
    const exits = await Promise.all(runs.map(({ mad }) => (mad.end(), mad.exit(4000))));
    runs.forEach(({ args, mad }, i) => {
      const exit = exits[i];
      t.ok(exit !== 'still running' && exit?.status !== 0 && exit?.status !== null, `${args.join(' ')}: exits non-zero`);
      t.equal(mad.stdout(), '', `${args.join(' ')}: nothing on stdout`);
      t.not(mad.stderr().trim(), '', `${args.join(' ')}: a message on stderr`);
    });
  });

  t.test('a 10 MB garbage line, then a valid request that is still answered', async (t) => {
    const mad = startMad(t, ['datastore']);
    mad.send('INIT');
    const garbage = Buffer.alloc(10 * 1024 * 1024, 0x41);
    for (let i = 0; i < garbage.length; i += 4096) garbage[i] = 0xff;
    mad.sendRaw(Buffer.concat([garbage, Buffer.from('\n')]));
    mad.send(`STAT 5 ${dsDump('ok')}`);
    t.equal(await mad.line(/^STAT \S+ 5 /, 8000), 'STAT SUCCESS 5 40');
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null });
    const lines = mad.lines();
    t.equal(lines.length, 3, 'INIT, one line for the garbage, the reply');
    t.match(lines[1], /^(LOG [EW] -|\S+ FAILURE -) \S/, 'the garbage line is answered with a LOG or FAILURE line');
    t.ok((lines[1] ?? '').length < 4096, 'without echoing it whole');
    wellFormed(t, mad);
  });

  t.test('concurrency: 20 slow actions at -t 4 take about 5 rounds, each answered once, whole lines', async (t) => {
    const mad = startMad(t, ['datastore', '-t', '4'], { env: { FIXTURE_SLEEP: '0.3' } });
    mad.send('INIT');
    await mad.line(/^INIT/);
    const started = Date.now();
    mad.send(...Array.from({ length: 20 }, (_, i) => `STAT ${100 + i} ${dsDump('slow')}`));
    t.ok(await waitFor(() => mad.count(/^STAT /) >= 20, 10000, 10), 'twenty replies');
    const elapsed = Date.now() - started;
    t.ok(elapsed >= 1450, `not more than 4 at once: 5 rounds of 0.3 s take at least 1.5 s (${elapsed} ms)`);
    t.ok(elapsed < 4000, `4 at once: far less than 20 rounds (${elapsed} ms)`);
    mad.end();
    t.same(await mad.exit(3000), { status: 0, signal: null });
    for (let i = 0; i < 20; i += 1) t.equal(mad.count(new RegExp(`^STAT SUCCESS ${100 + i} 40$`)), 1, `id ${100 + i} answered once`);
    t.equal(mad.lines().length, 21);
    wellFormed(t, mad);
  });

  t.test('actions with the same id never overlap; other ids run alongside', async (t) => {
    const stamps = join(tmpDir(t), 'stamps');
    const mad = startMad(t, ['datastore', '-t', '4', '-d', 'stamp'], { remotes: ownRemotes(t), env: { STAMP_FILE: stamps } });
    const sent = [
      ['CP', 5, 'a-0.15'],
      ['STAT', 5, 'b-0.05'],
      ['STAT', 6, 'c-0.2'],
      ['RM', 5, 'd-0.1'],
      ['CLONE', 7, 'e-0.1'],
      ['STAT', 5, 'f-0.05'],
    ] as const;
    mad.send(...sent.map(([action, id, tag]) => `${action} ${id} ${dsDump('stamp', tag)}`));
    mad.end();
    t.same(await mad.exit(5000), { status: 0, signal: null });
    t.same([...mad.lines()].sort(), sent.map(([action, id]) => `${action} SUCCESS ${id} -`).sort(), 'all answered, once');
    const intervals = intervalsOf(stamps);
    t.equal(intervals.length, sent.length);
    t.same(overlapsPerId(intervals), [], 'no overlap on image 5');
    t.same(
      intervals.filter((i) => i.id === '5').sort((a, b) => (a.start < b.start ? -1 : 1)).map((i) => i.tag),
      ['a-0.15', 'b-0.05', 'd-0.1', 'f-0.05'],
      'image 5 in arrival order',
    );
    t.ok(maxOverlap(intervals) >= 2, 'other images ran alongside');
  });

  t.test('property: random interleavings of 30 actions over 4 images at -t 8 never overlap per image', async (t) => {
    const remotes = ownRemotes(t);
    const actions = ['CP', 'RM', 'STAT', 'CLONE', 'MKFS'];
    // The five seeds run at once, each in its own ferry process.
    await Promise.all([1, 2, 3, 4, 5].map(async (seed) => {
      const random = prng(seed);
      const stamps = join(tmpDir(t), 'stamps');
      const mad = startMad(t, ['datastore', '-t', '8', '-d', 'stamp'], { remotes, env: { STAMP_FILE: stamps } });
      const sent: Array<{ id: number; tag: string }> = [];
      let pending = '';
      for (let i = 0; i < 30; i += 1) {
        const id = Math.floor(random() * 4);
        const tag = `s${seed}n${i}-0.0${1 + Math.floor(random() * 6)}`;
        sent.push({ id, tag });
        pending += `${actions[Math.floor(random() * actions.length)]} ${id} ${dsDump('stamp', tag)}\n`;
        // Cut the stream at random places (mid-line too) and pause at random.
        if (random() < 0.5) {
          const cut = Math.floor(random() * pending.length);
          mad.sendRaw(Buffer.from(pending.slice(0, cut)));
          pending = pending.slice(cut);
          if (random() < 0.5) await sleep(Math.floor(random() * 40));
        }
      }
      mad.sendRaw(Buffer.from(pending));
      mad.end();
      t.same(await mad.exit(8000), { status: 0, signal: null }, `seed ${seed}: exits 0`);
      const lines = mad.lines();
      t.equal(lines.length, sent.length, `seed ${seed}: one reply per action`);
      t.ok(lines.every((line) => /^[A-Z]+ SUCCESS [0-3] -$/.test(line)), `seed ${seed}: all succeeded, whole lines`);
      for (let id = 0; id < 4; id += 1) {
        t.equal(lines.filter((line) => line.split(' ')[2] === String(id)).length, sent.filter((x) => x.id === id).length, `seed ${seed}: image ${id} answered once per action`);
      }
      const intervals = intervalsOf(stamps);
      t.equal(intervals.length, sent.length, `seed ${seed}: every script ran once`);
      t.same(overlapsPerId(intervals), [], `seed ${seed}: never two actions on one image at once`);
      for (let id = 0; id < 4; id += 1) {
        const ran = intervals.filter((i) => i.id === String(id)).sort((a, b) => (a.start < b.start ? -1 : 1)).map((i) => i.tag);
        t.same(ran, sent.filter((x) => x.id === id).map((x) => x.tag), `seed ${seed}: image ${id} in arrival order`);
      }
    }));
  });
}
