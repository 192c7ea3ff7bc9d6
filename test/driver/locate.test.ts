import { chmodSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkName, locate, resolveRemotes } from '../../src/driver/locate.js';
import { fixturesRemotes, rejection, thrown, tmpDir } from '../helpers/fixtures.js';

const remotesReal = realpathSync(fixturesRemotes);
const fixtureScript = join(remotesReal, 'fixture.sh');

/** A remotes folder in a temp dir: datastore/ and tm/, plus a sibling folder outside it. */
function tempRemotes(t: Parameters<typeof tmpDir>[0]): { root: string; remotes: string; outside: string } {
  const root = realpathSync(tmpDir(t));
  const remotes = join(root, 'remotes');
  const outside = join(root, 'remotes-outside');
  mkdirSync(join(remotes, 'datastore'), { recursive: true });
  mkdirSync(join(remotes, 'tm'), { recursive: true });
  mkdirSync(outside);
  return { root, remotes, outside };
}

function script(path: string, body = '#!/bin/sh\necho 1\n', mode = 0o755): void {
  writeFileSync(path, body);
  chmodSync(path, mode);
}

t.test('checkName accepts plain file names', async (t) => {
  for (const name of ['ok', 'fs', 'clone.ssh', 'snap_create_live', 'ceph-2', '_private', '9lives', 'a.b.c', 'x..y']) {
    t.doesNotThrow(() => checkName(name, 'driver'), name);
  }
});

