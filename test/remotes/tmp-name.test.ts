/** The one temporary naming: ferry_tmp_name (scripts_common.sh) and the fs driver's temp folders, read back by parseTempName. */
import { spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseTempName } from '../../src/lifecycle/check.js';
import { bundledRemotes } from '../cli/helpers.js';
import { tmpDir } from '../helpers/fixtures.js';

/** Runs a bash script as an action of a copy of datastore/fs (so it sources lib/fs_common.sh as the actions do); its stdout. */
function asFsAction(t: Parameters<typeof tmpDir>[0], body: string, env: Record<string, string> = {}): string {
  const remotes = join(tmpDir(t), 'remotes');
  cpSync(bundledRemotes, remotes, { recursive: true });
  const script = join(remotes, 'datastore', 'fs', 'probe');
  writeFileSync(script, `#!/bin/bash\nset -eu\n. "$(dirname "$0")/lib/fs_common.sh"\n${body}\n`, { mode: 0o755 });
  const run = spawnSync(script, [], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  t.equal(run.status, 0, run.stderr);
  return run.stdout;
}

t.test('ferry_tmp_name: DIR/.NAME.ferry-tmp.PID[.TAG], the pid the writer\'s', async (t) => {
  const out = asFsAction(t, 'echo "$$"; ferry_tmp_name /ds/abc; ferry_tmp_name /ds/abc raw; ferry_tmp_name disk.0').trim().split('\n');
  const [pid, plain, tagged, bare] = out;
  t.equal(plain, `/ds/.abc.ferry-tmp.${pid}`);
  t.equal(tagged, `/ds/.abc.ferry-tmp.${pid}.raw`);
  t.equal(bare, `./.disk.0.ferry-tmp.${pid}`);
  t.same(parseTempName(`.abc.ferry-tmp.${pid}.raw`), { final: 'abc', pid: Number(pid) });
});

t.test('the fs driver writes under it, with the image id in the tag', async (t) => {
  const base = tmpDir(t);
  const out = asFsAction(t, `trap - EXIT\necho "$$"\nfs_start_tmp "${base}/0123abcd"\necho "$FS_TMP"`, { FERRY_IMAGE_ID: '6' }).trim().split('\n');
  const [pid, file] = out as [string, string];
  const folder = file.slice(base.length + 1).split('/')[0] as string;
  t.match(folder, new RegExp(`^\\.0123abcd\\.ferry-tmp\\.${pid}\\.image-6-[A-Za-z0-9]{6}$`));
  t.same(parseTempName(folder), { final: '0123abcd', pid: Number(pid), imageId: 6 });
  const unknown = asFsAction(t, `trap - EXIT\nfs_start_tmp "${base}/ffff"\necho "$FS_TMP"`).trim();
  t.same(parseTempName(unknown.slice(base.length + 1).split('/')[0] as string)?.imageId, undefined, 'no image id: no tag of one');
});

t.test('other names are not of the naming', async (t) => {
  for (const name of ['0123abcd', '.abc.ferry-1.tmp.x', 'abc.ferry-tmp.', 'abc.ferry-tmp.0', 'abc.ferry-tmp.12.a/b', '.ferry-recv.abc']) t.equal(parseTempName(name), undefined, name);
  t.same(parseTempName('abc.ferry-tmp.42'), { final: 'abc', pid: 42 }, 'the TM drivers\' name without the dot');
});
