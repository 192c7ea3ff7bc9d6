/**
 * Links in an import: where each of SRC's links leads once installed, the
 * links a checkout without symlink support stores as plain files (git writes
 * OpenNebula's `tm_mad/shared -> qcow2` as a file holding "qcow2", and
 * `datastore_mad/remotes/fs/stat` as one holding "../common/stat"), and which
 * drivers a driver needs because its links lead into them (ssh's postbackup
 * is a link through shared into qcow2).
 */
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { driverHolding, driverId, PlanIndex, type DriverRef, type PlanEntry } from './import-plan.js';
import type { SourceScan } from './import-source.js';

/** What git writes for a symlink when it cannot make one: the link's text, alone, with no newline. */
const LINK_TEXT = /^(?!\/)(?!.*\/\/)[A-Za-z0-9._/-]{1,255}$/;

export interface SettledLinks {
  entries: PlanEntry[];
  drivers: DriverRef[];
  /** How many plain files were made links again. */
  restored: number;
  notes: string[];
}

/**
 * Settles every link of the scan: real links keep their text where it leads
 * to the same installed file as in SRC and are re-aimed where it does not;
 * plain files that hold nothing but a relative path to a planned file become
 * links again; a top-level plain file that was not a link is dropped.
 */
export function settleLinks(scan: SourceScan): SettledLinks {
  const notes: string[] = [];
  let entries = scan.entries.flatMap((entry) => (entry.type === 'link' && entry.srcTarget !== undefined ? aim(scan.entries, entry, notes) : [entry]));
  const index = new PlanIndex(entries);
  const pending = new Map<PlanEntry, string>();
  for (const entry of entries) {
    const text = storedLink(entry);
    if (text !== null) pending.set(entry, text);
  }
  // Until nothing changes: a stored link may lead through another (ssh/postbackup -> ../shared/postbackup, shared -> qcow2).
  let restored = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const [entry, text] of pending) {
      const lands = index.resolveLink(entry.to, text);
      if (lands === null || lands.path === entry.to) continue;
      entry.type = 'link';
      entry.target = text;
      delete entry.from;
      delete entry.mode;
      pending.delete(entry);
      restored += 1;
      changed = true;
    }
  }
  const drivers = [...scan.drivers];
  for (const driver of scan.maybeDriverLinks) {
    const entry = entries.find((candidate) => candidate.to === driver.to);
    if (entry?.type === 'link') drivers.push(driver);
    else {
      entries = entries.filter((candidate) => candidate !== entry);
      notes.push(`not installed: ${entry?.from ?? driver.to} (a file where a driver folder or a link to one was expected)`);
    }
  }
  drivers.sort((a, b) => driverId(a.kind, a.name).localeCompare(driverId(b.kind, b.name)));
  return { entries, drivers, restored, notes };
}

/** The text of a link stored as a plain file, or null: not executable, a relative path alone, no newline. */
function storedLink(entry: PlanEntry): string | null {
  if (entry.type !== 'file' || entry.from === undefined || ((entry.mode ?? 0) & 0o111) !== 0) return null;
  if (statSync(entry.from).size > 255) return null;
  const text = readFileSync(entry.from, 'latin1');
  return LINK_TEXT.test(text) && text !== '.' && text !== '..' ? text : null;
}

/** Where SRC path `real` is installed (a file's own entry, or a folder found from the files below it), if it is. */
function installedAt(entries: readonly PlanEntry[], real: string): string | undefined {
  for (const entry of entries) {
    if (entry.from === real) return entry.to;
    if (entry.from?.startsWith(`${real}/`)) {
      const below = entry.from.slice(real.length);
      if (entry.to.endsWith(below)) return entry.to.slice(0, -below.length);
    }
  }
  return undefined;
}

/** A real link of SRC, aimed at where its target is installed; a copy of the target when that is not installed. */
function aim(entries: readonly PlanEntry[], link: PlanEntry, notes: string[]): PlanEntry[] {
  const real = link.srcTarget as string;
  const to = installedAt(entries, real);
  if (to !== undefined) {
    const lands = new PlanIndex(entries).resolveLink(link.to, link.target as string);
    return [lands?.path === to ? link : { ...link, target: posix.relative(posix.dirname(link.to), to) }];
  }
  const stats = statSync(real);
  if (stats.isFile()) return [{ to: link.to, type: 'file', from: real, mode: stats.mode & 0o7777, origin: link.origin, ...(link.driver !== undefined ? { driver: link.driver } : {}) }];
  notes.push(`not installed: the link ${link.to} -> ${link.target as string} (it leads to ${real}, which is not installed)`);
  return [];
}

/**
 * The drivers `selected` (driver ids) needs besides itself: those its links,
 * and the helpers' links, lead into, until no more are added. Returns the
 * added ids.
 */
export function linkedDrivers(entries: readonly PlanEntry[], drivers: readonly DriverRef[], selected: Set<string>): string[] {
  const index = new PlanIndex(entries);
  const added: string[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const entry of entries) {
      if (entry.type !== 'link' || (entry.driver !== undefined && !selected.has(entry.driver))) continue;
      const lands = index.resolveLink(entry.to, entry.target as string);
      for (const path of lands ? [...lands.hops, lands.path] : []) {
        const driver = driverHolding(drivers, path);
        if (driver === undefined) continue;
        const id = driverId(driver.kind, driver.name);
        if (selected.has(id)) continue;
        selected.add(id);
        added.push(id);
        changed = true;
      }
    }
  }
  return added;
}
