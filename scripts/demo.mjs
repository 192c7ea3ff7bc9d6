#!/usr/bin/env node
// `npm run demo`: the spec's example VM ("An Example VM") on ferry's embedded
// catalog, with real drivers and real files. A temporary ferry home holds the
// catalog; an image datastore (datastore/fs with tm/qcow2) and a system
// datastore live under it; host01 and host02 are this machine. A qcow2 image
// made with qemu-img is registered with `ferry image create`, a persistent
// data image with mkfs, and a VM with one disk of each goes through CREATE,
// STOP, RESUME, MIGRATE host01 -> host02 and SHUTDOWN, each driver action
// printed as it runs. It ends with the datastores' monitor figures.
// Flags: --keep (leave the temporary folder), --tm shared|qcow2 (default qcow2).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ferry = join(root, 'dist/bin/ferry.js');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const tm = args.includes('--tm') ? args[args.indexOf('--tm') + 1] : 'qcow2';
const dir = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
const say = (line = '') => process.stdout.write(`${line}\n`);
const started = performance.now();

/** Runs `ferry ...argv` against the demo's home and config; its step lines go to our stderr as they happen. */
function run(...argv) {
  say(`$ ferry ${argv.join(' ')}`);
  const { stdout: out } = execaSync(process.execPath, [ferry, '--config', join(dir, 'ferry.yaml'), ...argv], {
    cwd: dir,
    env: { FERRY_HOME: join(dir, 'home') },
    stdin: 'ignore',
    stderr: 'inherit',
  });
  if (out.trim() !== '') process.stdout.write(`${out.trimEnd().replace(/^/gm, '  ')}\n`);
}

try {
  mkdirSync(join(dir, 'datastores', '1'), { recursive: true });
  mkdirSync(join(dir, 'datastores', '0'), { recursive: true });
  writeFileSync(join(dir, 'ferry.yaml'), 'frontend: fe\nlog_level: warn\n');
  execaSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'ttylinux.qcow2'), '64M']);
  say(`ferry demo: the spec's example VM, catalog in ${join(dir, 'home')}, tm/${tm}`);
  say();
  run('host', 'create', 'host01', '--local');
  run('host', 'create', 'host02', '--local');
  run('datastore', 'create', 'default', '--ds-mad', 'fs', '--tm-mad', tm, '--base-path', join(dir, 'datastores', '1'));
  run('datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', tm === 'qcow2' ? 'qcow2' : tm, '--base-path', join(dir, 'datastores', '0'));
  run('image', 'create', '--datastore', 'default', '--path', join(dir, 'ttylinux.qcow2'), '--name', 'ttylinux');
  run('image', 'create', '--datastore', 'default', '--size', '16', '--fs', 'ext4', '--name', 'data', '--persistent');
  writeFileSync(join(dir, 'vm.yaml'), 'name: vm01\nhost: host01\nsystem_datastore: system\ndisks:\n  - image: ttylinux   # non-persistent: cloned\n  - image: data       # persistent: linked\n');
  say();
  say('CREATE (dry run first: the plan as transfer-file lines)');
  run('vm', 'create', 'vm.yaml', '--dry-run');
  run('vm', 'create', 'vm.yaml');
  say('STOP');
  run('vm', 'stop', 'vm01');
  say('RESUME');
  run('vm', 'resume', 'vm01');
  say('MIGRATE host01 -> host02');
  run('vm', 'migrate', 'vm01', 'host02');
  say('SHUTDOWN');
  run('vm', 'shutdown', 'vm01');
  say();
  run('image', 'list');
  run('datastore', 'list');
  say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s${keep ? `; kept ${dir}` : ''}`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
