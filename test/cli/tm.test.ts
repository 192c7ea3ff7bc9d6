/** `ferry tm <action> <tm_mad> <args...>` and `ferry tm transfer <file>` in-process. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { usageOf, type ArgSpec } from '../../src/contract/args.js';
import { TM_ACTIONS, TM_CONTRACT } from '../../src/contract/table.js';
import { recordFile, tmpDir } from '../helpers/fixtures.js';
import { base64Of, dumpFor, fixturesRemotes, jsonOf, runCli, withProcessEnv, writeFileIn } from './helpers.js';

type Tap = Parameters<typeof tmpDir>[0];

const DUMP_B64 = base64Of(dumpFor('dummy'));
const TEMPLATE_B64 = base64Of('<VM><ID>7</ID></VM>');

/** A valid value (or values, for a variadic argument) for one TM argument, from its ArgSpec. */
function valuesFor(spec: ArgSpec): string[] {
  if (spec.variadic) return ['/var/lib/one/vms/7/context/init.sh', '/var/lib/one/vms/7/context/id_rsa.pub'];
  switch (spec.type) {
    case 'dump':
      return [DUMP_B64];
    case 'id':
      return ['7'];
    case 'uint':
      return ['3'];
    case 'hostpath':
      return ['host01:/var/lib/one/datastores/0/7/disk.0'];
    case 'hostsource':
      return ['fe:/var/lib/one/datastores/1/f00d'];
    case 'source':
      return ['/var/lib/one/datastores/1/ab12'];
    case 'host':
      return ['host01'];
    case 'path':
      return ['/var/lib/one/datastores/0/7'];
    case 'word':
      return ['qcow2'];
    case 'base64':
      return [TEMPLATE_B64];
    case 'text':
      return ['some-text'];
  }
}

/** Valid arguments for a TM action, optional ones included. */
function argsFor(action: string): string[] {
  return (TM_CONTRACT[action as keyof typeof TM_CONTRACT].args as readonly ArgSpec[]).flatMap(valuesFor);
}

/** A value of the wrong shape for a type, or undefined when every non-empty value fits. */
function badValueFor(spec: ArgSpec): string | undefined {
  switch (spec.type) {
    case 'dump':
      return 'not base64!';
    case 'id':
      return 'seven';
    case 'uint':
      return '-1';
    case 'hostpath':
    case 'hostsource':
      return '/no/host/part';
    case 'host':
      return 'bad host';
    case 'path':
      return 'relative/path';
    case 'word':
      return 'two words';
    case 'base64':
      return 'not base64!';
    default:
      return undefined;
  }
}

function recordLine(action: string, args: readonly string[]): string {
  return `${action} ${args.length}${args.map((a) => ` [${a}]`).join('')}`;
}

t.test('every TM action of the dummy driver with valid arguments exits 0', async (t) => {
  for (const action of TM_ACTIONS) {
    const args = argsFor(action);
    const { status, stdout, stderr } = await runCli(['tm', action, 'dummy', ...args]);
    t.equal(status, 0, `tm ${action} dummy ${args.join(' ')}: exit 0 (${stderr.trim()})`);
    t.equal(stderr, '', `tm ${action}: nothing on stderr`);
    t.equal(stdout, action === 'monitor' ? 'usedMb   9720\ntotalMb  20480\nfreeMb   10760\n' : '', `tm ${action}: stdout`);
  }
});

t.test('every TM action with --json', async (t) => {
  for (const action of TM_ACTIONS) {
    const { status, stdout } = await runCli(['--json', 'tm', action, 'dummy', ...argsFor(action)]);
    t.equal(status, 0, `tm ${action} --json: exit 0`);
    const out = jsonOf(stdout);
    t.match(out, { ok: true, kind: 'tm', action, driver: 'dummy', script: action, exitCode: 0, signal: null, timedOut: false, logs: [] });
    t.type(out.durationMs, 'number');
    if (action === 'monitor') t.match(out.result, { usedMb: 9720, totalMb: 20480, freeMb: 10760 });
    else t.equal(out.result, null, `tm ${action}: no result`);
  }
});

t.test('the driver gets exactly the arguments given', async (t) => {
  const record = recordFile(t);
  await withProcessEnv({ FIXTURE_RECORD: record.file }, async () => {
    for (const action of ['clone', 'context', 'mkimage', 'premigrate', 'resize'] as const) {
      const args = argsFor(action);
      const { status } = await runCli(['--remotes', fixturesRemotes, 'tm', action, 'ok', ...args]);
      t.equal(status, 0, `tm ${action} ok`);
    }
  });
  t.same(
    record.lines(),
    ['clone', 'context', 'mkimage', 'premigrate', 'resize'].map((action) => recordLine(action, argsFor(action))),
  );
});

