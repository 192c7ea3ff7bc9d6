/**
 * The catalog commands end to end, in-process and as real processes: the
 * spec's example VM (CREATE, STOP, RESUME, MIGRATE, SHUTDOWN) on real
 * drivers and files, dry runs, failures injected at each step and recovered,
 * a ferry killed mid-step, two ferries racing on one VM, and bad input
 * refused before any driver runs.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/fixtures.js';
import { STORE } from '../helpers/test-store.js';
import { snapshotTags } from '../helpers/images.js';
import { refusals, stage, vmYaml, world } from '../helpers/catalog-world.js';
import { binPath, cleanEnv, jsonOf, onTestStore, runBin, runCli } from './helpers.js';

for (const tm of ['shared', 'qcow2']) {
  t.test(`the spec's example VM with tm/${tm}: files and catalog after every step`, async (t) => {
    const w = world(t);
    const { system } = await stage(t, w, tm);
    const plan = await w.json(['vm', 'create', vmYaml(w, '  - volatile: 4\n'), '--dry-run']);
    t.same(
      plan.plan.map((step: any) => step.action),
      ['clone', 'ln', 'mkimage'],
      'dry run: clone the non-persistent image, link the persistent one, make the volatile disk',
    );
    t.notOk(existsSync(join(system, '1')), 'a dry run creates nothing');
    t.same(w.catalog().listVms(), [], 'nor a VM record');

    const created = await w.json(['vm', 'create', vmYaml(w, '  - volatile: 4\n')]);
    t.equal(created.state, 'RUNNING');
    const folder = join(system, String(created.id));
    t.ok(existsSync(join(folder, 'disk.0')), 'disk.0 cloned');
    t.ok(lstatSync(join(folder, 'disk.1')).isSymbolicLink() || existsSync(join(folder, 'disk.1')), 'disk.1 linked');
    t.ok(existsSync(join(folder, 'disk.2')), 'volatile disk.2 made');
    const data = w.catalog().image('data');
    t.equal(data.state, 'USED', 'persistent image is USED');

    for (const [argv, state, host] of [
      [['vm', 'stop', 'vm01'], 'STOPPED', 'host01'],
      [['vm', 'resume', 'vm01'], 'RUNNING', 'host01'],
      [['vm', 'migrate', 'vm01', 'host02'], 'RUNNING', 'host02'],
    ] as const) {
      const vm = await w.json([...argv]);
      t.equal(vm.state, state, `${argv[1]}: ${state}`);
      t.equal(vm.host, host, `${argv[1]}: on ${host}`);
      t.ok(existsSync(join(folder, 'disk.0')), `${argv[1]}: disk.0 still there`);
    }
    const done = await w.json(['vm', 'shutdown', 'vm01']);
    t.equal(done.state, 'DONE');
    t.notOk(existsSync(folder), 'shutdown removed the VM folder');
    t.ok(existsSync(w.catalog().image('data').source as string), 'the persistent image is still in its datastore');
    t.equal(w.catalog().image('data').state, 'READY', 'and READY again');
    const journal = w.catalog().journal(`vm:${created.id}`);
    t.same(
      journal.map((entry) => `${entry.operation}:${entry.action}`),
      ['create:clone', 'create:ln', 'create:mkimage', 'stop:mv', 'stop:mv', 'stop:mv', 'stop:mv', 'resume:mv', 'resume:mv', 'resume:mv', 'resume:mv', 'migrate:mv', 'migrate:mv', 'migrate:mv', 'migrate:mv', 'shutdown:delete', 'shutdown:mvds', 'shutdown:delete', 'shutdown:delete'],
      'the journal holds every action in order',
    );
    t.ok(journal.every((entry) => entry.ok && entry.exitCode === 0), 'all succeeded');
  });
}

t.test('a failure at each create step leaves the VM FAILED at that step; --retry finishes without redoing steps', async (t) => {
  for (const action of ['clone', 'ln']) {
    t.test(`failing ${action}`, async (t) => {
      const w = world(t);
      const { system } = await stage(t, w, 'flaky');
      writeFileSync(join(w.markers, `fail-${action}`), '');
      const failed = await w.cli(['vm', 'create', vmYaml(w)]);
      t.equal(failed.status, 1, 'the driver failure is exit 1');
      t.match(failed.stderr, /injected failure/, 'with the driver\'s message');
      const vm = w.catalog().vm('vm01');
      t.equal(vm.state, 'FAILED');
      t.equal(vm.step, action === 'clone' ? 0 : 1, 'the step that failed is recorded');
      t.match(vm.error, new RegExp(`create step ${action === 'clone' ? 1 : 2}/2 \\(${action.toUpperCase()} flaky`), 'the error names the step');
      const busy = await w.cli(['vm', 'stop', 'vm01']);
      t.equal(busy.status, 2, 'a FAILED VM refuses other operations');
      t.match(busy.stderr, /recover/, 'and says how to recover');

      rmSync(join(w.markers, `fail-${action}`));
      const retried = await w.json(['vm', 'recover', 'vm01', '--retry']);
      t.equal(retried.state, 'RUNNING');
      const creates = w.catalog().journal(`vm:${vm.id}`).filter((entry) => entry.operation === 'create');
      t.equal(creates.filter((entry) => entry.action === 'clone' && entry.ok).length, 1, 'clone ran once successfully (not redone)');
      t.ok(existsSync(join(system, String(vm.id), 'disk.1')), 'both disks present');
    });
  }
});

t.test('a driver failing at each lifecycle step in turn: FAILED at that step, nothing lost, --retry reaches the state', async (t) => {
  const lifecycle: Array<[string[], string]> = [
    [['vm', 'stop', 'vm01'], 'STOPPED'],
    [['vm', 'resume', 'vm01'], 'RUNNING'],
    [['vm', 'migrate', 'vm01', 'host02'], 'RUNNING'],
    [['vm', 'shutdown', 'vm01'], 'DONE'],
  ];
  // [operation index in `lifecycle`, action that fails, step index of its first run in that operation's plan]
  const cases: Array<[number, string, number]> = [
    [0, 'mv', 0],
    [1, 'mv', 0],
    [2, 'mv', 0],
    [3, 'delete', 0],
    [3, 'mvds', 1],
  ];
  for (const [at, action, step] of cases) {
    const [argv, state] = lifecycle[at] as [string[], string];
    t.test(`${argv[1]} failing at ${action}`, async (t) => {
      const w = world(t);
      const { system } = await stage(t, w, 'flaky');
      await w.json(['vm', 'create', vmYaml(w)]);
      for (const [before] of lifecycle.slice(0, at)) await w.json(before);
      writeFileSync(join(w.markers, `fail-${action}`), '');
      const failed = await w.cli(argv);
      t.equal(failed.status, 1, 'the driver failure: exit 1');
      const vm = w.catalog().vm('vm01');
      t.equal(vm.state, 'FAILED');
      t.equal(vm.operation, argv[1]);
      t.equal(vm.step, step, `failed at step ${step}`);
      t.match(vm.error, new RegExp(`${argv[1]} step ${step + 1}/\\d+ \\(${action.toUpperCase()} flaky`), 'the error names the step');
      const data = w.catalog().image('data');
      t.ok(existsSync(data.source as string), 'the persistent image is still in its datastore');
      if (at < 3 || step === 0) t.ok(existsSync(join(system, '1', 'disk.1')), 'and the VM\'s disks are where the catalog says');
      rmSync(join(w.markers, `fail-${action}`));
      const retried = await w.json(['vm', 'recover', 'vm01', '--retry']);
      t.equal(retried.state, state, `--retry reaches ${state}`);
      t.equal(retried.operation, null);
      const runs = w.catalog().journal('vm:1').filter((entry) => entry.operation === argv[1] && entry.ok);
      t.equal(runs.length, (vm.plan ?? []).length, 'each step of the plan ran once successfully');
      if (state === 'DONE') {
        t.notOk(existsSync(join(system, '1')), 'shutdown finished: the VM folder is gone');
        t.equal(w.catalog().image('data').state, 'READY');
      } else {
        t.ok(existsSync(join(system, '1', 'disk.0')), 'the disks are there');
      }
    });
  }
});

t.test('a create rolled back leaves the VM PENDING; vm deploy deploys it again', async (t) => {
  const w = world(t);
  const { system } = await stage(t, w, 'flaky');
  writeFileSync(join(w.markers, 'fail-ln'), '');
  t.equal((await w.cli(['vm', 'create', vmYaml(w)])).status, 1);
  rmSync(join(w.markers, 'fail-ln'));
  const plan = await w.json(['vm', 'recover', 'vm01', '--failure', '--dry-run']);
  t.same(plan.plan.map((step: any) => step.action), ['delete', 'delete'], 'undo: the cloned disk, then the VM folder');
  const back = await w.json(['vm', 'recover', 'vm01', '--failure']);
  t.equal(back.state, 'PENDING');
  t.notOk(existsSync(join(system, '1')), 'nothing left on the host');
  const dry = await w.json(['vm', 'deploy', 'vm01', '--dry-run']);
  t.same(dry.plan.map((step: any) => step.action), ['clone', 'ln']);
  const deployed = await w.json(['vm', 'deploy', 'vm01']);
  t.equal(deployed.state, 'RUNNING', 'deployed');
  t.ok(existsSync(join(system, '1', 'disk.1')));
  const again = await w.cli(['vm', 'deploy', 'vm01']);
  t.equal(again.status, 2, 'a RUNNING VM is not deployed twice');
  t.match(again.stderr, /is RUNNING; cannot create it/);
});

t.test('recover --failure rolls a failed migrate back; --success marks it done', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w)]);
  writeFileSync(join(w.markers, 'fail-mv'), '');
  const failed = await w.cli(['vm', 'migrate', 'vm01', 'host02']);
  t.equal(failed.status, 1);
  t.equal(w.catalog().vm('vm01').state, 'FAILED');
  rmSync(join(w.markers, 'fail-mv'));
  const plan = await w.json(['vm', 'recover', 'vm01', '--failure', '--dry-run']);
  t.same(plan.plan, [], 'nothing ran before the failure, so nothing to undo');
  const back = await w.json(['vm', 'recover', 'vm01', '--failure']);
  t.equal(back.state, 'RUNNING', 'back to its state before the migrate');
  t.equal(back.host, 'host01', 'on its old host');

  writeFileSync(join(w.markers, 'fail-delete'), '');
  t.equal((await w.cli(['vm', 'shutdown', 'vm01'])).status, 1);
  const refused = await w.cli(['vm', 'recover', 'vm01', '--failure']);
  t.equal(refused.status, 2, 'a shutdown cannot be rolled back');
  t.match(refused.stderr, /cannot be rolled back/);
  const marked = await w.json(['vm', 'recover', 'vm01', '--success']);
  t.equal(marked.state, 'DONE', '--success marks it done');
});

t.test('bad input is refused before any driver runs, saying what to change', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  const before = w.catalog().journal().length;
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown datastore', ['image', 'create', '--datastore', 'nope', '--size', '1', '--name', 'x'], /no datastore "nope".*\n.*known datastores: 1 \(images\), 2 \(system\)/],
    ['unknown image', ['vm', 'create', '--name', 'a', '--host', 'host01', '--system-ds', 'system', '--disk', 'ghost'], /no image "ghost"/],
    ['image datastore as system datastore', ['vm', 'create', '--name', 'a', '--host', 'host01', '--system-ds', 'images', '--disk', 'base'], /IMAGE datastore, not a SYSTEM one[\s\S]*hint: pick a SYSTEM datastore for --system-ds \(system\)/],
    ['unknown host', ['vm', 'create', '--name', 'a', '--host', 'host09', '--system-ds', 'system', '--disk', 'base'], /no host "host09"[\s\S]*known hosts: host01, host02/],
    ['no disk', ['vm', 'create', '--name', 'a', '--host', 'host01', '--system-ds', 'system'], /at least one disk/],
  ];
  for (const [what, argv, message] of cases) {
    const result = await w.cli(argv);
    t.equal(result.status, 2, `${what}: exit 2`);
    t.match(result.stderr, message, `${what}: the message`);
  }
  const imageIntoSystem = await w.cli(['image', 'create', '--datastore', 'system', '--size', '1', '--name', 'x', '--dry-run']);
  t.equal(imageIntoSystem.status, 2, 'an image in a SYSTEM datastore is refused, --dry-run too');
  t.match(imageIntoSystem.stderr, /SYSTEM datastore; images go in an IMAGE/);
  const missingFile = await w.cli(['image', 'create', '--datastore', 'images', '--path', join(w.root, 'nope.qcow2')]);
  t.equal(missingFile.status, 2, 'a missing image file: exit 2');
  t.match(missingFile.stderr, /nope\.qcow2 does not exist/);
  const planned = await w.cli(['image', 'create', '--datastore', 'images', '--size', '4', '--name', 'later', '--dry-run']);
  t.equal(planned.status, 0);
  t.match(planned.stdout, /^# ferry ds mkfs \(datastore 1 images, driver fs\)/, 'the dry run names the action and driver');
  t.notOk(w.catalog().findImage('later'), 'and records nothing');
  writeFileSync(join(w.root, 'bad.yaml'), 'name: vm02\nhost: host01\nsystem_datastore: system\ndisks:\n  - volatile: "big"\n');
  const badYaml = await w.cli(['vm', 'create', join(w.root, 'bad.yaml')]);
  t.equal(badYaml.status, 2, 'vm.yaml with a wrong type: exit 2');
  t.match(badYaml.stderr, /bad\.yaml/, 'naming the file');

  await w.json(['vm', 'create', vmYaml(w)]);
  const second = join(w.root, 'vm2.yaml');
  writeFileSync(second, 'name: vm02\nhost: host02\nsystem_datastore: system\ndisks:\n  - image: data\n');
  const inUse = await w.cli(['vm', 'create', second]);
  t.equal(inUse.status, 2, 'persistent image in use: exit 2');
  t.match(inUse.stderr, /persistent image data is already in use by VM 1/);
  t.equal(w.catalog().journal().length, before + 2, 'only vm01\'s two actions ran');
  t.equal(w.catalog().listVms().length, 1, 'no record for the refused VMs');
});

t.test('datastores: create is refused with the monitor\'s reason; secrets never printed; show -x', async (t) => {
  const w = world(t);
  const refused = await w.cli(['datastore', 'create', 'broken', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', join(w.root, 'does-not-exist')]);
  t.not(refused.status, 0, 'a datastore whose base path is missing is refused');
  t.same(w.catalog().listDatastores(), [], 'and not kept');
  const dir = join(w.root, 'ds');
  mkdirSync(dir);
  const made = await runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, '--json', 'datastore', 'create', 'secure', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir, '--secret', 'API_KEY', '--attr', 'RESTRICTED_DIRS=/etc'], {
    env: { FERRY_HOME: w.home, API_KEY: 's3cr3t-value' },
    cwd: w.root,
  });
  t.equal(made.status, 0, made.stderr);
  t.notMatch(made.stdout + made.stderr, /s3cr3t-value/, 'create never prints the secret');
  t.equal(jsonOf(made.stdout).result.secrets.API_KEY, '***');
  const xml = await w.cli(['datastore', 'show', 'secure', '-x']);
  t.match(xml.stdout, /<API_KEY><!\[CDATA\[\*\*\*\]\]><\/API_KEY>/, 'show -x marks it redacted');
  t.match(xml.stdout, /<RESTRICTED_DIRS><!\[CDATA\[\/etc\]\]><\/RESTRICTED_DIRS>/);
  t.notMatch(xml.stdout, /s3cr3t/);
  const journal = JSON.stringify(w.catalog().journal());
  t.notMatch(journal, /s3cr3t/, 'nor does the journal');
  const missing = await w.cli(['datastore', 'create', 'nokey', '--ds-mad', 'fs', '--tm-mad', 'shared', '--base-path', dir, '--secret', 'NOT_SET']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /\$NOT_SET is not set/);
});

t.test('a ferry killed mid-step, then restarted; two ferries racing on one VM', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w)]);
  writeFileSync(join(w.markers, 'slow-mv'), '');
  const env = onTestStore([], cleanEnv({ FERRY_HOME: w.home }), w.root);
  const args = [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'vm', 'stop', 'vm01'];
  const first = spawn(process.execPath, args, { env, stdio: 'ignore' });
  t.ok(await waitFor(() => w.catalog().vm('vm01').operation === 'stop', 8000), 'the stop is under way');
  const racing = await runBin(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'vm', 'stop', 'vm01'], { env: { FERRY_HOME: w.home } });
  t.equal(racing.status, 75, 'a second ferry on the same VM is refused as busy (75)');
  t.match(racing.stderr, /vm:1 is busy: ferry process \d+/);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  rmSync(join(w.markers, 'slow-mv'));
  const left = w.catalog().vm('vm01');
  t.equal(left.operation, 'stop', 'the catalog still knows the stop was under way');
  t.equal(left.step, 0, 'at its first step');
  t.equal(left.state, 'RUNNING', 'not marked done');
  const again = await w.cli(['vm', 'stop', 'vm01']);
  t.equal(again.status, 2, 'a new operation is refused while one is interrupted');
  t.match(again.stderr, /interrupted stop[\s\S]*ferry vm recover 1/);
  // The killed process's lock is stale (its pid is gone): recover takes it over and finishes the plan.
  const retried = await w.json(['vm', 'recover', 'vm01', '--retry']);
  t.equal(retried.state, 'STOPPED', 'recover --retry finishes the interrupted stop');
  t.equal(retried.operation, null);
});

t.test('vm show names the failed step and the way out; --journal lists actions', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  writeFileSync(join(w.markers, 'fail-ln'), '');
  await w.cli(['vm', 'create', vmYaml(w)]);
  const shown = await w.cli(['vm', 'show', 'vm01', '--journal']);
  t.equal(shown.status, 0);
  t.match(shown.stdout, /FAILED/);
  t.match(shown.stdout, /1 of 2 steps done; next:\n\s+LN flaky fe:/);
  t.match(shown.stdout, /ferry vm recover 1 --retry \| --success \| --failure/);
  t.match(shown.stdout, /FAIL create LN flaky/);
  // On PostgreSQL the catalog is the database FERRY_CATALOG names, and nothing is made under FERRY_HOME.
  t.equal(existsSync(join(w.home, 'catalog.db')), STORE === 'sqlite', STORE === 'sqlite' ? 'the catalog is a file under FERRY_HOME' : 'no catalog file under FERRY_HOME');
});

for (const tm of ['shared', 'qcow2']) {
  t.test(`vm disk-snapshot create, revert, delete with tm/${tm}: ids, files and refusals`, async (t) => {
    const w = world(t);
    const { system } = await stage(t, w, tm);
    await w.json(['vm', 'create', vmYaml(w, '  - swap: 4\n')]);
    const disk = join(system, '1', 'disk.0');

    const plan = await w.cli(['vm', 'disk-snapshot', 'create', 'vm01', '0', '--dry-run']);
    t.equal(plan.status, 0, plan.stderr);
    t.match(plan.stdout, new RegExp(`^SNAP_CREATE ${tm} host01:${disk} 0 1 \\d+$`, 'm'), 'dry run: the transfer line, snapshot id 0');
    t.same(snapshotTags(disk), [], 'a dry run takes no snapshot');

    const first = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
    t.equal(first.state, 'RUNNING', 'the VM stays RUNNING');
    t.same(first.disks[0].snapshots, [0]);
    const chosen = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0', '--id', '5']);
    t.same(chosen.disks[0].snapshots, [0, 5], '--id picks the id');
    t.same(snapshotTags(disk), ['snap-0', 'snap-5'], 'both in the disk file');
    const taken = await w.cli(['vm', 'disk-snapshot', 'create', 'vm01', '0', '--id', '5']);
    t.equal(taken.status, 2, 'an id taken: exit 2');
    t.match(taken.stderr, /already has a snapshot 5/);

    const reverted = await w.json(['vm', 'disk-snapshot', 'revert', 'vm01', '0', '0']);
    t.same(reverted.disks[0].snapshots, [0, 5], 'revert keeps them');
    const deleted = await w.json(['vm', 'disk-snapshot', 'delete', 'vm01', '0', '5']);
    t.same(deleted.disks[0].snapshots, [0]);
    t.same(snapshotTags(disk), ['snap-0']);

    // Stopped, the disk is on the frontend: the step says so. The next id is past every id the disk ever had
    // (5 was deleted, and is not taken again), as oned's NEXT_SNAPSHOT.
    await w.json(['vm', 'stop', 'vm01']);
    const stopped = await w.cli(['vm', 'disk-snapshot', 'create', 'vm01', '0', '--dry-run']);
    t.match(stopped.stdout, new RegExp(`^SNAP_CREATE ${tm} fe:${disk} 6 1 \\d+$`, 'm'), 'a stopped VM\'s disk is snapshotted on the frontend, id 6');
    const onFrontend = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
    t.equal(onFrontend.state, 'STOPPED', 'and it stays STOPPED');
    t.same(onFrontend.disks[0].snapshots, [0, 6]);

    const before = w.catalog().journal().length;
    await refusals(t, w, [
      [['vm', 'disk-snapshot', 'revert', 'vm01', '0', '9'], /disk 0 of VM 1 has no snapshot 9 \(it has: 0, 6\)/],
      [['vm', 'disk-snapshot', 'create', 'vm01', '7'], /VM 1 has no disk 7 \(it has: 0, 1, 2\)/],
      [['vm', 'disk-snapshot', 'create', 'vm01', '2'], /disk 2 of VM 1 is a swap disk/],
      [['vm', 'disk-snapshot', 'delete', 'vm01', 'x', '0'], /disk id "x" is not a whole number/],
    ], (argv) => argv.slice(1).join(' '));
    t.equal(w.catalog().journal().length, before, 'no driver ran for a refusal');
  });
}

t.test('a failed disk snapshot leaves the VM FAILED; recover --failure returns it as it was', async (t) => {
  const w = world(t);
  await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w)]);
  writeFileSync(join(w.markers, 'fail-snap_create'), '');
  const failed = await w.cli(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.equal(failed.status, 1, 'the driver failed: exit 1');
  const vm = w.catalog().vm('vm01');
  t.equal(vm.state, 'FAILED');
  t.match(vm.error, /disk-snapshot-create step 1\/1 \(SNAP_CREATE flaky .*\): injected failure in snap_create \(tm flaky\/snap_create exited with status 1\)/);
  rmSync(join(w.markers, 'fail-snap_create'));
  const back = await w.json(['vm', 'recover', 'vm01', '--failure']);
  t.equal(back.state, 'RUNNING', 'rolled back to RUNNING: nothing ran, nothing to undo');
  t.same(back.disks[0].snapshots, [], 'no snapshot recorded');
  const retried = await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  t.same(retried.disks[0].snapshots, [1], 'a new attempt works, with a new id (the failed one may have left its file)');
});

t.test('vm disk-saveas: a disk or one of its snapshots becomes a READY image; a failure leaves the image ERROR and the VM as it was', async (t) => {
  const w = world(t);
  const { images, system } = await stage(t, w, 'flaky');
  await w.json(['vm', 'create', vmYaml(w, '  - volatile: 4\n')]);
  const disk = join(system, '1', 'disk.0');
  await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  // Change the disk after the snapshot, so the current state and snapshot 0 differ.
  execFileSync('qemu-io', ['-c', 'write -P 0xab 0 1M', disk], { stdio: 'ignore' });

  const plan = await w.cli(['vm', 'disk-saveas', 'vm01', '0', '--name', 'saved', '--dry-run']);
  t.equal(plan.status, 0, plan.stderr);
  t.match(plan.stdout, /^MKFS fs/m, 'dry run: the datastore names a source');
  t.match(plan.stdout, new RegExp(`^CPDS flaky host01:${disk} \\(new SOURCE\\) -1 1 \\d+$`, 'm'), 'then cpds copies the disk');
  t.notOk(w.catalog().findImage('saved'), 'a dry run records nothing');

  const saved = await w.json(['vm', 'disk-saveas', 'vm01', '0', '--name', 'saved']);
  t.equal(saved.state, 'READY');
  t.equal(saved.sizeMb, 32, 'stat gave its size');
  t.ok(saved.source.startsWith(`${images}/`), 'in the image\'s datastore');
  execFileSync('qemu-img', ['compare', '-q', disk, saved.source]);
  t.pass('same contents as the disk (qemu-img compare)');
  const fromSnapshot = await w.json(['vm', 'disk-saveas', 'vm01', '0', '--name', 'at-snap0', '--snapshot', '0']);
  t.equal(fromSnapshot.state, 'READY');
  const differs = spawnSync('qemu-img', ['compare', '-q', disk, fromSnapshot.source]);
  t.equal(differs.status, 1, 'snapshot 0 differs from the current disk');
  t.same(w.catalog().journal(`image:${saved.id}`).map((entry) => entry.action), ['mkfs', 'cpds', 'stat'], 'journaled under the new image');
  t.equal(w.catalog().vm('vm01').state, 'RUNNING', 'the VM is untouched');

  const volatile = await w.cli(['vm', 'disk-saveas', 'vm01', '2', '--name', 'scratch']);
  t.equal(volatile.status, 2, 'a volatile disk needs --datastore');
  t.match(volatile.stderr, /say which datastore/);
  const toSystem = await w.cli(['vm', 'disk-saveas', 'vm01', '2', '--name', 'scratch', '--datastore', 'system']);
  t.equal(toSystem.status, 2);
  t.match(toSystem.stderr, /no datastore driver/);
  const scratch = await w.json(['vm', 'disk-saveas', 'vm01', '2', '--name', 'scratch', '--datastore', 'images']);
  t.equal(scratch.sizeMb, 4, 'a volatile disk saved');

  writeFileSync(join(w.markers, 'fail-cpds'), '');
  const failed = await w.cli(['vm', 'disk-saveas', 'vm01', '0', '--name', 'broken']);
  t.equal(failed.status, 1, 'the copy failed: exit 1');
  const broken = w.catalog().image('broken');
  t.equal(broken.state, 'ERROR');
  t.match(broken.error, /^saveas: injected failure in cpds/);
  const vm = w.catalog().vm('vm01');
  t.equal(vm.state, 'RUNNING', 'the VM is as it was');
  t.equal(vm.operation, null);
  rmSync(join(w.markers, 'fail-cpds'));
  await w.json(['image', 'delete', 'broken']);
  t.notOk(existsSync(broken.source as string), 'deleting the failed image removes the source the datastore reserved');
});
