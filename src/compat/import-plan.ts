/**
 * The plan of `ferry drivers import`: every file, link and folder it will
 * make under DEST, and the plan-space questions the other import modules ask
 * (where does a link lead once installed, which driver folder holds a path).
 * Paths in a plan are DEST-relative and '/'-separated.
 */
import { posix } from 'node:path';

export type DriverKind = 'datastore' | 'tm';

export interface PlanEntry {
  /** Where it goes, relative to DEST. */
  to: string;
  type: 'file' | 'link' | 'dir';
  /** file: the real file inside SRC that is copied. */
  from?: string;
  /** file: its mode bits, kept. */
  mode?: number;
  /** link: the link's text. */
  target?: string;
  /** link: the real path inside SRC the link led to there (absent for a link stored as a plain file). */
  srcTarget?: string;
  /** The driver it belongs to ("tm/ssh"); absent for helpers. */
  driver?: string;
  /** OpenNebula's file, or ferry's own addition (scripts/opennebula). */
  origin: 'opennebula' | 'ferry';
}

export interface DriverRef {
  kind: DriverKind;
  name: string;
  /** The driver's folder (or link) under DEST: var/remotes/<kind>/<name>. */
  to: string;
}

export const REMOTES = 'var/remotes';

export function driverId(kind: DriverKind, name: string): string {
  return `${kind}/${name}`;
}

export function driverRoot(kind: DriverKind, name: string): string {
  return `${REMOTES}/${kind}/${name}`;
}

/** The entries by DEST path, plus every folder they imply. */
export class PlanIndex {
  readonly byPath = new Map<string, PlanEntry>();
  readonly dirs = new Set<string>();

  constructor(entries: readonly PlanEntry[]) {
    for (const entry of entries) {
      this.byPath.set(entry.to, entry);
      if (entry.type === 'dir') this.dirs.add(entry.to);
      for (let dir = posix.dirname(entry.to); dir !== '.'; dir = posix.dirname(dir)) this.dirs.add(dir);
    }
  }

  /**
   * Where `path` leads once installed, following planned links (and only
   * them), or null when it leads nowhere planned or out of DEST. `hops` are
   * the links passed through, so a caller can tell which driver folders a
   * link depends on.
   */
  resolve(path: string, depth = 0): { path: string; hops: string[] } | null {
    if (depth > 40) return null;
    const parts = path.split('/');
    let current = '';
    const hops: string[] = [];
    for (let i = 0; i < parts.length; i += 1) {
      const next = current === '' ? (parts[i] as string) : `${current}/${parts[i] as string}`;
      const entry = this.byPath.get(next);
      if (entry?.type === 'link') {
        const target = entry.target as string;
        if (posix.isAbsolute(target)) return null;
        const joined = posix.normalize(posix.join(posix.dirname(next), target));
        if (joined === '..' || joined.startsWith('../') || joined === '.') return null;
        const resolved = this.resolve(joined, depth + 1);
        if (!resolved) return null;
        hops.push(next, ...resolved.hops);
        current = resolved.path;
      } else if (entry?.type === 'file' && i < parts.length - 1) {
        return null;
      } else {
        current = next;
      }
    }
    const last = this.byPath.get(current);
    return last !== undefined || this.dirs.has(current) ? { path: current, hops } : null;
  }

  /** Where a link at `at` with text `target` leads once installed (see resolve). */
  resolveLink(at: string, target: string): { path: string; hops: string[] } | null {
    if (posix.isAbsolute(target)) return null;
    const joined = posix.normalize(posix.join(posix.dirname(at), target));
    if (joined === '..' || joined.startsWith('../') || joined === '.') return null;
    const resolved = this.resolve(joined);
    return resolved ? { path: resolved.path, hops: [joined, ...resolved.hops] } : null;
  }
}

/** The driver (of `drivers`) whose folder holds `path`, if any. */
export function driverHolding(drivers: readonly DriverRef[], path: string): DriverRef | undefined {
  return drivers.find((driver) => path === driver.to || path.startsWith(`${driver.to}/`));
}
