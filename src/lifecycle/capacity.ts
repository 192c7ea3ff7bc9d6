/**
 * Capacity: whether a new image fits its datastore, as oned's
 * DATASTORE_CAPACITY_CHECK decides it. The datastore's figures are
 * refreshed (its monitor run, journaled) when they are older than
 * `monitor.max_age`; the space available is FREE_MB, or LIMIT_MB minus
 * USED_MB when the datastore's template sets a lower LIMIT_MB. An image
 * that does not fit is refused before anything is recorded or run; a
 * forced one goes ahead and the override is journaled with the image.
 */
import type { CatalogTx } from '../catalog/store.js';
import { FerryError, toFerryError } from '../errors.js';
import type { Datastore, Image } from '../model.js';
import { monitor } from './datastores.js';
import type { LifecycleOptions } from './journal.js';

/** Seconds a datastore's figures are trusted before a create, clone or save-as refreshes them. */
export const DEFAULT_MONITOR_MAX_AGE_S = 300;

/** The space a datastore has for new images (MB), or null when it was never monitored. */
export function availableMb(ds: Datastore): number | null {
  if (ds.freeMb === null) return null;
  const limit = limitMb(ds);
  return limit === undefined || ds.usedMb === null ? ds.freeMb : Math.max(0, Math.min(ds.freeMb, limit - ds.usedMb));
}

/** The datastore's LIMIT_MB, when its template sets a whole number. */
function limitMb(ds: Datastore): number | undefined {
  const text = ds.template.LIMIT_MB?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The template's DATASTORE_CAPACITY_CHECK=NO turns the check off for that datastore, as in OpenNebula. */
function checked(ds: Datastore): boolean {
  return (ds.template.DATASTORE_CAPACITY_CHECK ?? '').trim().toUpperCase() !== 'NO';
}

/** Figures older than `maxAgeS` seconds (or none yet). */
function stale(ds: Datastore, maxAgeS: number, nowMs = Date.now()): boolean {
  if (ds.monitoredAt === null || ds.freeMb === null) return true;
  const at = Date.parse(ds.monitoredAt);
  return Number.isNaN(at) || nowMs - at >= maxAgeS * 1000;
}

/** What a new image asks of its datastore. */
export interface CapacityRequest {
  /** The image's name, for the message. */
  name: string;
  /** Its size in MB; null when not known beforehand (a URL): nothing to check. */
  sizeMb: number | null;
  /** --force: go ahead when it does not fit (or the figures cannot be had); the override is returned to be journaled. */
  force?: boolean;
}

/**
 * Checks that `request` fits `ds`, refreshing stale figures first. Returns
 * what was overridden (with --force), to journal with the new image;
 * throws E_CONFLICT when it does not fit.
 */
export async function checkCapacity(life: LifecycleOptions, planned: Datastore, request: CapacityRequest): Promise<string | undefined> {
  const ds = life.catalog.datastore(planned.id);
  if (request.sizeMb === null || !checked(ds)) return undefined;
  const current = await refreshed(life, ds, request.force === true);
  if (typeof current === 'string') return current;
  const available = availableMb(current);
  if (available === null || request.sizeMb <= available) return undefined;
  const shortfall = `image ${request.name} needs ${request.sizeMb} MB but datastore ${ds.name} has ${available} MB available (${figures(current)})`;
  if (request.force) return `${shortfall}; --force`;
  throw new FerryError('E_CONFLICT', shortfall, {
    hint: `free space in ${ds.basePath}${limitMb(current) !== undefined ? ` or raise its LIMIT_MB (ferry datastore update ${ds.name} --attr LIMIT_MB=...)` : ''}, pick another datastore, or pass --force to go ahead anyway`,
  });
}

/** `ds` with figures no older than max_age (its monitor run when they are); with `force`, a failing monitor is the override's reason instead. */
async function refreshed(life: LifecycleOptions, ds: Datastore, force: boolean): Promise<Datastore | string> {
  if (!stale(ds, life.monitorMaxAgeS ?? DEFAULT_MONITOR_MAX_AGE_S)) return ds;
  try {
    await monitor(life, ds);
  } catch (error) {
    if (!force) throw error;
    return `capacity not checked: the monitor of datastore ${ds.name} failed (${toFerryError(error).message}); --force`;
  }
  return life.catalog.datastore(ds.id);
}

/** The figures behind the space available, for a message. */
function figures(ds: Datastore): string {
  const limit = limitMb(ds);
  return `free ${ds.freeMb} MB${limit !== undefined ? `, LIMIT_MB ${limit} - used ${ds.usedMb} MB` : ''}, monitored ${ds.monitoredAt}`;
}

/** Journals a capacity override with the image it let through, in the transaction that records the image. */
export function journalOverride(tx: CatalogTx, image: Image, operation: string, override: string | undefined): void {
  if (override === undefined) return;
  tx.record({ subject: `image:${image.id}`, operation, step: null, kind: 'capacity', driver: '', action: 'override', args: [], ok: true, exitCode: null, durationMs: 0, message: override, logs: [] });
}
