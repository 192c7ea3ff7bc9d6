/**
 * OpenNebula's onevm, onedatastore and onehost as ferry's shims
 * (scripts/opennebula/bin/*) answer them: real processes (the built ferry),
 * a catalog filled through ferry's lifecycle, and the answers read with
 * OpenNebula's own xpath.rb with the exact expressions its TM scripts use.
 * Unknown ids, no catalog, unsupported commands and a missing $FERRY fail
 * (exit 255, OpenNebula's first line, then ferry's reason).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { xpathRb } from '../helpers/one-xpath.js';
import { world, type World } from '../helpers/catalog-world.js';
import { catalogAt, storeEnv } from '../helpers/test-store.js';
import { binBuilt, binMissingMessage, binPath, cleanEnv, repoRoot, runCli } from './helpers.js';

const SHIMS = join(repoRoot, 'scripts', 'opennebula', 'bin');

/** What a driver ferry runs gets to reach `w`'s catalog: FERRY_CATALOG (on PostgreSQL its database, and PGPASSWORD). */
function shimEnv(w: World): Record<string, string> & { FERRY_CATALOG: string } {
  return { FERRY: binPath, FERRY_CATALOG: catalogAt(join(w.home, 'catalog.db')), FERRY_HOME: w.home, ...storeEnv() };
}

function shim(name: string, args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(join(SHIMS, name), args, { encoding: 'utf8', env: cleanEnv(env) });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

t.test('the shims answer from the catalog; xpath.rb reads what the TM scripts read', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const read = xpathRb(t);
  if (!read) return;
  const w = world(t);
  await w.json(['host', 'create', 'host01', '--local']);
  const made = await runCli(['--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'datastore', 'create', 'images', '--ds-mad', 'dummy', '--tm-mad', 'dummy', '--base-path', `${w.root}/images`, '--secret', 'ONECOMPAT_SECRET', '--attr', 'REPLICA_HOST=replica01'], {
    env: { FERRY_HOME: w.home, ONECOMPAT_SECRET: 'never-shown-42' },
    cwd: w.root,
  });
  t.equal(made.status, 0, `datastore with a secret made ${made.stderr}`);
  const system = await w.json(['datastore', 'create', 'system', '--type', 'SYSTEM', '--tm-mad', 'dummy', '--base-path', `${w.root}/system`]);
  const base = await w.json(['image', 'create', '--datastore', 'images', '--size', '8', '--name', 'base']);
  await w.json(['image', 'create', '--datastore', 'images', '--size', '8', '--name', 'data', '--persistent']);
  const vm = await w.json(['vm', 'create', '--name', 'vm01', '--host', 'host01', '--system-ds', 'system', '--disk', 'base', '--disk', 'data']);
  await w.json(['vm', 'disk-snapshot', 'create', 'vm01', '0']);
  const env = shimEnv(w);
  const id = String(vm.id);
  const everything: string[] = [];
  const show = (name: string, args: string[]): string => {
    const answer = shim(name, args, env);
    t.equal(answer.status, 0, `${name} ${args.join(' ')}: exit 0 ${answer.stderr}`);
    t.equal(answer.stderr, '', `${name} ${args.join(' ')}: nothing on stderr`);
    everything.push(answer.stdout);
    return answer.stdout;
  };

  // qcow2/clone, ssh/clone, ssh/cpds, qcow2/snap_delete, tm_common.sh, ssh/postmigrate: their expressions, as bash passes them.
  const vmDoc = show('onevm', ['show', '-x', id]);
  t.equal(show('onevm', ['show', id, '-x']), vmDoc, 'show ID -x and show -x ID: the same document');
  t.same(
    read(vmDoc, '/VM/TEMPLATE/DISK[DISK_ID=0]/SIZE', '/VM/TEMPLATE/DISK[DISK_ID=0]/FORMAT', '/VM/TEMPLATE/DISK[DISK_ID=0]/ORIGINAL_SIZE', '/VM/TEMPLATE/DISK[DISK_ID=0]/QCOW2_STANDALONE', '/VM/TEMPLATE/DISK[DISK_ID=0]/SPARSE'),
    [String(base.sizeMb), base.format ?? '', String(base.sizeMb), '', ''],
    'qcow2/clone',
  );
  t.same(read(vmDoc, '/VM/TEMPLATE/DISK[DISK_ID=0]/SOURCE', '/VM/TEMPLATE/DISK[DISK_ID=0]/CLONE', '/VM/TEMPLATE/DISK[DISK_ID=1]/CLONE', '/VM/TEMPLATE/DISK[DISK_ID=0]/TYPE'), [base.source, 'YES', 'NO', 'FILE'], 'snap_* and tm_common.sh disk_type');
  t.same(read(vmDoc, '/VM/DEPLOY_ID', '/VM/LCM_STATE', '/VM/TEMPLATE/DISK[DISK_ID=0]/TARGET', '/VM/HISTORY_RECORDS/HISTORY[last()]/VM_MAD'), ['', '0', '', ''], 'ssh/cpds: not live (no domain, no hypervisor driver)');
  t.same(read(vmDoc, '/VM/HISTORY_RECORDS/HISTORY[last()]/DS_ID', '/VM/HISTORY_RECORDS/HISTORY[last()]/HOSTNAME', '/VM/HISTORY_RECORDS/HISTORY[last()]/ACTION'), [String(system.id), 'host01', '0'], 'ssh/clone, is_undeployed, ssh/delete');
  t.same(read(vmDoc, '/VM/SNAPSHOTS/SNAPSHOT[ID=0]/ACTIVE', '%m%/VM/TEMPLATE/DISK/DISK_ID'), ['YES', '0 1'], 'qcow2/snap_delete: the snapshot just taken is active');

  // qcow2/ln and ssh_utils.sh get_replica_host.
  const imagesId = String((await w.json(['datastore', 'show', 'images'])).id);
  const dsDoc = show('onedatastore', ['show', '-x', imagesId]);
  t.same(show('onedatastore', ['show', imagesId, '-x']), dsDoc);
  t.same(read(dsDoc, '/DATASTORE/TEMPLATE/NFS_AUTO_ENABLE', '/DATASTORE/TEMPLATE/NFS_AUTO_HOST', '/DATASTORE/TEMPLATE/NFS_AUTO_PATH', '/DATASTORE/TEMPLATE/NFS_AUTO_OPTS', '/DATASTORE/TEMPLATE/REPLICA_HOST', '/DATASTORE/BASE_PATH'), ['', '', '', '', 'replica01', `${w.root}/images`]);

  // ssh/clone.replica, and libfs.sh remove_off_hosts.
  t.same(read(show('onehost', ['show', 'host01', '-x']), '/HOST/TEMPLATE/REPLICA_STORAGE_IP', '/HOST/NAME'), ['', 'host01']);
  t.equal(show('onehost', ['list', '--operator', 'OR', '--no-pager', '--csv', '--filter=STAT=off,STAT=err,STAT=dsbl', '--list=NAME,STAT']), 'NAME,STAT\n', 'no host ferry has is off, in error or disabled');
  t.equal(show('onehost', ['list', '--csv', '--list=NAME,STAT']), 'NAME,STAT\nhost01,on\n');

  for (const text of everything) t.notMatch(text, /never-shown-42|ONECOMPAT_SECRET/, 'no secret, by value or name');
});

