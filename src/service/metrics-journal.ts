/**
 * The metrics fed by the journal: every driver action's duration, and every failed monitor run. The journal is
 * tailed (a page after the last id seen) at each scrape, so the actions of every ferry process on the catalog are
 * counted, not only this one's. A tail starts at the journal's newest entry: a restarted service counts from then
 * on, never history again (counters start at zero with the process, as Prometheus expects of a restart).
 */
import type { Counter, Histogram } from 'prom-client';
import type { CatalogStore } from '../catalog/store.js';
import type { JournalEntry } from '../model.js';

/** Seconds: driver scripts take from milliseconds (a local monitor) to an hour (a large copy over ssh). */
export const ACTION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Pages a scrape reads at most (of 1000 entries each); a backlog past that is read by the next scrapes. */
const PAGES_PER_SCRAPE = 20;
const PAGE = 1000;

export type Outcome = 'ok' | 'failed' | 'timeout';

/** How an action ended, as its entry tells: a timeout's message is the runner's "… timed out after N s" (driver/run/outcome.ts). */
export function outcomeOf(entry: Pick<JournalEntry, 'ok' | 'message'>): Outcome {
  if (entry.ok) return 'ok';
  return entry.message !== null && /\btimed out after \d+(\.\d+)? s\b/.test(entry.message) ? 'timeout' : 'failed';
}

/** The datastore id of a `datastore:N` subject, or undefined. */
function datastoreIdOf(subject: string): number | undefined {
  const match = /^datastore:(\d+)$/.exec(subject);
  return match ? Number(match[1]) : undefined;
}

export interface JournalMetrics {
  actionDuration: Histogram<'kind' | 'driver' | 'action' | 'outcome'>;
  monitorFailures: Counter<'datastore_id' | 'datastore'>;
}

/** Tails `catalog`'s journal into `metrics`; `catchUp(names)` reads what was journaled since the last call. */
export class JournalTail {
  private last: number;

  constructor(
    private readonly catalog: Pick<CatalogStore, 'journalPage'>,
    private readonly metrics: JournalMetrics,
  ) {
    this.last = catalog.journalPage({ limit: 1 })[0]?.id ?? 0;
  }

  /** The id of the last entry counted. */
  get lastId(): number {
    return this.last;
  }

  /** Counts the entries after the last one seen; `names` are the datastores' names by id (a monitor failure of a datastore since deleted is not counted). */
  catchUp(names: ReadonlyMap<number, string>): number {
    let counted = 0;
    for (let page = 0; page < PAGES_PER_SCRAPE; page++) {
      const entries = this.catalog.journalPage({ afterId: this.last, limit: PAGE });
      for (const entry of entries) this.count(entry, names);
      counted += entries.length;
      if (entries.length > 0) this.last = entries[entries.length - 1]!.id;
      if (entries.length < PAGE) break;
    }
    return counted;
  }

  private count(entry: JournalEntry, names: ReadonlyMap<number, string>): void {
    const outcome = outcomeOf(entry);
    if (entry.durationMs !== null && Number.isFinite(entry.durationMs) && entry.durationMs >= 0) {
      this.metrics.actionDuration.observe({ kind: entry.kind, driver: entry.driver, action: entry.action, outcome }, entry.durationMs / 1000);
    }
    if (entry.action !== 'monitor' || outcome === 'ok') return;
    const id = datastoreIdOf(entry.subject);
    const name = id === undefined ? undefined : names.get(id);
    if (id !== undefined && name !== undefined) this.metrics.monitorFailures.inc({ datastore_id: String(id), datastore: name });
  }
}
