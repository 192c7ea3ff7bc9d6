/**
 * Every ```ts / ```typescript block of README.md and docs/*.md compiles
 * under the project's own compiler options (strict, nodenext), with
 * `import ... from 'ferry'` resolving to src/index.ts: what the docs show a
 * library user is what the library accepts.
 *
 * Each block becomes one file in a temporary project whose tsconfig extends
 * the repository's; one tsc run checks them all, and every error is reported
 * at the Markdown file and line it comes from.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { codeBlocks, markdownFiles, repoRoot, shown, type CodeBlock } from './markdown.js';

const TS_LANGUAGES = new Set(['ts', 'typescript']);

function tsBlocks(): CodeBlock[] {
  return markdownFiles().flatMap((file) => codeBlocks(file).filter((block) => TS_LANGUAGES.has(block.info[0] ?? '')));
}

/** A file name per block that says where it comes from: README.md line 12 -> README-L12.ts. */
function fileNameOf(block: CodeBlock): string {
  return `${basename(block.file, '.md')}-L${block.line}.ts`;
}

/** The temporary project: one file per block, a package.json (ESM) and a tsconfig on the repository's options. */
function writeProject(dir: string, blocks: readonly CodeBlock[]): void {
  mkdirSync(join(dir, 'blocks'));
  for (const block of blocks) writeFileSync(join(dir, 'blocks', fileNameOf(block)), `${block.lines.join('\n')}\n`);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const tsconfig = {
    extends: join(repoRoot, 'tsconfig.json'),
    compilerOptions: {
      rootDir: '/',
      noEmit: true,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      typeRoots: [join(repoRoot, 'node_modules', '@types')],
      paths: { ferry: [join(repoRoot, 'src', 'index.ts')] },
    },
    include: ['blocks/*.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
}

/** tsc's output, one line per error; empty when everything compiles. tap's loader hooks stay out of tsc's node. */
function typecheck(dir: string): string[] {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS_|TS_NODE_)/.test(name)));
  try {
    execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, env, encoding: 'utf8', stdio: 'pipe' });
    return [];
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    const output = `${stdout ?? ''}${stderr ?? ''}`.trim() || String(error);
    return output.split('\n');
  }
}

/** A tsc error line with the block's file and line turned into the Markdown file and line; undefined for other lines. */
function located(line: string, blocks: readonly CodeBlock[]): { block: CodeBlock; text: string } | undefined {
  const match = /^(?:.*\/)?blocks\/([^/(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
  const block = match === null ? undefined : blocks.find((candidate) => fileNameOf(candidate) === match[1]);
  if (match === null || block === undefined) return undefined;
  return { block, text: `${shown(block.file)}:${block.line + Number(match[2])}:${match[3]}: ${match[4]}` };
}

// A block that must not compile, checked in the same tsc run: it proves the
// run checks types at all and that errors come back at their Markdown line.
const PROBE = codeBlocks(join(repoRoot, 'docs', 'probe.md'), "Text.\n\n```ts\nimport { Runner } from 'ferry';\nconst n: number = new Runner({ remotes: '/x' });\n```\n");

t.test('the TypeScript examples of README.md and docs/ compile under the strict tsconfig', async (t) => {
  const blocks = tsBlocks();
  t.ok(blocks.length > 0, 'the docs show at least one TypeScript example');
  t.ok(
    blocks.some((block) => block.lines.some((line) => /from 'ferry'/.test(line))),
    'at least one imports the library as a user would',
  );
  const dir = mkdtempSync(join(tmpdir(), 'ferry-docs-ts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeProject(dir, [...blocks, ...PROBE]);
  const errors = typecheck(dir).map((line) => ({ line, at: located(line, [...blocks, ...PROBE]) }));
  const probeErrors = errors.filter((error) => error.at !== undefined && PROBE.includes(error.at.block));
  const docErrors = errors.filter((error) => !probeErrors.includes(error));
  t.same(docErrors.map((error) => error.at?.text ?? error.line), [], 'tsc finds no error in the docs (file:line:column: error)');
  t.match(
    probeErrors.map((error) => error.at?.text).join('\n'),
    /^docs\/probe\.md:5:7: error TS2322: Type 'Runner' is not assignable to type 'number'/m,
    'a block that does not compile is reported at its Markdown line',
  );
});
