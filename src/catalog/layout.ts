/**
 * Where a VM's files live on its system datastore: <base>/<vm id> and
 * <base>/<vm id>/disk.<i>, as OpenNebula lays them out. Kept apart from
 * catalog.ts so plans can use it without loading SQLite.
 */

/** The VM's folder. */
export function vmPath(base: string, vmId: number): string {
  return `${base.replace(/\/+$/, '')}/${vmId}`;
}

/** A disk of the VM. */
export function diskPath(base: string, vmId: number, diskId: number): string {
  return `${vmPath(base, vmId)}/disk.${diskId}`;
}
