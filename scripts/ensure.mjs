#!/usr/bin/env node
// Makes a fresh clone runnable: with --system first checks the Debian
// packages (scripts/setup.sh installs them as root; npm ci needs its compiler
// for better-sqlite3), then installs node modules when missing or stale, and
// builds when src/ changed since the last build.
// node:child_process, not execa, on purpose: on a fresh clone this runs before
// node_modules exists (it runs npm ci itself), and one runner for every step
// keeps it simple.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : mtime(path));
  }, mtime(dir));
const run = (file, args) => execFileSync(file, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

if (process.argv.includes('--system')) run('bash', [join(root, 'scripts/setup.sh')]);

const installed = join(root, 'node_modules/.package-lock.json');
if (!existsSync(installed) || mtime(join(root, 'package-lock.json')) > mtime(installed)) {
  console.error('ferry: installing node modules (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const stamp = join(root, 'dist/.built');
const inputs = Math.max(newest(join(root, 'src')), mtime(join(root, 'tsconfig.json')), mtime(join(root, 'package-lock.json')), mtime(join(root, 'scripts/build.mjs')));
if (!existsSync(join(root, 'dist/bin/ferry.js')) || inputs > mtime(stamp)) {
  console.error('ferry: building (scripts/build.mjs)');
  run(process.execPath, [join(root, 'scripts/build.mjs')]);
}
