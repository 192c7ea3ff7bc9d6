/**
 * A subject's journal as a timeline (image and VM pages): oldest first, so it reads as the story of what was
 * done; the consecutive steps of one operation run grouped under it; each step with its time, driver action,
 * duration, exit status, message, and its log lines folded in a <details>. Every value is text.
 */
import type { JournalEntry } from '../model.js';
import type { ApiCatalog } from '../service/api.js';
import { html, type Html } from './html.js';

/** Entries shown on a page: the newest this many. */
export const TIMELINE_LIMIT = 200;

const LOG_LEVELS = new Set(['error', 'warning', 'warn', 'info', 'debug']);

/** `2026-05-01T10:00:00.123Z` → `2026-05-01 10:00:00.123 UTC`. */
export const shownTime = (iso: string): string => (/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(iso) ? `${iso.replace('T', ' ').slice(0, -1)} UTC` : iso);

export function shownDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms * 10) / 10} ms`;
  return `${Math.round(ms / 100) / 10} s`;
}

const actionOf = (entry: JournalEntry): string => `${entry.kind} ${entry.driver === '' ? '' : `${entry.driver}/`}${entry.action}`;

function step(entry: JournalEntry): Html {
  const status = entry.ok ? 'ok' : 'failed';
  return html`<li class="step step-${status}" data-entry="${entry.id}">
<div class="step-head"><time datetime="${entry.at}">${shownTime(entry.at)}</time>${entry.step === null ? '' : html` <span class="muted">step ${entry.step + 1}</span>`} <code class="action">${actionOf(entry)}</code> <span class="duration">${shownDuration(entry.durationMs)}</span> <span class="exit">exit ${entry.exitCode ?? '-'}</span> <strong class="${entry.ok ? 'ok' : 'bad'}">${status}</strong></div>
${entry.message === null || entry.message === '' ? '' : html`<p class="message">${entry.message}</p>`}
<details><summary>${entry.logs.length} log line${entry.logs.length === 1 ? '' : 's'}, arguments</summary>
${entry.args.length === 0 ? '' : html`<p class="args">${entry.args.map((arg) => html`<code>${arg}</code> `)}</p>`}
${entry.logs.length === 0 ? '' : html`<ol class="logs">${entry.logs.map((log) => html`<li class="log-${LOG_LEVELS.has(log.level) ? log.level : 'other'}"><span class="level">${log.level}</span> ${log.message}</li>`)}</ol>`}
</details>
</li>`;
}

/** Runs of one operation: a new run when the operation changes or its step number goes back. */
function runs(entries: readonly JournalEntry[]): JournalEntry[][] {
  const out: JournalEntry[][] = [];
  for (const entry of entries) {
    const run = out.at(-1);
    const last = run?.at(-1);
    if (run === undefined || last === undefined || last.operation !== entry.operation || (entry.step !== null && last.step !== null && entry.step <= last.step)) out.push([entry]);
    else run.push(entry);
  }
  return out;
}

/** `entries` oldest first; `olderHref`: where the older entries, not shown, are (the JSON API), if any. */
export function timeline(entries: readonly JournalEntry[], olderHref?: string): Html {
  if (entries.length === 0) return html`<p class="muted">Nothing in the journal.</p>`;
  return html`<p class="muted">Oldest first${olderHref === undefined ? '' : html`; the last ${entries.length} entries (<a href="${olderHref}">older ones</a>, as JSON)`}.</p>
<ol class="timeline">${runs(entries).map((run) => {
    const failed = run.some((entry) => !entry.ok);
    return html`<li class="run run-${failed ? 'failed' : 'ok'}"><h3>${run[0]!.operation}</h3><ol class="steps">${run.map(step)}</ol></li>`;
  })}</ol>`;
}

/** The timeline of `subject` (`image:3`, `vm:7`): its newest TIMELINE_LIMIT entries, one query. */
export function subjectTimeline(catalog: Pick<ApiCatalog, 'journalPage'>, subject: string, limit = TIMELINE_LIMIT): Html {
  const newest = catalog.journalPage({ subject, limit: limit + 1 });
  const shown = newest.slice(0, limit).reverse();
  const older = newest.length > limit ? `/api/v1/journal?${new URLSearchParams({ subject, before: String(shown[0]!.id), limit: '1000' }).toString()}` : undefined;
  return timeline(shown, older);
}
