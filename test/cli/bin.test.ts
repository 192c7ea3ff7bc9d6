/**
 * The built executable (`node dist/bin/ferry.js`) as a real process: exit
 * statuses, what goes to stdout and stderr, and signals.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { liveGroupMembers, processAlive, tmpDir, waitFor, pgidOf } from '../helpers/fixtures.js';
import {
  base64Of,
  binBuilt,
  binMissingMessage,
  dumpFor,
  fixturesRemotes,
  fixturesRemotesReal,
  jsonOf,
  repoRoot,
  runBin,
  specExamplePath,
  specExampleXml,
  splitLogLines,
  writeFileIn,
} from './helpers.js';

type Tap = Parameters<typeof tmpDir>[0];

/** Dumps for the fixture behaviours, written once per test. */
function dumps(t: Tap, ...drivers: string[]): Record<string, string> {
  const dir = tmpDir(t, 'ferry-bin-');
  return Object.fromEntries(drivers.map((driver) => [driver, writeFileIn(dir, `${driver}.xml`, dumpFor(driver))]));
}

/** Pids whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && fields[0] !== 'Z') children.push(Number(entry));
    } catch {
      // gone
    }
  }
  return children;
}

/** The scripts ferry started: its children, or its spawn helper's (ferry-spawn starts them when built). */
function scriptsOf(ferryPid: number): number[] {
  return childrenOf(ferryPid).flatMap((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ferry-spawn' ? childrenOf(pid) : [pid];
    } catch {
      return [];
    }
  });
}

