#!/usr/bin/env node
// Builds ferry: tsc for the library (dist/, with .d.ts), then one esbuild bundle
// for the `ferry` command (dist/bin/), since loading hundreds of small modules
// dominated start-up time.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const esbuild = await import('esbuild');
rmSync(join(root, 'dist/bin'), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { ferry: 'src/cli/bin.ts' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // pino and pino-pretty are loaded on the first log record only, from node_modules; better-sqlite3 is native.
  external: ['pino', 'pino-pretty', 'better-sqlite3'],
  banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
chmodSync(join(root, 'dist/bin/ferry.js'), 0o755);
writeFileSync(join(root, 'dist/.built'), `${new Date().toISOString()}\n`);
