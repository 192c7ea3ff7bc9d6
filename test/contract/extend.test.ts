/**
 * The claim of src/contract/table.ts, proved: one new row in the table (made
 * here, removed on teardown) and nothing else, and the runner, `ferry mad`,
 * `ferry drivers validate` and the CLI help all take the new action.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DATASTORE_CONTRACT, TM_CONTRACT, type ActionSpec } from '../../src/contract/table.js';
import { parseSize } from '../../src/contract/parsers.js';
import { Runner } from '../../src/driver/runner.js';
import { validateDriver } from '../../src/driver/validate/index.js';
import { serveMad } from '../../src/protocol/mad.js';
import { runCli } from '../cli/helpers.js';
import { dumpFor, tmpDir } from '../helpers/fixtures.js';

type Rows = Record<string, ActionSpec>;

/** A datastore action ferry has never heard of: `<dump> <id>`, prints a size, its own protocol verb. */
const GROW: ActionSpec<number> = {
  summary: 'grow an image by SIZE MB; prints its new size in MB',
  args: [
    { name: 'dump', type: 'dump' },
    { name: 'id', type: 'id' },
  ],
  dumpOnStdin: true,
  parse: parseSize,
  timeoutSec: 60,
  returns: true,
  idArg: 'id',
  lockOn: 'image',
  protocol: { verb: 'GROW', reply: 'text' },
  need: { need: 'required', breaks: 'images cannot be grown' },
};

/** A tm action: `<host:path> <vm_id> <ds_id>`, a TRANSFER line of its own. */
const TRIM: ActionSpec<undefined> = {
  summary: 'discard unused blocks of a disk',
  args: [
    { name: 'host:remote_system_ds/disk.i', type: 'hostpath' },
    { name: 'vm_id', type: 'id' },
    { name: 'ds_id', type: 'id' },
  ],
  dumpOnStdin: false,
  parse: (stdout) => (stdout.trim() === '' ? { ok: true, value: undefined } : { ok: false, reason: 'trim prints nothing' }),
  timeoutSec: 60,
  returns: false,
  idArg: 'vm_id',
  lockOn: 'vm',
  protocol: { verb: 'TRIM', reply: 'text' },
  need: { need: 'recommended', breaks: 'disks are never trimmed' },
};

t.before(() => {
  (DATASTORE_CONTRACT as unknown as Rows).grow = GROW;
  (TM_CONTRACT as unknown as Rows).trim = TRIM;
});
t.teardown(() => {
  delete (DATASTORE_CONTRACT as unknown as Rows).grow;
  delete (TM_CONTRACT as unknown as Rows).trim;
});

/** A remotes folder with datastore/grower (grow records its argv and stdin, prints 42) and tm/trimmer (trim records its argv). */
function remotesWithNewActions(t: Parameters<Parameters<typeof t.test>[1]>[0]): { remotes: string; record: string } {
  const remotes = tmpDir(t, 'ferry-extend-');
  const record = join(remotes, 'record');
  const script = (path: string, body: string): void => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `#!/bin/sh\nset -eu\n${body}\n`);
    chmodSync(path, 0o755);
  };
  script(join(remotes, 'datastore', 'grower', 'grow'), `printf '%s|' "$FERRY_ACTION" "$#" "$2" >>"${record}"; cat >>"${record}"; echo 42`);
  script(join(remotes, 'tm', 'trimmer', 'trim'), `printf '%s|' "$FERRY_ACTION" "$@" >>"${record}"; echo >>"${record}"`);
  return { remotes, record };
}

