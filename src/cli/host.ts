/** `ferry host create|list|show|delete`: the hosts VMs run on, and how ferry reaches them. */
import type { Command } from 'commander';
import { FerryError } from '../errors.js';
import { print, table, withCatalog } from './catalog-context.js';
import type { Io } from './io.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function registerHost(program: Command, io: Io, setStatus: (status: number) => void): void {
  const group = program.command('host').summary('hosts in the catalog: create, list, show, delete');

  group
    .command('create')
    .summary('add a host, local or reached over ssh')
    .argument('<name>', 'the name used in host:path arguments')
    .option('--local', 'the host is this machine')
    .option('--ssh <address>', 'reach the host over ssh at this address')
    .option('--port <n>', 'ssh port')
    .option('--user <name>', 'ssh user')
    .option('--identity <file>', 'ssh private key file')
    .option('--known-hosts <file>', 'ssh known_hosts file')
    .addHelpText('after', '\nExamples:\n  $ ferry host create host01 --local\n  $ ferry host create host02 --ssh 10.0.0.12 --user oneadmin --identity ~/.ssh/id_ed25519\n')
    .action((name: string, flags: { local?: boolean; ssh?: string; port?: string; user?: string; identity?: string; knownHosts?: string }, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        if (!NAME.test(name)) throw new FerryError('E_USAGE', `host name ${JSON.stringify(name)} has characters a host:path argument cannot take`, { hint: 'letters, digits, . _ -' });
        if (Boolean(flags.local) === Boolean(flags.ssh)) throw new FerryError('E_USAGE', 'say how to reach the host: --local or --ssh ADDRESS (one of them)', { hint: `ferry host create ${name} --local` });
        const port = flags.port === undefined ? undefined : Number(flags.port);
        if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new FerryError('E_USAGE', `--port ${JSON.stringify(flags.port)} is not a port number`, { hint: '--port 22' });
        const host = ctx.catalog.addHost({
          name,
          transport: flags.local ? 'local' : 'ssh',
          ...(flags.ssh ? { address: flags.ssh } : {}),
          ...(port !== undefined ? { port } : {}),
          ...(flags.user ? { user: flags.user } : {}),
          ...(flags.identity ? { identity: flags.identity } : {}),
          ...(flags.knownHosts ? { knownHosts: flags.knownHosts } : {}),
        });
        print(ctx, host, () => `host ${host.name} (${host.transport}${host.address ? ` ${host.address}` : ''})\n`);
      }),
    );

  group
    .command('list')
    .summary('list hosts')
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
    .action((name: string, _flags: unknown, command: Command) =>
      withCatalog(command, io, setStatus, (ctx) => {
        ctx.catalog.deleteHost(name);
        print(ctx, { deleted: name }, () => `deleted host ${name}\n`);
      }),
    );
}
