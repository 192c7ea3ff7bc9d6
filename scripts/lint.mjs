#!/usr/bin/env node
// `npm run lint`: TypeScript type check, shellcheck on every shell script
// (extensionless driver actions included), and ferry-spawn's C with every
// warning the build leaves out. Exit 1 on any finding.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellScripts } from './shell-files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let failed = false;
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'], { stdio: 'inherit' });
failed ||= tsc.status !== 0;
const files = shellScripts(root);
const check = spawnSync('shellcheck', ['--external-sources', ...files], { cwd: root, stdio: 'inherit' });
if (check.error) {
  console.error('lint: shellcheck is not installed; install it with: apt-get install shellcheck (scripts/setup.sh does, as root)');
  failed = true;
} else failed ||= check.status !== 0;
// Stricter than the build (which must not fail on a newer compiler's new warning): conversions and shadowing too.
const cc = spawnSync(process.env.CC ?? 'cc', ['-fsyntax-only', '-std=c11', '-Wall', '-Wextra', '-Wpedantic', '-Wshadow', '-Wconversion', '-Wsign-conversion', '-Werror', join(root, 'src/driver/launch/ferry-spawn.c')], { stdio: 'inherit' });
if (cc.error) {
  console.error('lint: no C compiler (cc) for src/driver/launch/ferry-spawn.c; install it with: apt-get install gcc (scripts/setup.sh does, as root)');
  failed = true;
} else failed ||= cc.status !== 0;
console.error(`lint: ${files.length} shell scripts and ferry-spawn.c checked; ${failed ? 'findings above' : 'clean'}`);
process.exitCode = failed ? 1 : 0;
