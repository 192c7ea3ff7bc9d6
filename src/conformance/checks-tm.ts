/**
 * TM driver checks, in the order they run: the image workflow (clone, ln,
 * mv, mvds, cpds, delete) with images the paired datastore driver
 * registers, the system-datastore actions (mkimage, mkswap, context,
 * monitor) when the manifest claims them, snapshots, refusals, concurrency,
 * stdout and timeouts. Hosts are local unless --datastore names others; a
 * check reads what landed on a host through the host's view (a local path,
 * or ssh).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MonitorResult } from '../contract/parsers.js';
import { datastoreDump } from '../dump/from-catalog.js';
import { checkFigures, expectBytes, mustRefuse, stdoutCheck, timeoutsCheck, tolerate } from './checks-common.js';
import { describe, type CheckContext } from './check-context.js';
import type { Registered } from './context.js';
import type { HostView } from './hosts.js';
import { MiB, writePatterned } from './tools.js';
import type { Check } from './types.js';

const SIZE = 4;
const VOLATILE = 6;

/** An image the paired datastore driver registers, once per key. */
function tmImage(t: CheckContext, key: string): Promise<Registered> {
  const s = t.suite;
  return t.setup(`registering the test image with datastore ${s.setup.dsDriver} cp`, () => s.once(`tm.image:${key}`, async () => s.register(await s.testImage(key, SIZE))));
}

const where = (host: string, path: string): string => `${host}:${path}`;

/** The ids a TM action ends with: the VM and the system datastore (0: the first, 1: the second). */
const ids = (t: CheckContext, vm: number, which: 0 | 1 = 0): string[] => [String(vm), String(t.suite.setup.system.id + which)];

/** disk.N of a new VM's folder on the first host. */
function newDisk(t: CheckContext, n = 0): { hostA: string; vm: number; disk: string } {
  const s = t.suite;
  const [hostA] = s.setup.hostNames;
  const vm = s.vm();
  return { hostA, vm, disk: `${s.folder(hostA, 0, vm)}/disk.${n}` };
}

/** Clones (or, with `action` ln, links) `reg` to disk.0 of a new VM folder on the first host; returns the VM and the disk path. */
async function deploy(t: CheckContext, reg: Registered, what: string, action: 'clone' | 'ln' = 'clone'): Promise<{ hostA: string; vm: number; disk: string }> {
  const s = t.suite;
  const placed = newDisk(t);
  await t.action(what, () => s.tmRun(action, [where(s.setup.frontend, reg.source), where(placed.hostA, placed.disk), ...ids(t, placed.vm)]));
  return placed;
}

/** Fails unless `what` left a file at host:path; returns the host's view. */
async function made(t: CheckContext, host: string, path: string, what: string): Promise<HostView> {
  const view = t.suite.host(host);
  t.expect(await view.exists(path), `${what} succeeded but ${where(host, path)} does not exist`);
  return view;
}

/** The set-up most TM checks share: the test image cloned to disk.0 of a new VM on the first host (needs tm.clone). */
async function deployed(t: CheckContext): Promise<{ s: CheckContext['suite']; hostA: string; hostB: string; reg: Registered; vm: number; disk: string }> {
  t.need('tm.clone');
  const s = t.suite;
  const [hostA, hostB] = s.setup.hostNames;
  const reg = await tmImage(t, 'image');
  const { vm, disk } = await deploy(t, reg, 'clone (set-up)');
  return { s, hostA, hostB, reg, vm, disk };
}

/** Fails unless the disk at host:path shows the guest bytes of the raw file `expected`. */
async function holds(t: CheckContext, host: string, path: string, expected: string, what: string): Promise<void> {
  const view = t.suite.host(host);
  t.expect(await view.exists(path), `${what}: ${where(host, path)} does not exist`);
  await expectBytes(t, await view.localCopy(path), expected, `${what}: ${where(host, path)} does not show the image's bytes`);
}

