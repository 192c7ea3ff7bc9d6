/**
 * ferry-spawn, the fork server, and its client: the built helper is there and
 * used, scripts see exactly what Node's spawn would give them, many runs at
 * once keep their own output, and every way the helper can be missing, wrong
 * or killed leaves no script running unseen. The shared behaviour (timeouts,
 * caps, linger, cancel) is tested for both launchers in spawn-group.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/paths.js';
import { helperPath, SpawnHelper } from '../../../src/driver/launch/helper-launch.js';
import { launchWithNode } from '../../../src/driver/launch/node-launch.js';
import { groupAlive, spawnGroup, type SpawnOptions } from '../../../src/driver/launch/spawn-group.js';
import { processAlive, tmpDir, waitFor } from '../../helpers/fixtures.js';
import { pidFrom, runScript, sh as shScript, writeScript } from '../../helpers/spawn.js';

const built = join(packageRoot(), 'dist', 'libexec', 'ferry-spawn');

/** Runs `script` with /bin/sh -c through `helper` (10 s, 8 MiB of stdout). */
const sh = (helper: SpawnHelper, script: string, options: Partial<SpawnOptions> = {}) =>
  shScript(script, { timeoutMs: 10_000, maxStdoutBytes: 8 * 1024 * 1024, launcher: (request) => helper.launch(request), ...options });

/** The command name of a pid, from /proc. */
const commOf = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

t.test('the build made ferry-spawn and ferry finds it', async (t) => {
  t.ok(existsSync(built), `${built} exists (npm run build compiles src/driver/launch/ferry-spawn.c with cc: apt-get install gcc)`);
  t.equal(helperPath(), built);
});

t.test('scripts start from the helper, not from ferry', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const outcome = await sh(helper, 'echo $PPID');
  t.equal(outcome.exitCode, 0);
  t.equal(Number(outcome.stdout.trim()), helper.pid, "the script's parent is the helper");
  t.equal(commOf(helper.pid as number), 'ferry-spawn');
  t.equal(helper.unusable, undefined);
});

t.test('the environment is exactly the one asked for, nothing of the helper added', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const env = { PATH: '/usr/bin:/bin', ONLY: 'this', SPACES: 'a b  c', EMPTY: '' };
  const outcome = await spawnGroup({
    file: '/usr/bin/env',
    args: [],
    timeoutMs: 5000,
    killGraceMs: 100,
    lingerMs: 100,
    maxStdoutBytes: 65536,
    maxStderrBytes: 65536,
    launcher: (request) => helper.launch({ ...request, env }),
  });
  t.same(outcome.stdout.trim().split('\n').sort(), ['EMPTY=', 'ONLY=this', 'PATH=/usr/bin:/bin', 'SPACES=a b  c']);
});

t.test('a megabyte in, the same megabyte out, and stderr kept apart', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const input = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n');
  const outcome = await sh(helper, 'cat; echo done >&2', { input });
  t.equal(outcome.exitCode, 0);
  t.equal(outcome.stdout.length, input.length);
  t.ok(outcome.stdout === input, 'stdout is the input, byte for byte');
  t.equal(outcome.stderr, 'done\n');
});

t.test('200 runs in flight at once each get their own output and exit code', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const script = 'printf "out-%s" "$1"; printf "err-%s" "$1" >&2; [ $(($1 % 7)) -ne 0 ] || exit 7';
  const runs = Array.from({ length: 200 }, (_, i) => sh(helper, script, { args: ['-c', script, 'sh', String(i)] }));
  const outcomes = await Promise.all(runs);
  const wrong = outcomes.filter((outcome, i) => outcome.stdout !== `out-${i}` || outcome.stderr !== `err-${i}` || outcome.exitCode !== (i % 7 === 0 ? 7 : 0));
  t.same(wrong, [], 'every run got exactly its own output and status');
  t.equal(new Set(outcomes.map((outcome) => outcome.pid)).size, 200, '200 distinct processes');
});

t.test('scripts run in ferry\'s working folder of the moment, as with Node', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  await sh(helper, 'true');
  const before = process.cwd();
  const dir = tmpDir(t);
  process.chdir(dir);
  t.teardown(() => process.chdir(before));
  const outcome = await sh(helper, 'pwd -P');
  t.equal(outcome.stdout.trim(), realpathSync(dir));
});

t.test('a missing working folder is ENOENT, as with Node', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const outcome = await sh(helper, 'pwd', { cwd: '/nonexistent/folder' });
  t.equal(outcome.spawnError?.code, 'ENOENT');
  t.equal(outcome.exitCode, null);
});

t.test('a script without a #! line is not run through a shell: ENOEXEC', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const outcome = await runScript(t, 'echo 1\n', 0o755, { launcher: (request) => helper.launch(request) });
  t.equal(outcome.spawnError?.code, 'ENOEXEC');
});

