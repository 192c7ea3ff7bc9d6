/**
 * A queue world for the worker tests: a PostgreSQL catalog (a database of its own), remotes with the dummy drivers
 * and tm/slow (tm/dummy that logs every call to `calls` and, while a marker slow-<action> exists, says it started
 * and sleeps), ferry commands and `ferry worker` processes on it (the built dist/bin/ferry.js), and a Catalog
 * opened in the test to read what they did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import { DS_ACTIONS, TM_ACTIONS } from '../../src/contract/table.js';
import { binPath, bundledRemotes, cleanEnv, runBin, type BinResult } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';
import { startPostgres } from '../helpers/postgres.js';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export async function queueWorld(t: Test) {
  const pg = await startPostgres(t);
  const dir = tmpDir(t, 'ferry-queue-');
  const remotes = join(dir, 'remotes');
  const marks = join(dir, 'marks');
  mkdirSync(join(remotes, 'tm', 'slow'), { recursive: true });
  mkdirSync(marks);
  cpSync(join(bundledRemotes, 'datastore'), join(remotes, 'datastore'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundledRemotes, 'tm', 'dummy'), join(remotes, 'tm', 'dummy'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(bundledRemotes, 'scripts_common.sh'), join(remotes, 'scripts_common.sh'));
  // tm/slow and datastore/slow: the dummy drivers, logging each call; slow while slow-<action> matches, failing while
  // fail-<action> exists (slow-<action>: line 1 a text the arguments must hold, empty for any; line 2 seconds, 30).
  mkdirSync(join(remotes, 'datastore', 'slow'));
  for (const [kind, actions] of [['tm', TM_ACTIONS], ['datastore', DS_ACTIONS]] as const) {
    for (const action of actions) {
      const script = join(remotes, kind, 'slow', action);
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          `# ${kind}/dummy, logging each call; slow while slow-<action> matches, failing while fail-<action> exists.`,
          'set -eu',
          `echo "${action} $*" >> '${marks}/calls'`,
          `m='${marks}/slow-${action}'`,
          'if [ -e "$m" ]; then',
          '  pattern=$(sed -n 1p "$m"); seconds=$(sed -n 2p "$m")',
          `  case "$*" in *"$pattern"*) echo "$$" > '${marks}/started-${action}'; sleep "\${seconds:-30}" ;; esac`,
          'fi',
          `if [ -e '${marks}/fail-${action}' ]; then echo "ERROR: injected failure in ${action}" >&2; exit 1; fi`,
          `exec '${join(bundledRemotes, kind, 'dummy', action)}' "$@"`,
          '',
        ].join('\n'),
      );
      chmodSync(script, 0o755);
    }
  }
  const env = { FERRY_CATALOG: pg.url, PGPASSWORD: pg.password, FERRY_HOME: join(dir, 'home'), FERRY_REMOTES: remotes, NO_COLOR: '1' };
  const ferry = (argv: readonly string[], killAfterMs = 30_000): Promise<BinResult> => runBin(argv, { env, cwd: dir, killAfterMs });
  const workers: WorkerProcess[] = [];
  const startWorker = (...argv: string[]): WorkerProcess => {
    const child = spawn(process.execPath, [binPath, 'worker', '--reclaim-every', '1', ...argv], { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (chunk) => (out += String(chunk)));
    child.stderr?.on('data', (chunk) => (out += String(chunk)));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const worker = { child, output: () => out, exited };
    workers.push(worker);
    return worker;
  };
  t.teardown(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
  });
  // The test's own view of the catalog (opened after the first command made it).
  let catalog: Catalog | undefined;
  const view = (): Catalog => {
    if (catalog) return catalog;
    process.env.PGPASSWORD = pg.password;
    catalog = Catalog.open(pg.url, join(dir, 'test.key'));
    t.teardown(() => catalog?.close());
    return catalog;
  };
  /** The TM actions run so far, in order, as "action args…". */
  const calls = (): string[] => (existsSync(join(marks, 'calls')) ? readFileSync(join(marks, 'calls'), 'utf8').trim().split('\n').filter(Boolean) : []);
  /** Makes `action` slow (`seconds`, default 30) on calls whose arguments hold `pattern`; undefined: no longer. */
  const slow = (action: string, pattern = '', seconds = 30): void => {
    rmSync(join(marks, `started-${action}`), { force: true });
    writeFileSync(join(marks, `slow-${action}`), `${pattern}\n${seconds}\n`);
  };
  const fast = (action: string): void => rmSync(join(marks, `slow-${action}`), { force: true });
  const started = (action: string): boolean => existsSync(join(marks, `started-${action}`));
  const fail = (action: string, on = true): void => (on ? writeFileSync(join(marks, `fail-${action}`), '') : rmSync(join(marks, `fail-${action}`), { force: true }));
  return { pg, dir, remotes, marks, env, ferry, startWorker, view, calls, slow, fast, started, fail };
}

/** Polls `check` every 50 ms until it holds; fails naming `what` after `ms`. */
export async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`still waiting after ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A world with hosts, an IMAGE and a SYSTEM datastore on tm/slow, and a READY image `deb`. */
export async function seededQueueWorld(t: Test) {
  const world = await queueWorld(t);
  const { ferry, dir } = world;
  for (const argv of [
    ['host', 'create', 'host01', '--local'],
    ['host', 'create', 'host02', '--local'],
    ['datastore', 'create', 'images', '--type', 'IMAGE', '--ds-mad', 'dummy', '--tm-mad', 'slow', '--base-path', join(dir, 'images')],
    ['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'slow', '--base-path', join(dir, 'system')],
    ['datastore', 'create', 'slowimages', '--type', 'IMAGE', '--ds-mad', 'slow', '--tm-mad', 'slow', '--base-path', join(dir, 'slowimages')],
    ['--config', join(dir, 'inline.yaml'), 'image', 'create', '--name', 'deb', '--datastore', 'images', '--size', '10'],
  ]) {
    if (argv[1]?.endsWith('inline.yaml')) writeFileSync(join(dir, 'inline.yaml'), 'queue: false\n');
    const run = await ferry(argv);
    if (run.status !== 0) throw new Error(`ferry ${argv.join(' ')}: ${run.status}\n${run.stderr}`);
  }
  return world;
}
