/**
 * Server-sent events for the dashboard: `GET /events/vms/<id>` streams a VM's live state (live-wire.ts says what
 * is sent), so its page shows a step in flight without reloading. One poller per VM reads the catalog every
 * POLL_MS for all of that VM's viewers and sends an event only when something changed, a comment line when a
 * stream has been quiet for HEARTBEAT_MS (so proxies and the browser keep it open). Streams end when the server
 * closes (options.signal) or the client goes away; at most MAX_STREAMS at once (a 503 past that).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FerryError } from '../errors.js';
import type { ApiCatalog } from '../service/api.js';
import { errorBody } from '../service/api.js';
import { liveEntry, readLiveState } from './live-state.js';
import type { LiveJournalEntry } from './live-wire.js';

export interface LiveOptions {
  catalog: ApiCatalog;
  /** Ends every stream (the service is stopping). */
  signal: AbortSignal;
  /** Tests only: how often a VM is read (default 400 ms), the quiet time before a heartbeat (15 s), the streams allowed at once (64). */
  pollMs?: number;
  heartbeatMs?: number;
  maxStreams?: number;
}

const POLL_MS = 400;
const HEARTBEAT_MS = 15_000;
const MAX_STREAMS = 64;
/** Journal entries a new stream starts with; a reconnecting one gets those it missed, up to RESUME_MAX. */
const FIRST_ENTRIES = 10;
const RESUME_MAX = 100;
/** A viewer this far behind (not reading) is dropped rather than buffered for. */
const BACKLOG_MAX = 1 << 20;
/** How long the browser waits before reconnecting (the `retry:` field). */
const RETRY_MS = 2000;

interface Viewer {
  res: ServerResponse;
  /** The newest journal id sent: every event's `id:`. */
  lastId: number;
  lastWriteAt: number;
}

/** The streams of one server (one LiveOptions): how many are open, and a poller per VM watched. */
interface Hub {
  streams: number;
  pollers: Map<number, VmPoller>;
}

const hubs = new WeakMap<LiveOptions, Hub>();

function hubOf(options: LiveOptions): Hub {
  let hub = hubs.get(options);
  if (hub === undefined) {
    const created: Hub = { streams: 0, pollers: new Map() };
    // One listener for all the server's streams (not one per stream on the shared signal).
    options.signal.addEventListener('abort', () => {
      for (const poller of [...created.pollers.values()]) poller.endAll();
    }, { once: true });
    hub = created;
    hubs.set(options, hub);
  }
  return hub;
}

/** The streams open on a server and the VMs polled for them (one poller per VM, whatever its viewers). */
export function liveStreams(options: LiveOptions): { streams: number; pollers: number } {
  const hub = hubs.get(options);
  return { streams: hub?.streams ?? 0, pollers: hub?.pollers.size ?? 0 };
}

function write(viewer: Viewer, text: string): void {
  if (viewer.res.writableLength > BACKLOG_MAX) {
    viewer.res.destroy();
    return;
  }
  viewer.res.write(text);
  viewer.lastWriteAt = Date.now();
}

/** One event; `data` is JSON, on one line (JSON.stringify escapes every line break). */
function send(viewer: Viewer, event: string, data: unknown): void {
  write(viewer, `event: ${event}\nid: ${viewer.lastId}\ndata: ${JSON.stringify(data)}\n\n`);
}

function sendEntries(viewer: Viewer, entries: readonly LiveJournalEntry[]): void {
  const fresh = entries.filter((entry) => entry.id > viewer.lastId);
  if (fresh.length === 0) return;
  viewer.lastId = fresh[fresh.length - 1]!.id;
  send(viewer, 'journal', fresh);
}

