/**
 * Datastore driver checks, in the order they run. Each is data: an id, a
 * title, what it needs, and run(). Later checks build on what ds.cp
 * registered and are skipped (saying why) when it failed.
 *
 * Long because it is a table: one entry per check, each short.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { withDumpSize, type ImageSourceResult, type MonitorResult } from '../contract/parsers.js';
import type { ActionResult } from '../driver/runner.js';
import { checkFigures, expectBytes, mustRefuse, stdoutCheck, timeoutsCheck, tolerate } from './checks-common.js';
import { describe, type CheckContext } from './check-context.js';
import type { Registered, Suite } from './context.js';
import { createSnapshot, imageInfo, MiB, sha256File, writePattern, writePatterned } from './tools.js';
import { SetupFailure, type Check } from './types.js';

/** The size of the generated images, in MB: whole, so "rounded up" and "rounded down" agree. */
const SIZE = 4;
const MKFS_SIZE = 5;

/** The checks on the image ds.cp registered: skipped unless `check` (ds.cp, or one after it) passed. */
function registered(t: CheckContext, check = 'ds.cp'): { s: Suite; reg: Registered } {
  t.need(check);
  const s = t.suite;
  return { s, reg: s.get<Registered>('ds.image') };
}

/** Checks a source's bytes when it is a file on this machine; says so when it is not. */
async function sameBytes(t: CheckContext, source: string, expectedSha: string, what: string): Promise<boolean> {
  const local = await t.suite.localSource(source);
  if (!local) {
    t.note(`${what}: source ${source} is not a file on this machine; its bytes are checked through the TM (ds.tm-clone)`);
    return false;
  }
  const actual = await sha256File(local);
  t.expect(actual === expectedSha, `${what}: ${local} does not hold the image's bytes (sha256 ${actual.slice(0, 12)}…, expected ${expectedSha.slice(0, 12)}…)`);
  return true;
}

/** Drops every <NAME>…</NAME> and <NAME/> from dump XML (both DATASTORE/NAME and TEMPLATE/NAME). */
export function withoutField(xml: string, name: string): string {
  return xml.replace(new RegExp(`\\s*<${name}>[\\s\\S]*?</${name}>|\\s*<${name}/>`, 'g'), '');
}

/** Sets every <NAME> of dump XML to `value` (CDATA kept where it was). */
export function withField(xml: string, name: string, value: string): string {
  return xml.replace(new RegExp(`<${name}>(<!\\[CDATA\\[)?[\\s\\S]*?(\\]\\]>)?</${name}>`, 'g'), (_all, open?: string) => (open ? `<${name}><![CDATA[${value}]]></${name}>` : `<${name}>${value}</${name}>`));
}

const keepMade = (s: Suite, id: number) => (result: ActionResult) => {
  const made = result.result as ImageSourceResult | string | undefined;
  const source = typeof made === 'string' ? made : made?.source;
  if (source) s.adopt(source, id);
};

/** A registered qcow2 image with internal snapshots snap-0 (contents A) and snap-1 (B), now holding a third content; made once. */
interface SnapImage {
  reg: Registered;
  local: string;
  /** Raw files with the guest bytes of snapshots 0 and 1. */
  a: string;
  b: string;
}

function snapImage(t: CheckContext): Promise<SnapImage> {
  const s = t.suite;
  return s.once('ds.snapimage', async () => {
    const img = await s.testImage('snapimage', SIZE, 'qcow2');
    const reg = await s.register(img);
    const local = await s.localSource(reg.source);
    if (!local) {
      throw new SnapSkip(`the suite makes snapshots with qemu-img on the image file (fs-style datastores), and source ${reg.source} is not a file on this machine`);
    }
    // snap-N is the fs convention for OpenNebula snapshot id N (remotes/datastore/fs/README.md).
    const a = await readFile(img.raw);
    await createSnapshot(local, 'snap-0');
    await writePattern(local, 'qcow2', 0, MiB, 0x5a);
    await createSnapshot(local, 'snap-1');
    // The image now differs from both snapshots, so a revert or flatten that does nothing shows.
    await writePattern(local, 'qcow2', MiB, MiB, 0xa5);
    const b = await writePatterned(join(s.setup.scratch, 'snap-1.raw'), a, 0x5a);
    return { reg, local, a: img.raw, b };
  });
}