t.test('the runner runs a new datastore and tm action from its row', async (t) => {
  const { remotes, record } = remotesWithNewActions(t);
  const runner = new Runner({ remotes });
  const dump = dumpFor('grower');
  const grown = await runner.run({ kind: 'datastore', action: 'grow', dump, id: 9 });
  t.equal(grown.result, 42, "the row's parser typed the result");
  t.equal(grown.id, '9', "the row's idArg named the id");
  const [head, stdin] = readFileSync(record, 'utf8').split('|9|');
  t.equal(head, 'grow|2', 'two arguments: the dump and the id');
  t.match(stdin, /^[A-Za-z0-9+/=]+\n$/, 'the dump on stdin, as the row says');

  writeFileSync(record, '');
  const trimmed = await runner.run({ kind: 'tm', action: 'trim', driver: 'trimmer', args: ['host01:/ds/0/7/disk.0', '7', '0'] });
  t.equal(trimmed.id, '7', 'vm_id is the id');
  t.equal(readFileSync(record, 'utf8'), 'trim|host01:/ds/0/7/disk.0|7|0|\n');
  await t.rejects(runner.run({ kind: 'tm', action: 'trim', driver: 'trimmer', args: ['not-a-host-path', '7', '0'] }), { code: 'E_BAD_ARGS' }, "the row's argument types are checked");
});

t.test('ferry mad answers the new verbs: GROW as a request, TRIM as a TRANSFER line', async (t) => {
  const { remotes, record } = remotesWithNewActions(t);
  const runner = new Runner({ remotes });
  const out: string[] = [];
  const requests = async function* (lines: string[]): AsyncGenerator<string> {
    yield* lines;
  };
  await serveMad({ kind: 'datastore', runner, concurrency: 2, enabled: new Set(['grower']), lines: requests([`GROW 9 ${Buffer.from(dumpFor('grower')).toString('base64')}`, 'FINALIZE']), write: (line) => out.push(line) });
  t.same(out, ['GROW SUCCESS 9 42']);

  const transfer = join(remotes, 'deploy.tm');
  writeFileSync(transfer, 'TRIM trimmer host01:/ds/0/7/disk.0 7 0\n');
  writeFileSync(record, '');
  out.length = 0;
  await serveMad({ kind: 'tm', runner, concurrency: 2, enabled: new Set(['trimmer']), lines: requests([`TRANSFER 7 ${transfer}`, 'FINALIZE']), write: (line) => out.push(line) });
  t.same(out, ['TRANSFER SUCCESS 7 -']);
  t.equal(readFileSync(record, 'utf8'), 'trim|host01:/ds/0/7/disk.0|7|0|\n');
});

t.test('validate knows the new actions: required when the row says so, never a typo', async (t) => {
  const { remotes } = remotesWithNewActions(t);
  const grower = await validateDriver(join(remotes, 'datastore', 'grower'), { shellcheck: false });
  const aboutGrow = grower.findings.filter((finding) => /\bgrow\b/.test(finding.message));
  t.same(aboutGrow, [], 'grow is a contract action that is there: no extra-action, typo or missing-action finding');

  const empty = join(remotes, 'datastore', 'empty');
  mkdirSync(empty);
  const report = await validateDriver(empty, { shellcheck: false });
  t.ok(
    report.findings.some((finding) => finding.code === 'missing-action' && finding.severity === 'error' && finding.message === 'no grow action: images cannot be grown'),
    "a driver without grow: an error saying what breaks, from the row's need",
  );
  const trimmer = await validateDriver(join(remotes, 'tm', 'trimmer'), { shellcheck: false });
  t.notOk(trimmer.findings.some((finding) => finding.code === 'missing-action' && finding.message.startsWith('no trim ')), 'trim is there');
});

t.test('the CLI help lists the new actions with their summary and arguments', async (t) => {
  const ds = await runCli(['ds', '--help']);
  t.equal(ds.status, 0);
  t.match(ds.stdout, /grow\s+grow an image by SIZE MB; prints its new size in MB/);
  const tm = await runCli(['tm', '--help']);
  t.equal(tm.status, 0);
  t.match(tm.stdout, /trim\s+<host:remote_system_ds\/disk\.i> <vm_id> <ds_id>/);
  const { remotes } = remotesWithNewActions(t);
  const run = await runCli(['--remotes', remotes, 'ds', 'grow', '-', '3', '--json'], { stdin: dumpFor('grower') });
  t.equal(run.status, 0, run.stderr);
  t.match(JSON.parse(run.stdout), { ok: true, action: 'grow', result: 42 });
});
