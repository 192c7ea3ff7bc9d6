/** Transfer files are checked whole before their first line runs (issue 13: "input that cannot work is refused up front"). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Runner } from '../../src/driver/runner.js';
import { parseTransfer, runTransfer } from '../../src/driver/transfer.js';
import { fixturesRemotes, tmpDir } from '../helpers/fixtures.js';

/** A runner over the fixture drivers, recording what the `ok` driver runs. */
function recordingRunner(t: Parameters<Parameters<typeof t.test>[1]>[0]): { runner: Runner; ran: () => string[] } {
  const record = join(tmpDir(t), 'record');
  const runner = new Runner({ remotes: fixturesRemotes, env: { FIXTURE_RECORD: record } });
  const ran = (): string[] => {
    try {
      return readFileSync(record, 'utf8').split('\n').filter((line) => /^[a-z_]+ \d/.test(line)).map((line) => line.split(' ')[0] as string);
    } catch {
      return [];
    }
  };
  return { runner, ran };
}

const GOOD = ['CLONE ok fe:/ds/1/f00d host01:/ds/0/7/disk.0 7 0', 'MKSWAP ok 512 host01:/ds/0/7/disk.1 7 0'];

for (const [what, bad, code] of [
  ['an unknown action', 'FROBNICATE ok host01:/ds/0/7/disk.2 7 0', 'E_ACTION_NOT_FOUND'],
  ['a missing driver', 'DELETE nosuch host01:/ds/0/7 7 0', 'E_DRIVER_NOT_FOUND'],
  ['wrong arguments', 'DELETE ok not-a-host-path 7 0', 'E_BAD_ARGS'],
  ['a name that leaves the remotes folder', 'DELETE ../ok host01:/ds/0/7 7 0', 'E_USAGE'],
] as const) {
  t.test(`line 3 with ${what}: refused naming line 3, and lines 1 and 2 never run`, async (t) => {
    const { runner, ran } = recordingRunner(t);
    const text = [...GOOD, bad].join('\n');
    t.equal(parseTransfer(text).length, 3);
    const error = await runTransfer(runner, text).then(
      () => undefined,
      (caught: unknown) => caught as { code: string; message: string; transferLine: number; completed: unknown[] },
    );
    t.ok(error, 'refused');
    t.match(error, { transferLine: 3, completed: [] });
    t.match(error?.message, /^transfer line 3 \(.*\) cannot run, so no line was run: /);
    t.equal(error?.code, code);
    t.same(ran(), [], 'nothing ran');
  });
}

t.test('a file whose every line can run runs them all, in order', async (t) => {
  const { runner, ran } = recordingRunner(t);
  const outcome = await runTransfer(runner, GOOD.join('\n'));
  t.equal(outcome.results.length, 2);
  t.same(ran(), ['clone', 'mkswap']);
});
