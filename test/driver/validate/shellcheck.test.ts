/** shellcheck: one run for every driver, its JSON read back as findings at file and line; missing, off or failing is a finding. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { validateDriver, validateRemotes } from '../../../src/driver/validate/index.js';
import { runShellcheck } from '../../../src/driver/validate/shellcheck.js';
import { tmpDir } from '../../helpers/fixtures.js';
import { SH, defects, noLint, only, put, remotesWith } from './helpers.js';

t.test('defect fixtures are linted by shellcheck (they are shellcheck-clean: no shellcheck findings)', async (t) => {
  const report = await validateRemotes(defects, ['good', 'nosize', 'noexec']);
  for (const driver of report.drivers) t.same(only(driver, 'shellcheck'), [], `${driver.name}: no shellcheck findings`);
  t.same(report.drivers.flatMap((driver) => only(driver, 'shellcheck-missing')), [], 'shellcheck ran');
});

t.test('shellcheck findings map to file and line; its absence is a note saying how to install it', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'rm'), SH('unused=1\nrm -f $1'), 0o755);
  put(join(dir, 'lib', 'helpers.sh'), '#!/bin/sh\nhelper() {\n  echo `date`\n}\n', 0o644);
  const report = await validateDriver(dir);
  const lint = only(report, 'shellcheck').map((f) => `${f.file.slice(dir.length + 1)}:${f.line} ${f.rule} ${f.severity}`);
  t.ok(lint.includes('rm:3 SC2034 warning'), 'unused variable: a warning at rm:3');
  t.ok(lint.includes('rm:4 SC2086 info'), 'unquoted $1: shellcheck calls it info');
  t.ok(lint.includes('lib/helpers.sh:3 SC2006 info'), 'lib/ shell files are linted too');
  t.match(only(report, 'shellcheck').find((f) => f.rule === 'SC2034'), { message: /^SC2034: unused appears unused/, fix: 'see https://www.shellcheck.net/wiki/SC2034' });

  const missing = await validateDriver(dir, { shellcheck: '/nonexistent/shellcheck' });
  t.same(only(missing, 'shellcheck'), []);
  t.match(only(missing, 'shellcheck-missing'), [{ severity: 'info', message: /shellcheck is not installed/, fix: /apt-get install shellcheck/ }]);
  const off = await validateDriver(dir, noLint);
  t.match(only(off, 'shellcheck-off'), [{ severity: 'info' }]);
  t.ok(spawnSync('shellcheck', ['--version']).status === 0, 'shellcheck is installed here, so the first run really linted');
});

// A stand-in shellcheck is a real program run the same way: it shows how validate reads what comes back.
t.test('shellcheck output: comments filed once per file and line, style as info; unreadable output, an exit status or a hang is shellcheck-failed', async (t) => {
  const { dir } = remotesWith(t);
  const bin = tmpDir(t, 'ferry-fake-shellcheck-');
  // Arguments: --format=json1 --external-sources -- FILE...; the same comment twice is filed once.
  const comment = '{"file":"%s","line":3,"endLine":3,"column":1,"level":"style","code":2034,"message":"x appears unused"}';
  const twice = put(join(bin, 'twice'), SH(`shift 3\nprintf '{"comments":[${comment},${comment}]}' "$1" "$1"`), 0o755);
  const report = await validateDriver(dir, { shellcheck: twice });
  const lint = only(report, 'shellcheck');
  t.equal(lint.length, 1, 'one finding for the repeated comment');
  t.match(lint[0], { severity: 'info', rule: 'SC2034', line: 3, column: 1, message: 'SC2034: x appears unused' });

  const garbage = put(join(bin, 'garbage'), SH('echo "not json"\necho "boom: bad option" >&2\nexit 3'), 0o755);
  t.match(only(await validateDriver(dir, { shellcheck: garbage }), 'shellcheck-failed'), [{ severity: 'warning', message: 'shellcheck failed: exit status 3: boom: bad option', fix: `run ${garbage} on the scripts by hand to see why` }]);
  const wrongShape = put(join(bin, 'null'), SH('echo null'), 0o755);
  t.match(only(await validateDriver(dir, { shellcheck: wrongShape }), 'shellcheck-failed'), [{ message: 'shellcheck failed: exit status 0' }], 'JSON of another shape is not read');

  const hang = put(join(bin, 'hang'), SH('exec sleep 30'), 0o755);
  const started = Date.now();
  t.same(await runShellcheck(hang, [join(dir, 'cp')], 300), { kind: 'failed', reason: 'timed out after 0.3 s' });
  t.ok(Date.now() - started < 10_000, 'killed at the timeout, not waited for');
  t.same(await runShellcheck('/nonexistent/shellcheck', [join(dir, 'cp')]), { kind: 'missing' });
});
