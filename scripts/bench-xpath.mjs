#!/usr/bin/env node
// Times one field lookup of OpenNebula's drivers three ways: OpenNebula's own
// xpath.rb under Ruby, ferry's drop-in (scripts/opennebula/xpath.rb running
// dist/libexec/ferry-xpath), and `ferry xpath`. Each call is fs/cp's: the dump
// as base64 in -b and its thirteen fields.
// Usage: FERRY_OPENNEBULA_SRC=../shared/opennebula node scripts/bench-xpath.mjs [calls]
// Needs `node scripts/build.mjs` first, and Debian's ruby.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const calls = Number(process.argv[2] ?? 30);
const src = resolve(process.env.FERRY_OPENNEBULA_SRC ?? join(root, '..', 'shared', 'opennebula'));
const original = join(src, 'src', 'datastore_mad', 'remotes', 'xpath.rb');
const helper = join(root, 'dist', 'libexec', 'ferry-xpath');
const ferry = join(root, 'dist', 'bin', 'ferry.js');
for (const [path, what] of [[original, 'OpenNebula\'s xpath.rb (set FERRY_OPENNEBULA_SRC to the folder holding src/)'], [helper, 'dist/libexec/ferry-xpath (node scripts/build.mjs)'], [ferry, 'dist/bin/ferry.js (node scripts/build.mjs)']]) {
  if (!existsSync(path)) {
    console.error(`bench-xpath: missing ${what}: ${path}`);
    process.exit(2);
  }
}

// A ONE root as ferry installs it: the drop-in, the original beside it, ferry's load_opennebula_paths.rb.
const one = mkdtempSync(join(tmpdir(), 'ferry-bench-xpath-'));
process.on('exit', () => rmSync(one, { recursive: true, force: true }));
const remotes = join(one, 'var', 'remotes', 'datastore');
mkdirSync(remotes, { recursive: true });
mkdirSync(join(one, 'lib', 'ruby'), { recursive: true });
copyFileSync(join(root, 'scripts', 'opennebula', 'lib', 'ruby', 'load_opennebula_paths.rb'), join(one, 'lib', 'ruby', 'load_opennebula_paths.rb'));
copyFileSync(join(root, 'scripts', 'opennebula', 'xpath.rb'), join(remotes, 'xpath.rb'));
copyFileSync(original, join(remotes, 'xpath-rexml.rb'));
chmodSync(join(remotes, 'xpath.rb'), 0o755);

const dump = `<DS_DRIVER_ACTION_DATA><IMAGE><ID>7</ID><PATH><![CDATA[/var/tmp/image.qcow2]]></PATH><SIZE>1024</SIZE><FORMAT>qcow2</FORMAT>
<TEMPLATE><MD5></MD5></TEMPLATE><TYPE>OS</TYPE></IMAGE><DATASTORE><ID>1</ID><BASE_PATH>/var/lib/one//datastores/1</BASE_PATH><TYPE>0</TYPE>
<TEMPLATE><BRIDGE_LIST></BRIDGE_LIST><RESTRICTED_DIRS>/</RESTRICTED_DIRS><SAFE_DIRS>/var/tmp</SAFE_DIRS><DRIVER>qcow2</DRIVER></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>`;
const fields = ['DATASTORE/BASE_PATH', 'DATASTORE/TEMPLATE/RESTRICTED_DIRS', 'DATASTORE/TEMPLATE/SAFE_DIRS', 'DATASTORE/TEMPLATE/BRIDGE_LIST',
  'DATASTORE/TEMPLATE/STAGING_DIR', 'DATASTORE/TYPE', 'IMAGE/PATH', 'IMAGE/TEMPLATE/MD5', 'IMAGE/TEMPLATE/SHA1', 'DATASTORE/TEMPLATE/NO_DECOMPRESS',
  'DATASTORE/TEMPLATE/LIMIT_TRANSFER_BW', 'DATASTORE/TEMPLATE/CONVERT', 'DATASTORE/TEMPLATE/DRIVER'].map((f) => `/DS_DRIVER_ACTION_DATA/${f}`);
const args = ['-b', Buffer.from(dump).toString('base64'), ...fields];

const { FERRY_XPATH: _x, FERRY_XPATH_RUBY: _r, ONE_LOCATION: _o, RUBYLIB: _l, ...env } = process.env;
const ways = [
  ['OpenNebula xpath.rb (ruby)', 'ruby', ['-I', join(one, 'lib', 'ruby'), original, ...args], env],
  ['ferry drop-in (C)', join(remotes, 'xpath.rb'), args, { ...env, FERRY_XPATH: helper }],
  ['ferry xpath (node)', process.execPath, [ferry, 'xpath', ...args], env],
];

const results = [];
let expected;
for (const [name, file, argv, wayEnv] of ways) {
  const first = spawnSync(file, argv, { env: wayEnv });
  if (first.error) throw first.error;
  // ferry xpath is ferry's own reader (missing values are not an error there), so only the other two must match exactly.
  if (name !== 'ferry xpath (node)') {
    const got = `${first.status}:${first.stdout.toString('latin1')}`;
    expected ??= got;
    if (got !== expected) console.error(`bench-xpath: ${name} differs: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) spawnSync(file, argv, { env: wayEnv });
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / calls;
  results.push([name, ms]);
}
const ruby = results[0][1];
console.log(`xpath lookups (fs/cp's 13 fields, -b dump), ${calls} calls each`);
for (const [name, ms] of results) console.log(`  ${name.padEnd(28)} ${ms.toFixed(2).padStart(8)} ms/call   ${(ruby / ms).toFixed(1).padStart(6)}x faster than Ruby`);
