/**
 * A disk's next snapshot id, as oned's NEXT_SNAPSHOT: past every id the disk
 * ever had, never one that was deleted. OpenNebula's qcow2 driver keeps a
 * file per snapshot id, and a deleted snapshot's file can stay while a later
 * one is based on it, so an id used again collides with it.
 */
import type { JournalEntry } from '../model.js';

/** Every snapshot id a tm snap_create of the VM's journal ran for, per disk (tried ones too: a failed one may have made its file). */
export function snapshotIdsTried(journal: readonly JournalEntry[]): Map<number, number[]> {
  const tried = new Map<number, number[]>();
  for (const entry of journal) {
    if (entry.kind !== 'tm' || entry.action !== 'snap_create') continue;
    const diskId = Number(/\/disk\.(\d+)$/.exec(entry.args[0] ?? '')?.[1] ?? Number.NaN);
    const snapshot = Number(entry.args[1]);
    if (!Number.isInteger(diskId) || !Number.isInteger(snapshot)) continue;
    tried.set(diskId, [...(tried.get(diskId) ?? []), snapshot]);
  }
  return tried;
}

/** The id the disk's next snapshot gets: one past all of `known` (its snapshots, its image's, those ever tried). */
export function nextSnapshotId(...known: ReadonlyArray<readonly number[]>): number {
  return Math.max(-1, ...known.flat()) + 1;
}
