#!/usr/bin/env node
// `npm run lint`: TypeScript type check and shellcheck on every shell script
// (extensionless driver actions included). Exit 1 on any finding.
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
console.error(`lint: ${files.length} shell scripts checked; ${failed ? 'findings above' : 'clean'}`);
process.exitCode = failed ? 1 : 0;
