/**
 * Backing chains as the VM page reads them: real qemu-img on real files in a temp folder (a raw base, a qcow2
 * overlay of it, an overlay of that), parsed layer by layer, cached until a file of the chain changes, bounded
 * by a timeout and by the page's deadline; a path not visible from here is never handed to qemu-img.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BackingChains, formatBytes, parseBackingChain } from '../../src/web/backing.js';
import { tmpDir } from '../helpers/fixtures.js';

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });

function chainFolder(t: Test) {
  const dir = tmpDir(t);
  const base = join(dir, 'base.raw');
  const middle = join(dir, 'middle.qcow2');
  const top = join(dir, 'disk.0');
  qemuImg('create', '-q', '-f', 'raw', base, '16M');
  qemuImg('create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, middle);
  qemuImg('create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', middle, top, '64M');
  return { dir, base, middle, top };
}

t.test('parseBackingChain reads qemu-img info --backing-chain --output=json', async (t) => {
  const { base, middle, top } = chainFolder(t);
  const layers = parseBackingChain(qemuImg('info', '--backing-chain', '--output=json', '-U', top));
  t.same(
    layers.map((layer) => [layer.filename, layer.format, layer.virtualSize, layer.backingFilename]),
    [
      [top, 'qcow2', 64 * 1024 * 1024, middle],
      [middle, 'qcow2', 16 * 1024 * 1024, base],
      [base, 'raw', 16 * 1024 * 1024, null],
    ],
    'the disk, then each backing file, with formats and virtual sizes',
  );
  t.ok(layers.every((layer) => typeof layer.actualSize === 'number'), 'the allocated size of each');
  t.same(parseBackingChain(qemuImg('info', '--output=json', base)).map((layer) => layer.format), ['raw'], 'one object (no --backing-chain): one layer');
  t.throws(() => parseBackingChain('not json'), 'not JSON');
  t.throws(() => parseBackingChain('[]'), /no layer/);
  t.throws(() => parseBackingChain('[{"format":"raw"}]'), /no filename/);
});

t.test('a chain is read once, then cached until a file of it changes', async (t) => {
  const { dir, base, top } = chainFolder(t);
  const chains = new BackingChains();
  const first = chains.inspect(top);
  t.equal(first.kind, 'chain');
  t.equal(first.kind === 'chain' && first.layers.length, 3);
  t.equal(chains.runs, 1);
  t.same(chains.inspect(top), first, 'the same answer');
  t.equal(chains.runs, 1, 'from the cache: qemu-img not run again');

  const later = new Date(Date.now() + 5000);
  utimesSync(top, later, later);
  chains.inspect(top);
  t.equal(chains.runs, 2, 'the disk changed (its mtime): read again');
  chains.inspect(top);
  t.equal(chains.runs, 2);
  utimesSync(base, later, later);
  chains.inspect(top);
  t.equal(chains.runs, 3, 'its base changed: read again');

  t.same(chains.inspect(join(dir, 'gone')), { kind: 'invisible' }, 'a file not here is not visible');
  t.same(chains.inspect('disk.0'), { kind: 'invisible' }, 'nor a relative path (never given to qemu-img)');
  t.same(chains.inspect(dir), { kind: 'invisible' }, 'nor a folder');
  t.equal(chains.runs, 3, 'qemu-img not run for them');
});

t.test('the deadline, the cache bound, errors and the timeout', async (t) => {
  const { dir, base, middle, top } = chainFolder(t);
  const chains = new BackingChains({ maxEntries: 2 });
  t.same(chains.inspect(top, { deadline: Date.now() - 1 }), { kind: 'skipped' }, 'past the deadline: not run');
  t.equal(chains.runs, 0);
  chains.inspect(top);
  t.equal(chains.inspect(top, { deadline: Date.now() - 1 }).kind, 'chain', 'a cached answer is given past the deadline');
  chains.inspect(middle);
  chains.inspect(base);
  t.equal(chains.runs, 3);
  chains.inspect(top);
  t.equal(chains.runs, 4, 'two entries kept: the least recently used was dropped');

  const broken = join(dir, 'broken.qcow2');
  writeFileSync(broken, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(60, 0xff)]));
  const error = chains.inspect(broken);
  t.equal(error.kind, 'error');
  t.match(error.kind === 'error' && error.error, /^qemu-img failed: .+/, "qemu-img's own message");
  const runs = chains.runs;
  chains.inspect(broken);
  t.equal(chains.runs, runs, 'a failure is cached too');

  const slow = join(dir, 'slow-qemu-img');
  writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(slow, 0o755);
  const started = Date.now();
  t.same(new BackingChains({ qemuImg: slow, timeoutMs: 300 }).inspect(top), { kind: 'error', error: 'qemu-img did not answer within 300 ms' });
  t.ok(Date.now() - started < 5000, 'stopped at its timeout');
  t.same(new BackingChains({ qemuImg: join(dir, 'no-such-qemu-img') }).inspect(top), { kind: 'error', error: 'qemu-img is not installed on this machine' });
  const garbage = join(dir, 'garbage-qemu-img');
  writeFileSync(garbage, '#!/bin/sh\necho "{\\"filename\\": 3}"\n');
  chmodSync(garbage, 0o755);
  t.match(new BackingChains({ qemuImg: garbage }).inspect(top), { kind: 'error', error: /not a backing chain/ });
});

t.test('formatBytes', async (t) => {
  t.equal(formatBytes(null), '-');
  t.equal(formatBytes(0), '0 B');
  t.equal(formatBytes(200704), '196 KiB');
  t.equal(formatBytes(33554432), '32 MiB');
  t.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GiB');
});
