/**
 * A VM's event stream (src/web/live.ts) read with node's fetch: in-process against a real catalog (a lock held by
 * a live process, a copy written under the contract's temporary name, journal entries, reconnecting with
 * Last-Event-ID, the stream limit, the server closing), and from a real `ferry serve` that stops on SIGTERM as
 * promptly with a stream open.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { Catalog } from '../../src/catalog/catalog.js';
import type { PlanStep } from '../../src/model.js';
import { handleLive, liveStreams, type LiveOptions } from '../../src/web/live.js';
import { bytesWritten, copyInFlight, pathOf } from '../../src/web/live-state.js';
import { stage, vmYaml } from '../helpers/catalog-world.js';
import { tmpDir, waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe } from '../helpers/serve.js';

// --- a server-sent event stream read with node's fetch: its events and comments so far, and whether it ended

interface SseEvent {
  event: string | undefined;
  id: string | undefined;
  data: string | undefined;
  retry: string | undefined;
  comment: string | undefined;
}

interface SseStream {
  response: Response;
  events: SseEvent[];
  /** Events of one type, their data parsed. */
  of(event: string): Array<{ id: string | undefined; data: any }>;
  ended(): boolean;
  /** Waits (up to `ms`) until `check` holds; whether it did. */
  until(check: () => boolean, ms?: number): Promise<boolean>;
  close(): void;
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = { event: undefined, id: undefined, data: undefined, retry: undefined, comment: undefined };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      event.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === 'event' || field === 'id' || field === 'retry') event[field] = value;
  }
  return event;
}

/** GETs `url` and, when it answers 200, reads its events in the background. */
async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  let done = response.status !== 200 || response.body === null;
  if (!done) {
    void (async () => {
      const decoder = new TextDecoder();
      let text = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          text += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = text.indexOf('\n\n')) >= 0) {
            events.push(parseBlock(text.slice(0, end)));
            text = text.slice(end + 2);
          }
        }
      } catch {
        // Aborted by close(), or the connection dropped: either way the stream ended.
      }
      done = true;
    })();
  }
  return {
    response,
    events,
    of: (event) => events.filter((each) => each.event === event).map((each) => ({ id: each.id, data: JSON.parse(each.data ?? 'null') })),
    ended: () => done,
    until: (check, ms = 5000) => waitFor(check, ms, 20),
    close: () => abort.abort(),
  };
}

