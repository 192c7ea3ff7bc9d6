#!/usr/bin/env node
// `npm run demo`: runs real actions through ferry against the bundled dummy
// drivers (remotes/datastore/dummy, remotes/tm/dummy) and prints what happened:
// datastore actions through the library, the spec's example VM lifecycle as
// transfer files, how the `ferry` command reports a refusal, and real data
// through the reference drivers (datastore/fs, tm/qcow2, tm/shared).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Runner, buildDump, runTransfer } = await import(join(root, 'dist/index.js'));
const ferry = join(root, 'dist/bin/ferry.js');
const runner = new Runner({ remotes: join(root, 'remotes') });
const ms = (result) => `${Math.round(result.durationMs)} ms`;
const say = (line = '') => process.stdout.write(`${line}\n`);

say(`ferry demo: remotes ${join(root, 'remotes')}`);
say();
say('1. Datastore actions on image 0 "ttylinux" in datastore 1 (DS_MAD dummy), through the library:');
const dump = buildDump({
  IMAGE: { ID: 0, NAME: 'ttylinux', PATH: '/tmp/ttylinux.img', SIZE: 40, PERSISTENT: 0, TEMPLATE: { DEV_PREFIX: 'hd' } },
  DATASTORE: { ID: 1, NAME: 'default', DS_MAD: 'dummy', TM_MAD: 'dummy', TYPE: 0, BASE_PATH: '/var/lib/one/datastores/1', TEMPLATE: { TYPE: 'IMAGE_DS' } },
});
const cp = await runner.run({ kind: 'datastore', action: 'cp', dump, id: 0 });
say(`   cp       -> source ${cp.result.source}, ${cp.result.sizeMb} MB  (${ms(cp)})`);
const stat = await runner.run({ kind: 'datastore', action: 'stat', dump, id: 0 });
say(`   stat     -> ${stat.result} MB  (${ms(stat)})`);
const clone = await runner.run({ kind: 'datastore', action: 'clone', dump, id: 0 });
say(`   clone    -> new source ${clone.result}  (${ms(clone)})`);
const monitor = await runner.run({ kind: 'datastore', action: 'monitor', dump, id: 1 });
say(`   monitor  -> used ${monitor.result.usedMb} MB, total ${monitor.result.totalMb} MB, free ${monitor.result.freeMb} MB  (${ms(monitor)})`);
const system = buildDump({ DATASTORE: { ID: 0, NAME: 'system', DS_MAD: 'dummy', TM_MAD: 'dummy', TYPE: 1 } });
const sysMonitor = await runner.run({ kind: 'datastore', action: 'monitor', dump: system, id: 0 });
say(`   monitor of system datastore 0 ran ${sysMonitor.kind}/${sysMonitor.driver}/${sysMonitor.script}: free ${sysMonitor.result.freeMb} MB`);

say();
say('2. The spec\'s example VM 7 (disk.0 non-persistent, disk.1 persistent) as transfer files on TM dummy:');
const ds = '/var/lib/one/datastores/0/7';
const source = cp.result.source;
const events = {
  CREATE: [`CLONE dummy fe:${source} host01:${ds}/disk.0 7 0`, `LN dummy fe:${source} host01:${ds}/disk.1 7 0`],
  STOP: [`MV dummy host01:${ds}/disk.0 fe:${ds}/disk.0 7 0`, `MV dummy host01:${ds}/disk.1 fe:${ds}/disk.1 7 0`, `MV dummy host01:${ds} fe:${ds} 7 0`],
  RESUME: [`MV dummy fe:${ds}/disk.0 host01:${ds}/disk.0 7 0`, `MV dummy fe:${ds}/disk.1 host01:${ds}/disk.1 7 0`, `MV dummy fe:${ds} host01:${ds} 7 0`],
  'MIGRATE host01 -> host02': [`MV dummy host01:${ds}/disk.0 host02:${ds}/disk.0 7 0`, `MV dummy host01:${ds}/disk.1 host02:${ds}/disk.1 7 0`, `MV dummy host01:${ds} host02:${ds} 7 0`],
  SHUTDOWN: [`DELETE dummy host02:${ds}/disk.0 7 0`, `MVDS dummy host02:${ds}/disk.1 ${source} 7 1`, `DELETE dummy host02:${ds} 7 0`],
};
for (const [event, lines] of Object.entries(events)) {
  const { results } = await runTransfer(runner, lines.join('\n'));
  const total = results.reduce((sum, r) => sum + r.durationMs, 0);
  say(`   ${event.padEnd(26)} ${results.map((r) => r.action).join(', ')}: ${results.length} actions ok (${Math.round(total)} ms)`);
}

