/**
 * Records as ferry shows them to anyone (the CLI's output, the HTTP API): a secret's value never appears, only its
 * name, with REDACTED for the value. Hosts are shown field by field, so a field added later is not shown until
 * someone decides it may be.
 */
import type { Datastore, Host } from '../model.js';

export const REDACTED = '***';

/** A datastore as printed: secret values never appear, only their names. */
export function shownDatastore(ds: Datastore): Record<string, unknown> {
  return { ...ds, secrets: Object.fromEntries(Object.keys(ds.secrets).map((name) => [name, REDACTED])) };
}

/** A host as printed: how ferry reaches it (the identity is a key file's path, never its content). */
export function shownHost(host: Host): Record<string, unknown> {
  const { name, transport, address, port, user, identity, knownHosts, createdAt } = host;
  return { name, transport, address, port, user, identity, knownHosts, createdAt };
}
