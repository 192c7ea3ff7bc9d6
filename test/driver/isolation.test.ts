/**
 * One broken driver never stops the others from loading or running: a bad
 * driver.yaml (unknown key, wrong type, an API outside the window) fails
 * the actions of its own driver only, in the runner and in `ferry mad`,
 * before, during and after the good driver's actions.
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Runner } from '../../src/driver/runner.js';
import { FerryError } from '../../src/errors.js';
import { dumpFor, fixturesRoot, tmpDir } from '../helpers/fixtures.js';
import { runCli } from '../cli/helpers.js';

const defects = realpathSync(join(fixturesRoot, 'defects'));
const BROKEN = ['unknownkey', 'wrongtype', 'futureapi'] as const;

/** The spec example for DS_MAD `driver`, its IMAGE/PATH set to `image`. */
function dumpXml(driver: string, image: string): string {
  const xml = dumpFor(driver).replace('<PATH>/tmp/ttylinux.img</PATH>', `<PATH>${image}</PATH>`);
  if (!xml.includes(image)) throw new Error('spec-example.xml changed shape');
  return xml;
}

function anImage(t: Test): string {
  const image = join(tmpDir(t, 'ferry-isolation-'), 'image.raw');
  writeFileSync(image, Buffer.alloc(3 * 1024 * 1024 + 1));
  return image;
}

t.test('runner: bad manifests fail their own driver only, run at the same time as a good one', async (t) => {
  const image = anImage(t);
  const runner = new Runner({ remotes: defects, killGraceSec: 0.3 });
  const stat = (driver: string): Promise<unknown> => runner.run({ kind: 'datastore', action: 'stat', dump: dumpXml(driver, image), id: 7 }).then((result) => result.result);
  t.equal(await stat('good'), 4, 'the good driver runs before');
  const settled = await Promise.allSettled([stat('good'), ...BROKEN.map(stat), stat('good')]);
  t.same(settled[0], { status: 'fulfilled', value: 4 }, 'and while the broken ones fail');
  t.same(settled[settled.length - 1], { status: 'fulfilled', value: 4 });
  BROKEN.forEach((driver, index) => {
    const outcome = settled[index + 1] as PromiseRejectedResult;
    t.equal(outcome.status, 'rejected', `${driver} fails`);
    t.ok(outcome.reason instanceof FerryError && outcome.reason.code === 'E_BAD_MANIFEST', `${driver}: E_BAD_MANIFEST`);
    t.match((outcome.reason as FerryError).message, driver, `${driver}: the error names its own driver`);
  });
  t.equal(await stat('good'), 4, 'and after');
  await t.rejects(stat('unknownkey'), { code: 'E_BAD_MANIFEST' }, 'a broken driver stays refused (no half-loaded state)');
});

t.test('ferry mad: FAILURE for the broken drivers, SUCCESS for the good one, in one session', async (t) => {
  const image = anImage(t);
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  const requests = ['INIT', `STAT 1 ${b64(dumpXml('good', image))}`, ...BROKEN.map((driver, i) => `STAT ${2 + i} ${b64(dumpXml(driver, image))}`), `STAT 9 ${b64(dumpXml('good', image))}`, 'FINALIZE', ''];
  const { status, stdout } = await runCli(['--remotes', defects, 'mad', 'datastore'], { stdin: requests.join('\n') });
  t.equal(status, 0, 'ferry mad itself keeps serving');
  const replies = stdout.split('\n').filter((line) => /^(INIT|STAT) /.test(line));
  t.ok(replies.includes('INIT SUCCESS - -'));
  t.ok(replies.includes('STAT SUCCESS 1 4'), 'good before the broken ones');
  t.ok(replies.includes('STAT SUCCESS 9 4'), 'good after them');
  const failures = replies.filter((line) => line.startsWith('STAT FAILURE'));
  t.equal(failures.length, 3, 'one FAILURE per broken driver');
  t.match(failures.find((line) => line.startsWith('STAT FAILURE 2 ')), /unknown key "timeout"/);
  t.match(failures.find((line) => line.startsWith('STAT FAILURE 3 ')), /requires/);
  t.match(failures.find((line) => line.startsWith('STAT FAILURE 4 ')), /driver API 99/);
});

t.test('drivers list goes through every driver despite the broken ones (validate: test/cli/drivers.test.ts)', async (t) => {
  const list = await runCli(['--json', '--remotes', defects, 'drivers', 'list']);
  t.equal(list.status, 0);
  const names = (JSON.parse(list.stdout) as { drivers: Array<{ name: string }> }).drivers.map((driver) => driver.name);
  for (const driver of ['good', ...BROKEN]) t.ok(names.includes(driver), `${driver} listed`);
});

t.test('runner: a driver whose driver.yaml says the other kind is refused, naming both', async (t) => {
  const runner = new Runner({ remotes: defects });
  await t.rejects(runner.run({ kind: 'datastore', action: 'stat', dump: dumpXml('wrongkind', anImage(t)), id: 7 }), {
    code: 'E_BAD_MANIFEST',
    message: "datastore driver 'wrongkind' says kind: tm in its driver.yaml, but it is in the datastore folder",
  });
  t.equal((await runner.run({ kind: 'datastore', action: 'stat', dump: dumpXml('good', anImage(t)), id: 7 })).result, 4, 'a driver whose kind agrees runs');
});