t.test('a helper that cannot start: these runs and later ones use Node spawn', async (t) => {
  const dir = tmpDir(t);
  const cases: Array<[string, () => string]> = [
    ['missing', () => join(dir, 'missing')],
    [
      'not ours (prints something else and exits)',
      () => writeScript(join(dir, 'impostor'), '#!/bin/sh\necho "this is not ferry-spawn"\nsleep 1\n'),
    ],
    [
      'dies at once',
      () => writeScript(join(dir, 'dies'), '#!/bin/sh\necho "cannot run here" >&2\nexit 3\n'),
    ],
  ];
  for (const [name, make] of cases) {
    const helper = new SpawnHelper(make(), launchWithNode);
    const outcomes = await Promise.all([sh(helper, 'echo $PPID'), sh(helper, 'echo second')]);
    t.equal(outcomes[0].exitCode, 0, `${name}: the first run still ran`);
    t.equal(Number(outcomes[0].stdout.trim()), process.pid, `${name}: started by ferry itself`);
    t.equal(outcomes[1].stdout, 'second\n', `${name}: the run queued with it ran too`);
    t.type(helper.unusable, 'string', `${name}: the helper is marked unusable`);
    const later = await sh(helper, 'echo $PPID');
    t.equal(Number(later.stdout.trim()), process.pid, `${name}: later runs use Node spawn`);
  }
});

t.test('the helper killed mid-run: its scripts are stopped and fail; the next run starts a new helper', async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  const dir = tmpDir(t);
  const pidfile = join(dir, 'pid');
  const run = sh(helper, `echo $$ > "${pidfile}"; sleep 600`);
  const scriptPid = await pidFrom(pidfile);
  const first = helper.pid as number;
  process.kill(first, 'SIGKILL');
  const outcome = await run;
  t.equal(outcome.spawnError?.code, 'ESPAWNHELPER');
  t.match(outcome.spawnError?.message, /spawn helper killed by SIGKILL while \/bin\/sh ran; the script was killed/);
  t.ok(await waitFor(() => !groupAlive(scriptPid), 3000), "the script's group is gone");
  const next = await sh(helper, 'echo again');
  t.equal(next.stdout, 'again\n');
  t.not(helper.pid, first, 'a new helper');
  t.equal(helper.unusable, undefined, 'a helper that had started is not given up on');
});

t.test("signals for ferry's whole process group (Ctrl-C, hang-up, timeout(1)'s SIGTERM) do not take the helper down", async (t) => {
  const helper = new SpawnHelper(built, launchWithNode);
  await sh(helper, 'true');
  const pid = helper.pid as number;
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTERM'] as const) process.kill(pid, signal);
  const outcome = await sh(helper, 'echo still');
  t.equal(outcome.stdout, 'still\n');
  t.equal(helper.pid, pid, 'the same helper');
});

t.test('ferry killed outright: the helper stops the scripts it started, then exits', async (t) => {
  const dir = tmpDir(t);
  const pidfile = join(dir, 'pid');
  const spawnModule = join(packageRoot(), 'dist', 'driver', 'launch', 'spawn-group.js');
  t.ok(existsSync(spawnModule), 'dist is built');
  const program = `
    import { spawnGroup } from ${JSON.stringify(spawnModule)};
    await spawnGroup({ file: '/bin/sh', args: ['-c', 'echo $$ > "$0"; sleep 600', ${JSON.stringify(pidfile)}],
      timeoutMs: 600000, killGraceMs: 100, lingerMs: 100, maxStdoutBytes: 1024, maxStderrBytes: 1024 });`;
  const ferry = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: 'ignore' });
  t.teardown(() => ferry.kill('SIGKILL'));
  const scriptPid = await pidFrom(pidfile);
  const helperPid = Number(readFileSync(`/proc/${scriptPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  t.equal(commOf(helperPid), 'ferry-spawn', "the script's parent is the helper");
  ferry.kill('SIGKILL');
  t.ok(await waitFor(() => !groupAlive(scriptPid), 3000), "the script's group is gone");
  t.ok(await waitFor(() => !processAlive(helperPid), 3000), 'the helper exited');
});

/** One frame as ferry-spawn reads them: u32 length, u8 type, u32 token, payload. */
function frame(type: string, token: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(5 + payload.length, 0);
  head.write(type, 4, 'latin1');
  head.writeUInt32LE(token, 5);
  return Buffer.concat([head, payload]);
}

t.test('a malformed request (a bug in ferry): the helper stops the scripts it started and exits 70', async (t) => {
  const dir = tmpDir(t);
  const pidfile = join(dir, 'pid');
  const helper = spawn(built, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => helper.kill('SIGKILL'));
  let stderr = '';
  helper.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  helper.stdout.resume();
  const closed = new Promise<number | null>((resolve) => helper.once('close', (code) => resolve(code)));
  // S: flags 0 (stdin /dev/null), argc 3, envc 0, then argv and an empty cwd.
  const strings = Buffer.from(['/bin/sh', '-c', `echo $$ > "${pidfile}"; exec sleep 600`, ''].join('\0') + '\0');
  const counts = Buffer.alloc(12);
  counts.writeUInt32LE(3, 4);
  helper.stdin.write(frame('S', 1, Buffer.concat([counts, strings])));
  const script = await pidFrom(pidfile);
  t.ok(groupAlive(script), 'the script runs');
  helper.stdin.write(frame('Z', 2));
  t.equal(await closed, 70, 'exit 70');
  t.match(stderr, /ferry-spawn: unknown request type/);
  t.ok(await waitFor(() => !groupAlive(script), 3000), "the script's group is gone");
});
