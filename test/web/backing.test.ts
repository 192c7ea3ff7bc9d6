/**
 * Backing chains as the VM page reads them: real qemu-img on real files in a temp folder (a raw base, a qcow2
 * overlay of it, an overlay of that), parsed layer by layer, cached until a file of the chain changes, bounded
 * by a timeout and by the page's deadline; a path not visible from here is never handed to qemu-img. qemu-img
 * runs asynchronously: several disks at once, and a `ferry serve` whose VM page waits on a slow qemu-img (a
 * fixture script earlier on PATH that sleeps past the 2 s timeout) still answers other requests at once.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BackingChains, formatBytes, parseBackingChain } from '../../src/web/backing.js';
import { stage, vmYaml } from '../helpers/catalog-world.js';
import { tmpDir, waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe } from '../helpers/serve.js';

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
  const first = await chains.inspect(top);
  t.equal(first.kind, 'chain');
  t.equal(first.kind === 'chain' && first.layers.length, 3);
  t.equal(chains.runs, 1);
  t.same(await chains.inspect(top), first, 'the same answer');
  t.equal(chains.runs, 1, 'from the cache: qemu-img not run again');

  const later = new Date(Date.now() + 5000);
  utimesSync(top, later, later);
  await chains.inspect(top);
  t.equal(chains.runs, 2, 'the disk changed (its mtime): read again');
  await chains.inspect(top);
  t.equal(chains.runs, 2);
  utimesSync(base, later, later);
  await chains.inspect(top);
  t.equal(chains.runs, 3, 'its base changed: read again');

  t.same(await chains.inspect(join(dir, 'gone')), { kind: 'invisible' }, 'a file not here is not visible');
  t.same(await chains.inspect('disk.0'), { kind: 'invisible' }, 'nor a relative path (never given to qemu-img)');
  t.same(await chains.inspect(dir), { kind: 'invisible' }, 'nor a folder');
  t.equal(chains.runs, 3, 'qemu-img not run for them');
});

t.test('the deadline, the cache bound, errors and the timeout', async (t) => {
  const { dir, base, middle, top } = chainFolder(t);
  const chains = new BackingChains({ maxEntries: 2 });
  t.same(await chains.inspect(top, { deadline: Date.now() - 1 }), { kind: 'skipped' }, 'past the deadline: not run');
  t.equal(chains.runs, 0);
  await chains.inspect(top);
  t.equal((await chains.inspect(top, { deadline: Date.now() - 1 })).kind, 'chain', 'a cached answer is given past the deadline');
  await chains.inspect(middle);
  await chains.inspect(base);
  t.equal(chains.runs, 3);
  await chains.inspect(top);
  t.equal(chains.runs, 4, 'two entries kept: the least recently used was dropped');

  const broken = join(dir, 'broken.qcow2');
  writeFileSync(broken, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(60, 0xff)]));
  const error = await chains.inspect(broken);
  t.equal(error.kind, 'error');
  t.match(error.kind === 'error' && error.error, /^qemu-img failed: .+/, "qemu-img's own message");
  const runs = chains.runs;
  await chains.inspect(broken);
  t.equal(chains.runs, runs, 'a failure is cached too');

  const slow = join(dir, 'slow-qemu-img');
  writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(slow, 0o755);
  const started = Date.now();
  t.same(await new BackingChains({ qemuImg: slow, timeoutMs: 300 }).inspect(top), { kind: 'error', error: 'qemu-img did not answer within 300 ms' });
  t.ok(Date.now() - started < 5000, 'stopped at its timeout');
  t.same(await new BackingChains({ qemuImg: join(dir, 'no-such-qemu-img') }).inspect(top), { kind: 'error', error: 'qemu-img is not installed on this machine' });
  const garbage = join(dir, 'garbage-qemu-img');
  writeFileSync(garbage, '#!/bin/sh\necho "{\\"filename\\": 3}"\n');
  chmodSync(garbage, 0o755);
  t.match(await new BackingChains({ qemuImg: garbage }).inspect(top), { kind: 'error', error: /not a backing chain/ });
});

/** An executable script at `dir/name`. */
function script(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${text}\n`);
  chmodSync(file, 0o755);
  return file;
}

t.test('disks are read in parallel, a few at a time, one run per disk however many ask, without blocking the event loop', async (t) => {
  const dir = tmpDir(t);
  const disks = [0, 1, 2, 3, 4].map((i) => {
    const file = join(dir, `disk.${i}`);
    writeFileSync(file, '');
    return file;
  });
  // qemu-img's argv is: info --backing-chain --output=json -U PATH.
  // Each run notes its start and end (one append each), so how many ran at once is read from the log, not from a clock.
  const log = join(dir, 'runs.log');
  const slow = script(dir, 'slow-qemu-img', `echo "+" >> '${log}'\nsleep 0.6\necho "-" >> '${log}'\nprintf '[{"filename": "%s", "format": "raw"}]\\n' "$5"`);
  const chains = new BackingChains({ qemuImg: slow, concurrency: 4 });
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 20);
  const answers = await Promise.all([...disks, disks[0]!].map((disk) => chains.inspect(disk)));
  clearInterval(timer);
  let running = 0;
  let most = 0;
  for (const mark of readFileSync(log, 'utf8').trim().split('\n')) most = Math.max(most, (running += mark === '+' ? 1 : -1));
  t.same(answers.map((a) => a.kind === 'chain' && a.layers[0]!.filename), [...disks, disks[0]!], 'each disk its own chain');
  t.equal(chains.runs, 5, 'one run per disk: the disk asked twice at once shares a run');
  t.equal(most, 4, 'four ran at once, never more');
  t.ok(ticks > 5, `the event loop kept turning meanwhile (${ticks} ticks of a 20 ms timer during two rounds of 0.6 s)`);

  // A deadline that passes while a disk waits for its slot: that disk is skipped, not run.
  const waiting = new BackingChains({ qemuImg: slow, concurrency: 1 });
  const late = await Promise.all(disks.slice(0, 2).map((disk) => waiting.inspect(disk, { deadline: Date.now() + 300 })));
  t.same(late.map((a) => a.kind), ['chain', 'skipped'], 'the second waited past the deadline: skipped');
  t.equal(waiting.runs, 1);
});

t.test('ferry serve answers other requests while a VM page waits on a slow qemu-img', async (t) => {
  t.setTimeout(90_000);
  const w = serveWorld(t);
  await stage(t, w, 'qcow2');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const disks = w.catalog().vm(vm.id).disks;
  t.equal(disks.length, 2, 'two disks, both files here');
  // A qemu-img earlier on PATH than the real one that hangs: ferry's 2 s timeout ends it.
  const bin = join(w.root, 'slow-bin');
  mkdirSync(bin);
  const starts = join(w.root, 'qemu-img.starts');
  script(bin, 'qemu-img', `echo "$5" >> '${starts}'\nexec sleep 30`);
  const served = await startServe(t, w, ['--listen', '127.0.0.1:0'], { PATH: `${bin}:${process.env.PATH ?? ''}` });
  const origin = served.url as string;

  let pageDone = 0;
  const vmPage = fetch(`${origin}/vms/${vm.id}`).then(async (response) => {
    pageDone = Date.now();
    return { status: response.status, body: await response.text() };
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const health = await fetch(`${origin}/api/v1/health`);
  t.equal(health.status, 200);
  t.equal(pageDone, 0, '/api/v1/health answered while the VM page was still waiting on qemu-img');
  t.ok(await waitFor(() => existsSync(starts) && readFileSync(starts, 'utf8').trim().split('\n').length === 2, 1500, 20), 'both disks asked at once: two qemu-img running before the first times out (2 s)');
  const overview = await fetch(`${origin}/`);
  t.equal(overview.status, 200, 'another page too');
  t.equal(pageDone, 0);

  const page = await vmPage;
  t.equal(page.status, 200);
  t.equal(page.body.match(/qemu-img did not answer within 2000 ms/g)?.length, 2, 'each disk says qemu-img timed out');
  t.equal(await served.stop(), 0);
});

t.test('formatBytes', async (t) => {
  t.equal(formatBytes(null), '-');
  t.equal(formatBytes(0), '0 B');
  t.equal(formatBytes(200704), '196 KiB');
  t.equal(formatBytes(33554432), '32 MiB');
  t.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GiB');
});
