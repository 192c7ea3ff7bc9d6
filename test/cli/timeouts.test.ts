/**
 * Timeouts mean what they say at any length (issue 13: one over about 24.8
 * days used to fire at once, so every action "timed out"), and `none` is the
 * documented spelling of no timeout, on the command line and in ferry.yaml.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Runner } from '../../src/driver/runner.js';
import { dumpFor, fixturesRemotes, tmpDir } from '../helpers/fixtures.js';
import { runCli, specExamplePath, withProcessEnv } from './helpers.js';

const stat = (...flags: string[]): string[] => ['--remotes', fixturesRemotes, ...flags, 'ds', 'stat', specExamplePath, '1', '--driver', 'slow'];

t.test('a driver that takes a moment finishes under a timeout of 31 years, or none', async (t) => {
  await withProcessEnv({ FIXTURE_SLEEP: '0.2' }, async () => {
    for (const timeout of ['1000000000', 'none']) {
      const run = await runCli(stat('--timeout', timeout));
      t.equal(run.status, 0, `--timeout ${timeout}: ${run.stderr}`);
      t.equal(run.stdout.trim(), '40');
    }
    const dir = tmpDir(t);
    for (const value of ['2592000', 'none']) {
      const config = join(dir, `ferry-${value}.yaml`);
      writeFileSync(config, `timeouts:\n  default: ${value}\n  datastore:\n    stat: ${value}\n`);
      const run = await runCli(stat('--config', config));
      t.equal(run.status, 0, `ferry.yaml timeouts ${value}: ${run.stderr}`);
    }
  });
});

t.test('the library takes Infinity as no timeout; zero or NaN are refused', async (t) => {
  const runner = new Runner({ remotes: fixturesRemotes });
  const result = await runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('ok'), id: 1, timeoutSec: Number.POSITIVE_INFINITY });
  t.equal(result.result, 40);
  for (const bad of [0, -1, Number.NaN]) {
    await t.rejects(runner.run({ kind: 'datastore', action: 'stat', dump: dumpFor('ok'), id: 1, timeoutSec: bad }), { code: 'E_USAGE' }, `timeoutSec ${bad}`);
  }
});

t.test('a short timeout still fires, and bad spellings are refused with the fix', async (t) => {
  await withProcessEnv({ FIXTURE_SLEEP: '5' }, async () => {
    const run = await runCli(stat('--timeout', '0.2'));
    t.equal(run.status, 124);
  });
  for (const bad of ['0', 'never', '-5', '1e3']) {
    const run = await runCli(stat('--timeout', bad));
    t.equal(run.status, 2, `--timeout ${bad}`);
    t.match(run.stderr, /--timeout none for no timeout/);
  }
  const dir = tmpDir(t);
  const config = join(dir, 'ferry.yaml');
  writeFileSync(config, 'timeouts:\n  default: never\n');
  const run = await runCli(stat('--config', config));
  t.equal(run.status, 2, 'ferry.yaml: a word other than none');
});
