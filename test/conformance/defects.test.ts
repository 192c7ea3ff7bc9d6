/**
 * The defect fixtures (fixtures/defects/datastore/<defect>: a small correct
 * driver with one defective action each) through `ferry drivers test`:
 * each fails exactly the check it should, with the driver's own words, and
 * the control fixture passes. Drivers the runner cannot load at all are
 * refused up front (exit 2).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { jsonOf, repoRoot, runCli } from '../cli/helpers.js';

// overtime's stat sleeps 10 s; the suite kills it at 5.5 s (twice its 0.5 s, at least 5 s more).
t.setTimeout(120_000);

const defects = join(repoRoot, 'fixtures', 'defects');

interface Check {
  id: string;
  status: 'ok' | 'fail' | 'skip';
  message?: string;
}

async function suite(name: string) {
  const result = await runCli(['--json', '--remotes', defects, 'drivers', 'test', `datastore/${name}`]);
  const report = jsonOf(result.stdout);
  const checks = report.checks as Check[];
  return { ...result, report, checks, failed: checks.filter((c) => c.status === 'fail'), byId: Object.fromEntries(checks.map((c) => [c.id, c])) };
}

t.test('the control fixture (good) passes; what it does not claim is skipped, saying so', async (t) => {
  const { status, report, failed, byId } = await suite('good');
  t.same(failed, []);
  t.equal(status, 0);
  t.match(byId['ds.snap_revert'], { status: 'skip', message: /no snapshots capability/ });
  t.match(byId['ds.tm-clone'], { status: 'skip', message: 'no TM to deploy with (pass --tm NAME)' }, 'fixtures/defects has no tm/shared');
  t.match(byId['ds.dump.required'], { status: 'ok' }, 'its driver.yaml marks BASE_PATH required: mkfs without it is refused');
  t.notOk(existsSync(report.datastore.basePath));
});

const cases: Array<{ defect: string; check: string; message: RegExp; why: string }> = [
  {
    defect: 'nosize',
    check: 'ds.cp',
    message: /^cp failed: driver returned malformed output: expected "<image_source> <size>", got only the source; it printed "\/tmp\/ferry-conformance-ds-\w+\/image\.\w+\\n"$/,
    why: 'cp that returns no size',
  },
  {
    defect: 'rmtwice',
    check: 'ds.rm.again',
    message: /^rm of an image already removed failed: no such image: \/tmp\/ferry-conformance-ds-\w+\/image\.\w+ \(exit status 1\)$/,
    why: 'rm that fails the second time',
  },
  {
    defect: 'stattext',
    check: 'ds.stat',
    message: /^stat failed: driver returned malformed output: expected one line with the size in MB \(a whole number\); it printed "the image is 4 MB\\n"$/,
    why: 'stat that prints text',
  },
  {
    defect: 'overtime',
    check: 'ds.timeouts',
    message: /^an action ignored its timeout: stat was still running after 5\.5 s and was killed; it declares 0\.5 s \(driver\.yaml timeouts\.stat\)$/,
    why: 'a script that ignores its timeout',
  },
];

for (const { defect, check, message, why } of cases) {
  t.test(`${defect} (${why}) fails ${check} and nothing else`, async (t) => {
    const { status, stderr, report, failed, byId } = await suite(defect);
    t.equal(status, 1, 'exit status 1');
    t.equal(stderr, '');
    t.same(failed.map((c) => c.id), [check], `only ${check} fails`);
    t.match(byId[check]?.message, message, 'with the driver\'s message');
    t.equal(byId.cleanup?.status, 'ok', 'the clean-up still removed everything');
    t.notOk(existsSync(report.datastore.basePath), 'the temporary datastore is gone');
    if (defect === 'overtime') {
      t.match(byId['ds.stat'], { status: 'skip', message: /^stat was killed at the suite's timeout, so there is no result to check \(ds\.timeouts reports it\)/ });
      t.match(byId['ds.dump.stat-nothing'], { status: 'skip', message: /already ran past the suite's 5\.5 s timeout once; not run again/ }, 'a hung action is not run again');
    }
    if (defect === 'nosize') t.match(byId['ds.clone'], { status: 'skip', message: 'needs ds.cp, which failed' });
  });
}

t.test('drivers the runner would refuse on every action are refused up front (exit 2)', async (t) => {
  for (const [defect, message] of [
    ['futureapi', /datastore driver futureapi targets driver API 99; this ferry runs API 1\.\.1/],
    ['wrongkind', /driver\.yaml says kind: tm, but the driver is in the datastore folder/],
    ['unknownkey', /driver\.yaml/],
  ] as const) {
    const { status, stdout, stderr } = await runCli(['--remotes', defects, 'drivers', 'test', `datastore/${defect}`]);
    t.equal(status, 2, `${defect}: exit 2`);
    t.equal(stdout, '', `${defect}: no report`);
    t.match(stderr, message, `${defect}: says why`);
  }
});
