/**
 * The service's HTTP server (node:http, no framework): /metrics for Prometheus and the read-only JSON API under
 * /api/v1 (api.ts). Only GET and HEAD. With a token, every request needs `Authorization: Bearer <token>`; the
 * token is compared in constant time and never logged or returned. Without one (loopback only: listen.ts
 * refuses otherwise), a request must name a loopback host in its Host header, so a web page whose name was
 * re-bound to 127.0.0.1 (DNS rebinding) cannot read the catalog through a browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FerryError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { errorBody, handleApi, methodNotAllowed, notFound, API_PREFIX, type ApiCatalog, type ApiResponse } from './api.js';
import { isLoopback } from './listen.js';
import type { ServiceMetrics } from './metrics.js';
import { handleLive } from '../web/live.js';
import { CONTENT_SECURITY_POLICY, handleWeb } from '../web/routes.js';
import { loginPage, readForm, safeNext, Sessions } from '../web/session.js';

export interface HttpOptions {
  host: string;
  /** 0: any free port (the one taken is in the result). */
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  catalog: ApiCatalog;
  metrics: Pick<ServiceMetrics, 'render' | 'contentType'>;
  logger: Logger;
  /** /api/v1/health's version; default package.json's. */
  version?: string;
}

export interface HttpServer {
  /** `http://HOST:PORT` (an IPv6 host in brackets). */
  url: string;
  port: number;
  /** Stops listening and closes every connection (keep-alive ones too); resolves when the server is closed. */
  close(): Promise<void>;
}

/** Requests in flight at close() get this long to finish before their sockets are closed. */
const CLOSE_GRACE_MS = 500;
const COMMON_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether `header` carries `expected` as a bearer token; both hashed first, so the comparison is of equal lengths and in constant time. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +([^\s]+) *$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-cased. */
function hostOf(header: string): string {
  const v6 = /^\[([^\]]*)\](:\d+)?$/.exec(header);
  return (v6 ? v6[1]! : header.replace(/:\d+$/, '')).toLowerCase();
}

function send(res: ServerResponse, head: boolean, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'Content-Type': contentType, 'Content-Length': String(body.length) });
  res.end(head ? undefined : body);
}

const PAGE_HEADERS = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };

function sendPage(res: ServerResponse, head: boolean, status: number, text: string, headers: Record<string, string> = {}): void {
  send(res, head, status, 'text/html; charset=utf-8', text, { ...PAGE_HEADERS, ...headers });
}

/** A browser's page load (not the API, metrics, a stream or a file): answered with the login page rather than JSON. */
function wantsPage(req: IncomingMessage, url: URL): boolean {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (/^\/(api|metrics|events|assets)(\/|$)/.test(url.pathname)) return false;
  return (req.headers.accept ?? '').includes('text/html');
}

/** GET /login: the form (or on to `next` when signed in already); POST /login: the token checked, a session cookie set. */
async function login(req: IncomingMessage, res: ServerResponse, url: URL, sessions: Sessions, signedIn: boolean): Promise<number> {
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') {
    if (signedIn) {
      res.writeHead(303, { ...COMMON_HEADERS, Location: safeNext(url.searchParams.get('next')) }).end();
      return 303;
    }
    sendPage(res, method === 'HEAD', 200, loginPage(safeNext(url.searchParams.get('next')), false));
    return 200;
  }
  if (method !== 'POST') {
    sendJson(res, false, methodNotAllowed(method));
    return 405;
  }
  const form = await readForm(req);
  const next = safeNext(form?.get('next'));
  if (form === undefined || !sessions.tokenMatches(form.get('token') ?? '')) {
    sendPage(res, false, 401, loginPage(next, true));
    return 401;
  }
  res.writeHead(303, { ...COMMON_HEADERS, Location: next, 'Set-Cookie': sessions.setCookie() }).end();
  return 303;
}

function sendJson(res: ServerResponse, head: boolean, answer: ApiResponse): void {
  send(res, head, answer.status, 'application/json; charset=utf-8', `${JSON.stringify(answer.body)}\n`, answer.headers);
}