say();
say('3. The ferry command, as an operator runs it:');
const work = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
try {
  const xmlFile = join(work, 'image.xml');
  writeFileSync(xmlFile, dump.xml);
  const show = (args) => {
    const run = spawnSync(process.execPath, [ferry, ...args], { encoding: 'utf8' });
    say(`   $ ferry ${args.map((a) => (a === xmlFile ? 'image.xml' : a)).join(' ')}`);
    for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n').filter(Boolean)) say(`     ${line}`);
    say(`     (exit status ${run.status})`);
  };
  show(['ds', 'cp', xmlFile, '0']);
  show(['tm', 'mkimage', 'dummy', '1024', 'qcow2', 'host01:/var/lib/one/datastores/0/7/disk.2', '7', '0']);
  show(['tm', 'clone', 'dummy', 'fe:/ds/1/f00d', 'host01/no-colon', '7', '0']);
  show(['ds', 'stat', xmlFile, '0', '--driver', 'nosuchdriver']);
  const b64 = execFileSync(process.execPath, [ferry, 'dump', 'encode', xmlFile], { encoding: 'utf8' }).trim();
  const values = execFileSync(process.execPath, [ferry, 'xpath', '-b', b64, '/DS_DRIVER_ACTION_DATA/IMAGE/NAME', '/DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH'], { encoding: 'utf8' });
  say(`   $ ferry xpath -b <dump> /DS_DRIVER_ACTION_DATA/IMAGE/NAME /DS_DRIVER_ACTION_DATA/DATASTORE/BASE_PATH`);
  say(`     ${JSON.stringify(values.split('\0').slice(0, -1))}  (NUL-separated)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

say();
say('4. Real data: a 256 MiB sparse image through datastore/fs, tm/qcow2 and tm/shared (local hosts):');
const lab = mkdtempSync(join(tmpdir(), 'ferry-demo-real-'));
try {
  const real = new Runner({ remotes: join(root, 'remotes'), env: { FERRY_LOCAL_HOSTS: 'fe host01 host02' } });
  const image = join(lab, 'ttylinux.img');
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', '256M', image]);
  execFileSync('sh', ['-c', 'printf "ferry demo disk" | dd of="$1" bs=1M seek=17 conv=notrunc status=none', 'sh', image]);
  const imagesDs = join(lab, 'datastores', '1');
  const systemDs = join(lab, 'datastores', '0');
  execFileSync('mkdir', ['-p', imagesDs, systemDs]);
  const imagesDatastore = { ID: 1, NAME: 'images', DS_MAD: 'fs', TM_MAD: 'qcow2', BASE_PATH: imagesDs };
  const realDump = buildDump({ IMAGE: { ID: 0, NAME: 'ttylinux', PATH: image, FORMAT: 'raw' }, DATASTORE: imagesDatastore });
  const copied = await real.run({ kind: 'datastore', action: 'cp', dump: realDump, id: 0 });
  const blocks = (path) => Number(execFileSync('stat', ['-c', '%b', path], { encoding: 'utf8' })) * 512;
  say(`   fs cp       -> ${copied.result.source} (${copied.result.sizeMb} MB, ${(blocks(copied.result.source) / 1024).toFixed(0)} KiB allocated: still sparse) (${ms(copied)})`);
  const disk0 = `host01:${systemDs}/7/disk.0`;
  const cloned = await real.run({ kind: 'tm', action: 'clone', driver: 'qcow2', args: [`fe:${copied.result.source}`, disk0, '7', '0'] });
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', `${systemDs}/7/disk.0`], { encoding: 'utf8' }));
  say(`   qcow2 clone -> disk.0 is a ${info.format} overlay on ${info['backing-filename']} (${ms(cloned)})`);
  await real.run({ kind: 'tm', action: 'mkimage', driver: 'shared', args: ['64', 'qcow2', `host01:${systemDs}/7/disk.2`, '7', '0'] });
  say('   shared mkimage -> disk.2, a 64 MB qcow2 volatile disk');
  await real.run({ kind: 'tm', action: 'delete', driver: 'shared', args: [`host01:${systemDs}/7`, '7', '0'] });
  await real.run({ kind: 'datastore', action: 'rm', dump: buildDump({ IMAGE: { ID: 0, SOURCE: copied.result.source }, DATASTORE: imagesDatastore }), id: 0 });
  say('   shared delete, fs rm -> the VM folder and the image are gone');
} finally {
  rmSync(lab, { recursive: true, force: true });
}
