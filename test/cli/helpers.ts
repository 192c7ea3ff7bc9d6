/**
 * Helpers for the command-line tests: an in-memory Io, `runCli` (main()
 * in-process), `runBin` (the built executable as a real process), and the
 * paths and dumps the tests share (the fixtures' own re-exported from
 * test/helpers/fixtures.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main.js';
import type { Io, OutStream } from '../../src/cli/io.js';
import { catalogLocation } from '../../src/config/catalog-path.js';
import { dumpFor, fixturesRemotes } from '../helpers/fixtures.js';
import { catalogAt, STORE, storeEnv } from '../helpers/test-store.js';

export { dumpFor, fixturesRemotes, specExamplePath, specExampleXml } from '../helpers/fixtures.js';

/** The repository root, found from this file's location. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
/** Real path of fixtures/remotes, as ferry prints it in messages. */
export const fixturesRemotesReal = realpathSync(fixturesRemotes);
export const bundledRemotes = join(repoRoot, 'remotes');
/** The built executable (`npm run build` / scripts/build.mjs). */
export const binPath = join(repoRoot, 'dist', 'bin', 'ferry.js');
export const binMissingMessage = `${binPath} is missing: run npm run build (node scripts/build.mjs) before the tests`;

export function binBuilt(): boolean {
  return existsSync(binPath);
}

/** The spec example as a system datastore (DATASTORE/TYPE 1) whose TM_MAD is `tmMad` (and DS_MAD `dsMad`). */
export function systemDumpXml(tmMad: string, dsMad = 'fs'): string {
  const before = dumpFor(dsMad);
  const xml = before.replace(/<TM_MAD>shared<\/TM_MAD>(\s*)<TYPE>0<\/TYPE>/, `<TM_MAD>${tmMad}</TM_MAD>$1<TYPE>1</TYPE>`);
  if (xml === before) throw new Error('spec-example.xml no longer has DATASTORE TM_MAD followed by TYPE');
  return xml;
}

