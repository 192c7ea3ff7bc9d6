import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { spawnMode } from '../../../src/driver/launch/choose.js';
import { launchWithNode } from '../../../src/driver/launch/node-launch.js';
import { groupAlive, liveGroupCount, signalAllGroups, spawnGroup as spawnWith, type SpawnOptions } from '../../../src/driver/launch/spawn-group.js';
import type { Launcher } from '../../../src/driver/launch/types.js';
import { liveGroupMembers, tmpDir, waitFor } from '../../helpers/fixtures.js';
import { grandchildDies, pidFrom, runScript as runScriptFile, sh as shScript } from '../../helpers/spawn.js';

/** Every test below, with scripts started by `launcher` (undefined: the default, ferry-spawn). */
function suite(t: Test, launcher: Launcher | undefined): void {
  const spawnGroup = (options: SpawnOptions) => spawnWith(launcher ? { ...options, launcher } : options);

  const through = launcher ? { launcher } : {};
  /** Writes `text` to a fresh file with `mode` and runs it, without arguments. */
  const runScript = (t: Test, text: string, mode: number) => runScriptFile(t, text, mode, through);
  /** Runs `script` with /bin/sh -c, short limits unless overridden. */
  const sh = (script: string, options: Partial<SpawnOptions> = {}) => shScript(script, { ...options, ...through });

  t.test('exit 0: stdout and stderr captured', async (t) => {
    const outcome = await sh('echo out; echo err >&2; printf "no newline"');
    t.equal(outcome.exitCode, 0);
    t.equal(outcome.signal, null);
    t.equal(outcome.stdout, 'out\nno newline');
    t.equal(outcome.stderr, 'err\n');
    t.equal(outcome.timedOut, false);
    t.equal(outcome.cancelled, false);
    t.equal(outcome.lingered, false);
    t.equal(outcome.stdoutTruncated, false);
    t.equal(outcome.stderrTruncated, false);
    t.equal(outcome.spawnError, undefined);
    t.type(outcome.pid, 'number');
    t.ok(outcome.durationMs > 0 && outcome.durationMs < 5000, `durationMs ${outcome.durationMs}`);
  });

  t.test('exit codes are reported as is', async (t) => {
    for (const code of [1, 3, 7, 124, 255]) {
      const outcome = await sh(`echo "failing with ${code}" >&2; exit ${code}`);
      t.equal(outcome.exitCode, code);
      t.equal(outcome.signal, null);
      t.equal(outcome.stderr, `failing with ${code}\n`);
    }
  });

  t.test('a script killed by a signal', async (t) => {
    const outcome = await sh('kill -KILL $$');
    t.equal(outcome.exitCode, null);
    t.equal(outcome.signal, 'SIGKILL');
    t.equal(outcome.timedOut, false);
    // Named as Node names them: the first of aliases (not SIGIOT, SIGPOLL).
    for (const [signal, name] of [['ABRT', 'SIGABRT'], ['IO', 'SIGIO']]) {
      t.equal((await sh(`kill -${signal} $$`)).signal, name);
    }
  });

  t.test('arguments arrive verbatim, never through a shell', async (t) => {
    const dir = tmpDir(t);
    const tricky = ['$(touch pwned)', '`touch pwned`', 'a b', "it's", '; touch pwned', '"quoted"', '', '\\n', '*'];
    const outcome = await spawnGroup({
      file: '/bin/sh',
      args: ['-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done', 'sh', ...tricky],
      cwd: dir,
      timeoutMs: 5000,
      killGraceMs: 500,
      lingerMs: 200,
      maxStdoutBytes: 1 << 20,
      maxStderrBytes: 1 << 20,
    });
    t.equal(outcome.stdout, tricky.map((a) => `[${a}]\n`).join(''));
    t.throws(() => readFileSync(join(dir, 'pwned')), 'no pwned file');
  });

  t.test('stdin: input is written then closed; without input stdin is empty', async (t) => {
    const withInput = await sh('cat; echo "<eof>"', { input: 'line one\nline two\n' });
    t.equal(withInput.stdout, 'line one\nline two\n<eof>\n');
    const without = await sh('cat; echo "<eof>"');
    t.equal(without.stdout, '<eof>\n', 'stdin is /dev/null, cat does not hang');
  });

  t.test('stdin: a script that never reads a large input still succeeds (EPIPE ignored)', async (t) => {
    const outcome = await sh('exec 0<&-; echo fine', { input: 'x'.repeat(4 * 1024 * 1024) });
    t.equal(outcome.exitCode, 0);
    t.equal(outcome.stdout, 'fine\n');
    t.equal(outcome.spawnError, undefined);
  });

  t.test('env is added to the inherited environment; cwd is honoured', async (t) => {
    const dir = tmpDir(t);
    const outcome = await sh('printf "%s|%s|%s" "$FERRY_TEST_VAR" "$(pwd -P)" "${PATH:+has-path}"', {
      env: { FERRY_TEST_VAR: 'hello world' },
      cwd: dir,
    });
    const { realpathSync } = await import('node:fs');
    t.equal(outcome.stdout, `hello world|${realpathSync(dir)}|has-path`);
  });

  t.test('the script leads its own process group', async (t) => {
    const outcome = await sh('ps -o pgid= -p $$ | tr -d " "; echo $$');
    const [pgid, pid] = outcome.stdout.trim().split('\n');
    t.equal(pgid, pid, 'pgid equals the pid');
    t.equal(Number(pid), outcome.pid);
    t.not(Number(pgid), process.pid);
  });

  t.test('the script leads a new session, with no blocked signals and none ignored but glibc\'s own', async (t) => {
    // Read by the script's own shell with builtins only: a shell blocks every signal for a moment while it forks.
    const outcome = await sh('read -r sid < /proc/$$/stat; set -- $sid; echo "$6"; while read -r line; do case $line in SigBlk:* | SigIgn:*) echo "$line" ;; esac; done < /proc/$$/status');
    const [sid, blocked, ignored] = outcome.stdout.trim().split('\n');
    t.equal(Number(sid), outcome.pid, 'session id is its pid');
    t.match(blocked, /^SigBlk:\s+0+$/, 'no blocked signals');
    // posix_spawn leaves the two real-time signals glibc reserves (32, 33) ignored; Node's fork and exec does not.
    const expected = launcher ? 0n : (1n << 31n) | (1n << 32n);
    t.equal(BigInt(`0x${ignored?.split(/\s+/)[1] ?? ''}`), expected, `ignored signals: ${ignored} (SIGPIPE, SIGINT at their defaults)`);
  });

  t.test('descriptors ferry opened do not reach the script', async (t) => {
    const file = join(tmpDir(t), 'held-open');
    writeFileSync(file, '');
    const fd = openSync(file, 'r');
    t.teardown(() => closeSync(fd));
    const outcome = await sh('for fd in /proc/$$/fd/*; do readlink "$fd"; done', { input: 'x' });
    const targets = outcome.stdout.trim().split('\n');
    t.ok(targets.length >= 3, `stdin, stdout and stderr are there: ${targets.join(', ')}`);
    t.notOk(targets.includes(file), 'a file ferry holds open is not passed on');
  });

  t.test('a null byte in an argument is refused before anything starts', async (t) => {
    await t.rejects(sh('echo never', { args: ['-c', 'echo never', 'a\0b'] }), { code: 'ERR_INVALID_ARG_VALUE' });
  });

  t.test('stdout cap keeps the head and marks truncation', async (t) => {
    const outcome = await sh('printf "0123456789abcdefghij"', { maxStdoutBytes: 8 });
    t.equal(outcome.stdout, '01234567');
    t.equal(outcome.stdoutTruncated, true);
    t.equal(outcome.exitCode, 0);
  });

  t.test('exactly at the cap is not truncated', async (t) => {
    const out = await sh('printf "0123456789"', { maxStdoutBytes: 10 });
    t.equal(out.stdout, '0123456789');
    t.equal(out.stdoutTruncated, false);
    const err = await sh('printf "0123456789" >&2', { maxStderrBytes: 10 });
    t.equal(err.stderr, '0123456789');
    t.equal(err.stderrTruncated, false);
  });

  t.test('stderr cap keeps head and tail, with a marker counting the cut bytes', async (t) => {
    const outcome = await sh('printf "HEAD-0123456789-middle-0123456789-TAIL" >&2', { maxStderrBytes: 10 });
    // 38 bytes, 5 kept at the start, 5 at the end.
    t.equal(outcome.stderr, 'HEAD-\n[... 28 bytes cut ...]\n-TAIL');
    t.equal(outcome.stderrTruncated, true);
  });

  t.test('stderr cap across many chunks keeps the real end', async (t) => {
    const outcome = await sh('i=0; while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "the real reason" >&2; exit 1', {
      maxStderrBytes: 1000,
    });
    t.equal(outcome.stderrTruncated, true);
    t.ok(outcome.stderr.startsWith('noise line 0\n'), 'head kept');
    t.ok(outcome.stderr.endsWith('the real reason\n'), 'tail kept');
    t.match(outcome.stderr, /\n\[\.\.\. \d+ bytes cut \.\.\.\]\n/);
    const marker = /\[\.\.\. (\d+) bytes cut \.\.\.\]/.exec(outcome.stderr);
    const total = Array.from({ length: 2000 }, (_, i) => `noise line ${i}\n`).join('').length + 'the real reason\n'.length;
    t.equal(Number(marker?.[1]), total - 1000, 'the marker counts exactly the dropped bytes');
    t.equal(outcome.exitCode, 1);
  });

  t.test('a flood of stdout is capped without holding it all in memory', async (t) => {
    const before = process.memoryUsage().rss;
    const outcome = await sh('head -c 67108864 /dev/zero | tr "\\0" x', { maxStdoutBytes: 1024 * 1024 });
    const grown = process.memoryUsage().rss - before;
    t.equal(outcome.exitCode, 0);
    t.equal(outcome.stdout.length, 1024 * 1024);
    t.equal(outcome.stdoutTruncated, true);
    t.ok(grown < 64 * 1024 * 1024, `rss grew ${Math.round(grown / 1024 / 1024)} MiB for 64 MiB of output`);
  });

  t.test('timeout: SIGTERM to the whole group, grandchild included', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const started = Date.now();
    const outcome = await sh(`sleep 600 & echo $! > "${pidfile}"; sleep 600`, { timeoutMs: 300, killGraceMs: 300 });
    const elapsed = Date.now() - started;
    t.equal(outcome.timedOut, true);
    t.equal(outcome.cancelled, false);
    t.equal(outcome.exitCode, null);
    t.equal(outcome.signal, 'SIGTERM');
    t.ok(elapsed >= 280 && elapsed < 3000, `took ${elapsed} ms`);
    const grandchild = await grandchildDies(t, pidfile);
    t.ok(grandchild > 0);
    t.ok(await waitFor(() => liveGroupMembers(outcome.pid as number).length === 0, 2000), 'no process of the group is left');
  });

  t.test('timeout: a script ignoring SIGTERM is killed after the grace period', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const started = Date.now();
    const outcome = await sh(`trap "" TERM; sleep 600 & echo $! > "${pidfile}"; while :; do sleep 0.1; done`, {
      timeoutMs: 300,
      killGraceMs: 300,
    });
    const elapsed = Date.now() - started;
    t.equal(outcome.timedOut, true);
    t.equal(outcome.signal, 'SIGKILL');
    t.ok(elapsed >= 550 && elapsed < 3000, `took ${elapsed} ms (timeout 300 + grace 300)`);
    await grandchildDies(t, pidfile, 'TERM-ignoring grandchild is dead');
  });

  t.test('timeout: output printed before the timeout is kept', async (t) => {
    const outcome = await sh('echo partial; echo "INFO: waiting" >&2; sleep 600', { timeoutMs: 200, killGraceMs: 200 });
    t.equal(outcome.timedOut, true);
    t.equal(outcome.stdout, 'partial\n');
    t.equal(outcome.stderr, 'INFO: waiting\n');
  });

  t.test('linger: the script exits, a grandchild keeps stdout open; it is killed after lingerMs', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const started = Date.now();
    const outcome = await sh(`sleep 600 & echo $! > "${pidfile}"; echo result`, { lingerMs: 200, killGraceMs: 300 });
    const elapsed = Date.now() - started;
    t.equal(outcome.exitCode, 0);
    t.equal(outcome.signal, null);
    t.equal(outcome.lingered, true);
    t.equal(outcome.timedOut, false);
    t.equal(outcome.stdout, 'result\n');
    t.ok(elapsed >= 180 && elapsed < 3000, `took ${elapsed} ms`);
    await grandchildDies(t, pidfile);
  });

  t.test('linger: a grandchild ignoring SIGTERM is still killed', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const started = Date.now();
    const outcome = await sh(`(trap "" TERM; exec sleep 600) & echo $! > "${pidfile}"; echo result`, { lingerMs: 100, killGraceMs: 200 });
    t.equal(outcome.lingered, true);
    t.equal(outcome.exitCode, 0);
    t.ok(Date.now() - started < 3000);
    await grandchildDies(t, pidfile);
  });

  t.test('no linger when the script and its children close their output', async (t) => {
    const outcome = await sh('(sleep 0.05; echo late) ; echo done', { lingerMs: 2000 });
    t.equal(outcome.lingered, false);
    t.equal(outcome.stdout, 'late\ndone\n');
  });

  t.test('cancel: aborting the signal terminates the group', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 150);
    const outcome = await sh(`sleep 600 & echo $! > "${pidfile}"; sleep 600`, { signal: controller.signal, killGraceMs: 300 });
    const elapsed = Date.now() - started;
    t.equal(outcome.cancelled, true);
    t.equal(outcome.timedOut, false);
    t.equal(outcome.signal, 'SIGTERM');
    t.ok(elapsed >= 130 && elapsed < 3000, `took ${elapsed} ms`);
    await grandchildDies(t, pidfile);
  });

  t.test('cancel: an already aborted signal stops the script at once', async (t) => {
    const controller = new AbortController();
    controller.abort();
    const started = Date.now();
    const outcome = await sh('sleep 600', { signal: controller.signal, killGraceMs: 300 });
    t.equal(outcome.cancelled, true);
    t.not(outcome.exitCode, 0);
    t.ok(Date.now() - started < 2000);
  });

  t.test('abort after the run finished changes nothing', async (t) => {
    const controller = new AbortController();
    const outcome = await sh('echo ok', { signal: controller.signal });
    controller.abort();
    t.equal(outcome.cancelled, false);
    t.equal(outcome.exitCode, 0);
  });

  t.test('spawn error: a missing file is ENOENT', async (t) => {
    const outcome = await spawnGroup({
      file: '/nonexistent/ferry-test-script',
      args: [],
      timeoutMs: 1000,
      killGraceMs: 100,
      lingerMs: 100,
      maxStdoutBytes: 1024,
      maxStderrBytes: 1024,
    });
    t.equal(outcome.spawnError?.code, 'ENOENT');
    t.equal(outcome.exitCode, null);
    t.equal(outcome.signal, null);
    t.equal(outcome.timedOut, false);
    t.equal(outcome.stdout, '');
    t.equal(outcome.stderr, '');
  });

  t.test('spawn error: a file without execute permission is EACCES', async (t) => {
    const outcome = await runScript(t, '#!/bin/sh\necho 1\n', 0o644);
    t.equal(outcome.spawnError?.code, 'EACCES');
  });

  t.test('spawn error: a missing interpreter is ENOENT', async (t) => {
    const outcome = await runScript(t, '#!/nonexistent/interpreter\necho 1\n', 0o755);
    t.equal(outcome.spawnError?.code, 'ENOENT');
  });

  t.test('liveGroupCount counts running groups; signalAllGroups reaches them', async (t) => {
    t.equal(liveGroupCount(), 0, 'nothing running before');
    const a = sh('sleep 600', { timeoutMs: 10_000 });
    const b = sh('sleep 600', { timeoutMs: 10_000 });
    t.ok(await waitFor(() => liveGroupCount() === 2, 1000), 'two groups live');
    signalAllGroups('SIGKILL');
    const [outA, outB] = await Promise.all([a, b]);
    t.equal(outA.signal, 'SIGKILL');
    t.equal(outB.signal, 'SIGKILL');
    t.equal(liveGroupCount(), 0, 'back to 0');
  });

  t.test('groupAlive: true while the group runs, false for a group that never existed', async (t) => {
    const dir = tmpDir(t);
    const pidfile = join(dir, 'pid');
    const run = sh(`echo $$ > "${pidfile}"; sleep 600`, { timeoutMs: 400, killGraceMs: 200 });
    const pid = await pidFrom(pidfile);
    t.ok(groupAlive(pid), 'running group is alive');
    const outcome = await run;
    t.equal(outcome.pid, pid);
    t.equal(outcome.timedOut, true);
    t.notOk(groupAlive(2147483000), 'unknown group');
  });

  t.test('liveGroupCount is back to 0 after every kind of run', async (t) => {
    t.equal(liveGroupCount(), 0);
  });
}