/** A catalog with one PENDING VM, and a node server answering only handleLive (418 for anything else). */
async function liveServer(t: Test, extra: Partial<LiveOptions> = {}) {
  const root = tmpDir(t);
  const path = join(root, 'catalog.db');
  const catalog = Catalog.open(path);
  t.teardown(() => catalog.close());
  catalog.addHost({ name: 'node1', transport: 'local' });
  const system = catalog.addDatastore({ name: 'system', type: 'SYSTEM', tmMad: 'shared', basePath: join(root, 'system') });
  const vm = catalog.addVm({ name: 'vm1', host: 'node1', systemDsId: system.id, disks: [{ diskId: 0, kind: 'volatile', imageId: null, mode: null, sizeMb: 1, format: 'raw', files: null }] }, system.basePath);
  const stop = new AbortController();
  const options: LiveOptions = { catalog, signal: stop.signal, pollMs: 40, heartbeatMs: 300, ...extra };
  const server = createServer((req, res) => {
    if (!handleLive(options, new URL(req.url ?? '/', 'http://localhost'), req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    stop.abort();
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { root, path, catalog, vm, stop, url, options };
}

const entry = (action: string, ok = true) => ({ subject: 'vm:1', operation: 'create', step: 0, kind: 'tm', driver: 'shared', action, args: [], ok, exitCode: ok ? 0 : 1, durationMs: 12, message: ok ? null : 'x'.repeat(1000), logs: [] });

t.test('visible copies: the destination, else its newest temporary file; not through a link, not onto itself', async (t) => {
  const dir = tmpDir(t);
  t.equal(pathOf('host01:/var/a'), '/var/a');
  t.equal(pathOf('/var/b'), '/var/b');
  t.equal(pathOf('relative'), undefined);
  const destination = join(dir, 'disk.0');
  t.equal(bytesWritten(destination), undefined, 'nothing written yet');
  writeFileSync(join(dir, '.disk.0.ferry-tmp.1'), 'x'.repeat(10));
  await new Promise((resolve) => setTimeout(resolve, 20));
  writeFileSync(join(dir, '.disk.0.ferry-tmp.2.part'), 'x'.repeat(30));
  t.same(bytesWritten(destination), { path: join(dir, '.disk.0.ferry-tmp.2.part'), bytes: 30 }, 'the newest temporary file');
  writeFileSync(destination, 'x'.repeat(50));
  t.same(bytesWritten(destination), { path: destination, bytes: 50 }, 'the destination once it exists');
  writeFileSync(join(dir, 'src'), 'y'.repeat(200));
  const clone: PlanStep = { kind: 'tm', action: 'clone', driver: 'shared', args: [`fe:${join(dir, 'src')}`, `host01:${destination}`, '1', '0'], why: 'disk 0' };
  t.same(copyInFlight(clone), { action: 'clone', path: destination, bytes: 50, sourceBytes: 200 });
  t.equal(copyInFlight({ ...clone, action: 'mv', args: [`host01:${destination}`, `fe:${destination}`, '1', '0'] }), null, 'a move onto the same path copies nothing');
  t.equal(copyInFlight({ ...clone, action: 'delete' }), null, 'not a copy');
  t.equal(copyInFlight({ ...clone, kind: 'datastore' }), null);
});

t.test('the stream: state first, then only changes; a copy in flight; journal entries with their ids; heartbeats', async (t) => {
  const { root, path, catalog, vm, url } = await liveServer(t);
  t.equal((await fetch(`${url}/events/vms/404`)).status, 404, 'an unknown VM: 404');
  const unknown = await fetch(`${url}/events/vms/nope`);
  t.equal(unknown.status, 404);
  t.match(unknown.headers.get('content-type'), /^application\/json/, 'not a stream');
  t.match(await unknown.json(), { ok: false, error: { code: 'E_NOT_FOUND' } });
  t.equal((await fetch(`${url}/events/other`)).status, 418, 'another path is not taken');

  const stream = await openStream(`${url}/events/vms/${vm.id}`);
  t.teardown(() => stream.close());
  t.equal(stream.response.status, 200);
  t.match(stream.response.headers.get('content-type'), /^text\/event-stream/);
  t.equal(stream.response.headers.get('cache-control'), 'no-store');
  t.ok(await stream.until(() => stream.of('state').length === 1));
  t.equal(stream.events[0]?.retry, '2000', 'the reconnect delay first');
  t.match(stream.of('state')[0], { id: '0', data: { id: vm.id, name: 'vm1', state: 'PENDING', operation: null, step: null, lock: null, copy: null } });
  t.ok(await stream.until(() => stream.events.some((event) => event.comment === 'heartbeat'), 2000), 'a heartbeat comment while nothing changes');
  t.equal(stream.of('state').length, 1, 'and no repeated state');

  // A ferry process (here: sleep) holds the VM's lock and runs a clone, written under its temporary name.
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void sleeper.kill('SIGKILL'));
  const raw = new Database(path);
  t.teardown(() => raw.close());
  raw.prepare('INSERT INTO locks (subject, owner_pid, owner_host, operation, since) VALUES (?, ?, ?, ?, ?)').run(`vm:${vm.id}`, sleeper.pid, hostname(), 'create', '2030-01-02T03:04:05.000Z');
  const source = join(root, 'image');
  writeFileSync(source, 'x'.repeat(4000));
  const disk = vm.disks[0]!.target;
  mkdirSync(join(disk, '..'), { recursive: true });
  const temporary = join(disk, '..', '.disk.0.ferry-tmp.77');
  writeFileSync(temporary, 'x'.repeat(1000));
  const clone: PlanStep = { kind: 'tm', action: 'clone', driver: 'shared', args: [`fe:${source}`, `node1:${disk}`, String(vm.id), '0'], why: 'disk 0: clone image' };
  catalog.updateVm(vm.id, { operation: 'create', plan: [clone, { ...clone, action: 'context', why: 'disk 1: context' }], step: 0, previousState: 'PENDING' });
  const latest = () => stream.of('state').at(-1)?.data;
  t.ok(await stream.until(() => latest()?.copy?.bytes === 1000), 'the copy so far');
  t.match(latest(), {
    state: 'PENDING',
    operation: 'create',
    step: { index: 1, total: 2, kind: 'tm', driver: 'shared', action: 'clone', why: 'disk 0: clone image', status: 'running' },
    lock: { pid: sleeper.pid, host: hostname(), operation: 'create', since: '2030-01-02T03:04:05.000Z' },
    copy: { action: 'clone', path: temporary, bytes: 1000, sourceBytes: 4000 },
  });
  appendFileSync(temporary, 'x'.repeat(1500));
  t.ok(await stream.until(() => latest()?.copy?.bytes === 2500), 'more bytes: a new event');
  renameSync(temporary, disk);
  appendFileSync(disk, 'x'.repeat(1500));
  t.ok(await stream.until(() => latest()?.copy?.path === disk && latest()?.copy?.bytes === 4000), 'renamed into place: the destination itself');

  catalog.record(entry('clone'));
  catalog.setVmStep(vm.id, 1);
  t.ok(await stream.until(() => stream.of('journal').length === 1 && latest()?.step?.index === 2), 'the entry and the next step');
  const first = catalog.journal('vm:1')[0]!;
  t.match(stream.of('journal')[0], { id: String(first.id), data: [{ id: first.id, action: 'clone', ok: true, operation: 'create', step: 0, durationMs: 12 }] });
  t.equal(latest().copy, null, 'a context step is no copy');

  catalog.record(entry('context', false));
  t.ok(await stream.until(() => stream.of('journal').length === 2));
  const failed = stream.of('journal')[1]!.data[0];
  t.equal(failed.ok, false);
  t.ok(failed.message.length <= 300, 'a long message cut short');

  catalog.updateVm(vm.id, { state: 'RUNNING', operation: null, plan: null, step: null, previousState: null });
  raw.prepare('DELETE FROM locks').run();
  t.ok(await stream.until(() => latest()?.state === 'RUNNING'));
  t.match(latest(), { operation: null, step: null, lock: null, copy: null }, 'the operation finished');

  // Reconnecting after the first entry: only the second; a new stream: both, oldest first.
  const resumed = await openStream(`${url}/events/vms/vm1`, { 'Last-Event-ID': String(first.id) });
  t.teardown(() => resumed.close());
  t.ok(await resumed.until(() => resumed.of('journal').length === 1));
  t.same(resumed.of('journal')[0]!.data.map((each: { action: string }) => each.action), ['context'], 'resumed after Last-Event-ID (the VM named)');
  const fresh = await openStream(`${url}/events/vms/${vm.id}`);
  t.teardown(() => fresh.close());
  t.ok(await fresh.until(() => fresh.of('journal').length === 1));
  t.same(fresh.of('journal')[0]!.data.map((each: { action: string }) => each.action), ['clone', 'context']);
  t.equal(fresh.of('journal')[0]!.id, String(catalog.journal('vm:1')[1]!.id), 'id: the newest entry sent');
});

t.test('at most maxStreams at once (503 past it, a slot freed when a client goes); the server closing ends them all', async (t) => {
  const { vm, stop, url, options } = await liveServer(t, { maxStreams: 2 });
  const one = await openStream(`${url}/events/vms/${vm.id}`);
  const two = await openStream(`${url}/events/vms/${vm.id}`);
  t.equal(one.response.status, 200);
  t.equal(two.response.status, 200);
  t.same(liveStreams(options), { streams: 2, pollers: 1 }, 'two viewers of one VM, one poller');
  const refused = await fetch(`${url}/events/vms/${vm.id}`);
  t.equal(refused.status, 503, 'a third: refused');
  t.equal(refused.headers.get('retry-after'), '10');
  t.match(await refused.json(), { ok: false, error: { code: 'E_BUSY' } });
  one.close();
  let three: Awaited<ReturnType<typeof openStream>> | undefined;
  for (let i = 0; i < 50 && three === undefined; i++) {
    const attempt = await openStream(`${url}/events/vms/${vm.id}`);
    if (attempt.response.status === 200) three = attempt;
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(three, 'a slot again once a client went away');
  t.ok(await two.until(() => two.of('state').length === 1) && (await three!.until(() => three!.of('state').length === 1)));
  stop.abort();
  t.ok(await two.until(() => two.ended() && three!.ended(), 2000), 'the server closing ends every stream');
  t.equal((await fetch(`${url}/events/vms/${vm.id}`)).status, 503, 'and no new one starts');
  t.same(liveStreams(options), { streams: 0, pollers: 0 }, 'nothing left polling');
});

t.test('ferry serve: the stream, a 404 for an unknown VM, SIGTERM ends an open stream and exits 0 promptly', async (t) => {
  const w = serveWorld(t);
  await stage(t, w, 'shared');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const served = await startServe(t, w);
  const url = served.url as string;
  const unknown = await fetch(`${url}/events/vms/999`);
  t.equal(unknown.status, 404, 'an unknown VM: 404');
  t.match(await unknown.json(), { ok: false, error: { code: 'E_NOT_FOUND' } });
  const stream = await openStream(`${url}/events/vms/${vm.id}`);
  t.equal(stream.response.status, 200);
  t.match(stream.response.headers.get('content-type'), /^text\/event-stream/);
  t.ok(await stream.until(() => stream.of('journal').length === 1));
  t.match(stream.of('state')[0]?.data, { id: vm.id, state: 'RUNNING', operation: null, lock: null });
  const entries = w.catalog().journal(`vm:${vm.id}`);
  t.same(stream.of('journal')[0]!.data.map((each: { id: number }) => each.id), entries.slice(-10).map((each) => each.id), "the VM's newest entries, oldest first");
  t.equal(stream.of('journal')[0]!.id, String(entries.at(-1)!.id));
  const head = await fetch(`${url}/events/vms/${vm.id}`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD: the headers only');
  const started = performance.now();
  const exit = served.stop('SIGTERM');
  t.ok(await stream.until(() => stream.ended(), 3000), 'the stream ends with the server');
  t.equal(await exit, 0, 'exit 0');
  const took = performance.now() - started;
  t.ok(took < 3000, `stopped in ${Math.round(took)} ms with a stream open`);
});