async function gone(t: CheckContext, host: string, path: string, what: string): Promise<void> {
  t.expect(!(await t.suite.host(host).exists(path)), `${what} ${where(host, path)} is still there`);
}

/** The image's bytes as a local file, for sources on this machine; undefined otherwise (then the check says so). */
async function localImage(t: CheckContext, source: string, what: string): Promise<string | undefined> {
  const local = await t.suite.localSource(source);
  if (!local) t.note(`${what}: source ${source} is not a file on this machine, so its bytes are not checked`);
  return local;
}

export const TM_CHECKS: Check[] = [
  {
    id: 'tm.clone',
    kind: 'tm',
    title: 'clone fe:SOURCE host:.../disk.0 puts the image\'s bytes in the VM folder on the host',
    async run(t) {
      const s = t.suite;
      const reg = await tmImage(t, 'image');
      const { disk } = await deploy(t, reg, 'clone');
      await holds(t, s.setup.hostNames[0], disk, reg.image.raw, 'clone');
      t.note(`cloned ${reg.source} to ${where(s.setup.hostNames[0], disk)}`);
    },
  },
  {
    id: 'tm.ln',
    kind: 'tm',
    title: 'ln fe:SOURCE host:.../disk.0 (a persistent image) makes the image\'s bytes available on the host',
    async run(t) {
      const reg = await tmImage(t, 'persistent');
      const { hostA, disk } = await deploy(t, reg, 'ln', 'ln');
      await holds(t, hostA, disk, reg.image.raw, 'ln');
    },
  },
  {
    id: 'tm.mv.disk',
    kind: 'tm',
    title: 'mv of a disk from host A to host B (another system datastore path) moves its bytes and leaves nothing behind',
    async run(t) {
      const { s, hostA, hostB, reg, vm, disk } = await deployed(t);
      const target = `${s.folder(hostB, 1, vm)}/disk.0`;
      await t.action('mv', () => s.tmRun('mv', [where(hostA, disk), where(hostB, target), ...ids(t, vm, 1)]));
      await holds(t, hostB, target, reg.image.raw, 'mv');
      await gone(t, hostA, disk, 'after mv, the source disk');
    },
  },
  {
    id: 'tm.mv.folder',
    kind: 'tm',
    title: 'mv of a VM folder from host A to host B (another system datastore path) moves the folder with its disks',
    async run(t) {
      const { s, hostA, hostB, reg, vm } = await deployed(t);
      const from = s.folder(hostA, 0, vm);
      const to = s.folder(hostB, 1, vm);
      await t.action('mv of the VM folder', () => s.tmRun('mv', [where(hostA, from), where(hostB, to), ...ids(t, vm, 1)]));
      await holds(t, hostB, `${to}/disk.0`, reg.image.raw, 'mv of the folder');
      await gone(t, hostA, from, 'after mv, the source VM folder');
    },
  },
  {
    id: 'tm.mvds',
    kind: 'tm',
    title: 'mvds of a persistent disk written on the host puts the written bytes back in SOURCE and removes the disk',
    async run(t) {
      t.need('tm.ln');
      const s = t.suite;
      const reg = await tmImage(t, 'writable');
      const { hostA, vm, disk } = await deploy(t, reg, 'ln (set-up)', 'ln');
      // What the VM wrote: the first MiB, in the disk's guest view.
      await t.setup(`writing into ${where(hostA, disk)}`, () => s.host(hostA).writePattern(disk, 0, MiB, 0x5a));
      const expectedFile = await writePatterned(join(s.setup.scratch, `mvds-expected-${vm}.raw`), await readFile(reg.image.raw), 0x5a);
      await t.action('mvds', () => s.tmRun('mvds', [where(hostA, disk), where(s.setup.frontend, reg.source), String(vm), String(s.ds.id)]));
      const local = await localImage(t, reg.source, 'mvds');
      if (local) await expectBytes(t, local, expectedFile, `after mvds, ${reg.source} does not hold what was written on the host`);
      await gone(t, hostA, disk, 'after mvds, the disk');
    },
  },
  {
    id: 'tm.cpds',
    kind: 'tm',
    title: 'cpds of a deployed disk (snap_id -1) saves its bytes as a new SOURCE and leaves the disk',
    async run(t) {
      const { s, hostA, reg, vm, disk } = await deployed(t);
      const saved = s.newSourcePath('saveas');
      await t.action('cpds', () => s.tmRun('cpds', [where(hostA, disk), where(s.setup.frontend, saved), '-1', String(vm), String(s.ds.id)]));
      const local = await localImage(t, saved, 'cpds');
      if (local === undefined) return t.fail(`cpds succeeded but ${saved} is not there`);
      await expectBytes(t, local, reg.image.raw, `${saved} does not hold the disk's bytes`);
      t.expect(await s.host(hostA).exists(disk), `cpds removed the disk ${where(hostA, disk)}; a saveas must leave it`);
    },
  },
  {
    id: 'tm.delete',
    kind: 'tm',
    title: 'delete of a disk, then of its VM folder, removes them',
    async run(t) {
      const { s, hostA, vm, disk } = await deployed(t);
      const folder = s.folder(hostA, 0, vm);
      await t.action('delete of the disk', () => s.tmRun('delete', [where(hostA, disk), ...ids(t, vm)]));
      await gone(t, hostA, disk, 'after delete, the disk');
      await t.action('delete of the VM folder', () => s.tmRun('delete', [where(hostA, folder), ...ids(t, vm)]));
      await gone(t, hostA, folder, 'after delete, the VM folder');
      s.put('tm.deleted', { vm, disk, folder });
    },
  },
  {
    id: 'tm.delete.again',
    kind: 'tm',
    title: 'delete of the same disk and folder again succeeds (delete is idempotent)',
    async run(t) {
      t.need('tm.delete');
      const s = t.suite;
      const [hostA] = s.setup.hostNames;
      const { vm, disk, folder } = s.get<{ vm: number; disk: string; folder: string }>('tm.deleted');
      await t.action('delete of a disk already deleted', () => s.tmRun('delete', [where(hostA, disk), ...ids(t, vm)]));
      await t.action('delete of a VM folder already deleted', () => s.tmRun('delete', [where(hostA, folder), ...ids(t, vm)]));
    },
  },
  {
    id: 'tm.mkimage',
    kind: 'tm',
    needs: ['system_datastore'],
    title: `mkimage ${VOLATILE} raw makes a ${VOLATILE} MB raw volatile disk on the host`,
    async run(t) {
      const s = t.suite;
      const { hostA, vm, disk } = newDisk(t, 1);
      await t.action('mkimage', () => s.tmRun('mkimage', [String(VOLATILE), 'raw', where(hostA, disk), ...ids(t, vm)]));
      const view = await made(t, hostA, disk, 'mkimage');
      const info = await view.info(disk);
      t.expect(info.format === 'raw', `mkimage raw made a ${info.format} disk`);
      t.expect(info.virtualSize === VOLATILE * MiB, `mkimage ${VOLATILE} made a disk of ${info.virtualSize} bytes, not ${VOLATILE} MiB`);
    },
  },
  {
    id: 'tm.mkswap',
    kind: 'tm',
    needs: ['system_datastore'],
    title: `mkswap ${VOLATILE} makes a ${VOLATILE} MB swap disk (with a swap signature) on the host`,
    async run(t) {
      const s = t.suite;
      const { hostA, vm, disk } = newDisk(t, 2);
      await t.action('mkswap', () => s.tmRun('mkswap', [String(VOLATILE), where(hostA, disk), ...ids(t, vm)]));
      const view = await made(t, hostA, disk, 'mkswap');
      const bytes = await readFile(await view.localCopy(disk));
      t.expect(bytes.length === VOLATILE * MiB, `mkswap ${VOLATILE} made ${bytes.length} bytes, not ${VOLATILE} MiB`);
      // mkswap writes SWAPSPACE2 in the last 10 bytes of the first page (4, 16 or 64 KiB pages).
      const signed = [4096, 16384, 65536].some((page) => bytes.subarray(page - 10, page).toString('latin1') === 'SWAPSPACE2');
      t.expect(signed, `${where(hostA, disk)} has no swap signature (SWAPSPACE2): it is not a swap disk`);
    },
  },
  {
    id: 'tm.context',
    kind: 'tm',
    needs: ['context', 'system_datastore'],
    title: 'context file path:\'name\' makes an ISO 9660 image labelled CONTEXT holding both files',
    async run(t) {
      const s = t.suite;
      const tokens = [`ferry-conformance-${s.setup.runId}-context-one`, `ferry-conformance-${s.setup.runId}-context-two`];
      const first = join(s.setup.scratch, 'context.sh');
      const second = join(s.setup.scratch, 'context-data.txt');
      await writeFile(first, `#!/bin/sh\necho ${tokens[0]}\n`);
      await writeFile(second, `${tokens[1]}\n`);
      const { hostA, vm, disk } = newDisk(t, 3);
      await t.action('context', () => s.tmRun('context', [first, `${second}:'renamed.txt'`, where(hostA, disk), ...ids(t, vm)]));
      const view = await made(t, hostA, disk, 'context');
      const iso = await readFile(await view.localCopy(disk));
      t.expect(iso.subarray(32769, 32774).toString('latin1') === 'CD001', `${where(hostA, disk)} is not an ISO 9660 image (no CD001 at byte 32769)`);
      const label = iso.subarray(32808, 32840).toString('latin1').trim();
      t.expect(label === 'CONTEXT', `the ISO's volume id is "${label}"; OpenNebula's context packages look for CONTEXT`);
      for (const [i, token] of tokens.entries()) t.expect(iso.includes(token), `the ISO does not hold file ${i === 0 ? first : second}`);
      const named = iso.includes('renamed.txt') || iso.includes(Buffer.from('renamed.txt', 'utf16le').swap16());
      t.expect(named, 'the ISO has no file named renamed.txt (the :\'name\' form names the file in the ISO)');
    },
  },
  {
    id: 'tm.monitor',
    kind: 'tm',
    needs: ['monitor', 'system_datastore'],
    title: 'monitor of the system datastore prints USED_MB, TOTAL_MB and FREE_MB that add up',
    async run(t) {
      const s = t.suite;
      const dump = systemDump(t);
      const result = await t.action('monitor', () => s.tmRun('monitor', [dump.base64, String(s.setup.system.id)]));
      checkFigures(t, result.result as MonitorResult, 'monitor');
    },
  },
  {
    id: 'tm.snapshots',
    kind: 'tm',
    needs: ['snapshots'],
    title: 'snap_create, snap_revert and snap_delete on a qcow2 disk: revert restores the snapshot\'s bytes, delete removes it',
    async run(t) {
      const s = t.suite;
      const { hostA, vm, disk } = newDisk(t, 4);
      const view = s.host(hostA);
      await t.action('mkimage qcow2 (set-up)', () => s.tmRun('mkimage', [String(VOLATILE), 'qcow2', where(hostA, disk), ...ids(t, vm)]));
      await t.setup('writing into the disk', () => view.writePattern(disk, 0, MiB, 0x11));
      const expectedFile = await writePatterned(join(s.setup.scratch, `snap-expected-${vm}.raw`), Buffer.alloc(VOLATILE * MiB), 0x11);
      const before = (await view.info(disk)).snapshots.length;
      await t.action('snap_create 0', () => s.tmRun('snap_create', [where(hostA, disk), '0', ...ids(t, vm)]));
      const made = (await view.info(disk)).snapshots;
      t.expect(made.length === before + 1, `snap_create made no snapshot in the disk (it has ${made.join(' ') || 'none'})`);
      t.note(`snapshots after snap_create 0: ${made.join(' ')}`);
      await t.setup('writing into the disk after the snapshot', () => view.writePattern(disk, 0, MiB, 0x22));
      await t.action('snap_revert 0', () => s.tmRun('snap_revert', [where(hostA, disk), '0', ...ids(t, vm)]));
      await expectBytes(t, await view.localCopy(disk), expectedFile, "after snap_revert 0 the disk does not hold snapshot 0's bytes");
      await t.action('snap_delete 0', () => s.tmRun('snap_delete', [where(hostA, disk), '0', ...ids(t, vm)]));
      const left = (await view.info(disk)).snapshots;
      t.expect(left.length === before, `snap_delete 0 left ${left.join(' ')}`);
    },
  },
  {
    id: 'tm.refuse.missing-source',
    kind: 'tm',
    title: 'clone of a SOURCE that does not exist fails with a message and leaves no disk',
    async run(t) {
      const s = t.suite;
      const { hostA, vm, disk } = newDisk(t);
      const missing = join(s.ds.basePath, `ferry-conformance-${s.setup.runId}-missing`);
      await mustRefuse(t, `clone of ${missing}, which does not exist`, () => s.tmRun('clone', [where(s.setup.frontend, missing), where(hostA, disk), ...ids(t, vm)]));
      await gone(t, hostA, disk, 'the failed clone left a disk behind:');
    },
  },
  {
    id: 'tm.dump.no-base-path',
    kind: 'tm',
    needs: ['monitor', 'system_datastore'],
    title: 'monitor with a dump that has no BASE_PATH fails with a message',
    async run(t) {
      const s = t.suite;
      const xml = systemDump(t).xml.replace(/\s*<BASE_PATH>[\s\S]*?<\/BASE_PATH>|\s*<BASE_PATH\/>/g, '');
      const base64 = Buffer.from(xml, 'utf8').toString('base64');
      await mustRefuse(t, 'monitor with no DATASTORE/BASE_PATH', () => s.tmRun('monitor', [base64, String(s.setup.system.id)]));
    },
  },
  {
    id: 'tm.concurrent',
    kind: 'tm',
    title: 'two clones of different images to different VMs at once both succeed with the right bytes',
    async run(t) {
      t.need('tm.clone');
      const s = t.suite;
      const [hostA] = s.setup.hostNames;
      const regs = [await tmImage(t, 'image'), await tmImage(t, 'second')];
      const disks = regs.map(() => newDisk(t));
      const outcomes = await Promise.allSettled(
        regs.map((reg, i) => s.tmRun('clone', [where(s.setup.frontend, reg.source), where(hostA, disks[i]?.disk ?? ''), ...ids(t, disks[i]?.vm ?? 0)])),
      );
      const failed = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [`clone ${i + 1}: ${describe(outcome.reason)}`] : []));
      t.expect(failed.length === 0, `with two clones at once: ${failed.join('; ')}`);
      for (const [i, reg] of regs.entries()) await holds(t, hostA, disks[i]?.disk ?? '', reg.image.raw, `clone ${i + 1} of 2`);
    },
  },
  stdoutCheck('tm', async (t) => {
    const s = t.suite;
    const reg = await tmImage(t, 'image');
    const { hostA, vm, disk } = newDisk(t);
    await tolerate(() => s.tmRun('clone', [where(s.setup.frontend, reg.source), where(hostA, disk), ...ids(t, vm)], { noisy: true }));
    await tolerate(() => s.tmRun('delete', [where(hostA, disk), ...ids(t, vm)], { noisy: true }));
  }),
  timeoutsCheck('tm'),
];

/** The dump of the suite's first system datastore, monitored by the TM in play. */
function systemDump(t: CheckContext) {
  const s = t.suite;
  return datastoreDump({
    ...s.ds,
    id: s.setup.system.id,
    name: `${s.ds.name}-system`,
    type: 'SYSTEM',
    dsMad: null,
    tmMad: s.setup.tmDriver ?? '-',
    basePath: s.setup.system.paths[0],
    template: {},
    secrets: {},
  });
}