export function base64Of(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Writes `text` to dir/name and returns the path. */
export function writeFileIn(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** An output stream that keeps what is written. */
export interface MemoryStream extends OutStream {
  text(): string;
}

function memoryStream(isTTY: boolean): MemoryStream {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 100,
    write(chunk: string | Uint8Array): boolean {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
    text: () => chunks.join(''),
  };
}

export interface MemoryIoOptions {
  /** What readStdin() returns; reading stdin without it fails the test. */
  stdin?: string;
  /** ferry's environment (FERRY_REMOTES …); empty by default so the tests' own environment does not leak in. */
  env?: Record<string, string | undefined>;
  /** Default: the repository root. */
  cwd?: string;
  signal?: AbortSignal;
  /** Whether stderr claims to be a terminal (default false). */
  stderrIsTTY?: boolean;
  /** stdout is a terminal (isTTY true). */
  stdoutIsTTY?: boolean;
}

export interface MemoryIo extends Io {
  stdout: MemoryStream;
  stderr: MemoryStream;
  out(): string;
  err(): string;
  /** How many times readStdin() was called. */
  stdinReads(): number;
}

export function memoryIo(options: MemoryIoOptions = {}): MemoryIo {
  const stdout = memoryStream(options.stdoutIsTTY === true);
  const stderr = memoryStream(options.stderrIsTTY === true);
  let reads = 0;
  return {
    stdout,
    stderr,
    readStdin: async () => {
      reads += 1;
      if (options.stdin === undefined) throw new Error('test bug: the command read stdin but the test gave none');
      return options.stdin;
    },
    env: options.env ?? {},
    cwd: options.cwd ?? repoRoot,
    ...(options.signal ? { signal: options.signal } : {}),
    out: () => stdout.text(),
    err: () => stderr.text(),
    stdinReads: () => reads,
  };
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * A run's environment on the tests' store: under FERRY_TEST_STORE=postgres, FERRY_CATALOG names the database
 * standing for the SQLite catalog the run would have used (test-store.ts's catalogAt: one per file, so the runs of
 * one test meet in one catalog) and PGPASSWORD logs in; unless the test names its catalog itself (--catalog,
 * FERRY_CATALOG or `catalog:` in its ferry.yaml).
 */
export function onTestStore<E extends Record<string, string | undefined>>(argv: readonly string[], env: E, cwd: string): E {
  if (STORE !== 'postgres' || env.FERRY_CATALOG || argv.some((arg) => arg === '--catalog' || arg.startsWith('--catalog=')) || configNamesCatalog(argv, cwd)) return env;
  const location = catalogLocation(undefined, env, cwd);
  if (location.kind !== 'sqlite') return env;
  return { ...env, FERRY_CATALOG: catalogAt(location.path), ...storeEnv() };
}

/** Whether the ferry.yaml a run reads (--config, else ./ferry.yaml) names a catalog; a file ferry cannot read is ferry's to report. */
function configNamesCatalog(argv: readonly string[], cwd: string): boolean {
  const at = argv.findIndex((arg) => arg === '--config' || arg.startsWith('--config='));
  const named = at < 0 ? undefined : argv[at]?.startsWith('--config=') ? argv[at]?.slice('--config='.length) : argv[at + 1];
  const file = resolve(cwd, named ?? 'ferry.yaml');
  try {
    const config: unknown = parseYaml(readFileSync(file, 'utf8'));
    return typeof config === 'object' && config !== null && 'catalog' in config;
  } catch {
    return false;
  }
}

/** Runs `main(argv, io)` in-process. */
export async function runCli(argv: readonly string[], options: MemoryIoOptions = {}): Promise<CliResult> {
  const io = memoryIo({ ...options, env: onTestStore(argv, options.env ?? {}, options.cwd ?? repoRoot) });
  const status = await main(argv, io);
  return { status, stdout: io.out(), stderr: io.err() };
}

/** The single JSON object a --json run prints on stdout (fails when stdout is anything else). */
export function jsonOf(stdout: string): Record<string, any> {
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got ${lines.length}: ${JSON.stringify(stdout.slice(0, 500))}`);
  return JSON.parse(lines[0] as string) as Record<string, any>;
}

/** The JSON log lines (pino records) on stderr, and the other lines. */
export function splitLogLines(stderr: string): { records: Array<Record<string, any>>; other: string[] } {
  const records: Array<Record<string, any>> = [];
  const other: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('{')) records.push(JSON.parse(line) as Record<string, any>);
    else other.push(line);
  }
  return { records, other };
}

export interface BinResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BinOptions {
  stdin?: string;
  /** Added to the environment of cleanEnv(). */
  env?: Record<string, string>;
  cwd?: string;
  /** Called once the process runs, e.g. to signal it. */
  onSpawn?: (pid: number) => void;
  /** Kill the process (and fail) after this many ms. Default 10 s. */
  killAfterMs?: number;
}

/**
 * The environment for a real ferry process: the test's own, without tap's
 * loader hooks (NODE_OPTIONS, TAP*, _TAPJS_*), which slow every node start,
 * and without FERRY_REMOTES; plus `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'NODE_OPTIONS' || name === 'FERRY_REMOTES' || /^(TAP|_TAPJS_|TS_NODE_)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs `node dist/bin/ferry.js ...argv` as a real process. */
export function runBin(argv: readonly string[], options: BinOptions = {}): Promise<BinResult> {
  const env = onTestStore(argv, cleanEnv(options.env), options.cwd ?? repoRoot);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...argv], { cwd: options.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferry ${argv.join(' ')} still ran after ${options.killAfterMs ?? 10000} ms`));
    }, options.killAfterMs ?? 10000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

/** Runs a test body with process.env[name] set (drivers get process.env), restoring it afterwards. */
export async function withProcessEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

// `npx tap test/cli/` runs every file of the folder, this one included: then
// check the helpers themselves, so it reports real assertions and not a skip.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const { default: t } = await import('tap');
  t.test('memoryIo keeps what is written, as text', async (t) => {
    const io = memoryIo({ stdin: 'in', env: { A: '1' }, cwd: '/tmp' });
    io.stdout.write('a');
    io.stdout.write(Buffer.from('b'));
    io.stderr.write('c\n');
    t.equal(io.out(), 'ab');
    t.equal(io.err(), 'c\n');
    t.equal(io.stderr.isTTY, false, 'stderr is not a terminal by default');
    t.equal(await io.readStdin(), 'in');
    t.equal(io.stdinReads(), 1);
    t.same(io.env, { A: '1' });
    t.equal(io.cwd, '/tmp');
    t.same(memoryIo().env, {}, 'the environment is empty unless given');
    t.equal(memoryIo().cwd, repoRoot);
    await t.rejects(memoryIo().readStdin(), /gave none/);
  });
  t.test('runCli runs main in-process', async (t) => {
    const { status, stdout, stderr } = await runCli(['--version']);
    t.equal(status, 0);
    t.match(stdout, /^ferry \S+ \(driver API \d+\.\.\d+\)\n$/);
    t.equal(stderr, '');
  });
  t.test('jsonOf takes exactly one JSON line; splitLogLines tells log records from text', async (t) => {
    t.same(jsonOf('{"a":1}\n'), { a: 1 });
    t.throws(() => jsonOf(''), /got 0/);
    t.throws(() => jsonOf('{"a":1}\n{"b":2}\n'), /got 2/);
    t.same(splitLogLines('{"msg":"x"}\nferry: failed\n\n'), { records: [{ msg: 'x' }], other: ['ferry: failed'] });
  });
  t.test('withProcessEnv sets and restores process.env', async (t) => {
    const name = 'FERRY_CLI_HELPERS_PROBE';
    delete process.env[name];
    const seen = await withProcessEnv({ [name]: 'on' }, async () => process.env[name]);
    t.equal(seen, 'on');
    t.equal(process.env[name], undefined);
  });
  t.test('cleanEnv drops tap hooks and FERRY_REMOTES', async (t) => {
    const env = await withProcessEnv({ FERRY_REMOTES: '/x', NODE_OPTIONS: '--no-warnings' }, async () => cleanEnv({ B: '2' }));
    t.equal(env.FERRY_REMOTES, undefined);
    t.equal(env.NODE_OPTIONS, undefined);
    t.equal(env.B, '2');
    t.notOk(Object.keys(env).some((name) => name.startsWith('TAP')));
  });
  t.test('dump helpers', async (t) => {
    t.match(dumpFor('dummy'), '<DS_MAD>dummy</DS_MAD>');
    t.match(dumpFor('dummy'), '<DS_MAD><![CDATA[dummy]]></DS_MAD>');
    t.notMatch(dumpFor('dummy'), '>fs<');
    t.match(systemDumpXml('dummy'), /<TM_MAD>dummy<\/TM_MAD>\s*<TYPE>1<\/TYPE>/);
    t.equal(Buffer.from(base64Of('é'), 'base64').toString('utf8'), 'é');
  });
}