t.test('through ferry-spawn, the default', async (t) => {
  t.same(spawnMode(), { mode: 'helper' }, 'ferry-spawn is built and used (npm run build compiles it with cc: apt-get install gcc)');
  suite(t, undefined);
});

t.test("through Node's spawn (FERRY_SPAWN=node, or no ferry-spawn)", async (t) => suite(t, launchWithNode));

t.test('FERRY_SPAWN with a value that is not a way to start scripts: E_USAGE naming it, nothing started', async (t) => {
  const before = process.env.FERRY_SPAWN;
  t.teardown(() => {
    if (before === undefined) delete process.env.FERRY_SPAWN;
    else process.env.FERRY_SPAWN = before;
  });
  process.env.FERRY_SPAWN = 'nodejs';
  const marker = join(tmpDir(t), 'ran');
  await t.rejects(
    spawnWith({ file: '/bin/sh', args: ['-c', `touch "${marker}"`], timeoutMs: 1000, killGraceMs: 100, lingerMs: 100, maxStdoutBytes: 1024, maxStderrBytes: 1024 }),
    { code: 'E_USAGE', message: /FERRY_SPAWN="nodejs"/, hint: /FERRY_SPAWN=node/ },
  );
  t.notOk(existsSync(marker), 'the script did not run');
  process.env.FERRY_SPAWN = 'node';
  t.same(spawnMode(), { mode: 'node', reason: 'FERRY_SPAWN=node' });
});
