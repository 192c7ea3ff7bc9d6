/** Host rows: the hosts VMs run on and how ferry reaches them (local, or ssh with its settings). */
import { FerryError } from '../errors.js';
import type { Host, HostPatch, NewHost } from '../model.js';
import type { Connection } from './connection.js';
import type { HostsTable } from './db/tables.js';
import { guarded, now, num, str, type Row } from './values.js';

function hostOf(row: Row | HostsTable): Host {
  return {
    name: String(row.name),
    transport: row.transport as 'local' | 'ssh',
    address: str(row.address),
    port: num(row.port),
    user: str(row.user),
    identity: str(row.identity),
    knownHosts: str(row.known_hosts),
    createdAt: String(row.created_at),
  };
}

export function addHost(c: Connection, input: NewHost): Host {
  return guarded(`host ${input.name}`, () =>
    c.transaction(() => {
      if (findHost(c, input.name)) throw new FerryError('E_CONFLICT', `a host named ${JSON.stringify(input.name)} exists`, { hint: 'delete it first, or pick another name' });
      c.run(
        c.q.insertInto('hosts').values({
          name: input.name,
          transport: input.transport,
          address: input.address ?? null,
          port: input.port ?? null,
          user: input.user ?? null,
          identity: input.identity ?? null,
          known_hosts: input.knownHosts ?? null,
          created_at: now(),
        }),
      );
      return host(c, input.name);
    }),
  );
}

/** Changes how a host is reached (address, port, keys …); its VMs keep running there. */
export function updateHost(c: Connection, name: string, patch: HostPatch): Host {
  const next = { ...host(c, name), ...patch };
  if (next.transport === 'local') Object.assign(next, { address: null, port: null, user: null, identity: null, knownHosts: null });
  if (next.transport === 'ssh' && !next.address) throw new FerryError('E_USAGE', `host ${name} is reached over ssh but has no address`, { hint: '--ssh ADDRESS' });
  c.run(
    c.q
      .updateTable('hosts')
      .set({ transport: next.transport, address: next.address, port: next.port, user: next.user, identity: next.identity, known_hosts: next.knownHosts })
      .where('name', '=', name),
  );
  return host(c, name);
}

export function listHosts(c: Connection): Host[] {
  return c.all(c.q.selectFrom('hosts').selectAll().orderBy('name')).map(hostOf);
}

export function findHost(c: Connection, name: string): Host | undefined {
  const row = c.get(c.q.selectFrom('hosts').selectAll().where('name', '=', name));
  return row ? hostOf(row) : undefined;
}

/** A host by name; E_NOT_FOUND names the known ones. */
export function host(c: Connection, name: string): Host {
  const found = findHost(c, name);
  if (found) return found;
  const known = listHosts(c).map((each) => each.name);
  throw new FerryError('E_NOT_FOUND', `no host ${JSON.stringify(name)} in the catalog`, {
    hint: known.length > 0 ? `known hosts: ${known.join(', ')}` : 'add one: ferry host create NAME --local (or --ssh ADDRESS)',
  });
}

export function deleteHost(c: Connection, name: string): void {
  host(c, name);
  // A failed migrate's destination counts too: recover --retry would move the VM there.
  const vms = c.all(
    c.q
      .selectFrom('vms')
      .select('id')
      .where((eb) => eb.or([eb('host', '=', name), eb.and([eb('target_host', '=', name), eb('operation', 'is not', null)])]))
      .where('state', '!=', 'DONE'),
  );
  if (vms.length > 0) throw new FerryError('E_CONFLICT', `host ${name} still runs VM(s) ${vms.map((row) => row.id).join(', ')}, or is where one is being moved`, { hint: 'migrate, shut down or recover them first, or remove them: ferry vm terminate VM' });
  c.run(c.q.deleteFrom('hosts').where('name', '=', name));
}
