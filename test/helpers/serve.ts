/**
 * `ferry serve` as a real process for the service tests: a catalog world (catalog-world.ts) with
 * datastore/probe (the bundled fs, whose monitor fails or hangs for a datastore while a marker says so:
 * fail-monitor-<id>, hang-monitor-<id>, the hung script's pid in hung-<id>.pid) and an alert hook recording
 * each call (its event and stdin) in hooks.log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { binBuilt, binMissingMessage, binPath } from '../cli/helpers.js';
import { world, type World } from './catalog-world.js';
import { waitFor } from './fixtures.js';

export interface ServeWorld extends World {
  hooksLog: string;
  /** The hook calls so far: each one's event argument and the JSON it read. */
  hookCalls(): Array<{ event: string; input: { notice: number; event: string; alert: { id: number; rule: string; state: string; subject: { kind: string; id: string } } } }>;
  config(yaml: string): void;
}

export function serveWorld(t: Test): ServeWorld {
  const w = world(t);
  const probe = join(w.remotes, 'datastore', 'probe');
  cpSync(join(w.remotes, 'datastore', 'fs'), probe, { recursive: true, verbatimSymlinks: true });
  writeFileSync(
    join(probe, 'monitor'),
    `#!/bin/sh\n# fs monitor, failing or hanging for datastore $2 while a marker says so (test/helpers/serve.ts).\nset -eu\nif [ -e '${w.markers}/fail-monitor-'"$2" ]; then echo "ERROR: injected monitor failure $(cat '${w.markers}/fail-monitor-'"$2")" >&2; exit 1; fi\nif [ -e '${w.markers}/hang-monitor-'"$2" ]; then echo $$ > '${w.markers}/hung-'"$2"'.pid'; exec sleep 300; fi\nexec '${join(w.remotes, 'datastore', 'fs', 'monitor')}' "$@"\n`,
  );
  chmodSync(join(probe, 'monitor'), 0o755);
  const hooks = join(w.remotes, 'hooks', 'alert');
  mkdirSync(hooks, { recursive: true });
  const hooksLog = join(w.root, 'hooks.log');
  // One write per call (O_APPEND, a few hundred bytes): a reader never sees half a line.
  writeFileSync(join(hooks, 'record'), `#!/bin/sh\n# Records each call: its argument, then the JSON it read, on one line.\nset -eu\nline="$1 $(cat)"\nprintf '%s\\n' "$line" >> '${hooksLog}'\n`);
  chmodSync(join(hooks, 'record'), 0o755);
  const configFile = join(w.root, 'ferry.yaml');
  const config = (yaml: string): void => writeFileSync(configFile, `frontend: fe\nlog_level: info\n${yaml}`);
  config('');
  return {
    ...w,
    hooksLog,
    hookCalls() {
      if (!existsSync(hooksLog)) return [];
      const text = readFileSync(hooksLog, 'utf8');
      // Only whole lines: a call still writing is read next time.
      return text
        .slice(0, text.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const space = line.indexOf(' ');
          return { event: line.slice(0, space), input: JSON.parse(line.slice(space + 1)) };
        });
    },
    config,
  };
}

export interface Served {
  child: ChildProcess;
  stderr(): string;
  /** http://127.0.0.1:PORT once it listens. */
  url: string | undefined;
  /** Sends `signal` and waits for the exit; its status. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `ferry serve` in `w` and waits until it says it watches (and where it listens). */
export async function startServe(t: Test, w: World, args: string[] = ['--listen', '127.0.0.1:0'], env: Record<string, string> = {}): Promise<Served> {
  if (!binBuilt()) throw new Error(binMissingMessage);
  const child = spawn(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'serve', ...args], {
    cwd: w.root,
    env: { ...process.env, FERRY_HOME: w.home, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    appendFileSync(join(w.root, 'serve.log'), chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const started = await Promise.race([waitFor(() => /ferry serve: watching/.test(text), 15_000), exited.then(() => false)]);
  if (!started) throw new Error(`ferry serve did not start: ${text}`);
  const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
  return {
    child,
    stderr: () => text,
    url,
    exited,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
