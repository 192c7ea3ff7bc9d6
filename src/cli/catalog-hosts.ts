/**
 * One list of hosts for every command: the catalog's hosts (`host create`)
 * join ferry.yaml's, for the catalog commands and for ds, tm and mad alike.
 * Outside the catalog commands the catalog is read only when its file
 * exists (no command but the catalog ones makes one), and the native SQLite
 * module is loaded only then, so a one-shot `ferry ds` without a catalog
 * pays one stat.
 */
import { existsSync } from 'node:fs';
import type { HostRows } from '../catalog/store.js';
import type { HostConfig } from '../config/hosts.js';

/** The catalog's hosts as ferry.yaml spells a host. */
export function hostsOf(catalog: Pick<HostRows, 'listHosts'>): Record<string, HostConfig> {
  const hosts: Record<string, HostConfig> = {};
  for (const host of catalog.listHosts()) {
    hosts[host.name] = {
      transport: host.transport,
      ...(host.address ? { address: host.address } : {}),
      ...(host.port !== null ? { port: host.port } : {}),
      ...(host.user ? { user: host.user } : {}),
      ...(host.identity ? { identity: host.identity } : {}),
      ...(host.knownHosts ? { known_hosts: host.knownHosts } : {}),
    };
  }
  return hosts;
}

/** The hosts of the catalog at `path`; none when there is no catalog there. */
export async function catalogFileHosts(path: string): Promise<Record<string, HostConfig>> {
  if (!existsSync(path)) return {};
  const { Catalog } = await import('../catalog/catalog.js');
  const catalog = Catalog.open(path);
  try {
    return hostsOf(catalog);
  } finally {
    catalog.close();
  }
}
