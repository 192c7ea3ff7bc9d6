/**
 * Live updates of a VM's page: listens to /events/vms/<id> (an EventSource, which reconnects by itself, and
 * resumes the journal with Last-Event-ID) and updates the live block's fields in place: state, operation, the
 * step running, its lock, the bytes a copy has written (a <progress>), the newest journal entries on top.
 */
import type { LiveJournalEntry, LiveState } from '../live-wire.js';

const JOURNAL_SHOWN = 20;
const STATUS_TEXT = { running: 'running', failed: 'failed', interrupted: 'interrupted (no ferry runs it)' } as const;

function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function time(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleTimeString();
}

function start(section: HTMLElement, id: string): void {
  const field = (name: string): HTMLElement | null => section.querySelector<HTMLElement>(`[data-live="${name}"]`);
  const setText = (name: string, text: string): void => {
    const element = field(name);
    if (element && element.textContent !== text) element.textContent = text;
  };
  const showRow = (name: string, shown: boolean): void => {
    const row = section.querySelector<HTMLElement>(`[data-row="${name}"]`);
    if (row) row.hidden = !shown;
  };
  const conn = field('conn');
  const setConn = (text: string): void => {
    if (!conn) return;
    conn.hidden = false;
    conn.textContent = text;
  };
  let operation: string | null | undefined;

  function render(live: LiveState): void {
    setText('state', live.state);
    const state = field('state');
    if (state) state.className = `vm-state state-${live.state}`;
    section.dataset.state = live.state;
    // An operation that was under way and is no more has finished (its end state is the VM's state now).
    if (operation && live.operation === null) setText('finished', `${operation} finished at ${time(live.updatedAt)}`);
    else if (live.operation !== null) setText('finished', '');
    operation = live.operation;
    setText('operation', live.operation ?? 'none');
    const step = live.step;
    showRow('step', step !== null);
    if (step) {
      setText('step', `${step.index}/${step.total}`);
      setText('action', step.action);
      setText('driver', `(${step.kind} ${step.driver})`);
      setText('why', step.why);
      setText('step-status', STATUS_TEXT[step.status]);
      field('step-status')?.setAttribute('data-status', step.status);
    }
    const lock = live.lock;
    showRow('lock', lock !== null);
    if (lock) setText('lock', `held by ferry process ${lock.pid ?? '?'} on ${lock.host ?? '?'} (${lock.operation ?? '?'})${lock.since ? ` since ${time(lock.since)}` : ''}`);
    const copy = live.copy;
    showRow('copy', copy !== null);
    const bar = field('copy-bar') as HTMLProgressElement | null;
    if (copy && bar) {
      if (copy.sourceBytes !== null && copy.sourceBytes > 0) {
        bar.max = copy.sourceBytes;
        bar.value = Math.min(copy.bytes, copy.sourceBytes);
        setText('copy-text', `${bytes(copy.bytes)} of ${bytes(copy.sourceBytes)} (${Math.min(100, Math.floor((copy.bytes / copy.sourceBytes) * 100))} %)`);
      } else {
        // No source size to compare with: an indeterminate bar, the bytes as text.
        bar.removeAttribute('value');
        setText('copy-text', bytes(copy.bytes));
      }
      bar.dataset.bytes = String(copy.bytes);
    }
    showRow('error', live.error !== null);
    setText('error', live.error ?? '');
  }

  function addEntries(entries: LiveJournalEntry[]): void {
    const list = field('journal');
    if (!list) return;
    showRow('journal', true);
    for (const entry of entries) {
      const item = document.createElement('li');
      item.className = entry.ok ? 'ok' : 'bad';
      item.dataset.id = String(entry.id);
      const when = document.createElement('time');
      when.dateTime = entry.at;
      when.textContent = time(entry.at);
      const what = document.createElement('code');
      what.textContent = `${entry.action} (${entry.driver})`;
      const step = entry.step === null ? '' : ` step ${entry.step + 1}`;
      const took = entry.durationMs === null ? '' : `, ${Math.round(entry.durationMs)} ms`;
      item.append(when, ' ', what, ` ${entry.operation}${step}: ${entry.ok ? 'done' : 'failed'}${took}`);
      if (entry.message) {
        const message = document.createElement('span');
        message.className = 'muted';
        message.textContent = ` ${entry.message}`;
        item.append(message);
      }
      list.prepend(item);
    }
    while (list.children.length > JOURNAL_SHOWN) list.lastElementChild?.remove();
  }

  const source = new EventSource(`/events/vms/${encodeURIComponent(id)}`);
  source.addEventListener('open', () => setConn('live'));
  source.addEventListener('error', () => setConn(source.readyState === EventSource.CLOSED ? 'not live: reload the page to try again' : 'reconnecting…'));
  source.addEventListener('state', (event) => render(JSON.parse((event as MessageEvent<string>).data) as LiveState));
  source.addEventListener('journal', (event) => addEntries(JSON.parse((event as MessageEvent<string>).data) as LiveJournalEntry[]));
}

const section = document.querySelector<HTMLElement>('section.live[data-vm]');
const vmId = section?.dataset.vm;
if (section && vmId) start(section, vmId);