t.test('failures: exit 255, OpenNebula\'s first line, then ferry\'s reason', async (t) => {
  if (!binBuilt()) return t.fail(binMissingMessage);
  const w = world(t);
  await w.json(['host', 'create', 'host01', '--local']);
  const env = shimEnv(w);
  const catalogName = env.FERRY_CATALOG.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['onevm', ['show', '-x', '42'], env, new RegExp(`^\\[one\\.vm\\.info\\] Error getting virtual machine \\[42\\]\\.\\nonevm \\(ferry\\): no VM "42" in the catalog ${catalogName}\\n`)],
    ['onevm', ['show', 'nosuch', '-x'], env, /^VM named nosuch not found\.\n/],
    ['onedatastore', ['show', '-x', '9'], env, /^\[one\.datastore\.info\] Error getting datastore \[9\]\.\n/],
    ['onehost', ['show', 'host99', '-x'], env, /^HOST named host99 not found\.\nonehost \(ferry\): no host named "host99"/],
    ['onevm', ['show', '-x', '0'], { FERRY: binPath, FERRY_CATALOG: join(w.root, 'none.db') }, /^\[one\.vm\.info\] Error getting virtual machine \[0\]\.\nonevm \(ferry\): there is no oned under ferry, and no catalog at .*none\.db \(from \$FERRY_CATALOG\)/],
    ['onevm', ['list'], env, /onevm list is not answered under ferry.*\n  hint: ferry answers: onevm show ID -x/],
    ['onevm', ['show', '0'], env, /add -x/],
    ['onevm', ['show', '-x', '0', '--all'], env, /option --all is not answered/],
    ['onehost', ['list', '--list=NAME,CPU', '--csv'], env, /column CPU is not known to ferry \(it has NAME, STAT\)/],
    ['onehost', ['list'], env, /add --csv/],
    ['onevm', ['show', '-x', '0'], {}, /^onevm: this is ferry's stand-in for OpenNebula's onevm, and FERRY is not set: not running under ferry/],
  ];
  for (const [name, args, caseEnv, pattern] of cases) {
    const answer = shim(name, args, caseEnv);
    t.equal(answer.status, 255, `${name} ${args.join(' ')}: exit 255`);
    t.equal(answer.stdout, '', 'nothing on stdout');
    t.match(answer.stderr, pattern);
  }
  t.notOk(existsSync(join(w.root, 'none.db')), 'a missing catalog is not made');
});
