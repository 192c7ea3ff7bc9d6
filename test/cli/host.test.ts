/** `ferry host create|update|list|show|delete`, with --dry-run recording nothing and bad flags refused. */
import { join } from 'node:path';
import t from 'tap';
import { refusals, stage, vmYaml, world } from '../helpers/catalog-world.js';

t.test('host create and update: dry runs record nothing; updates change how a host is reached', async (t) => {
  const w = world(t);
  const dry = await w.json(['host', 'create', 'kvm1', '--ssh', '10.0.0.1', '--port', '2222', '--dry-run']);
  t.match(dry, { plan: [], host: { name: 'kvm1', transport: 'ssh', address: '10.0.0.1', port: 2222 } }, 'dry run: the host as it would be');
  t.same(w.catalog().listHosts(), [], 'and nothing recorded');

  await w.json(['host', 'create', 'kvm1', '--ssh', '10.0.0.1', '--port', '2222', '--user', 'oneadmin']);
  const wouldBe = await w.json(['host', 'update', 'kvm1', '--port', '22', '--dry-run']);
  t.equal(wouldBe.host.port, 22);
  t.equal(w.catalog().host('kvm1').port, 2222, 'a dry-run update changes nothing');
  const moved = await w.json(['host', 'update', 'kvm1', '--ssh', '10.0.0.9', '--port', '22']);
  t.match(moved, { transport: 'ssh', address: '10.0.0.9', port: 22, user: 'oneadmin' }, 'changed fields only; the user kept');
  const local = await w.json(['host', 'update', 'kvm1', '--local']);
  t.match(local, { transport: 'local', address: null, port: null, user: null }, '--local drops the ssh settings');
  const text = await w.cli(['host', 'update', 'kvm1', '--ssh', '10.0.0.2']);
  t.equal(text.stdout, 'host kvm1 (ssh 10.0.0.2)\n');

  await refusals(t, w, [
    [['host', 'update', 'kvm1'], /nothing to change/],
    [['host', 'update', 'kvm1', '--local', '--ssh', 'x'], /contradict/],
    [['host', 'update', 'kvm1', '--port', '99999'], /--port "99999" is not a port number/],
    [['host', 'update', 'kvm1', '--port', '22abc'], /is not a port number/],
    [['host', 'update', 'nope', '--port', '22'], /no host "nope"/],
    [['host', 'create', 'kvm2', '--dry-run'], /--local or --ssh ADDRESS/],
    [['host', 'create', 'kvm1', '--local', '--dry-run'], /a host named "kvm1" exists/],
  ]);
});

t.test('host delete --dry-run says whether it could go, and removes nothing', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  await w.json(['vm', 'create', vmYaml(w)]);
  const busy = await w.cli(['host', 'delete', 'host01', '--dry-run']);
  t.equal(busy.status, 2, 'a host with a VM: refused even as a dry run');
  t.match(busy.stderr, /host host01 still runs VM\(s\) 1/);
  const free = await w.cli(['host', 'delete', 'host02', '--dry-run']);
  t.equal(free.status, 0);
  t.equal(free.stdout, '# would delete host host02\n');
  t.ok(w.catalog().findHost('host02'), 'still there');
  t.equal((await w.cli(['host', 'delete', 'host02'])).status, 0);
  t.notOk(w.catalog().findHost('host02'), 'gone without --dry-run');
});

t.test('a VM locked from another machine: refused naming it and the command; host break-locks frees it', async (t) => {
  const w = world(t);
  await stage(t, w, 'shared');
  await w.json(['vm', 'create', vmYaml(w)]);
  const raw = w.raw();
  raw.prepare("INSERT INTO locks (subject, owner_pid, owner_host, owner_started, operation, since) VALUES ('vm:1', 4242, 'node7', 'boot:1', 'stop', 'then')").run();
  const refused = await w.cli(['vm', 'stop', 'vm01']);
  t.equal(refused.status, 75);
  t.match(refused.stderr, /vm:1 is locked from another host: ferry process 4242 on node7/);
  t.match(refused.stderr, /ferry host break-locks node7 --subject vm:1/);
  const broken = await w.cli(['host', 'break-locks', 'node7', '--subject', 'vm:1']);
  t.equal(broken.status, 0);
  t.match(broken.stdout, /broke the lock on vm:1: ferry process 4242 on node7, stop since then/);
  t.equal((await w.cli(['host', 'break-locks', 'node7'])).stdout, 'no lock held from node7\n');
  t.match(await w.json(['vm', 'stop', 'vm01']), { state: 'STOPPED' }, 'runs once the lock is broken');
  t.match((await w.cli(['host', 'break-locks', '--help'])).stdout, /Examples:\n {2}\$ ferry host break-locks node7/);
});
