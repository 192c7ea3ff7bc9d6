#!/usr/bin/env node
// Builds ferry: tsc for the library (dist/, with .d.ts), then one esbuild bundle
// for the `ferry` command (dist/bin/), since loading hundreds of small modules
// dominated start-up time, then ferry-spawn, the fork server scripts start
// from (dist/libexec/; see src/driver/launch/ferry-spawn.c), and ferry-xpath, the fast
// xpath.rb for OpenNebula's drivers (src/compat/ferry-xpath.c).
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execaSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const esbuild = await import('esbuild');
rmSync(join(root, 'dist/bin'), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  // The PostgreSQL catalog's worker thread is a file of its own, found next to the bundle (postgres-executor.ts).
  entryPoints: { ferry: 'src/cli/bin.ts', 'pg-worker': 'src/catalog/db/pg-worker.ts' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // pino is loaded on the first log record only, from node_modules; better-sqlite3 is native; synckit finds its
  // worker preload (register.cjs) next to its own files.
  external: ['pino', 'better-sqlite3', 'synckit'],
  banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
chmodSync(join(root, 'dist/bin/ferry.js'), 0o755);

// The dashboard's own files (no inline style or script: its CSP forbids them), served from dist/assets: the
// stylesheets, and the pages' scripts (typed against the DOM by their own tsconfig) bundled for the browser,
// uPlot from node_modules inside chart.js.
rmSync(join(root, 'dist/assets'), { recursive: true, force: true });
mkdirSync(join(root, 'dist/assets'), { recursive: true });
copyFileSync(join(root, 'src/web/ferry.css'), join(root, 'dist/assets/ferry.css'));
copyFileSync(join(root, 'node_modules/uplot/dist/uPlot.min.css'), join(root, 'dist/assets/uplot.css'));
execaSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'src/web/client/tsconfig.json')], { stdio: 'inherit' });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { chart: 'src/web/client/chart.ts', live: 'src/web/client/live.ts' },
  outdir: 'dist/assets',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// Without a C compiler ferry still works: scripts start with Node's spawn (slower), and OpenNebula's
// drivers' xpath.rb lookups run under Ruby (slower); say so and go on.
mkdirSync(join(root, 'dist/libexec'), { recursive: true });
const helpers = [
  ['ferry-spawn', 'src/driver/launch/ferry-spawn.c', "scripts start with Node's spawn, about 1 ms of CPU slower each"],
  ['ferry-xpath', 'src/compat/ferry-xpath.c', "OpenNebula drivers' xpath.rb lookups run under Ruby, about 60 ms each"],
];
for (const [name, source, without] of helpers) {
  const helper = join(root, 'dist/libexec', name);
  try {
    const cc = process.env.CC ?? 'cc';
    execaSync(cc, ['-O2', '-std=c11', '-Wall', '-Wextra', '-o', `${helper}.tmp`, join(root, source)], { stdio: 'inherit' });
    renameSync(`${helper}.tmp`, helper);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    rmSync(helper, { force: true });
    console.error(`ferry: no C compiler (cc), so dist/libexec/${name} is not built: ${without} (apt-get install gcc)`);
  }
}
writeFileSync(join(root, 'dist/.built'), `${new Date().toISOString()}\n`);
