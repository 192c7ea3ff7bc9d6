/** Per-script checks: run bit, #! line and interpreter, sourced files, stdout. */
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { validateDriver } from '../../../src/driver/validate/index.js';
import { SH, noLint, only, put, remotesWith } from './helpers.js';

t.test('not executable, no shebang, bad interpreters; a compiled program needs no #!', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'stat'), SH('echo 1'), 0o644);
  put(join(dir, 'rm'), 'rm -f "$1"\n', 0o755);
  put(join(dir, 'mkfs'), '#!/bin/sh\r\necho "/ds/1 1"\r\n', 0o755);
  put(join(dir, 'clone'), '#!/nonexistent/bin/sh\necho /ds/1\n', 0o755);
  put(join(dir, 'monitor'), '#!/usr/bin/env ferry-no-such-interpreter\nprint 1\n', 0o755);
  put(join(dir, 'snap_delete'), '#!sh\n', 0o755);
  copyFileSync('/bin/true', join(dir, 'snap_revert'));
  chmodSync(join(dir, 'snap_revert'), 0o755);
  const report = await validateDriver(dir, noLint);
  const at = (name: string): string[] => report.findings.filter((f) => f.file === join(dir, name)).map((f) => `${f.severity} ${f.code}${f.line ? `:${f.line}` : ''}`);
  t.same(at('stat'), ['error not-executable']);
  t.same(at('rm'), ['error no-shebang:1']);
  t.same(at('mkfs'), ['error bad-interpreter:1']);
  t.match(report.findings.find((f) => f.file.endsWith('mkfs')), { message: /Windows line endings/ });
  t.same(at('clone'), ['error bad-interpreter:1']);
  t.match(report.findings.find((f) => f.file.endsWith('clone')), { message: /\/nonexistent\/bin\/sh .*does not exist/ });
  t.same(at('monitor'), ['warning bad-interpreter:1'], 'an env lookup that fails here is a warning');
  t.same(at('snap_delete'), ['error bad-interpreter:1'], 'a relative interpreter');
  t.same(at('snap_revert'), [], 'an ELF executable');
  t.same(only(report, 'missing-action'), [], 'a non-executable stat is not also "missing"');
});

t.test('stdout: messages where the result goes, anything where nothing is returned', async (t) => {
  const { dir } = remotesWith(t);
  put(join(dir, 'cp'), SH('echo "copying the image" \necho "/ds/1 40"'), 0o755); // message on line 3
  put(join(dir, 'rm'), SH('echo "removed $1" >&2\necho "removed $1"\nlog() { echo "$*"; }\nlog x'), 0o755); // line 4
  put(join(dir, 'stat'), SH('{\n  echo "stat of $1"\n} >&2\necho 40'), 0o755);
  const report = await validateDriver(dir, noLint);
  t.same(
    only(report, 'stdout-output').map((f) => `${f.file.slice(dir.length + 1)}:${f.line}`),
    ['cp:3', 'rm:4'],
  );
  const [cp, rm] = only(report, 'stdout-output');
  t.match(cp, { severity: 'warning', message: /cp must print only its result \(copy an image/ });
  t.match(rm, { severity: 'warning', message: /rm returns nothing/, fix: />&2/ });
});

t.test('source-missing: a file sourced next to the script must exist (a copied driver still pointing at its original)', async (t) => {
  const { remotes, dir } = remotesWith(t);
  put(join(remotes, 'scripts_common.sh'), '# helper library\n', 0o644);
  put(join(dir, 'lib', 'own.sh'), '# shared code\n', 0o644);
  put(join(dir, 'cp'), SH('# shellcheck source=/dev/null\n. "$(dirname "$0")/../../scripts_common.sh"\n. "$(dirname "$0")/lib/own.sh"\necho "/ds/1/f00d 40"'), 0o755);
  put(join(dir, 'rm'), SH('. "$(dirname "$0")/../../scripts_common.sh"\nsource "$(dirname "$0")/../shared/lib/tm_lib.sh"\n:'), 0o755);
  const report = await validateDriver(dir, noLint);
  t.same(
    only(report, 'source-missing').map((f) => [f.file.slice(dir.length + 1), f.line, f.severity]),
    [['rm', 4, 'error']],
    'only the missing one, with its line; the helper library and lib/ resolve',
  );
  t.match(only(report, 'source-missing')[0]?.message, /rm sources \.\.\/shared\/lib\/tm_lib\.sh, which does not exist/);
});