t.test('checkName refuses path tricks and odd names with E_USAGE', async (t) => {
  for (const name of ['', '.', '..', '../ok', '../../fixture.sh', '/etc', 'a/b', 'ok/', '.hidden', '-rf', 'a b', 'a\nb', 'ok\n', 'a\0b', 'a*', '$(id)', 'é']) {
    const error = thrown(() => checkName(name, 'action'));
    t.equal(error.code, 'E_USAGE', JSON.stringify(name));
    t.ok(error.message.startsWith(`action name ${JSON.stringify(name)}`), `message quotes ${JSON.stringify(name)}`);
    t.match(error.hint, /never contain \//);
    t.equal(error.exitStatus, 2);
  }
  t.match(thrown(() => checkName('..', 'driver')).message, /^driver name "\.\."/);
});

t.test('resolveRemotes: real path of a folder', async (t) => {
  t.equal(await resolveRemotes(fixturesRemotes), remotesReal);
  const { root } = tempRemotes(t);
  const link = join(root, 'link-to-fixtures');
  symlinkSync(fixturesRemotes, link);
  t.equal(await resolveRemotes(link), remotesReal, 'a link to the folder resolves to the folder');
  t.equal(await resolveRemotes(`${fixturesRemotes}/`), remotesReal, 'trailing slash');
});

t.test('resolveRemotes: missing folder, a file, a broken link -> E_CONFIG naming it', async (t) => {
  const { root } = tempRemotes(t);
  const missing = join(root, 'nope');
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const broken = join(root, 'broken');
  symlinkSync(join(root, 'gone'), broken);
  for (const path of [missing, file, broken]) {
    const error = await rejection(resolveRemotes(path));
    t.equal(error.code, 'E_CONFIG', path);
    t.ok(error.message.includes(path), 'message names the path');
    t.match(error.hint, /--remotes/);
  }
});

t.test('locate: a datastore action', async (t) => {
  const located = await locate(remotesReal, 'datastore', 'ok', 'stat');
  t.same(located, {
    kind: 'datastore',
    driver: 'ok',
    action: 'stat',
    script: 'stat',
    path: join(remotesReal, 'datastore', 'ok', 'stat'),
    realPath: fixtureScript,
    driverDir: join(remotesReal, 'datastore', 'ok'),
  });
});

t.test('locate: a tm action', async (t) => {
  const located = await locate(remotesReal, 'tm', 'ok', 'mkimage');
  t.equal(located.kind, 'tm');
  t.equal(located.script, 'mkimage');
  t.equal(located.path, join(remotesReal, 'tm', 'ok', 'mkimage'), 'the link is what runs, so $0 is the action');
  t.equal(located.realPath, fixtureScript, 'where the link resolves');
  t.equal(located.driverDir, join(remotesReal, 'tm', 'ok'));
});

t.test('locate: clone.ssh falls back to clone; delete.ssh exists and is used', async (t) => {
  const clone = await locate(remotesReal, 'tm', 'ok', 'clone.ssh');
  t.equal(clone.action, 'clone.ssh');
  t.equal(clone.script, 'clone');
  t.equal(clone.path, join(remotesReal, 'tm', 'ok', 'clone'));
  const del = await locate(remotesReal, 'tm', 'ok', 'delete.ssh');
  t.equal(del.action, 'delete.ssh');
  t.equal(del.script, 'delete.ssh');
  t.equal(del.path, join(remotesReal, 'tm', 'ok', 'delete.ssh'));
  const plain = await locate(remotesReal, 'tm', 'ok', 'delete');
  t.equal(plain.script, 'delete');
});

t.test('locate: a driver-specific action (not in the contract) is found as is', async (t) => {
  const located = await locate(remotesReal, 'datastore', 'ok', 'export');
  t.equal(located.script, 'export');
});

t.test('locate: missing driver -> E_DRIVER_NOT_FOUND naming the path and listing drivers', async (t) => {
  const error = await rejection(locate(remotesReal, 'datastore', 'nosuchdriver', 'stat'));
  t.equal(error.code, 'E_DRIVER_NOT_FOUND');
  t.ok(error.message.includes(join(remotesReal, 'datastore', 'nosuchdriver')), error.message);
  t.match(error.hint, /datastore drivers here: .*\bok\b/);
  t.equal(error.kind, 'datastore');
  t.equal(error.driver, 'nosuchdriver');
  t.equal(error.action, 'stat');
  t.equal(error.exitStatus, 2);
});

t.test('locate: missing driver in an empty kind folder has no list in the hint', async (t) => {
  const { remotes } = tempRemotes(t);
  const error = await rejection(locate(remotes, 'tm', 'x', 'clone'));
  t.equal(error.code, 'E_DRIVER_NOT_FOUND');
  t.notMatch(error.hint, /drivers here/);
});

t.test('locate: a driver that is a file is not a driver', async (t) => {
  const { remotes } = tempRemotes(t);
  writeFileSync(join(remotes, 'datastore', 'afile'), 'x');
  const error = await rejection(locate(remotes, 'datastore', 'afile', 'stat'));
  t.equal(error.code, 'E_DRIVER_NOT_FOUND');
});

t.test('locate: missing action -> E_ACTION_NOT_FOUND listing what the driver has', async (t) => {
  const error = await rejection(locate(remotesReal, 'datastore', 'timeouts', 'resize'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.match(error.message, /datastore driver 'timeouts' has no action 'resize'/);
  t.ok(error.message.includes(join(remotesReal, 'datastore', 'timeouts', 'resize')));
  t.match(error.hint, /it has: .*\bstat\b/);
  t.notMatch(error.hint, /driver\.yaml/, 'driver.yaml is not an action');
  t.equal(error.action, 'resize');
});

t.test('locate: missing dotted action names both candidates', async (t) => {
  const error = await rejection(locate(remotesReal, 'datastore', 'ok', 'resize.ssh'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.ok(error.message.includes(join(remotesReal, 'datastore', 'ok', 'resize.ssh')));
  t.ok(error.message.includes(join(remotesReal, 'datastore', 'ok', 'resize')));
  t.match(error.hint, /script named resize to/);
});

t.test('locate: not executable -> E_NOT_EXECUTABLE with a chmod hint', async (t) => {
  const error = await rejection(locate(remotesReal, 'datastore', 'noexec', 'cp'));
  t.equal(error.code, 'E_NOT_EXECUTABLE');
  t.match(error.hint, /chmod \+x/);
  t.ok(error.hint?.includes(join(remotesReal, 'datastore', 'noexec', 'cp')));
});

t.test('locate: an action linking outside remotes is refused', async (t) => {
  const error = await rejection(locate(remotesReal, 'datastore', 'escape', 'stat'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.match(error.message, /outside the remotes folder/);
});

t.test('locate: a driver folder linking outside remotes is refused, even a sibling with the same prefix', async (t) => {
  const { remotes, outside } = tempRemotes(t);
  script(join(outside, 'stat'));
  symlinkSync(outside, join(remotes, 'datastore', 'sneaky'));
  const error = await rejection(locate(remotes, 'datastore', 'sneaky', 'stat'));
  t.equal(error.code, 'E_DRIVER_NOT_FOUND');
  t.match(error.message, /outside the remotes folder/);
});

t.test('locate: an action linking to a sibling folder with the same prefix is refused', async (t) => {
  const { remotes, outside } = tempRemotes(t);
  script(join(outside, 'stat'));
  mkdirSync(join(remotes, 'datastore', 'd'));
  symlinkSync(join(outside, 'stat'), join(remotes, 'datastore', 'd', 'stat'));
  const error = await rejection(locate(remotes, 'datastore', 'd', 'stat'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.match(error.message, /outside the remotes folder/);
});

t.test('locate: links that stay inside remotes are followed', async (t) => {
  const { remotes } = tempRemotes(t);
  mkdirSync(join(remotes, 'datastore', 'real'));
  script(join(remotes, 'datastore', 'real', 'stat'));
  symlinkSync('real', join(remotes, 'datastore', 'alias'));
  mkdirSync(join(remotes, 'common'));
  script(join(remotes, 'common', 'shared.sh'));
  symlinkSync('../../common/shared.sh', join(remotes, 'datastore', 'real', 'cp'));
  const viaAlias = await locate(remotes, 'datastore', 'alias', 'stat');
  t.equal(viaAlias.driverDir, join(remotes, 'datastore', 'real'));
  t.equal(viaAlias.driver, 'alias');
  t.equal(viaAlias.path, join(remotes, 'datastore', 'real', 'stat'));
  const shared = await locate(remotes, 'datastore', 'real', 'cp');
  t.equal(shared.path, join(remotes, 'datastore', 'real', 'cp'));
  t.equal(shared.realPath, join(remotes, 'common', 'shared.sh'));
});

t.test('locate: a broken action link', async (t) => {
  const { remotes } = tempRemotes(t);
  mkdirSync(join(remotes, 'tm', 'd'));
  symlinkSync('gone.sh', join(remotes, 'tm', 'd', 'delete'));
  const error = await rejection(locate(remotes, 'tm', 'd', 'delete'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.match(error.message, /broken link/);
});

t.test('locate: an action that is a folder', async (t) => {
  const { remotes } = tempRemotes(t);
  mkdirSync(join(remotes, 'tm', 'd', 'delete'), { recursive: true });
  const error = await rejection(locate(remotes, 'tm', 'd', 'delete'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
  t.match(error.message, /not a file/);
});

t.test('locate: clone.ssh present but broken does not silently fall back', async (t) => {
  const { remotes } = tempRemotes(t);
  mkdirSync(join(remotes, 'tm', 'd'));
  script(join(remotes, 'tm', 'd', 'clone'));
  symlinkSync('gone', join(remotes, 'tm', 'd', 'clone.ssh'));
  const error = await rejection(locate(remotes, 'tm', 'd', 'clone.ssh'));
  t.equal(error.code, 'E_ACTION_NOT_FOUND');
});

t.test('locate: bad driver and action names -> E_USAGE before touching the disk', async (t) => {
  for (const [driver, action] of [
    ['../ok', 'stat'],
    ['/etc', 'stat'],
    ['..', 'stat'],
    ['.', 'stat'],
    ['ok', '../../fixture.sh'],
    ['ok', '..'],
    ['ok', 'a/b'],
  ] as const) {
    const error = await rejection(locate(remotesReal, 'datastore', driver, action));
    t.equal(error.code, 'E_USAGE', `${driver} ${action}`);
  }
});
