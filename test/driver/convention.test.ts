import { chmodSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { conventionOf, looksOpenNebula, type ConventionInputs } from '../../src/driver/convention.js';
import { oneEnv, oneRootOf } from '../../src/driver/one-env.js';
import { Runner } from '../../src/driver/runner.js';
import { readDump } from '../../src/dump/dump.js';
import { FerryError } from '../../src/errors.js';
import { dumpFor, tmpDir } from '../helpers/fixtures.js';

type Tap = Parameters<typeof tmpDir>[0];

/** A script that records its arguments, its stdin (as hex, so a trailing newline shows) and some of its environment. */
const RECORDER = (marker: string): string => `#!/bin/bash
# ${marker}
out="$RECORD_DIR/$(basename "$0")"
printf '%s\\n' "$#" "$@" > "$out.args"
od -An -v -tx1 | tr -d ' \\n' > "$out.stdin"
# (The variable names are spelt in pieces so this recorder carries no OpenNebula marker itself.)
for name in ONE_"LOCATION" BASH_ENV PATH RUBYLIB SSH; do printf '%s=%s\\n' "$name" "$(printenv "$name" || true)"; done > "$out.env"
echo "src/$(basename "$0") 1"
`;

function driverFolder(remotes: string, kind: string, name: string, scripts: Record<string, string>): string {
  const dir = join(remotes, kind, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(scripts)) {
    writeFileSync(join(dir, file), text);
    chmodSync(join(dir, file), 0o755);
  }
  return dir;
}

function readRecord(dir: string, script: string): { args: string[]; stdinHex: string; env: Record<string, string> } {
  const lines = readFileSync(join(dir, `${script}.args`), 'utf8').split('\n').slice(0, -1);
  const env = Object.fromEntries(
    readFileSync(join(dir, `${script}.env`), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { args: lines.slice(1), stdinHex: readFileSync(join(dir, `${script}.stdin`), 'utf8'), env };
}

const hex = (text: string): string => Buffer.from(text).toString('hex');

t.test('conventionOf: driver.yaml, then ferry.yaml, then an OpenNebula root, then the script', async (t) => {
  const base: ConventionInputs = { kind: 'datastore', driver: 'fs', manifest: {}, choices: undefined, inOneRoot: false, scriptLooksOpenNebula: () => false };
  t.equal(conventionOf(base), 'ferry');
  t.equal(conventionOf({ ...base, scriptLooksOpenNebula: () => true }), 'opennebula');
  t.equal(conventionOf({ ...base, inOneRoot: true }), 'opennebula');
  t.equal(conventionOf({ ...base, inOneRoot: true, choices: { datastore: { fs: 'ferry' } } }), 'ferry', "the operator's word beats the layout");
  t.equal(conventionOf({ ...base, choices: { datastore: { fs: 'opennebula' } } }), 'opennebula');
  t.equal(conventionOf({ ...base, choices: { tm: { fs: 'opennebula' } } }), 'ferry', 'a choice is per kind');
  t.equal(conventionOf({ ...base, manifest: { convention: 'ferry' }, choices: { datastore: { fs: 'opennebula' } }, inOneRoot: true }), 'ferry', "the author's word beats everything");
  t.equal(conventionOf({ ...base, manifest: { convention: 'opennebula' } }), 'opennebula');
  t.equal(conventionOf({ ...base, manifest: { dump: 'stdin' }, scriptLooksOpenNebula: () => true }), 'ferry', 'a driver.yaml dump: setting is a ferry driver');
});

t.test('looksOpenNebula reads the markers of OpenNebula scripts only', async (t) => {
  const dir = tmpDir(t);
  const cases: [string, boolean][] = [
    ['if [ -z "${ONE_LOCATION}" ]; then LIB_LOCATION=/usr/lib/one; fi', true],
    ['DRV_ACTION=`cat -`\nID=$1', true],
    ['DRV_ACTION=$(cat)', true],
    ['DRV_ACTION=$1\nID=$2', false],
    ['# a ferry driver\n. "$(dirname "$0")/../../scripts_common.sh"', false],
  ];
  for (const [index, [body, expected]] of cases.entries()) {
    const file = join(dir, `s${index}`);
    writeFileSync(file, `#!/bin/bash\n${body}\n`);
    t.equal(looksOpenNebula(file), expected, body);
  }
  t.equal(looksOpenNebula(join(dir, 'missing')), false, 'an unreadable script is not guessed at');
});

t.test('datastore actions: OpenNebula drivers get <id> and the dump on stdin as it came; ferry drivers <dump> <id>', async (t) => {
  const root = tmpDir(t);
  const remotes = join(root, 'remotes');
  const record = join(root, 'record');
  mkdirSync(record);
  driverFolder(remotes, 'datastore', 'onestyle', { stat: RECORDER('DRV_ACTION=`cat -`; ID=$1 (as OpenNebula scripts read them)') });
  driverFolder(remotes, 'datastore', 'ferrystyle', { stat: RECORDER('a ferry driver') });
  driverFolder(remotes, 'datastore', 'chosen', { stat: RECORDER('copied in, told by ferry.yaml') });
  const runner = new Runner({ remotes, env: { RECORD_DIR: record }, conventions: { datastore: { chosen: 'opennebula' } } });
  for (const driver of ['onestyle', 'ferrystyle', 'chosen']) {
    const dump = readDump(dumpFor(driver));
    await runner.run({ kind: 'datastore', action: 'stat', dump, id: 42, driver, parse: false });
    const seen = readRecord(record, 'stat');
    if (driver === 'ferrystyle') {
      t.same(seen.args, [dump.base64, '42'], `${driver}: the dump and the id`);
      t.equal(seen.stdinHex, hex(`${dump.base64}\n`), `${driver}: the dump and a newline on stdin`);
      t.equal(seen.env.BASH_ENV, process.env.BASH_ENV ?? '', `${driver}: no load guard`);
    } else {
      t.same(seen.args, ['42'], `${driver}: only the id, as one_datastore.rb runs it`);
      t.equal(seen.stdinHex, hex(dump.base64), `${driver}: exactly the base64 dump on stdin, no newline added`);
      t.match(seen.env.BASH_ENV, /scripts\/opennebula\/load-guard\.sh$/, `${driver}: the load guard`);
      t.equal(seen.env.ONE_LOCATION, process.env.ONE_LOCATION ?? '', `${driver}: outside an OpenNebula root ONE_LOCATION is left alone`);
    }
  }
});

t.test('an OpenNebula install root: ONE_LOCATION, bin/ first on PATH, lib/ruby, ssh with ferry hosts', async (t) => {
  const root = realpathSync(tmpDir(t));
  mkdirSync(join(root, 'lib', 'sh'), { recursive: true });
  mkdirSync(join(root, 'lib', 'ruby'), { recursive: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'lib', 'sh', 'scripts_common.sh'), '# OpenNebula helpers\n');
  const remotes = join(root, 'var', 'remotes');
  const record = join(root, 'record');
  mkdirSync(record);
  driverFolder(remotes, 'tm', 'plain', { clone: RECORDER('no marker: the layout alone says OpenNebula') });
  t.equal(oneRootOf(remotes), root);
  t.equal(oneRootOf(join(root, 'var')), undefined, 'only a var/remotes folder');
  const runner = new Runner({ remotes, env: { RECORD_DIR: record, FERRY_SSH_CONFIG: '/tmp/ferry-ssh/config' } });
  await runner.run({ kind: 'tm', action: 'clone', driver: 'plain', args: ['fe:/a', 'host:/b/disk.0', '3', '1'] });
  const seen = readRecord(record, 'clone');
  t.same(seen.args, ['fe:/a', 'host:/b/disk.0', '3', '1'], 'tm arguments are the same in both conventions');
  t.equal(seen.stdinHex, '', 'nothing on stdin');
  t.equal(seen.env.ONE_LOCATION, process.env.ONE_LOCATION ?? root);
  t.ok(seen.env.PATH?.startsWith(`${join(root, 'bin')}:`), 'onevm and friends come from the root first');
  t.ok(seen.env.RUBYLIB?.startsWith(join(root, 'lib', 'ruby')), 'load_opennebula_paths is found');
  t.equal(seen.env.SSH, 'ssh -F /tmp/ferry-ssh/config', "ferry's hosts reach OpenNebula's $SSH");
});

t.test("oneEnv: ferry's own environment wins", async (t) => {
  const env = oneEnv('/one', { FERRY_SSH_CONFIG: '/with space/config' }, { ONE_LOCATION: '/mine', SSH: 'my-ssh', BASH_ENV: '/my/env', PATH: '/usr/bin' });
  t.equal(env.ONE_LOCATION, undefined, 'an ONE_LOCATION ferry was started with is kept');
  t.equal(env.SSH, undefined);
  t.equal(env.BASH_ENV, undefined);
  t.equal(oneEnv(undefined, { FERRY_SSH_CONFIG: '/with space/config' }, {}).SSH, undefined, 'a path $SSH would split is left out');
});

t.test('the load guard: a helper that cannot be sourced stops the script, loudly', async (t) => {
  const root = tmpDir(t);
  const remotes = join(root, 'remotes');
  const lib = join(root, 'lib.sh');
  writeFileSync(lib, 'LIB_SAW="$# $*"\nlib_ok() { echo "lib $LIB_SAW"; }\n');
  driverFolder(remotes, 'tm', 'one', {
    // As OpenNebula's shared driver: without its helpers it would run on, print nothing useful and exit 0.
    clone: `#!/bin/bash\n# ONE_LOCATION\n. /nonexistent/tm_common.sh\necho "went on without it"\n`,
    mv: `#!/bin/bash\n# ONE_LOCATION\nsource ${lib}\nlib_ok\nsource ${lib} x y\nlib_ok\n. ${lib}\nlib_ok\n`,
  });
  const runner = new Runner({ remotes });
  const failure = await runner.run({ kind: 'tm', action: 'clone', driver: 'one', args: ['fe:/a', 'h:/b', '1', '0'] }).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(failure instanceof FerryError, 'the run fails');
  const error = failure as FerryError;
  t.equal(error.exitCode, 97);
  t.match(error.message, /could not load \/nonexistent\/tm_common\.sh/);
  t.match(error.message, /ferry drivers import/);
  t.notMatch(error.stdout ?? '', /went on/, 'nothing after the failed source ran');
  const ok = await runner.run({ kind: 'tm', action: 'mv', driver: 'one', args: ['h:/a', 'h:/b', '5', '0'] });
  t.equal(ok.stdout, 'lib 4 h:/a h:/b 5 0\nlib 2 x y\nlib 4 h:/a h:/b 5 0\n', "a sourced file sees the script's arguments, or the ones given to source");
});