class SnapSkip extends Error {}

async function snapSetup(t: CheckContext): Promise<SnapImage> {
  try {
    return await snapImage(t);
  } catch (error) {
    if (error instanceof SnapSkip) t.skip(error.message);
    t.skipIfTimedOut(error, 'cp of the qcow2 image for the snapshot checks');
    throw new SetupFailure(`registering a qcow2 image with snapshots snap-0 and snap-1: ${describe(error)}`);
  }
}

const snapDump = (snap: SnapImage, target: number | string) => ({
  image: { id: snap.reg.id, source: snap.reg.source, format: 'qcow2', persistent: true, sizeMb: SIZE },
  extra: { TARGET_SNAPSHOT: target },
});

/** Runs a snapshot action on the snapshot image (set up once) with TARGET_SNAPSHOT `target`; returns the image. */
async function snapAction(t: CheckContext, action: 'snap_revert' | 'snap_delete' | 'snap_flatten', target: number): Promise<SnapImage> {
  const snap = await snapSetup(t);
  await t.action(action, () => t.suite.dsRun(action, snapDump(snap, target)));
  return snap;
}

/** The snapshot tags the image holds now; noted as seen `after` an action when given. */
async function snapshotTags(t: CheckContext, local: string, after?: string): Promise<string[]> {
  const tags = (await imageInfo(local)).snapshots;
  if (after) t.note(`snapshots after ${after}: ${tags.join(' ') || 'none'}`);
  return tags;
}

/** The file of a source on this machine; when there is none, says that only the size printed is checked. */
async function sizedFile(t: CheckContext, source: string): Promise<string | undefined> {
  const local = await t.suite.localSource(source);
  if (!local) t.note(`source ${source} is not a file on this machine: only the size printed is checked`);
  return local;
}

/** mkfs of a new MKFS_SIZE MB image in `format`; its source is kept for the clean-up. */
async function mkfs(t: CheckContext, format: 'raw' | 'qcow2'): Promise<ImageSourceResult> {
  const s = t.suite;
  const id = s.imageId();
  const result = await t.action('mkfs', () => s.dsRun('mkfs', { image: { id, sizeMb: MKFS_SIZE, format } }));
  const printed = result.result as ImageSourceResult;
  s.adopt(printed.source, id);
  // A source-only reply (OpenNebula's mkfs) is sized by the dump, as everywhere else.
  const sized = withDumpSize(printed, MKFS_SIZE);
  return sized.ok ? sized.value : printed;
}

type DsRunOptions = Parameters<Suite['dsRun']>[1];

/** An action on a new image id that must be refused; what it makes if it wrongly succeeds is kept for the clean-up. */
async function refuseNew(t: CheckContext, what: string, action: string, options: (id: number) => DsRunOptions): Promise<void> {
  const s = t.suite;
  const id = s.imageId();
  await mustRefuse(t, what, () => s.dsRun(action, options(id)), keepMade(s, id));
}