t.test('cpds with snap_id -1 (save the current state) exits 0 and passes -1', async (t) => {
  const args = ['host01:/var/lib/one/datastores/0/7/disk.1', '/var/lib/one/datastores/1/ab12', '-1', '7', '1'];
  const dummy = await runCli(['tm', 'cpds', 'dummy', ...args]);
  t.equal(dummy.status, 0, dummy.stderr);
  t.equal(dummy.stderr, '');
  const json = await runCli(['tm', 'cpds', 'dummy', ...args, '--json']);
  t.equal(json.status, 0);
  t.match(jsonOf(json.stdout), { ok: true, action: 'cpds', driver: 'dummy' });
  const record = recordFile(t);
  const recorded = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['--remotes', fixturesRemotes, 'tm', 'cpds', 'ok', ...args]));
  t.equal(recorded.status, 0);
  t.same(record.lines(), [recordLine('cpds', args)], 'the driver got -1 as an argument, not as an option');
  // Other negative ids (-1 for a VM or datastore id) pass as well.
  const negative = await runCli(['tm', 'delete', 'dummy', 'host01:/var/lib/one/datastores/0/7', '-1', '-1']);
  t.equal(negative.status, 0, negative.stderr);
});

t.test('bad argument shapes: exit 2, usage in the hint, nothing run', async (t) => {
  const record = recordFile(t);
  let checked = 0;
  await withProcessEnv({ FIXTURE_RECORD: record.file }, async () => {
    for (const action of TM_ACTIONS) {
      const specs = TM_CONTRACT[action].args as readonly ArgSpec[];
      const good = specs.map(valuesFor);
      for (const [i, spec] of specs.entries()) {
        const bad = badValueFor(spec);
        if (bad === undefined || spec.variadic) continue;
        const args = good.flatMap((values, j) => (j === i ? [bad] : values));
        const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, 'tm', action, 'ok', ...args]);
        t.equal(status, 2, `tm ${action} with ${spec.name}=${JSON.stringify(bad)}: exit 2`);
        t.equal(stdout, '');
        t.match(stderr, `argument ${spec.name} is ${JSON.stringify(bad)}`, `tm ${action}: names ${spec.name}`);
        t.match(stderr, new RegExp(`hint: usage: tm ${action} ok <`), `tm ${action}: usage in the hint`);
        checked += 1;
      }
      // One argument too few.
      const short = good.flat().slice(0, -1);
      if (!specs.at(-1)?.optional && !specs.some((s) => s.variadic)) {
        const { status, stderr } = await runCli(['--remotes', fixturesRemotes, 'tm', action, 'ok', ...short]);
        t.equal(status, 2, `tm ${action} with one argument too few: exit 2`);
        t.match(stderr, /expected \d+( to \d+)? arguments, got \d+/);
        t.match(stderr, `hint: usage: tm ${action} ok`);
      }
    }
  });
  t.ok(checked > 40, `checked ${checked} bad arguments`);
  t.same(record.lines(), [], 'no driver ran');
});

t.test('snap_create refuses snapshot id -1 (only cpds takes -1)', async (t) => {
  const { status, stderr } = await runCli(['tm', 'snap_create', 'dummy', 'host01:/ds/0/7/disk.0', '-1', '7', '0']);
  t.equal(status, 2);
  t.match(stderr, `argument ${TM_CONTRACT.snap_create.args[1]?.name} is "-1"`);
  t.match(stderr, `usage: tm snap_create dummy ${usageOf(TM_CONTRACT.snap_create.args)}`);
});

t.test('bad arguments with --json: ok false, E_BAD_ARGS, usage in error.hint', async (t) => {
  const { status, stdout } = await runCli(['--json', 'tm', 'clone', 'dummy', 'nohost', 'host01:/ds/0/7/disk.0', '7', '0']);
  t.equal(status, 2);
  const out = jsonOf(stdout);
  t.match(out, { ok: false, error: { code: 'E_BAD_ARGS', exitStatus: 2 } });
  t.equal(out.error.hint, `usage: tm clone dummy ${usageOf(TM_CONTRACT.clone.args)}`);
});

t.test('tm without a driver, an unknown driver, an unknown action: exit 2', async (t) => {
  const none = await runCli(['tm', 'clone']);
  t.equal(none.status, 2);
  t.match(none.stderr, /TM driver name/);
  const driver = await runCli(['tm', 'delete', 'nosuch', 'host01:/d', '7', '0']);
  t.equal(driver.status, 2);
  t.match(driver.stderr, /no tm driver 'nosuch'/);
  const action = await runCli(['tm', 'frobnicate', 'dummy', 'x']);
  t.equal(action.status, 2);
  t.match(action.stderr, /no action 'frobnicate'/);
});