/** Reads one VM for all its viewers; stops when the last one leaves. */
class VmPoller {
  readonly viewers = new Set<Viewer>();
  private stateText: string;
  private state: unknown;
  private lastJournalId: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: LiveOptions,
    private readonly hub: Hub,
    readonly id: number,
    initial: unknown,
  ) {
    this.state = initial;
    this.stateText = JSON.stringify(initial);
    this.lastJournalId = options.catalog.journalPage({ subject: this.subject, limit: 1 })[0]?.id ?? 0;
    this.timer = setInterval(() => this.tick(), options.pollMs ?? POLL_MS);
    // The streams, not this timer, keep the service up.
    this.timer.unref();
  }

  get subject(): string {
    return `vm:${this.id}`;
  }

  /** Starts `viewer` with the VM's state and its newest journal entries (those after `resumeAfter` when reconnecting). */
  join(viewer: Viewer, resumeAfter: number | undefined): void {
    this.viewers.add(viewer);
    send(viewer, 'state', this.state);
    const { catalog } = this.options;
    const entries = resumeAfter === undefined ? catalog.journalPage({ subject: this.subject, limit: FIRST_ENTRIES }).reverse() : catalog.journalPage({ subject: this.subject, afterId: resumeAfter, limit: RESUME_MAX });
    if (resumeAfter !== undefined) viewer.lastId = resumeAfter;
    sendEntries(viewer, entries.map(liveEntry));
  }

  leave(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.hub.streams -= 1;
    if (this.viewers.size === 0) {
      clearInterval(this.timer);
      this.hub.pollers.delete(this.id);
    }
  }

  endAll(): void {
    for (const viewer of [...this.viewers]) {
      viewer.res.end();
      this.leave(viewer);
    }
  }

  private tick(): void {
    const now = Date.now();
    try {
      const state = readLiveState(this.options.catalog, this.id);
      if (state === undefined) return this.endAll();
      const text = JSON.stringify(state);
      if (text !== this.stateText) {
        this.state = state;
        this.stateText = text;
        for (const viewer of this.viewers) send(viewer, 'state', state);
      }
      const entries = this.options.catalog.journalPage({ subject: this.subject, afterId: this.lastJournalId, limit: RESUME_MAX }).map(liveEntry);
      if (entries.length > 0) {
        this.lastJournalId = entries[entries.length - 1]!.id;
        for (const viewer of this.viewers) sendEntries(viewer, entries);
      }
    } catch {
      // The catalog busy a moment (another ferry writing): the next tick reads again; the heartbeat still goes.
    }
    const heartbeatMs = this.options.heartbeatMs ?? HEARTBEAT_MS;
    for (const viewer of this.viewers) if (now - viewer.lastWriteAt >= heartbeatMs) write(viewer, ': heartbeat\n\n');
  }
}

function refuse(res: ServerResponse, head: boolean, status: number, error: FerryError, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${JSON.stringify(errorBody(error))}\n`, 'utf8');
  res.writeHead(status, { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(head ? undefined : body);
}

/** Last-Event-ID as a journal id, when the browser sends one. */
function resumeId(req: IncomingMessage): number | undefined {
  const header = req.headers['last-event-id'];
  return typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
}

/** Takes `GET /events/vms/<id or name>` (true: answered, maybe still streaming); false for any other path. */
export function handleLive(options: LiveOptions, url: URL, req: IncomingMessage, res: ServerResponse): boolean {
  const found = /^\/events\/vms\/([^/]+)$/.exec(url.pathname);
  if (found === null) return false;
  const head = req.method === 'HEAD';
  let ref: string;
  try {
    ref = decodeURIComponent(found[1]!);
  } catch {
    refuse(res, head, 400, new FerryError('E_USAGE', 'the VM in the path is not well-formed percent-encoding'));
    return true;
  }
  const vm = options.catalog.findVm(/^\d+$/.test(ref) ? Number(ref) : ref);
  if (vm === undefined) {
    refuse(res, head, 404, new FerryError('E_NOT_FOUND', `no VM ${JSON.stringify(ref.slice(0, 100))} in the catalog`, { hint: 'the VMs are listed at /vms' }));
    return true;
  }
  const hub = hubOf(options);
  if (options.signal.aborted || hub.streams >= (options.maxStreams ?? MAX_STREAMS)) {
    const why = options.signal.aborted ? 'ferry serve is stopping' : `${hub.streams} live streams are open, the most ferry serve keeps`;
    refuse(res, head, 503, new FerryError('E_BUSY', `no live stream now: ${why}`, { hint: 'close another dashboard tab, or reload later' }), { 'Retry-After': '10' });
    return true;
  }
  // Connection: close, so a stream ended by the server closing frees its socket at once.
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Connection: 'close', 'X-Accel-Buffering': 'no' });
  if (head) {
    res.end();
    return true;
  }
  let poller = hub.pollers.get(vm.id);
  if (poller === undefined) {
    const state = readLiveState(options.catalog, vm.id);
    poller = new VmPoller(options, hub, vm.id, state);
    hub.pollers.set(vm.id, poller);
  }
  hub.streams += 1;
  const viewer: Viewer = { res, lastId: 0, lastWriteAt: Date.now() };
  const watched = poller;
  res.on('close', () => watched.leave(viewer));
  write(viewer, `retry: ${RETRY_MS}\n\n`);
  watched.join(viewer, resumeId(req));
  return true;
}
