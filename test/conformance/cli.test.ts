/**
 * `ferry drivers test` as a command: help with examples, exit 2 for bad
 * usage (unknown or ambiguous driver, bad --datastore file, unknown --tm),
 * the --datastore file's checks, and secrets: read from the environment
 * variable the file names, given to the driver only as FERRY_DS_SECRET_<NAME>,
 * never in a dump or on argv, and never in any report.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '../helpers/fixtures.js';
import { jsonOf, repoRoot, runCli } from '../cli/helpers.js';
import { datastoreFile, miniRemotes } from '../helpers/conformance.js';

t.setTimeout(120_000);

t.test('--help explains the suite, the --datastore file and exit statuses, with examples', async (t) => {
  const { status, stdout } = await runCli(['drivers', 'test', '--help']);
  t.equal(status, 0);
  for (const text of ['Usage: ferry drivers test [options] <name>', '--datastore <file>', '--junit <file>', '--tap', '--tm <name>', '--ds <name>', 'base_path:', 'secrets:', 'Exit status:', 'Examples:', '$ ferry drivers test fs']) {
    t.match(stdout, text);
  }
  const { stdout: group } = await runCli(['drivers', '--help']);
  t.match(group, /test \[options\] <name>\s+run the conformance suite against a driver/, 'listed under ferry drivers');
});

t.test('bad usage exits 2 and runs nothing', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['drivers', 'test', 'nosuch'], /no driver nosuch in .*remotes\n {2}hint: drivers found: datastore\/dummy, datastore\/fs, tm\/dummy/],
    [['drivers', 'test', 'dummy'], /dummy is both a datastore and a TM driver .*\n {2}hint: say which: ferry drivers test datastore\/dummy or tm\/dummy/],
    [['drivers', 'test', 'fs', '--tm', 'nosuch'], /--tm nosuch: no tm driver nosuch in the remotes folder/],
    [['drivers', 'test', 'shared', '--ds', 'nosuch'], /--ds nosuch: no datastore driver nosuch/],
    [['drivers', 'test', 'tm/fs'], /no tm driver fs in/],
    [['drivers', 'test', 'fs', '--kind', 'disk'], /argument 'disk' is invalid/],
    [['drivers', 'test', 'fs', '--datastore', '/nonexistent/ds.yaml'], /datastore file \/nonexistent\/ds\.yaml does not exist/],
    [['--json', 'drivers', 'test', 'fs', '--tap'], /--json and --tap both ask for stdout/],
    [['drivers', 'test', 'fs', '--junit', '/nonexistent/dir/r.xml'], /--junit \/nonexistent\/dir\/r\.xml: folder \/nonexistent\/dir does not exist/],
  ];
  for (const [argv, message] of cases) {
    const { status, stdout, stderr } = await runCli(argv);
    t.equal(status, 2, `${argv.join(' ')}: exit 2`);
    t.match(`${stderr}${stdout}`, message, `${argv.join(' ')}: says why`);
    t.notMatch(stdout, /^ok /m, 'no check ran');
  }
});

t.test('the --datastore file is checked: unknown keys, a missing base_path, clear-text secrets', async (t) => {
  const dir = tmpDir(t);
  const cases: Array<[string, RegExp]> = [
    ['base_pth: /tmp\n', /unknown key "base_pth"/],
    [`base_path: ${join(dir, 'missing')}\n`, /base_path .*missing does not exist/],
    ['secrets:\n  TOKEN: "s3cr3t value"\n', /secrets\.TOKEN is not the name of an environment variable\n {2}hint: secrets: maps an attribute to the variable holding its value/],
    ['secrets:\n  TOKEN: FERRY_TEST_UNSET_TOKEN\n', /secrets\.TOKEN reads \$FERRY_TEST_UNSET_TOKEN, which is not set\n {2}hint: export FERRY_TEST_UNSET_TOKEN=\.\.\. before the command/],
    ['hosts:\n  a: {transport: local}\n  b: {transport: local}\n  c: {transport: local}\n', /hosts has 3 entries; give one or two/],
    ['id: 0\n', /system\.id 0 clashes with id 0/],
  ];
  for (const [text, message] of cases) {
    const { status, stderr } = await runCli(['drivers', 'test', 'fs', '--datastore', datastoreFile(t, text)]);
    t.equal(status, 2, `${JSON.stringify(text)}: exit 2`);
    t.match(stderr, message);
    t.notMatch(stderr, 's3cr3t', 'a clear-text secret is never echoed back');
  }
});

t.test('a driver that requires a secret is refused without one (exit 2)', async (t) => {
  const remotes = miniRemotes(t, { vault: {} }, { vault: 'api: 1\nkind: datastore\nconfig:\n  TOKEN: { type: string, required: true, secret: true }\n' });
  const { status, stderr } = await runCli(['drivers', 'test', 'vault', '--remotes', remotes]);
  t.equal(status, 2);
  t.match(stderr, /datastore driver vault requires the secret TOKEN \(config in its driver\.yaml\)\n {2}hint: give it in a --datastore FILE under secrets:/);
});

t.test('secrets reach the driver only in its environment, and no report shows them', async (t) => {
  const secret = 'hunter2-ferry-conformance-secret';
  const dir = tmpDir(t);
  const seen = join(dir, 'seen');
  // cp records its argv and the dump it got, then fails echoing the secret; stat echoes it on success.
  const remotes = miniRemotes(
    t,
    {
      vault: {
        cp: [
          `printf '%s\\n' "$*" >>"${seen}"`,
          `printf '%s' "$1" | base64 -d >>"${seen}"`,
          '[ -n "${FERRY_DS_SECRET_TOKEN:-}" ] || { echo "no token" >&2; exit 1; }',
          'echo "INFO: using token $FERRY_DS_SECRET_TOKEN" >&2',
          'echo "cannot log in with token $FERRY_DS_SECRET_TOKEN" >&2',
          'exit 1',
        ].join('\n'),
      },
    },
    { vault: 'api: 1\nkind: datastore\nconfig:\n  TOKEN: { type: string, required: true, secret: true }\n  BASE_PATH: { type: path, required: true }\n' },
  );
  const file = datastoreFile(t, 'secrets:\n  TOKEN: VAULT_TOKEN\ntemplate:\n  COLOUR: blue\n');
  const junit = join(dir, 'r.xml');
  const env = { VAULT_TOKEN: secret };
  const text = await runCli(['--remotes', remotes, 'drivers', 'test', 'vault', '--datastore', file, '--verbose', '--junit', junit], { env });
  const json = await runCli(['--json', '--remotes', remotes, 'drivers', 'test', 'vault', '--datastore', file], { env });
  const tap = await runCli(['--remotes', remotes, 'drivers', 'test', 'vault', '--datastore', file, '--tap'], { env });
  const logged = await runCli(['--log-level', 'debug', '--remotes', remotes, 'drivers', 'test', 'vault', '--datastore', file, '--only', 'ds.cp'], { env });
  t.match(logged.stderr, 'using token ***', 'with --log-level the driver\'s log records reach stderr, the secret replaced');
  t.equal(text.status, 1, 'cp fails');
  const cp = (jsonOf(json.stdout).checks as Array<{ id: string; message?: string }>).find((c) => c.id === 'ds.cp');
  t.equal(cp?.message, 'cp failed: cannot log in with token *** (exit status 1)', 'the driver\'s message, the secret replaced');
  for (const [name, out] of [['text', text.stdout + text.stderr], ['json', json.stdout + json.stderr], ['tap', tap.stdout + tap.stderr], ['logs', logged.stdout + logged.stderr], ['junit', readFileSync(junit, 'utf8')]] as const) {
    t.notMatch(out, secret, `${name} report: the secret never shows`);
  }
  t.ok(existsSync(seen), 'cp ran');
  const recorded = readFileSync(seen, 'utf8');
  t.notMatch(recorded, secret, 'neither argv nor the dump holds the secret');
  t.match(recorded, '<COLOUR><![CDATA[blue]]></COLOUR>', 'the dump holds the template attributes');
  t.notMatch(recorded, 'TOKEN', 'the dump does not even name the secret');
  // ds.dump.required: mkfs without the secret must be refused; minids' mkfs ignores it, so that check fails, by name.
  const required = (jsonOf(json.stdout).checks as Array<{ id: string; status: string; message?: string }>).find((c) => c.id === 'ds.dump.required');
  t.match(required, { status: 'fail', message: /^mkfs with no TOKEN \(secret\): the driver succeeded and printed "\/\S+ 1"; it must fail with a message$/ });
});

t.test('--only runs the named checks and the clean-up', async (t) => {
  const { status, stdout } = await runCli(['--json', 'drivers', 'test', 'fs', '--only', 'ds.cp,ds.rm']);
  t.equal(status, 0);
  t.same((jsonOf(stdout).checks as Array<{ id: string }>).map((c) => c.id), ['ds.cp', 'ds.cp.qcow2', 'ds.rm', 'ds.rm.again', 'cleanup'], 'ids starting with either');
});

t.test('--tm none skips the TM check, saying so', async (t) => {
  const { status, stdout } = await runCli(['drivers', 'test', 'fs', '--tm', 'none', '--only', 'ds.cp,ds.tm']);
  t.equal(status, 0);
  t.match(stdout, /TM {9}none \(checks that deploy with a TM are skipped\)/);
  t.match(stdout, /^skip  ds\.tm-clone .*\n {8}skip: no TM to deploy with \(pass --tm NAME\)$/m);
  t.match(stdout, /^PASS: 4 checks, 3 ok, 0 failed, 1 skipped/m);
});

t.test('--timeout caps every action', async (t) => {
  const remotes = miniRemotes(t, { sleepy: { monitor: 'sleep 5; echo USED_MB=1; echo TOTAL_MB=10; echo FREE_MB=9' } });
  const started = Date.now();
  const { status, stdout } = await runCli(['--json', '--timeout', '0.5', '--remotes', remotes, 'drivers', 'test', 'sleepy', '--only', 'ds.monitor,ds.timeouts']);
  t.ok(Date.now() - started < 4000, 'monitor was killed at 0.5 s');
  t.equal(status, 1);
  const checks = jsonOf(stdout).checks as Array<{ id: string; status: string; message?: string }>;
  t.match(checks[0], { id: 'ds.monitor', status: 'skip', message: /killed at the suite's timeout/ });
  t.match(checks[1], { id: 'ds.timeouts', status: 'fail', message: /monitor was still running after 0\.5 s and was killed; it declares 300 s \(the contract default\)/ });
  writeFileSync(join(tmpDir(t), 'unused'), '');
});

t.test('the fs suite against fixtures from a remotes folder without tm/shared: ds.tm-clone is skipped, not failed', async (t) => {
  const { status, stdout } = await runCli(['--json', '--remotes', join(repoRoot, 'fixtures', 'defects'), 'drivers', 'test', 'good', '--only', 'ds.tm']);
  t.equal(status, 0);
  t.match((jsonOf(stdout).checks as Array<{ id: string; status: string }>)[0], { id: 'ds.tm-clone', status: 'skip' });
});
