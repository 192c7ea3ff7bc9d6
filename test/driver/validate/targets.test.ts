/** Naming what to validate: NAME, kind/NAME, a folder path, and clear errors. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { resolveTargets } from '../../../src/driver/validate/index.js';
import { rejection } from '../../helpers/fixtures.js';
import { bundled, defects } from './helpers.js';

t.test('resolveTargets: NAME in both kinds, kind/NAME, a folder path, and clear errors', async (t) => {
  const remotes = async (): Promise<string> => bundled;
  t.same((await resolveTargets(remotes, ['dummy'], '/')).map((x) => x.name), ['datastore/dummy', 'tm/dummy']);
  t.same((await resolveTargets(remotes, ['tm/dummy', 'fs'], '/')).map((x) => x.name), ['tm/dummy', 'datastore/fs']);
  t.same((await resolveTargets(remotes, ['dummy'], '/', 'tm')).map((x) => x.name), ['tm/dummy'], '--kind narrows a NAME');
  t.same((await resolveTargets(remotes, ['fs', 'datastore/fs'], '/')).length, 1, 'the same driver twice is checked once');
  t.same((await resolveTargets(remotes, [], '/')).length, 6, 'none: every driver');
  const byPath = await resolveTargets(remotes, ['datastore/typo'], defects);
  t.match(byPath, [{ name: 'datastore/typo', dir: join(defects, 'datastore', 'typo'), kind: 'datastore', root: defects }], 'not a driver here, but a folder of that path');
  const relative = await resolveTargets(remotes, ['./remotes/tm/ssh'], join(bundled, '..'));
  t.match(relative, [{ name: 'tm/ssh', kind: 'tm', root: bundled }]);
  const unknown = await rejection(resolveTargets(remotes, ['nosuch'], '/'));
  t.equal(unknown.code, 'E_DRIVER_NOT_FOUND');
  t.match(unknown.message, /no driver or folder 'nosuch'/);
  t.match(unknown.hint, /datastore\/dummy, datastore\/fs, tm\/dummy/);
  t.equal((await rejection(resolveTargets(remotes, ['tm/fs'], '/'))).code, 'E_DRIVER_NOT_FOUND', 'fs is no tm driver');
  const noRemotes = async (): Promise<string> => {
    throw new Error('no remotes folder');
  };
  t.match(await resolveTargets(noRemotes, [join(defects, 'datastore', 'good')], '/'), [{ name: 'datastore/good' }], 'a path needs no remotes folder');
  t.ok(readdirSync(defects).includes('datastore'));
});
