/**
 * The suite against real ssh hosts (test/helpers/sshd.ts): `ferry drivers
 * test tm/ssh` with a --datastore file naming two lab hosts, so every disk
 * travels over ssh and the suite reads what landed on a host over ssh too;
 * and datastore/fs deployed with --tm ssh. Each host has its own folder at
 * the system datastore path; afterwards none holds a file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { sshLabFor } from '../helpers/sshd.js';
import { jsonOf, runCli } from '../cli/helpers.js';
import { datastoreFile } from '../helpers/conformance.js';

// No silent skip: a machine that cannot run sshd fails this file, saying what to install or enable.
const lab = await sshLabFor(t, ['host01', 'host02']);
// Each ssh copy is a few ssh sessions; about 15 s on an idle 2-core machine.
t.setTimeout(240_000);

/** Files (not folders) under `dir`, relative to it. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

const settings = () =>
  datastoreFile(
    t,
    // JSON is YAML: the lab's host settings as they are.
    JSON.stringify({ system: { base_path: lab.mountPoint }, frontend: 'fe', hosts: { host01: lab.hosts.host01, host02: lab.hosts.host02 } }),
  );

t.test('tm/ssh passes every check with two ssh hosts, and leaves no file on them', async (t) => {
  const { status, stdout } = await runCli(['--json', 'drivers', 'test', 'tm/ssh', '--datastore', settings()]);
  const report = jsonOf(stdout);
  const checks = report.checks as Array<{ id: string; status: string; message?: string; details: string[] }>;
  t.same(checks.filter((c) => c.status !== 'ok').map((c) => `${c.id}: ${c.message}`), [], 'every check passes');
  t.equal(status, 0);
  t.same(report.hosts, [{ name: 'fe', local: true }, { name: 'host01', local: false }, { name: 'host02', local: false }]);
  t.match(checks.find((c) => c.id === 'tm.mv.disk'), { status: 'ok' }, 'a disk moved host01 -> host02 over ssh');
  for (const host of ['host01', 'host02']) t.same(files(lab.hostDir(host)), [], `${host} holds no file`);
  t.same(files(lab.mountPoint), [], 'nor does the front-end\'s system datastore path');
  t.same(readdirSync(lab.mountPoint), [], 'the system datastore folders the suite made on the front-end are gone');
});

t.test('datastore/fs deployed with --tm ssh to an ssh host', async (t) => {
  const { status, stdout } = await runCli(['--json', 'drivers', 'test', 'fs', '--tm', 'ssh', '--datastore', settings(), '--only', 'ds.cp,ds.tm-clone']);
  const checks = jsonOf(stdout).checks as Array<{ id: string; status: string; message?: string; details: string[] }>;
  t.match(checks.find((c) => c.id === 'ds.tm-clone'), { status: 'ok', details: [/^tm ssh clone put the image on host01:/] });
  t.equal(status, 0);
  t.same(files(lab.hostDir('host01')), [], 'the clean-up deleted the disk on host01 through tm/ssh delete');
});