t.test('clone.ssh falls back to clone; delete.ssh runs delete.ssh when it exists', async (t) => {
  const args = argsFor('clone');
  const fallback = await runCli(['--json', 'tm', 'clone.ssh', 'dummy', ...args]);
  t.equal(fallback.status, 0, fallback.stderr);
  t.match(jsonOf(fallback.stdout), { ok: true, action: 'clone.ssh', script: 'clone' });
  const human = await runCli(['tm', 'clone.ssh', 'dummy', ...args]);
  t.equal(human.status, 0);
  const suffixed = await runCli(['--json', '--remotes', fixturesRemotes, 'tm', 'delete.ssh', 'ok', ...argsFor('delete')]);
  t.equal(suffixed.status, 0, suffixed.stderr);
  t.match(jsonOf(suffixed.stdout), { action: 'delete.ssh', script: 'delete.ssh' });
  const badArgs = await runCli(['tm', 'clone.ssh', 'dummy', 'nohost']);
  t.equal(badArgs.status, 2, 'clone.ssh takes clone\'s arguments');
});

t.test('a failing TM driver: exit 1, its message on stderr', async (t) => {
  const { status, stdout, stderr } = await runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', 'tm', 'ln', 'fail', ...argsFor('ln')]);
  t.equal(status, 1);
  t.equal(stdout, '');
  t.match(stderr, /tm fail\/ln failed \(exit status 3\)/);
  t.match(stderr, /disk \/ds is full/);
});

t.test('a slow TM driver with --timeout 0.3: exit 124', async (t) => {
  const { status, stderr } = await runCli(['--remotes', fixturesRemotes, '--timeout', '0.3', 'tm', 'mv', 'slow', ...argsFor('mv')]);
  t.equal(status, 124);
  t.match(stderr, /timed out/);
});

const OK_TRANSFER = `# deploy VM 7
CLONE dummy fe:/var/lib/one/datastores/1/f00d host01:/var/lib/one/datastores/0/7/disk.0 7 0

   # an indented comment
LN dummy fe:/var/lib/one/datastores/1/beef host01:/var/lib/one/datastores/0/7/disk.1 7 0
MKSWAP dummy 512 host01:/var/lib/one/datastores/0/7/disk.2 7 0
\t
CPDS dummy host01:/var/lib/one/datastores/0/7/disk.1 /var/lib/one/datastores/1/ab12 -1 7 1
CONTEXT dummy /var/lib/one/vms/7/context/init.sh host01:/var/lib/one/datastores/0/7/disk.3 7 0
`;

t.test('a transfer file with comments and blank lines: every line runs, exit 0', async (t) => {
  const file = writeFileIn(tmpDir(t), 'deploy.tm', OK_TRANSFER);
  const { status, stdout, stderr } = await runCli(['tm', 'transfer', file]);
  t.equal(status, 0, stderr);
  t.equal(stderr, '');
  const lines = stdout.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 5, 'one line per action run');
  const expected: Array<[number, string]> = [
    [2, 'CLONE dummy fe:/var/lib/one/datastores/1/f00d host01:/var/lib/one/datastores/0/7/disk.0 7 0'],
    [5, 'LN dummy fe:/var/lib/one/datastores/1/beef host01:/var/lib/one/datastores/0/7/disk.1 7 0'],
    [6, 'MKSWAP dummy 512 host01:/var/lib/one/datastores/0/7/disk.2 7 0'],
    [8, 'CPDS dummy host01:/var/lib/one/datastores/0/7/disk.1 /var/lib/one/datastores/1/ab12 -1 7 1'],
    [9, 'CONTEXT dummy /var/lib/one/vms/7/context/init.sh host01:/var/lib/one/datastores/0/7/disk.3 7 0'],
  ];
  expected.forEach(([n, text], i) => {
    const line = lines[i] ?? '';
    t.ok(line.startsWith(`ok  line ${n}: ${text}`), `line ${n} reported: ${JSON.stringify(line)}`);
    t.match(line, /\(\d+ ms\)$/);
  });
});

t.test('a transfer file on stdin', async (t) => {
  const { status, stdout } = await runCli(['tm', 'transfer', '-'], { stdin: OK_TRANSFER });
  t.equal(status, 0);
  t.equal(stdout.split('\n').filter((l) => l.startsWith('ok  line ')).length, 5);
});

t.test('--json transfer: ok true and one step per line', async (t) => {
  const file = writeFileIn(tmpDir(t), 'deploy.tm', OK_TRANSFER);
  const { status, stdout } = await runCli(['--json', 'tm', 'transfer', file]);
  t.equal(status, 0);
  const out = jsonOf(stdout);
  t.equal(out.ok, true);
  t.equal(out.steps.length, 5);
  t.match(
    out.steps,
    ['clone', 'ln', 'mkswap', 'cpds', 'context'].map((action) => ({ ok: true, action, driver: 'dummy', exitCode: 0, timedOut: false })),
  );
});

