// Every shell script ferry ships or tests with is shellcheck-clean, extensionless driver actions included.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
// @ts-expect-error plain ESM helper shared with scripts/lint.mjs, no types
import { shellScripts } from '../../scripts/shell-files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

t.test('shellcheck finds nothing in remotes/, fixtures/, scripts/ and .ci/', async (t) => {
  const files = shellScripts(root) as string[];
  t.ok(files.includes('remotes/datastore/dummy/cp'), 'extensionless driver actions are found');
  t.ok(files.includes('fixtures/remotes/fixture.sh'), 'fixtures are found');
  // The defect fixtures are linted as well: each is wrong in one way only, and never in its shell.
  t.ok(files.includes('fixtures/defects/minids.sh'), 'defect fixtures are found');
  t.ok(files.includes('fixtures/defects/datastore/noexec/cp'), 'a script without its run bit is still a shell script');
  t.notOk(files.includes('fixtures/defects/datastore/noshebang/stat'), 'a script without #! is not recognised as shell');
  const run = spawnSync('shellcheck', ['--external-sources', '--format=gcc', ...files], { cwd: root, encoding: 'utf8' });
  t.notOk(run.error, 'shellcheck must be installed: apt-get install shellcheck (npm test runs scripts/setup.sh, which does as root)');
  t.equal(run.stdout, '', 'no findings');
  t.equal(run.status, 0, 'shellcheck exits 0');
});
