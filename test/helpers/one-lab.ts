/**
 * OpenNebula's own drivers, installed by `ferry drivers import` from the
 * corpus (FERRY_OPENNEBULA_SRC) into a temporary OpenNebula install root,
 * and the two driver processes that can run them: OpenNebula's own
 * (one_datastore.rb, one_tm.rb, under Debian's Ruby) and `ferry mad`. Both
 * speak the line protocol; `request` writes one line and waits for its
 * reply, as oned does.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { packageRoot } from '../../src/config/paths.js';
import { corpusRoot, rubyAvailable } from './corpus.js';
import { tmpDir } from './fixtures.js';

export const FERRY_BIN = join(packageRoot(), 'dist', 'bin', 'ferry.js');

export interface OneRoot {
  root: string;
  remotes: string;
  /** The environment OpenNebula's driver processes run with here (ferry gives its scripts the same by itself). */
  env: NodeJS.ProcessEnv;
}

/** Imports the corpus's drivers into a fresh install root; `var/config` is what OpenNebula's driver processes read at start. */
export function oneRoot(t: Test, extraEnv: Record<string, string> = {}): OneRoot {
  const src = corpusRoot(t);
  rubyAvailable(t);
  const root = join(tmpDir(t, 'ferry-one-'), 'one');
  execFileSync(process.execPath, [FERRY_BIN, 'drivers', 'import', src, root], { stdio: 'pipe' });
  writeFileSync(join(root, 'var', 'config'), 'SCRIPTS_REMOTE_DIR=/var/tmp/one\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ONE_LOCATION: root,
    RUBYLIB: join(root, 'lib', 'ruby'),
    PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`,
    FERRY: FERRY_BIN,
    FERRY_XPATH: join(packageRoot(), 'dist', 'libexec', 'ferry-xpath'),
    ...extraEnv,
  };
  return { root, remotes: join(root, 'var', 'remotes'), env };
}

export interface Reply {
  /** The reply line, exactly as written (without its newline). */
  line: string;
  /** LOG lines written for the request before it. */
  logs: string[];
}

/** A driver process on the line protocol. */
export class LineDriver {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { match: RegExp; resolve(reply: Reply): void }[] = [];
  private readonly logs: string[] = [];
  readonly lines: string[] = [];
  stderr = '';

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn(command, args, { env, cwd, stdio: 'pipe' });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      this.lines.push(line);
      if (line.startsWith('LOG ')) return void this.logs.push(line);
      const index = this.waiting.findIndex((w) => w.match.test(line));
      if (index < 0) return;
      const [waiter] = this.waiting.splice(index, 1);
      waiter?.resolve({ line, logs: this.logs.splice(0) });
    });
  }

  /** Sends `VERB ID PAYLOAD` and resolves with its reply (the first `VERB SUCCESS|FAILURE ID` line). */
  request(verb: string, id: number | string, payload: string, timeoutMs = 60_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${verb} ${id} in ${timeoutMs} ms; stderr: ${this.stderr}; lines: ${this.lines.join('\n')}`)), timeoutMs);
      this.waiting.push({
        match: new RegExp(`^${verb} (SUCCESS|FAILURE) ${id}( |$)`),
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      });
      this.child.stdin.write(`${verb} ${id} ${payload}\n`);
    });
  }

  /** FINALIZE, then waits for the process to end. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const ended = new Promise((resolve) => this.child.once('close', resolve));
    this.child.stdin.end('FINALIZE\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await ended;
    clearTimeout(timer);
  }
}

/** OpenNebula's one_datastore.rb or one_tm.rb over an imported root. */
export function oneDriverProcess(t: Test, one: OneRoot, kind: 'datastore' | 'tm'): LineDriver {
  const script = join(one.root, 'lib', 'mads', kind === 'datastore' ? 'one_datastore.rb' : 'one_tm.rb');
  const driver = new LineDriver('ruby', [script], one.env, one.root);
  t.teardown(() => driver.close());
  return driver;
}

/** `ferry mad` over the same root: ferry finds ONE_LOCATION and the rest itself, so none of it is passed. */
export function ferryMad(t: Test, one: OneRoot, kind: 'datastore' | 'tm', env: Record<string, string> = {}): LineDriver {
  const driver = new LineDriver(process.execPath, [FERRY_BIN, '--remotes', one.remotes, 'mad', kind], { ...process.env, ...env }, one.root);
  t.teardown(() => driver.close());
  return driver;
}