/** On teardown, SIGKILL process group `pgid` in case a failing ferry left it running. */
function killGroupOnTeardown(t: Tap, pgid: () => number): void {
  t.teardown(() => {
    const id = pgid();
    if (id <= 1) return;
    try {
      process.kill(-id, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  });
}

/** True once the process ignores SIGTERM (bit 15 of SigIgn in /proc/PID/status). */
function ignoresSigterm(pid: number): boolean {
  try {
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

if (!binBuilt()) {
  t.fail(binMissingMessage);
} else {
  t.test('--version and --help: exit 0, on stdout', async (t) => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const version = await runBin(['--version']);
    t.equal(version.status, 0);
    t.equal(version.stdout, `ferry ${pkg.version} (driver API 1..1)\n`);
    t.equal(version.stderr, '');
    const help = await runBin(['--help']);
    t.equal(help.status, 0);
    t.match(help.stdout, /Exit status:/);
    t.match(help.stdout, /Examples:/);
  });

  t.test('success: exit 0, stdout carries only the result', async (t) => {
    const files = dumps(t, 'dummy', 'noisy');
    const stat = await runBin(['ds', 'stat', files.dummy as string, '0']);
    t.equal(stat.status, 0, stat.stderr);
    t.equal(stat.stdout, '1024\n');
    t.equal(stat.stderr, '');
    const noisy = await runBin(['--remotes', fixturesRemotes, '--log-format', 'json', '--log-level', 'info', 'ds', 'stat', files.noisy as string, '0']);
    t.equal(noisy.status, 0);
    t.equal(noisy.stdout, '40\n', '200 log lines, none on stdout');
    t.equal(splitLogLines(noisy.stderr).records.length, 200, 'the driver\'s logs as JSON lines on stderr');
    const json = await runBin(['--json', '--remotes', fixturesRemotes, 'ds', 'cp', files.noisy as string, '7']);
    t.equal(json.status, 0);
    t.match(jsonOf(json.stdout), { ok: true, action: 'cp', driver: 'noisy', result: { source: '/var/lib/one/datastores/1/f00d', sizeMb: 40 } });
  });

  t.test('the dump on stdin (-), XML and base64', async (t) => {
    const xml = dumpFor('dummy');
    const fromXml = await runBin(['ds', 'monitor', '-', '1'], { stdin: xml });
    t.equal(fromXml.status, 0, fromXml.stderr);
    t.equal(fromXml.stdout, 'usedMb   9720\ntotalMb  20480\nfreeMb   10760\n');
    const fromB64 = await runBin(['ds', 'stat', '-', '0'], { stdin: `${base64Of(xml)}\n` });
    t.equal(fromB64.status, 0, fromB64.stderr);
    t.equal(fromB64.stdout, '1024\n');
  });

  t.test('dump encode | ds - and dump decode round trip through pipes', async (t) => {
    const encoded = await runBin(['dump', 'encode', specExamplePath]);
    t.equal(encoded.status, 0);
    const decoded = await runBin(['dump', 'decode', '-'], { stdin: encoded.stdout });
    t.equal(decoded.status, 0);
    t.equal(decoded.stdout, specExampleXml());
    const run = await runBin(['ds', 'stat', '-', '0', '--driver', 'dummy'], { stdin: encoded.stdout });
    t.equal(run.status, 0);
    t.equal(run.stdout, '1024\n');
  });

  t.test('driver failure: exit 1, message and logs on stderr, nothing on stdout', async (t) => {
    const files = dumps(t, 'fail', 'garbage');
    const fail = await runBin(['--remotes', fixturesRemotes, '--log-format', 'json', '--log-level', 'info', 'ds', 'stat', files.fail as string, '0']);
    t.equal(fail.status, 1);
    t.equal(fail.stdout, '');
    const { records, other } = splitLogLines(fail.stderr);
    t.match(other.join('\n'), /datastore fail\/stat failed \(exit status 3\):\n\s+disk \/ds is full\n\s+second line of the reason/);
    t.same(records.map((r) => r.msg), ['starting stat', 'low space', 'giving up']);
    const json = await runBin(['--remotes', fixturesRemotes, '--json', 'ds', 'stat', files.fail as string, '0']);
    t.equal(json.status, 1, 'exit status set with --json');
    t.match(jsonOf(json.stdout), { ok: false, exitCode: 3, error: { code: 'E_DRIVER_FAILED', exitStatus: 1 } });
    const garbage = await runBin(['--remotes', fixturesRemotes, 'ds', 'stat', files.garbage as string, '0']);
    t.equal(garbage.status, 1);
    t.equal(garbage.stdout, '', 'the garbage is not passed on');
    t.match(garbage.stderr, /malformed output/);
  });

  t.test('usage and bad input: exit 2', async (t) => {
    const files = dumps(t, 'nosuch');
    const dir = tmpDir(t);
    const badDump = writeFileIn(dir, 'bad.xml', '<DS_DRIVER_ACTION_DATA><IMAGE></DS_DRIVER_ACTION_DATA>');
    const cases: Array<[string, string[], RegExp | string]> = [
      ['no arguments', [], /Usage: ferry/],
      ['unknown command', ['bogus'], /unknown command 'bogus'/],
      ['unknown option', ['--bogus'], /unknown option '--bogus'/],
      ['missing dump file', ['ds', 'stat', join(dir, 'nope.xml'), '0', '--driver', 'dummy'], join(dir, 'nope.xml')],
      ['bad dump', ['ds', 'stat', badDump, '0', '--driver', 'dummy'], /not well-formed XML/],
      ['missing driver', ['--remotes', fixturesRemotes, 'ds', 'stat', files.nosuch as string, '0'], join(fixturesRemotesReal, 'datastore', 'nosuch')],
      ['bad tm arguments', ['tm', 'clone', 'dummy', 'nohost', 'host01:/d', '7', '0'], /usage: tm clone dummy/],
      ['missing transfer file', ['tm', 'transfer', join(dir, 'nope.tm')], join(dir, 'nope.tm')],
      ['bad --timeout', ['--timeout', 'soon', 'ds', 'stat', specExamplePath, '0', '--driver', 'dummy'], /--timeout/],
    ];
    for (const [name, argv, message] of cases) {
      const { status, stdout, stderr } = await runBin(argv);
      t.equal(status, 2, `${name}: exit 2`);
      t.match(stdout + stderr, message, `${name}: says why`);
      if (argv.length > 0) t.equal(stdout, '', `${name}: nothing on stdout`);
    }
  });

  t.test('a timeout: exit 124, the driver\'s whole process group killed', async (t) => {
    const files = dumps(t, 'slow', 'hungslow');
    const started = Date.now();
    const slow = await runBin(['--remotes', fixturesRemotes, '--timeout', '0.3', 'ds', 'stat', files.slow as string, '0']);
    t.equal(slow.status, 124);
    t.equal(slow.stdout, '');
    t.match(slow.stderr, /timed out after 0\.3 s/);
    t.ok(Date.now() - started < 5000, 'promptly');
    const pidFile = join(tmpDir(t), 'pid');
    const hung = await runBin(['--remotes', fixturesRemotes, '--timeout', '0.3', 'ds', 'stat', files.hungslow as string, '0'], { env: { FIXTURE_PIDFILE: pidFile } });
    t.equal(hung.status, 124);
    const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
    const pgid = pgidOf(grandchild);
    killGroupOnTeardown(t, () => pgid);
    t.ok(grandchild > 0, 'the driver started its grandchild');
    t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the grandchild was killed with the group');
  });

  t.test('FERRY_REMOTES, ./ferry.yaml and --config work in the real executable', async (t) => {
    const dir = tmpDir(t, 'ferry-bin-cwd-');
    writeFileIn(dir, 'image.xml', dumpFor('ok'));
    const env = await runBin(['ds', 'stat', 'image.xml', '0'], { cwd: dir, env: { FERRY_REMOTES: fixturesRemotes } });
    t.equal(env.status, 0, `FERRY_REMOTES: ${env.stderr}`);
    t.equal(env.stdout, '40\n');
    writeFileIn(dir, 'ferry.yaml', `remotes: ${relative(dir, fixturesRemotes)}\n`);
    const yaml = await runBin(['ds', 'stat', 'image.xml', '0'], { cwd: dir });
    t.equal(yaml.status, 0, `./ferry.yaml: ${yaml.stderr}`);
    t.equal(yaml.stdout, '40\n');
    const bad = writeFileIn(dir, 'bad.yaml', `remotes: ${fixturesRemotes}\nbogus_key: 1\n`);
    const unknown = await runBin(['--config', bad, 'ds', 'stat', 'image.xml', '0'], { cwd: dir });
    t.equal(unknown.status, 2, 'an unknown key exits 2');
    t.match(unknown.stderr, 'bogus_key', 'the message names the key');
    t.match(unknown.stderr, bad, 'the message names the file');
  });

  t.test('tm: cpds with snap_id -1, and a transfer that fails in the middle', async (t) => {
    const cpds = await runBin(['tm', 'cpds', 'dummy', 'host01:/var/lib/one/datastores/0/7/disk.1', '/var/lib/one/datastores/1/ab12', '-1', '7', '1']);
    t.equal(cpds.status, 0, cpds.stderr);
    t.equal(cpds.stdout, '');
    const dir = tmpDir(t);
    const record = join(dir, 'record');
    const file = writeFileIn(dir, 'deploy.tm', '# deploy\nclone ok fe:/ds/1/a host01:/ds/0/7/disk.0 7 0\nln fail fe:/ds/1/b host01:/ds/0/7/disk.1 7 0\nmkswap ok 512 host01:/ds/0/7/disk.2 7 0\n');
    const transfer = await runBin(['--remotes', fixturesRemotes, '--log-level', 'silent', 'tm', 'transfer', file], { env: { FIXTURE_RECORD: record } });
    t.equal(transfer.status, 1);
    t.match(transfer.stdout, /^ok {2}line 2: clone ok /);
    t.match(transfer.stderr, /line 3/);
    t.equal(transfer.stderr.split('\n').filter((l) => l.startsWith('{')).length, 0, '--log-level silent: no log lines');
    t.same(
      readFileSync(record, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ')[0]),
      ['clone'],
      'the line after the failure did not run',
    );
  });

  t.test('SIGINT while a driver runs: its process group is stopped and ferry exits 130', async (t) => {
    const files = dumps(t, 'hungslow');
    const pidFile = join(tmpDir(t), 'pid');
    let ferryPid = 0;
    const running = runBin(['--remotes', fixturesRemotes, 'ds', 'stat', files.hungslow as string, '0'], {
      env: { FIXTURE_PIDFILE: pidFile },
      killAfterMs: 5000,
      onSpawn: (pid) => {
        ferryPid = pid;
      },
    });
    const started = await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000);
    t.ok(started, 'the driver started');
    const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
    const pgid = pgidOf(grandchild);
    killGroupOnTeardown(t, () => pgid);
    t.not(pgid, ferryPid, 'the driver runs in its own process group');
    t.ok(liveGroupMembers(pgid).length >= 2, 'the driver and its grandchild run');
    const interrupted = Date.now();
    process.kill(ferryPid, 'SIGINT');
    const result = await running;
    t.equal(result.status, 130, `exit 130 (stderr: ${result.stderr.trim()})`);
    t.equal(result.stdout, '');
    t.ok(Date.now() - interrupted < 3000, 'stopped promptly');
    t.ok(await waitFor(() => !processAlive(grandchild), 1000), 'the grandchild is gone');
    t.ok(await waitFor(() => liveGroupMembers(pgid).length === 0, 1000), 'the whole process group is gone');
  });

  t.test('a second SIGINT kills a driver that ignores SIGTERM at once', async (t) => {
    const files = dumps(t, 'stubborn');
    let ferryPid = 0;
    const running = runBin(['--remotes', fixturesRemotes, 'ds', 'stat', files.stubborn as string, '0'], {
      killAfterMs: 5000,
      onSpawn: (pid) => {
        ferryPid = pid;
      },
    });
    t.ok(await waitFor(() => ferryPid > 0 && scriptsOf(ferryPid).length > 0, 5000), 'the driver started');
    const [driverPid] = scriptsOf(ferryPid);
    killGroupOnTeardown(t, () => driverPid ?? 0);
    t.ok(await waitFor(() => ignoresSigterm(driverPid as number), 5000), 'the driver installed its SIGTERM trap');
    process.kill(ferryPid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.ok(processAlive(driverPid as number), 'the driver ignored SIGTERM');
    const interrupted = Date.now();
    process.kill(ferryPid, 'SIGINT');
    const result = await running;
    t.equal(result.status, 130);
    t.ok(Date.now() - interrupted < 2000, 'without waiting for the kill grace period');
    t.ok(await waitFor(() => liveGroupMembers(driverPid as number).length === 0, 1000), 'the driver\'s process group is gone');
  });
}