const FAILING_TRANSFER = `# the second action fails
clone ok fe:/var/lib/one/datastores/1/f00d host01:/var/lib/one/datastores/0/7/disk.0 7 0

ln fail fe:/var/lib/one/datastores/1/beef host01:/var/lib/one/datastores/0/7/disk.1 7 0
mkswap ok 512 host01:/var/lib/one/datastores/0/7/disk.2 7 0
`;

t.test('a transfer with a failing line in the middle: exit 1, names the line, later lines not run', async (t) => {
  const file = writeFileIn(tmpDir(t), 'deploy.tm', FAILING_TRANSFER);
  const record = recordFile(t);
  const { status, stdout, stderr } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () =>
    runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', 'tm', 'transfer', file]),
  );
  t.equal(status, 1);
  t.match(stdout, /^ok {2}line 2: clone ok /, 'the first line ran');
  t.equal(stdout.split('\n').filter((l) => l !== '').length, 1, 'only the first line is reported ok');
  t.match(stderr, /line 4/, 'the failed line is named');
  t.match(stderr, 'ln fail fe:/var/lib/one/datastores/1/beef');
  t.match(stderr, /disk \/ds is full/);
  t.same(
    record.lines().map((l) => l.split(' ')[0]),
    ['clone'],
    'mkswap (after the failure) never ran',
  );
});

t.test('--json transfer failure: steps run so far and failedLine', async (t) => {
  const file = writeFileIn(tmpDir(t), 'deploy.tm', FAILING_TRANSFER);
  const record = recordFile(t);
  const { status, stdout } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () =>
    runCli(['--remotes', fixturesRemotes, '--log-level', 'silent', '--json', 'tm', 'transfer', file]),
  );
  t.equal(status, 1);
  const out = jsonOf(stdout);
  t.equal(out.ok, false);
  t.equal(out.failedLine, 4);
  t.equal(out.steps.length, 1);
  t.match(out.steps[0], { ok: true, action: 'clone', driver: 'ok' });
  t.match(out, { action: 'ln', driver: 'fail', exitCode: 3, error: { code: 'E_DRIVER_FAILED', exitStatus: 1 } });
  t.match(out.error.message, /line 4/);
  t.same(record.lines().map((l) => l.split(' ')[0]), ['clone']);
});

t.test('a transfer whose first line names a missing driver: exit 2, failedLine 1, no steps', async (t) => {
  const file = writeFileIn(tmpDir(t), 'missing.tm', 'delete nosuch host01:/ds/0/7 7 0\ndelete ok host01:/ds/0/7 7 0\n');
  const { status, stdout } = await runCli(['--remotes', fixturesRemotes, '--json', 'tm', 'transfer', file]);
  t.equal(status, 2);
  t.match(jsonOf(stdout), { ok: false, failedLine: 1, steps: [], error: { code: 'E_DRIVER_NOT_FOUND' } });
});

t.test('a transfer that times out: exit 124, failedLine', async (t) => {
  const slow = writeFileIn(tmpDir(t), 'slow2.tm', 'delete ok host01:/ds/0/7 7 0\ndelete slow host01:/ds/0/7 7 0\n');
  const timed = await runCli(['--remotes', fixturesRemotes, '--timeout', '0.3', '--json', 'tm', 'transfer', slow]);
  t.equal(timed.status, 124);
  t.match(jsonOf(timed.stdout), { ok: false, failedLine: 2, timedOut: true, error: { code: 'E_TIMEOUT' } });
});

t.test('a missing transfer file: exit 2, names it', async (t) => {
  const missing = join(tmpDir(t), 'nope.tm');
  const { status, stdout, stderr } = await runCli(['tm', 'transfer', missing]);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, missing);
});

t.test('tm transfer takes exactly one file', async (t) => {
  const none = await runCli(['tm', 'transfer']);
  t.equal(none.status, 2);
  const two = await runCli(['tm', 'transfer', 'a.tm', 'b.tm']);
  t.equal(two.status, 2);
  t.match(two.stderr, /one file/);
});

t.test('a transfer line without a driver: exit 2 before anything runs', async (t) => {
  const record = recordFile(t);
  const file = writeFileIn(tmpDir(t), 'bad.tm', 'clone ok fe:/ds/1/a host01:/ds/0/7/disk.0 7 0\nMKSWAP\n');
  const { status, stdout, stderr } = await withProcessEnv({ FIXTURE_RECORD: record.file }, () => runCli(['--remotes', fixturesRemotes, 'tm', 'transfer', file]));
  t.equal(status, 2);
  t.equal(stdout, '');
  t.match(stderr, /line 2/);
  t.same(record.lines(), [], 'not even the first line ran');
});
