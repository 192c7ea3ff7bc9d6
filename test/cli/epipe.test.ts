/** Output to a reader that went away (`ferry ... | head -1`) ends quietly, for every kind of command (issue 13). */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { binBuilt, binMissingMessage, binPath, cleanEnv, fixturesRemotes, repoRoot, specExamplePath } from './helpers.js';

/** Runs the real ferry with stdout (and stderr when `both`) read by nobody: the read ends are closed before ferry writes. */
async function withClosedOutput(argv: string[], both = false): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [binPath, ...argv], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  const stderr: Buffer[] = [];
  if (both) child.stderr.destroy();
  else child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stderr: Buffer.concat(stderr).toString('utf8') };
}

t.test('a closed stdout: no EPIPE trace, the command\'s own status', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  for (const argv of [
    ['--help'],
    ['dump', '--help'],
    ['drivers', 'list'],
    ['--remotes', fixturesRemotes, 'ds', 'stat', specExamplePath, '1', '--driver', 'ok'],
    ['--remotes', fixturesRemotes, 'ds', 'stat', specExamplePath, '1', '--driver', 'fail'],
  ]) {
    const { status, stderr } = await withClosedOutput(argv);
    t.notMatch(stderr, /EPIPE|Unhandled 'error' event|internal error/, `${argv.join(' ')}: quiet`);
    t.equal(status, argv.includes('fail') ? 1 : 0, `${argv.join(' ')}: its own exit status`);
  }
});

t.test('stdout and stderr both closed, with driver log lines: the command still finishes', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const { status } = await withClosedOutput(['--remotes', fixturesRemotes, '--log-level', 'debug', 'ds', 'stat', specExamplePath, '1', '--driver', 'noisy'], true);
  t.equal(status, 0);
});
