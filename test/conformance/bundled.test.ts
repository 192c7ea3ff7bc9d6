/**
 * ferry's own CI runs the conformance suite against every bundled driver,
 * through the command line (`ferry drivers test NAME --json`): the real
 * drivers pass every check they claim, and clean up after themselves. The
 * dummy drivers are protocol stubs that store nothing: the suite fails them
 * on exactly the checks that look at what a backend holds, and this test
 * pins that list, so a change to the suite or to dummy shows up here.
 */
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { listDrivers } from '../../src/driver/inventory.js';
import { bundledRemotes, jsonOf, runCli } from '../cli/helpers.js';

// Each real driver takes 5-7 s on an idle 2-core machine (about 30 actions, qemu-img runs); room for a busy one.
t.setTimeout(300_000);

interface Check {
  id: string;
  status: 'ok' | 'fail' | 'skip';
  message?: string;
  details: string[];
}

async function suite(t: Test, name: string): Promise<{ status: number; report: Record<string, any>; checks: Check[] }> {
  const { status, stdout, stderr } = await runCli(['--json', 'drivers', 'test', name]);
  t.equal(stderr, '', `${name}: nothing on stderr (driver logs stay out unless --log-level asks)`);
  const report = jsonOf(stdout);
  return { status, report, checks: report.checks as Check[] };
}

const failing = (checks: Check[]): string[] => checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.message}`);

t.test('every bundled driver is covered here', async (t) => {
  const names = (await listDrivers(bundledRemotes)).map((d) => `${d.kind}/${d.name}`).sort();
  t.same(names, ['datastore/dummy', 'datastore/fs', 'tm/dummy', 'tm/qcow2', 'tm/shared', 'tm/ssh'], 'a new bundled driver needs a line in this test');
});

for (const name of ['datastore/fs', 'tm/shared', 'tm/qcow2', 'tm/ssh']) {
  t.test(`${name} passes every check (local hosts, temporary datastore)`, async (t) => {
    const { status, report, checks } = await suite(t, name);
    t.same(failing(checks), [], 'no check fails');
    t.equal(status, 0, 'exit status 0');
    t.equal(report.ok, true);
    t.equal(report.counts.fail, 0);
    t.same(checks.filter((c) => c.status === 'skip').map((c) => c.id), [], 'the bundled manifests claim every optional feature, so nothing is skipped');
    t.equal(checks.at(-1)?.id, 'cleanup', 'the clean-up is the last check');
    t.equal(report.datastore.temporary, true);
    t.notOk(existsSync(report.datastore.basePath), 'the temporary datastore folder is gone');
    t.notOk(existsSync(report.datastore.systemBasePath), 'the temporary system datastore folder is gone');
    t.ok(checks.length >= 19, `${checks.length} checks ran`);
  });
}

t.test('datastore/dummy: a stub; it fails exactly the checks that look at a backend', async (t) => {
  const { status, checks } = await suite(t, 'datastore/dummy');
  t.equal(status, 1, 'exit status 1');
  const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
  t.same(
    checks.filter((c) => c.status === 'fail').map((c) => c.id),
    ['ds.cp', 'ds.stat', 'ds.mkfs', 'ds.dump.no-path', 'ds.dump.bad-size', 'ds.dump.stat-nothing', 'ds.dump.clone-nothing'],
  );
  t.match(byId['ds.cp']?.message, 'cp reported 1024 MB for a 4 MB image');
  t.match(byId['ds.dump.no-path']?.message, 'cp with no IMAGE/PATH: the driver succeeded and printed "dummy_path 1024"; it must fail with a message');
  t.same(
    checks.filter((c) => c.status === 'ok').map((c) => c.id),
    ['ds.monitor', 'ds.stdout', 'ds.timeouts', 'cleanup'],
    'its output parses, its figures add up, it is quick, and it leaves nothing',
  );
  t.match(byId['ds.clone']?.message, 'needs ds.cp, which failed');
  t.match(byId['ds.snap_revert']?.message, 'no snapshots capability (the driver has no driver.yaml capabilities)');
});

t.test('tm/dummy: a stub; nothing arrives on the hosts', async (t) => {
  const { status, checks } = await suite(t, 'tm/dummy');
  t.equal(status, 1);
  t.same(checks.filter((c) => c.status === 'fail').map((c) => c.id), ['tm.clone', 'tm.ln', 'tm.refuse.missing-source']);
  t.match(checks.find((c) => c.id === 'tm.clone')?.message, /^clone: host01:\/\S+\/disk\.0 does not exist$/);
  t.same(checks.filter((c) => c.status === 'ok').map((c) => c.id), ['tm.stdout', 'tm.timeouts', 'cleanup']);
});
