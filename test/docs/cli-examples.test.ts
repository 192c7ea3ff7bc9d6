/**
 * The command examples of README.md and docs/*.md run, and print what the
 * docs say they print.
 *
 * Convention: a fenced block whose info string is `sh run` (```sh run) is a
 * runnable example. Other blocks (```sh, ```console …) are illustrations and
 * are not run. A runnable block is either
 *  - a transcript: lines starting `$ ` are commands (a command ending in `\`
 *    goes on over the next line), and the lines after a command, up to the
 *    next one, are output it prints: each must appear in the block's stdout,
 *    in order, as a whole line (trailing blanks ignored). `...` inside a line
 *    stands for any text, and a line that is only `...` for lines left out;
 *  - or, with no `$ ` line, a script whose every line is run.
 * The block runs in bash with `set -e -o pipefail` and must exit 0.
 *
 * The blocks of one Markdown file run in order, sharing one scratch folder
 * (their working folder, holding a link `fixtures` to the repository's
 * fixtures) and one FERRY_HOME (so one catalog), as a reader following the
 * page would. `ferry` is the built executable, dist/bin/ferry.js, on PATH:
 * run `node scripts/build.mjs` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import t from 'tap';
import { codeBlocks, markdownFiles, repoRoot, shown, type CodeBlock } from './markdown.js';

const binPath = join(repoRoot, 'dist', 'bin', 'ferry.js');

interface Example {
  block: CodeBlock;
  /** The bash script the block runs. */
  script: string;
  /** Output lines it must print, in order. */
  expected: string[];
}

function isRunnable(block: CodeBlock): boolean {
  return block.info[0] === 'sh' && block.info.includes('run');
}

/** A runnable block as a script and the output lines it shows. */
function exampleOf(block: CodeBlock): Example {
  if (!block.lines.some((line) => line.startsWith('$ '))) return { block, script: block.lines.join('\n'), expected: [] };
  const commands: string[] = [];
  const expected: string[] = [];
  let continued = false;
  for (const line of block.lines) {
    if (continued || line.startsWith('$ ')) {
      commands.push(continued ? line : line.slice(2));
      continued = line.endsWith('\\');
    } else if (line.trim() !== '' && line.trim() !== '...') {
      expected.push(line.trimEnd());
    }
  }
  return { block, script: commands.join('\n'), expected };
}

/** An expected line as a pattern: `...` is any text, the rest literal. */
function patternOf(line: string): RegExp {
  const literal = line.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`);
}

/** The first expected line not found in order in `stdout`, or undefined when all are. */
function missingLine(expected: readonly string[], stdout: string): string | undefined {
  const lines = stdout.split('\n').map((line) => line.trimEnd());
  let at = 0;
  for (const want of expected) {
    const pattern = patternOf(want);
    while (at < lines.length && !pattern.test(lines[at] as string)) at += 1;
    if (at === lines.length) return want;
    at += 1;
  }
  return undefined;
}

/** The environment of the examples: the test's own without tap's hooks, ferry and node first on PATH. */
function exampleEnv(binDir: string, ferryHome: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'NODE_OPTIONS' || name === 'FERRY_REMOTES' || /^(TAP|_TAPJS_|TS_NODE_)/.test(name)) continue;
    env[name] = value;
  }
  env.PATH = [binDir, dirname(process.execPath), env.PATH ?? '/usr/bin:/bin'].join(delimiter);
  env.FERRY_HOME = ferryHome;
  return env;
}

/** A scratch folder as the docs describe it, and the environment to run examples in it. */
function scratch(t: { teardown(fn: () => void): void }): { cwd: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-docs-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cwd = join(dir, 'work');
  const binDir = join(dir, 'bin');
  mkdirSync(cwd);
  mkdirSync(binDir);
  symlinkSync(join(repoRoot, 'fixtures'), join(cwd, 'fixtures'));
  symlinkSync(binPath, join(binDir, 'ferry'));
  return { cwd, env: exampleEnv(binDir, join(dir, 'home')) };
}

function run(example: Example, cwd: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', `set -e -o pipefail\n${example.script}`], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const files = markdownFiles()
  .map((file) => ({ file, examples: codeBlocks(file).filter(isRunnable).map(exampleOf) }))
  .filter(({ examples }) => examples.length > 0);

t.test('the README has runnable examples', async (t) => {
  t.ok(files.some(({ file }) => file === join(repoRoot, 'README.md')), 'README.md has ```sh run blocks');
});

for (const { file, examples } of files) {
  t.test(`the examples of ${shown(file)} run and print what they show`, async (t) => {
    if (!existsSync(binPath)) {
      t.fail(`${binPath} is missing: run npm run build (node scripts/build.mjs) before the tests`);
      return;
    }
    const { cwd, env } = scratch(t);
    for (const example of examples) {
      const where = `${shown(file)}:${example.block.line}`;
      const result = run(example, cwd, env);
      const seen = { stdout: result.stdout, stderr: result.stderr };
      t.equal(result.status, 0, `${where} exits 0`, seen);
      const missing = missingLine(example.expected, result.stdout);
      t.equal(missing, undefined, `${where} prints the output it shows (${example.expected.length} lines)${missing === undefined ? '' : `; not found in order: ${missing}`}`, seen);
    }
  });
}

t.test('transcripts: commands, shown output and wildcards', async (t) => {
  const block: CodeBlock = { file: 'x.md', line: 1, info: ['sh', 'run'], lines: ['$ echo a \\', '  b', 'a b', '...', '$ printf "x 1\\ny\\n"', 'x ...', ''] };
  const example = exampleOf(block);
  t.equal(example.script, 'echo a \\\n  b\nprintf "x 1\\ny\\n"');
  t.same(example.expected, ['a b', 'x ...']);
  t.equal(missingLine(example.expected, 'a b\nnoise\nx 12\n'), undefined, 'in order, with lines between');
  t.equal(missingLine(example.expected, 'x 12\na b\n'), 'x ...', 'out of order fails');
  t.equal(missingLine(['a.b'], 'axb\n'), 'a.b', 'outside `...` every character is literal');
  t.same(exampleOf({ ...block, lines: ['mkdir d', 'ls d'] }), { block: { ...block, lines: ['mkdir d', 'ls d'] }, script: 'mkdir d\nls d', expected: [] });
  t.notOk(isRunnable({ ...block, info: ['sh'] }), '```sh alone is an illustration');
  t.notOk(isRunnable({ ...block, info: ['console', 'run'] }), 'only sh blocks run');
});