export const DATASTORE_CHECKS: Check[] = [
  {
    id: 'ds.cp',
    kind: 'datastore',
    title: `cp registers a generated ${SIZE} MB raw image: prints "<source> <size>" (or OpenNebula's "<source> <format>"), the size is right and the source holds its bytes`,
    async run(t) {
      const s = t.suite;
      const img = await t.setup('generating the test image', () => s.testImage('image', SIZE));
      const reg = await t.action('cp', () => s.register(img));
      t.note(`source ${reg.source}, ${reg.sizeMb ?? '?'} MB`);
      t.expect(reg.source !== img.path, `cp returned the image's own PATH ${img.path} as its source; it must copy the image into the datastore`);
      // OpenNebula's form: the size then comes from stat (ds.stat checks it), as oned and ferry's lifecycle ask it.
      if (reg.sizeMb === undefined && reg.format !== undefined) t.note(`cp printed "<source> ${reg.format}" without a size: the size comes from stat`);
      else t.expect(reg.sizeMb === SIZE, `cp reported ${reg.sizeMb} MB for a ${SIZE} MB image`);
      await sameBytes(t, reg.source, img.sha256, 'cp');
      s.put('ds.image', reg);
    },
  },
  {
    id: 'ds.stat',
    kind: 'datastore',
    title: `stat of the image's PATH prints its size in MB (${SIZE}), as cp did`,
    async run(t) {
      const s = t.suite;
      const img = await t.setup('generating the test image', () => s.testImage('image', SIZE));
      const result = await t.action('stat', () => s.dsRun('stat', { image: { id: s.imageId(), path: img.path } }));
      t.note(`stat printed ${result.result}`);
      t.expect(result.result === SIZE, `stat printed ${result.result} MB for a ${SIZE} MB image`);
    },
  },
  {
    id: 'ds.monitor',
    kind: 'datastore',
    title: 'monitor prints USED_MB, TOTAL_MB and FREE_MB that add up (used + free <= total) and count the registered image',
    async run(t) {
      const s = t.suite;
      const result = await t.action('monitor', () => s.dsRun('monitor'));
      const figures = result.result as MonitorResult;
      checkFigures(t, figures, 'monitor');
      const cp = s.results.find((r) => r.id === 'ds.cp');
      if (cp?.status === 'ok') t.expect(figures.usedMb >= SIZE, `monitor says USED_MB=${figures.usedMb} while the datastore holds the ${SIZE} MB test image`);
    },
  },
  {
    id: 'ds.clone',
    kind: 'datastore',
    title: 'clone of the registered image prints a new source holding the same bytes',
    async run(t) {
      const { s, reg } = registered(t);
      const id = s.imageId();
      // oned puts the source of the image being cloned in the new image's PATH.
      const result = await t.action('clone', () => s.dsRun('clone', { image: { id, path: reg.source, sizeMb: SIZE } }));
      const source = result.result as string;
      s.adopt(source, id);
      t.note(`new source ${source}`);
      t.expect(source !== reg.source, `clone printed the original source ${source}; it must make a new one`);
      await sameBytes(t, source, reg.image.sha256, 'clone');
    },
  },
  {
    id: 'ds.tm-clone',
    kind: 'datastore',
    needsTm: true,
    title: 'the TM can deploy the registered image: tm clone fe:SOURCE host:path puts the image\'s bytes on the host',
    async run(t) {
      const { s, reg } = registered(t);
      const [hostA] = s.setup.hostNames;
      const vm = s.vm();
      const disk = `${s.folder(hostA, 0, vm)}/disk.0`;
      await t.action(`tm ${s.setup.tmDriver} clone`, () => s.tmRun('clone', [`${s.setup.frontend}:${reg.source}`, `${hostA}:${disk}`, String(vm), String(s.setup.system.id)]));
      const host = s.host(hostA);
      t.expect(await host.exists(disk), `tm clone succeeded but ${hostA}:${disk} does not exist`);
      await expectBytes(t, await host.localCopy(disk), reg.image.raw, `${hostA}:${disk} does not show the image's bytes`);
      t.note(`tm ${s.setup.tmDriver} clone put the image on ${hostA}:${disk}`);
    },
  },
  {
    id: 'ds.mkfs',
    kind: 'datastore',
    title: `mkfs of a ${MKFS_SIZE} MB raw image prints "<source> ${MKFS_SIZE}" and makes an image of that size`,
    async run(t) {
      const made = await mkfs(t, 'raw');
      t.note(`source ${made.source}, ${made.sizeMb ?? '?'} MB`);
      t.expect(made.sizeMb === MKFS_SIZE, `mkfs reported ${made.sizeMb} MB for a ${MKFS_SIZE} MB image`);
      const local = await sizedFile(t, made.source);
      if (!local) return;
      const size = (await stat(local)).size;
      t.expect(size === MKFS_SIZE * MiB, `${local} is ${size} bytes, not ${MKFS_SIZE} MiB`);
    },
  },
  {
    id: 'ds.cp.qcow2',
    kind: 'datastore',
    // The vocabulary has no cp-side qcow2 claim: a datastore that makes qcow2 images is taken to hold them.
    needs: ['mkfs_qcow2'],
    title: `cp of a ${SIZE} MB qcow2 image reports its virtual size and keeps it a qcow2 with the same guest bytes`,
    async run(t) {
      const s = t.suite;
      const img = await t.setup('making a qcow2 test image with qemu-img', () => s.testImage('qimage', SIZE, 'qcow2'));
      const reg = await t.action('cp', () => s.register(img));
      t.note(`source ${reg.source}, ${reg.sizeMb ?? '?'} MB`);
      t.expect(reg.sizeMb === SIZE, `cp reported ${reg.sizeMb} MB for a qcow2 image of virtual size ${SIZE} MB`);
      const local = await sizedFile(t, reg.source);
      if (!local) return;
      const info = await imageInfo(local);
      t.expect(info.format === 'qcow2', `${local} is ${info.format}, not the qcow2 image given`);
      await expectBytes(t, local, img.raw, `${local} does not show the image's guest bytes`);
    },
  },
  {
    id: 'ds.mkfs.qcow2',
    kind: 'datastore',
    needs: ['mkfs_qcow2'],
    title: `mkfs with FORMAT qcow2 makes a qcow2 image of virtual size ${MKFS_SIZE} MB`,
    async run(t) {
      const made = await mkfs(t, 'qcow2');
      t.expect(made.sizeMb === MKFS_SIZE, `mkfs reported ${made.sizeMb} MB for a ${MKFS_SIZE} MB qcow2 image`);
      const local = await sizedFile(t, made.source);
      if (!local) return;
      const info = await imageInfo(local);
      t.expect(info.format === 'qcow2', `mkfs with FORMAT qcow2 made a ${info.format} image`);
      t.expect(info.virtualSize === MKFS_SIZE * MiB, `the image's virtual size is ${info.virtualSize} bytes, not ${MKFS_SIZE} MiB`);
    },
  },
  {
    id: 'ds.snap_revert',
    kind: 'datastore',
    needs: ['snapshots'],
    title: 'snap_revert to snapshot 0 (qcow2 tag snap-0) restores its bytes and keeps the snapshots',
    async run(t) {
      const snap = await snapAction(t, 'snap_revert', 0);
      await expectBytes(t, snap.local, snap.a, "after snap_revert to 0 the image does not hold snapshot 0's bytes");
      const tags = await snapshotTags(t, snap.local, 'revert');
      t.expect(tags.includes('snap-0') && tags.includes('snap-1'), `snap_revert removed snapshots: the image has ${tags.join(' ') || 'none'}, expected snap-0 and snap-1`);
    },
  },
  {
    id: 'ds.snap_delete',
    kind: 'datastore',
    needs: ['snapshots'],
    title: 'snap_delete of snapshot 0 removes snap-0 and only it',
    async run(t) {
      const snap = await snapAction(t, 'snap_delete', 0);
      const tags = await snapshotTags(t, snap.local, 'delete');
      t.expect(!tags.includes('snap-0'), 'snap_delete 0 left snapshot snap-0 in the image');
      t.expect(tags.includes('snap-1'), `snap_delete 0 also removed snap-1 (the image has ${tags.join(' ') || 'none'})`);
    },
  },
  {
    id: 'ds.snap_flatten',
    kind: 'datastore',
    needs: ['snapshots'],
    title: 'snap_flatten to snapshot 1 leaves an image with its bytes and no snapshots',
    async run(t) {
      const snap = await snapAction(t, 'snap_flatten', 1);
      await expectBytes(t, snap.local, snap.b, "after snap_flatten to 1 the image does not hold snapshot 1's bytes");
      const tags = await snapshotTags(t, snap.local);
      t.expect(tags.length === 0, `after snap_flatten the image still has snapshots ${tags.join(' ')}`);
    },
  },
  {
    id: 'ds.snap.bad-target',
    kind: 'datastore',
    needs: ['snapshots'],
    title: 'snap_revert without TARGET_SNAPSHOT, or with one that is not a number, fails with a message',
    async run(t) {
      const s = t.suite;
      const snap = await snapSetup(t);
      const { image: img } = snapDump(snap, 0);
      await mustRefuse(t, 'snap_revert with no TARGET_SNAPSHOT', () => s.dsRun('snap_revert', { image: img }));
      await mustRefuse(t, 'snap_revert with TARGET_SNAPSHOT "latest"', () => s.dsRun('snap_revert', { image: img, extra: { TARGET_SNAPSHOT: 'latest' } }));
    },
  },
  {
    id: 'ds.dump.no-path',
    kind: 'datastore',
    title: 'cp of an image without PATH fails with a message (not a crash, not a success)',
    async run(t) {
      await refuseNew(t, 'cp with no IMAGE/PATH', 'cp', (id) => ({ image: { id, sizeMb: SIZE } }));
    },
  },
  {
    id: 'ds.dump.bad-size',
    kind: 'datastore',
    title: 'mkfs with SIZE "ten" fails with a message',
    async run(t) {
      await refuseNew(t, 'mkfs with IMAGE/SIZE "ten"', 'mkfs', (id) => ({ image: { id, format: 'raw' }, edit: (xml) => xml.replace('</FORMAT>', '</FORMAT><SIZE>ten</SIZE>') }));
    },
  },
  {
    id: 'ds.dump.stat-nothing',
    kind: 'datastore',
    title: 'stat of an image with neither PATH nor SOURCE fails with a message',
    async run(t) {
      const s = t.suite;
      await mustRefuse(t, 'stat with no IMAGE/PATH and no IMAGE/SOURCE', () => s.dsRun('stat', { image: { id: s.imageId() } }));
    },
  },
  {
    id: 'ds.dump.clone-nothing',
    kind: 'datastore',
    title: 'clone of an image with neither PATH nor SOURCE fails with a message',
    async run(t) {
      await refuseNew(t, 'clone with no IMAGE/PATH and no IMAGE/SOURCE', 'clone', (id) => ({ image: { id } }));
    },
  },
  {
    id: 'ds.dump.required',
    kind: 'datastore',
    title: 'mkfs without an attribute driver.yaml marks required (config: required: true) fails with a message',
    async run(t) {
      const s = t.suite;
      const required = Object.entries(s.setup.manifest.config ?? {}).filter(([, attr]) => attr.required === true);
      if (required.length === 0) t.skip('driver.yaml declares no required config attributes');
      for (const [name, attr] of required) {
        const options = attr.secret ? { dropSecrets: [name] } : { edit: (xml: string) => withoutField(xml, name) };
        await refuseNew(t, `mkfs with no ${name}${attr.secret ? ' (secret)' : ''}`, 'mkfs', (id) => ({ image: { id, sizeMb: 1, format: 'raw' }, ...options }));
      }
    },
  },
  {
    id: 'ds.dump.malformed',
    kind: 'datastore',
    title: 'mkfs with a config attribute of the wrong type (a relative path, a word for a number) fails with a message',
    async run(t) {
      const s = t.suite;
      const typed = Object.entries(s.setup.manifest.config ?? {}).filter(([, attr]) => !attr.secret && (attr.type === 'path' || attr.type === 'integer' || attr.type === 'number'));
      if (typed.length === 0) t.skip('driver.yaml declares no config attribute of type path, integer or number');
      for (const [name, attr] of typed) {
        const bad = attr.type === 'path' ? 'relative/ferry-conformance' : 'not-a-number';
        const edit = (xml: string) => {
          const cleared = withoutField(xml, name);
          // Put the spoiled value where drivers read it: top-level DATASTORE/NAME for BASE_PATH, the template for the rest.
          return name === 'BASE_PATH' ? cleared.replace('<DATASTORE>', `<DATASTORE>\n        <BASE_PATH>${bad}</BASE_PATH>`) : cleared.replace(/(<DATASTORE>[\s\S]*?<TEMPLATE>)/, `$1\n            <${name}><![CDATA[${bad}]]></${name}>`);
        };
        await refuseNew(t, `mkfs with ${name} "${bad}"`, 'mkfs', (id) => ({ image: { id, sizeMb: 1, format: 'raw' }, edit }));
      }
    },
  },
  {
    id: 'ds.concurrent',
    kind: 'datastore',
    title: 'two cp of different images at once both succeed with distinct sources holding the right bytes, then two rm at once',
    async run(t) {
      t.need('ds.cp');
      const s = t.suite;
      const images = await t.setup('generating two test images', () => Promise.all([s.testImage('one', SIZE), s.testImage('two', SIZE)]));
      const copies = await Promise.allSettled(images.map((img) => s.register(img)));
      const failed = copies.flatMap((outcome, i) => (outcome.status === 'rejected' ? [`cp of image ${i + 1}: ${messageOf(outcome.reason)}`] : []));
      t.expect(failed.length === 0, `with two cp at once: ${failed.join('; ')}`);
      const regs = copies.map((outcome) => (outcome as PromiseFulfilledResult<Registered>).value);
      const [first, second] = regs as [Registered, Registered];
      t.note(`sources ${first.source} and ${second.source}`);
      t.expect(first.source !== second.source, `two cp at once printed the same source ${first.source}`);
      for (const reg of regs) {
        if (reg.sizeMb !== undefined || reg.format === undefined) t.expect(reg.sizeMb === SIZE, `cp of ${reg.image.path} reported ${reg.sizeMb} MB`);
        await sameBytes(t, reg.source, reg.image.sha256, `cp of ${reg.image.path}`);
      }
      const removals = await Promise.allSettled(regs.map((reg) => s.dsRun('rm', { image: { id: reg.id, source: reg.source } })));
      removals.forEach((outcome, i) => outcome.status === 'fulfilled' && s.removed((regs[i] as Registered).source));
      const rmFailed = removals.flatMap((outcome, i) => (outcome.status === 'rejected' ? [`rm of ${(regs[i] as Registered).source}: ${messageOf(outcome.reason)}`] : []));
      t.expect(rmFailed.length === 0, `with two rm at once: ${rmFailed.join('; ')}`);
    },
  },
  stdoutCheck('datastore', async (t) => {
    const s = t.suite;
    const img = await t.setup('generating the test image', () => s.testImage('image', SIZE));
    await tolerate(() => s.dsRun('stat', { image: { id: s.imageId(), path: img.path }, noisy: true }));
    await tolerate(() => s.dsRun('monitor', { noisy: true }));
    let reg: Registered | undefined;
    await tolerate(async () => (reg = await s.register(img, { noisy: true })));
    if (reg) {
      const { id, source } = reg;
      await tolerate(async () => {
        await s.dsRun('rm', { image: { id, source }, noisy: true });
        s.removed(source);
      });
    }
  }),
  {
    id: 'ds.rm',
    kind: 'datastore',
    title: 'rm of the registered image succeeds and the image is gone',
    async run(t) {
      const { s, reg } = registered(t);
      const local = await s.localSource(reg.source);
      await t.action('rm', () => s.dsRun('rm', { image: { id: reg.id, source: reg.source } }));
      s.removed(reg.source);
      if (local) t.expect((await stat(local).catch(() => undefined)) === undefined, `rm succeeded but ${local} is still there`);
    },
  },
  {
    id: 'ds.rm.again',
    kind: 'datastore',
    title: 'rm of the image again succeeds (rm is idempotent: a retried rm must not fail)',
    async run(t) {
      const { s, reg } = registered(t, 'ds.rm');
      await t.action('rm of an image already removed', () => s.dsRun('rm', { image: { id: reg.id, source: reg.source } }));
    },
  },
  timeoutsCheck('datastore'),
];

const messageOf = (reason: unknown): string => describe(reason);
