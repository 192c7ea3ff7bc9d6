/**
 * Starts a script with node:child_process.spawn (an argument array, no
 * shell, a process group of its own): the fallback when ferry-spawn is not
 * built or cannot run here, and the way with FERRY_SPAWN=node.
 */
import { spawn } from 'node:child_process';
import type { Closed, Launcher } from './types.js';

export const launchWithNode: Launcher = (request) => {
  const subprocess = spawn(request.file, request.args, {
    detached: true,
    stdio: [request.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    shell: false,
    env: request.env,
    ...(request.cwd ? { cwd: request.cwd } : {}),
  });
  // 'close' comes once the script has exited and its output pipes are closed: the one event the usual run waits for.
  const closed = new Promise<Closed>((resolve) => {
    subprocess.once('close', (code, signal) => resolve({ code, signal }));
    subprocess.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
  });
  subprocess.stdout?.on('data', request.onStdout);
  subprocess.stderr?.on('data', request.onStderr);
  if (request.input !== undefined && subprocess.stdin) {
    // A script that exits without reading stdin closes the pipe: EPIPE is expected, not an error.
    subprocess.stdin.on('error', () => undefined);
    subprocess.stdin.end(request.input);
  }
  let exited = false;
  subprocess.once('exit', () => (exited = true));
  return {
    started: Promise.resolve(subprocess.pid),
    closed,
    onExit: (callback) => (exited ? callback() : subprocess.once('exit', callback)),
    releasePipes: () => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    },
  };
};
