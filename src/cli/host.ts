/** `ferry host create|list|show|delete`: the hosts VMs run on, and how ferry reaches them. */
import { isName } from '../contract/names.js';
import type { Command } from 'commander';
import type { Host } from '../model.js';
import { FerryError } from '../errors.js';
import { print, table, withCatalog } from './catalog-context.js';
import type { Io } from './io.js';


interface HostFlags {
  local?: boolean;
  ssh?: string;
  port?: string;
  user?: string;
  identity?: string;
  knownHosts?: string;
  dryRun?: boolean;
}

/** The ssh settings given as flags, checked. */
function sshSettings(flags: HostFlags): Partial<Pick<Host, 'address' | 'port' | 'user' | 'identity' | 'knownHosts'>> {
  const port = flags.port === undefined ? undefined : Number(flags.port);
  if (port !== undefined && !(/^\d+$/.test(flags.port as string) && port > 0 && port < 65536)) throw new FerryError('E_USAGE', `--port ${JSON.stringify(flags.port)} is not a port number`, { hint: '--port 22' });
  return {
    ...(flags.ssh ? { address: flags.ssh } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.identity ? { identity: flags.identity } : {}),
    ...(flags.knownHosts ? { knownHosts: flags.knownHosts } : {}),
  };
}

/** The ssh flags both create and update take. */
function withSshFlags(command: Command): Command {
  return command
    .option('--ssh <address>', 'reach the host over ssh at this address')
    .option('--port <n>', 'ssh port')
    .option('--user <name>', 'ssh user')
    .option('--identity <file>', 'ssh private key file')
    .option('--known-hosts <file>', 'ssh known_hosts file');
}

export function registerHost(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('host').summary('hosts in the catalog: create, update, list, show, delete, break-locks')
    .addHelpText('after', '\nExamples:\n  $ ferry host create host01 --local\n  $ ferry host list\n');

  withSshFlags(
    group
      .command('create')
      .summary('add a host, local or reached over ssh')
      .argument('<name>', 'the name used in host:path arguments')
      .option('--local', 'the host is this machine'),
  )
    .option('--dry-run', 'check the flags and print the host; record nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry host create host01 --local\n  $ ferry host create host02 --ssh 10.0.0.12 --user oneadmin --identity ~/.ssh/id_ed25519\n')
    .action((name: string, flags: HostFlags, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        if (!isName(name)) throw new FerryError('E_USAGE', `host name ${JSON.stringify(name)} has characters a host:path argument cannot take`, { hint: 'letters, digits, . _ -' });
        if (Boolean(flags.local) === Boolean(flags.ssh)) throw new FerryError('E_USAGE', 'say how to reach the host: --local or --ssh ADDRESS (one of them)', { hint: `ferry host create ${name} --local` });
        const input = { name, transport: flags.local ? ('local' as const) : ('ssh' as const), ...sshSettings(flags) };
        const host = flags.dryRun ? ctx.catalog.preview((tx) => tx.addHost(input)) : ctx.catalog.addHost(input);
        print(ctx, flags.dryRun ? { plan: [], host } : host, () => `${flags.dryRun ? '# would record ' : ''}host ${host.name} (${host.transport}${host.address ? ` ${host.address}` : ''})\n`);
      }),
    );

  withSshFlags(
    group
      .command('update')
      .summary('change how a host is reached (its VMs stay on it)')
      .argument('<name>')
      .option('--local', 'the host is this machine (drops its ssh settings)'),
  )
    .option('--dry-run', 'check the change and print the host; change nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry host update host02 --port 2222\n  $ ferry host update host03 --ssh 10.0.0.13 --user oneadmin\n')
    .action((name: string, flags: HostFlags, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        if (flags.local && flags.ssh) throw new FerryError('E_USAGE', '--local and --ssh contradict each other', { hint: 'give one of them' });
        const settings = sshSettings(flags);
        if (!flags.local && Object.keys(settings).length === 0) throw new FerryError('E_USAGE', 'nothing to change', { hint: `ferry host update ${name} --ssh ADDRESS | --port N | --user U | --identity FILE | --known-hosts FILE | --local` });
        const patch = { ...(flags.local ? { transport: 'local' as const } : {}), ...(flags.ssh ? { transport: 'ssh' as const } : {}), ...settings };
        const host = flags.dryRun ? ctx.catalog.preview((tx) => tx.updateHost(name, patch)) : ctx.catalog.updateHost(name, patch);
        print(ctx, flags.dryRun ? { plan: [], host } : host, () => `${flags.dryRun ? '# would set ' : ''}host ${host.name} (${host.transport}${host.address ? ` ${host.address}${host.port ? `:${host.port}` : ''}` : ''})\n`);
      }),
    );

  group
    .command('list')
    .summary('list hosts')
    .addHelpText('after', '\nExamples:\n  $ ferry host list\n  $ ferry host list --json\n')
    .action((_flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const hosts = ctx.catalog.listHosts();
        print(ctx, hosts, () => table(['NAME', 'TRANSPORT', 'ADDRESS', 'PORT', 'USER'], hosts.map((host) => [host.name, host.transport, host.address, host.port, host.user])));
      }),
    );

  group
    .command('show')
    .argument('<name>')
    .summary('show a host')
    .addHelpText('after', '\nExamples:\n  $ ferry host show host01\n  $ ferry host show host01 --json\n')
    .action((name: string, _flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const host = ctx.catalog.host(name);
        print(ctx, host, () => `${Object.entries(host).map(([key, value]) => `${key.padEnd(11)} ${value ?? '-'}`).join('\n')}\n`);
      }),
    );

  group
    .command('delete')
    .argument('<name>')
    .summary('remove a host that runs no VM')
    .option('--dry-run', 'check that it can go; remove nothing')
    .addHelpText('after', '\nExamples:\n  $ ferry host delete host02 --dry-run\n  $ ferry host delete host02\n')
    .action((name: string, flags: { dryRun?: boolean }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        if (flags.dryRun) {
          ctx.catalog.preview((tx) => tx.deleteHost(name));
          return print(ctx, { plan: [], deleted: name }, () => `# would delete host ${name}\n`);
        }
        ctx.catalog.deleteHost(name);
        print(ctx, { deleted: name }, () => `deleted host ${name}\n`);
      }),
    );

  group
    .command('break-locks')
    .argument('<machine>', 'the machine (its hostname) whose ferry processes hold the locks')
    .summary('remove the image and VM locks a ferry on another machine left (it crashed or was switched off)')
    .option('--subject <key>', 'only this lock (vm:7, image:3), as the refusal names it')
    .addHelpText('after', '\nA lock held by a live ferry process on this machine is never broken; one from another\nmachine cannot be checked from here, so break it only once ferry there is gone.\n\nExamples:\n  $ ferry host break-locks node7 --subject vm:9\n  $ ferry host break-locks node7\n')
    .action((machine: string, flags: { subject?: string }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        const broken = ctx.catalog.breakLocks(machine, flags.subject);
        print(ctx, { broken }, () => (broken.length === 0 ? `no lock held from ${machine}${flags.subject ? ` on ${flags.subject}` : ''}\n` : broken.map((lock) => `broke the lock on ${lock.subject}: ferry process ${lock.pid} on ${lock.host}, ${lock.operation} since ${lock.since}\n`).join('')));
      }),
    );
}