export async function startHttp(options: HttpOptions): Promise<HttpServer> {
  const { catalog, metrics, logger } = options;
  const expected = options.token === undefined ? undefined : digest(options.token);
  const sessions = options.token === undefined ? undefined : new Sessions(options.token);
  const log = logger.child({ component: 'http' });
  // Ends the dashboard's event streams when the server closes.
  const streams = new AbortController();
  const live = { catalog, signal: streams.signal };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendJson(res, head, { status: 400, body: errorBody(new FerryError('E_USAGE', 'the request\'s target is not a URL path')) });
      return 400;
    }
    if (sessions !== undefined && expected !== undefined) {
      const signedIn = bearerMatches(req.headers.authorization, expected) || sessions.valid(req.headers.cookie);
      if (url.pathname === '/login') return login(req, res, url, sessions, signedIn);
      // The package's own stylesheets and scripts carry nothing of the catalog: the login page needs its stylesheet.
      if (!signedIn && !url.pathname.startsWith('/assets/')) {
        if (wantsPage(req, url)) {
          sendPage(res, head, 401, loginPage(`${url.pathname}${url.search}`, false));
          return 401;
        }
        const error = new FerryError('E_USAGE', 'this request has no valid bearer token', { hint: 'send Authorization: Bearer <the token in ferry serve\'s token file>' });
        sendJson(res, head, { status: 401, body: errorBody(error), headers: { 'WWW-Authenticate': 'Bearer realm="ferry"' } });
        return 401;
      }
    }
    if (expected === undefined && req.headers.host !== undefined && !isLoopback(hostOf(req.headers.host))) {
      const error = new FerryError('E_USAGE', `Host ${JSON.stringify(req.headers.host.slice(0, 100))} is not a loopback name: ferry serve without a token answers only requests for 127.0.0.1, ::1 or localhost`, { hint: 'ask for http://127.0.0.1:PORT/, or give ferry serve a token file' });
      sendJson(res, head, { status: 403, body: errorBody(error) });
      return 403;
    }
    if (url.pathname === '/metrics') {
      if (method !== 'GET' && !head) {
        sendJson(res, head, methodNotAllowed(method));
        return 405;
      }
      send(res, head, 200, metrics.contentType, await metrics.render());
      return 200;
    }
    if (!url.pathname.startsWith(`${API_PREFIX}/`) && url.pathname !== API_PREFIX && (method === 'GET' || head)) {
      if (handleLive(live, url, req, res)) return 200;
      const web = await handleWeb(catalog, url);
      if (web) {
        send(res, head, web.status, web.contentType, web.body, PAGE_HEADERS);
        return web.status;
      }
    }
    const reply = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`) ? handleApi(catalog, method, url, options.version === undefined ? {} : { version: options.version }) : method === 'GET' || head ? notFound(url.pathname) : methodNotAllowed(method);
    sendJson(res, head, reply);
    return reply.status;
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const started = performance.now();
    // A GET's body means nothing here: read and dropped, so a keep-alive connection stays usable (a sign-in's form is read).
    if (!(req.method === 'POST' && req.url?.split('?')[0] === '/login')) req.resume();
    answer(req, res).then(
      (status) => log.debug({ method: req.method, path: req.url?.split('?')[0], status, ms: Math.round(performance.now() - started) }, 'request'),
      (error: unknown) => {
        log.error({ method: req.method, path: req.url?.split('?')[0], error: error instanceof Error ? error.message : String(error) }, 'request failed');
        if (!res.headersSent) sendJson(res, req.method === 'HEAD', { status: 500, body: errorBody(new FerryError('E_INTERNAL', 'internal error: see ferry serve\'s log')) });
        else res.destroy();
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      const where = `${options.host}:${options.port}`;
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address' : error.code === 'EACCES' ? 'permission denied (a port under 1024 needs privileges)' : error.message;
      reject(new FerryError('E_CONFIG', `ferry serve cannot listen on ${where}: ${why}`, { hint: 'choose another address with --listen HOST:PORT', cause: error }));
    };
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ error: error.message }, 'http server error'));

  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        streams.abort();
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
