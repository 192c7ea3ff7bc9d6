#!/usr/bin/env node
// `npm run lint`: TypeScript type check, shellcheck on every shell script
// (extensionless driver actions included), and the C of ferry-spawn and ferry-xpath with every
// warning the build leaves out. Exit 1 on any finding.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';
import { shellScripts } from './shell-files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Runs a checker with its output on ours; true when it found nothing. `install` says how to get a missing one. */
function passes(file, args, install, options = {}) {
  const result = execaSync(file, args, { stdio: 'inherit', reject: false, ...options });
  if (result.exitCode === undefined) console.error(result.code === 'ENOENT' ? `lint: ${file} is not installed; ${install}` : `lint: ${result.shortMessage}`);
  return result.exitCode === 0;
}
const files = shellScripts(root);
const cc = process.env.CC ?? 'cc';
// Every checker runs, whatever an earlier one found.
const passed = [
  passes(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'], 'npm ci'),
  passes('shellcheck', ['--external-sources', ...files], 'install it with: apt-get install shellcheck (scripts/setup.sh does, as root)', { cwd: root }),
  // Stricter than the build (which must not fail on a newer compiler's new warning): conversions and shadowing too.
  ...['src/driver/launch/ferry-spawn.c', 'src/compat/ferry-xpath.c'].map((file) =>
    passes(cc, ['-fsyntax-only', '-std=c11', '-Wall', '-Wextra', '-Wpedantic', '-Wshadow', '-Wconversion', '-Wsign-conversion', '-Werror', join(root, file)], 'install it with: apt-get install gcc (scripts/setup.sh does, as root)'),
  ),
];
const failed = passed.includes(false);
console.error(`lint: ${files.length} shell scripts, ferry-spawn.c and ferry-xpath.c checked; ${failed ? 'findings above' : 'clean'}`);
process.exitCode = failed ? 1 : 0;
