/**
 * Progress of long copies: bytes counted from files that appear in the
 * watched folder (one level of folders deep, as the fs driver's hidden
 * temporary folder), the line's wording, and quiet when not a terminal.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { formatBytes, GrowthWatcher, progressLine, withProgress } from '../../src/cli/progress.js';
import { tmpDir } from '../helpers/fixtures.js';
import { memoryIo } from './helpers.js';

const MiB = 1024 * 1024;

t.test('GrowthWatcher counts only files that appeared after it started, one folder level deep', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, 'old-image'), Buffer.alloc(3 * MiB));
  const watcher = new GrowthWatcher(dir);
  t.equal(watcher.bytes(), 0, 'files already there do not count');
  mkdirSync(join(dir, '.new.ferry-1.tmp.abc'));
  writeFileSync(join(dir, '.new.ferry-1.tmp.abc', 'image'), Buffer.alloc(MiB));
  t.equal(watcher.bytes(), MiB, 'a file in a new temporary folder counts');
  appendFileSync(join(dir, '.new.ferry-1.tmp.abc', 'image'), Buffer.alloc(MiB));
  t.equal(watcher.bytes(), 2 * MiB, 'and grows as it is written');
  mkdirSync(join(dir, '.deep', 'er'), { recursive: true });
  writeFileSync(join(dir, '.deep', 'er', 'x'), Buffer.alloc(MiB));
  t.equal(watcher.bytes(), 2 * MiB, 'two levels down does not');
  t.equal(new GrowthWatcher(join(dir, 'missing')).bytes(), 0, 'a missing folder is 0, not an error');
});

t.test('progress lines', async (t) => {
  t.equal(formatBytes(512 * 1024), '512 KiB');
  t.equal(formatBytes(12.5 * MiB), '12.5 MiB');
  t.equal(formatBytes(3 * 1024 * MiB), '3.00 GiB');
  t.equal(progressLine('image a: copying', 0, null, 0, 3.2), 'image a: copying … 3 s', 'nothing landed yet: elapsed time');
  t.equal(progressLine('image a: copying', 256 * MiB, 1024 * MiB, 64 * MiB, 4), 'image a: copying … 256.0 MiB of 1.00 GiB (25%) at 64.0 MiB/s, 4 s');
  t.equal(progressLine('x', 2 * MiB, null, MiB, 2), 'x … 2.0 MiB at 1.0 MiB/s, 2 s', 'no total: no percentage');
});

t.test('withProgress reports on a terminal while work runs, clears its line, and is quiet otherwise', async (t) => {
  const dir = tmpDir(t);
  let runs = 0;
  // A new target each run, first written after withProgress has started watching.
  const copy = async (): Promise<string> => {
    const target = join(dir, `target-${runs++}`);
    await sleep(10);
    for (let i = 0; i < 6; i++) {
      appendFileSync(target, Buffer.alloc(MiB));
      await sleep(250);
    }
    return 'done';
  };
  const tty = memoryIo({ stderrIsTTY: true });
  t.equal(await withProgress(tty, 'image a: copying', copy(), { dir, totalMb: 8 }, 100), 'done', 'the work\'s value comes back');
  const shown = tty.err();
  t.match(shown, /image a: copying … \d+\.\d MiB of 8\.0 MiB \(\d+%\) at [\d.]+ [KM]iB\/s, \d+ s/, 'bytes, total, percentage, rate and the seconds so far');
  t.ok(shown.endsWith('\r\x1b[2K'), 'the line is cleared at the end');
  t.equal(tty.out(), '', 'nothing on stdout');

  const pipe = memoryIo();
  t.equal(await withProgress(pipe, 'quiet', copy(), { dir, totalMb: 8 }, 100), 'done');
  t.equal(pipe.err(), '', 'not a terminal: quiet');

  const failing = memoryIo({ stderrIsTTY: true });
  await t.rejects(withProgress(failing, 'x', Promise.reject(new Error('boom')), undefined, 100), /boom/, 'a failure passes through');
});
