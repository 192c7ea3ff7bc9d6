/**
 * `ferry ds mkfs` with a driver whose mkfs prints only the source, as
 * OpenNebula's current one does: the size is the dump's IMAGE/SIZE, in the
 * human output and in --json; without a SIZE it is refused, saying so.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { writeMkfsSourceDriver } from '../helpers/mkfs-source-driver.js';
import { jsonOf, runCli, writeFileIn } from './helpers.js';

/** A remotes folder with datastore/onemkfs, its BASE_PATH, and a dump of image 7 (with `size`, when given). */
function setup(t: Parameters<typeof tmpDir>[0], size?: number) {
  const dir = tmpDir(t);
  const remotes = join(dir, 'remotes');
  writeMkfsSourceDriver(remotes);
  const base = join(dir, 'one');
  mkdirSync(base);
  const dump = writeFileIn(
    dir,
    'mkfs.xml',
    `<DS_DRIVER_ACTION_DATA><IMAGE><ID>7</ID><NAME>blank</NAME>${size !== undefined ? `<SIZE>${size}</SIZE>` : ''}<FORMAT>raw</FORMAT></IMAGE>` +
      `<DATASTORE><ID>100</ID><NAME>one</NAME><DS_MAD>onemkfs</DS_MAD><TM_MAD>dummy</TM_MAD><BASE_PATH>${base}</BASE_PATH><TYPE>0</TYPE></DATASTORE></DS_DRIVER_ACTION_DATA>\n`,
  );
  return { remotes, base, dump };
}

t.test('the source alone: the size is the dump\'s IMAGE/SIZE, printed and in --json', async (t) => {
  const { remotes, base, dump } = setup(t, 16);
  const human = await runCli(['--remotes', remotes, 'ds', 'mkfs', dump, '7']);
  t.equal(human.status, 0, human.stderr);
  t.match(human.stdout, new RegExp(`^source  ${base}/img-7-\\d+\\nsizeMb  16\\n$`));
  const json = await runCli(['--remotes', remotes, '--json', 'ds', 'mkfs', dump, '7']);
  t.equal(json.status, 0, json.stderr);
  const out = jsonOf(json.stdout);
  t.match(out, { ok: true, action: 'mkfs', result: { source: new RegExp(`^${base}/img-7-`), sizeMb: 16 } });
  t.match(out.stdout, /^\/\S+\n$/, 'the driver printed only the source');
  t.ok(existsSync(out.result.source as string));
});

t.test('the source alone and no IMAGE/SIZE: refused, saying so and naming what mkfs made', async (t) => {
  const { remotes, dump } = setup(t);
  const run = await runCli(['--remotes', remotes, 'ds', 'mkfs', dump, '7']);
  t.equal(run.status, 1);
  t.equal(run.stdout, '');
  t.match(run.stderr, /got only the source "\/\S+img-7-\d+", and the dump has no IMAGE\/SIZE to take the size from/);
  const json = await runCli(['--remotes', remotes, '--json', 'ds', 'mkfs', dump, '7']);
  t.equal(json.status, 1);
  t.match(jsonOf(json.stdout), { ok: false, error: { code: 'E_MALFORMED_OUTPUT', hint: /IMAGE\/SIZE.*what it made \(\/\S+\) is left as it is/ } });
});

