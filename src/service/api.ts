/**
 * The read-only JSON API (`/api/v1/…`) as a function of the catalog, the method and the URL, so it is tested
 * without a socket; http.ts serves it. A success is `{ok: true, result}` and a refusal `{ok: false, error: {code,
 * message, hint}}`, the envelope of the CLI's --json. Every datastore goes through shownDatastore (secret values
 * replaced, names kept) and every host through shownHost: the API never returns a secret.
 */
import type { CatalogStore } from '../catalog/store.js';
import { FerryError, toFerryError } from '../errors.js';
import { shownDatastore, shownHost } from '../lifecycle/redact.js';
import { datastoreTrend, monitorHealth } from '../lifecycle/trend.js';
import { ALERT_SEVERITIES, type AlertFilter, type Datastore } from '../model.js';
import { JOURNAL_PAGE_MAX } from '../catalog/journal.js';
import { boundedSeries, HISTORY_POINTS_DEFAULT, HISTORY_POINTS_MAX } from './api-history.js';
import { bad, Query } from './api-query.js';
import { ferryVersion } from './version.js';

export type ApiCatalog = Omit<CatalogStore, 'transaction' | 'preview' | 'close'>;

export interface ApiResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ApiOptions {
  /** Now, in ms (the default window of a history series ends now); default Date.now. */
  now?: () => number;
  /** /health's version; default package.json's. */
  version?: string;
}

export const API_PREFIX = '/api/v1';
const DAY_MS = 86_400_000;
/** The longest history a request reads: the rollups' default window. */
const MAX_RANGE_MS = 400 * DAY_MS;
const JOURNAL_DEFAULT = 100;

interface Context {
  catalog: ApiCatalog;
  params: string[];
  query: (known: readonly string[]) => Query;
  now: number;
  version: string;
}

interface Route {
  path: string;
  handle(ctx: Context): unknown;
}

/** `ref` as the catalog takes it: a number when all digits, else a name. */
const refOf = (ref: string): string | number => (/^\d+$/.test(ref) ? Number(ref) : ref);

function shownWithHealth(ds: Datastore, states: ReadonlyMap<number, ReturnType<typeof monitorHealth>>): Record<string, unknown> {
  return { ...shownDatastore(ds), monitor: states.get(ds.id) ?? { state: 'OK', failures: 0, lastError: null, lastSuccessAt: null } };
}

const ROUTES: Route[] = [
  {
    path: '/health',
    handle: (ctx) => {
      ctx.query([]);
      return { version: ctx.version, catalog: ctx.catalog.path };
    },
  },
  {
    path: '/datastores',
    handle: (ctx) => {
      ctx.query([]);
      const states = new Map(ctx.catalog.listMonitorStates().map((state) => [state.datastoreId, monitorHealth(state)]));
      return ctx.catalog.listDatastores().map((ds) => shownWithHealth(ds, states));
    },
  },
  {
    path: '/datastores/:ref',
    handle: (ctx) => {
      ctx.query([]);
      const ds = ctx.catalog.datastore(refOf(ctx.params[0]!));
      return { ...shownDatastore(ds), monitor: monitorHealth(ctx.catalog.monitorState(ds.id)), trend: datastoreTrend(ctx.catalog, ds, ctx.now) };
    },
  },
  {
    path: '/datastores/:ref/history',
    handle: (ctx) => {
      const query = ctx.query(['attribute', 'from', 'to', 'points']);
      const ds = ctx.catalog.datastore(refOf(ctx.params[0]!));
      const attribute = query.text('attribute') ?? 'used_mb';
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(attribute)) throw bad('attribute', attribute.slice(0, 64), 'an attribute name (used_mb, free_mb, total_mb, or another the monitor reports)');
      const to = query.time('to') ?? ctx.now;
      const from = query.time('from') ?? to - DAY_MS;
      if (from > to) throw new FerryError('E_USAGE', `query parameter from (${new Date(from).toISOString()}) is after to (${new Date(to).toISOString()})`, { hint: 'give from before to' });
      if (to - from > MAX_RANGE_MS) throw new FerryError('E_USAGE', `from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} is more than 400 days`, { hint: 'ask for 400 days at most (hourly rollups are kept that long)' });
      const max = query.integer('points', 2, HISTORY_POINTS_MAX) ?? HISTORY_POINTS_DEFAULT;
      const series = ctx.catalog.series(ds.id, attribute, from, to);
      // More than `points`: even buckets (min, average, max) instead, so an answer stays small whatever the monitor's interval.
      const { points, bucketSeconds } = boundedSeries(series, from, to, max);
      return { datastore: { id: ds.id, name: ds.name }, attribute, from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucketSeconds, seriesPoints: series.length, points };
    },
  },
  {
    path: '/hosts',
    handle: (ctx) => {
      ctx.query([]);
      return ctx.catalog.listHosts().map(shownHost);
    },
  },
  {
    path: '/hosts/:name',
    handle: (ctx) => {
      ctx.query([]);
      return shownHost(ctx.catalog.host(ctx.params[0]!));
    },
  },
  {
    path: '/images',
    handle: (ctx) => {
      const datastore = ctx.query(['datastore']).name('datastore');
      const images = ctx.catalog.listImages();
      if (datastore === undefined) return images;
      const id = ctx.catalog.datastore(refOf(datastore)).id;
      return images.filter((image) => image.datastoreId === id);
    },
  },
  {
    path: '/images/:ref',
    handle: (ctx) => {
      ctx.query([]);
      const image = ctx.catalog.image(refOf(ctx.params[0]!));
      return { ...image, vms: ctx.catalog.vmsUsingImage(image.id) };
    },
  },
  {
    path: '/vms',
    handle: (ctx) => {
      ctx.query([]);
      return ctx.catalog.listVms();
    },
  },
  {
    path: '/vms/:ref',
    handle: (ctx) => {
      ctx.query([]);
      return ctx.catalog.vm(refOf(ctx.params[0]!));
    },
  },
  {
    path: '/alerts',
    handle: (ctx) => {
      const query = ctx.query(['state', 'severity']);
      const filter: AlertFilter = {};
      const state = query.choice('state', ['firing', 'cleared'] as const);
      const severity = query.choices('severity', ALERT_SEVERITIES);
      if (state !== undefined) filter.state = state;
      if (severity !== undefined) filter.severity = severity;
      return ctx.catalog.listAlerts(filter);
    },
  },
  {
    path: '/alerts/:id',
    handle: (ctx) => {
      ctx.query([]);
      const id = ctx.params[0]!;
      if (!/^\d{1,15}$/.test(id)) throw new FerryError('E_NOT_FOUND', `no alert ${JSON.stringify(id)}: an alert's id is a number`, { hint: `${API_PREFIX}/alerts lists them` });
      return ctx.catalog.alert(Number(id));
    },
  },
  {
    path: '/journal',
    handle: (ctx) => {
      const query = ctx.query(['subject', 'after', 'before', 'limit']);
      const subject = query.name('subject');
      const afterId = query.integer('after', 0, Number.MAX_SAFE_INTEGER);
      const beforeId = query.integer('before', 0, Number.MAX_SAFE_INTEGER);
      const limit = query.integer('limit', 1, JOURNAL_PAGE_MAX) ?? JOURNAL_DEFAULT;
      return ctx.catalog.journalPage({ limit, ...(subject === undefined ? {} : { subject }), ...(afterId === undefined ? {} : { afterId }), ...(beforeId === undefined ? {} : { beforeId }) });
    },
  },
];

/** The routes, as documented (docs/monitoring.md). */
export const API_ROUTES: readonly string[] = ROUTES.map((route) => `${API_PREFIX}${route.path}`);

/** The route matching `segments`, and its parameters. */
function match(segments: string[]): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    const parts = route.path.slice(1).split('/');
    if (parts.length !== segments.length) continue;
    const params: string[] = [];
    if (parts.every((part, i) => (part.startsWith(':') ? (params.push(segments[i]!), true) : part === segments[i]))) return { route, params };
  }
  return undefined;
}

/** The path's segments after the prefix, decoded; undefined when it is not under the prefix. */
function segmentsOf(pathname: string): string[] | undefined {
  if (pathname !== API_PREFIX && !pathname.startsWith(`${API_PREFIX}/`)) return undefined;
  const rest = pathname.slice(API_PREFIX.length).replace(/\/$/, '');
  if (rest === '') return [];
  try {
    return rest.slice(1).split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    throw new FerryError('E_USAGE', `the path ${JSON.stringify(pathname.slice(0, 200))} is not well-formed percent-encoding`, { hint: 'encode names with encodeURIComponent' });
  }
}

const STATUS: Partial<Record<FerryError['code'], number>> = { E_NOT_FOUND: 404, E_USAGE: 400, E_CONFIG: 400, E_BUSY: 503, E_CATALOG: 503 };

/** The JSON body of a refusal: the CLI's --json error, without a driver run's fields. */
export function errorBody(error: FerryError): { ok: false; error: { code: string; message: string; hint: string | null } } {
  return { ok: false, error: { code: error.code, message: error.message, hint: error.hint ?? null } };
}

export function notFound(pathname: string): ApiResponse {
  const error = new FerryError('E_NOT_FOUND', `no route ${JSON.stringify(pathname.slice(0, 200))}`, { hint: `the routes are /metrics and ${API_ROUTES.join(', ')}` });
  return { status: 404, body: errorBody(error) };
}

export function methodNotAllowed(method: string): ApiResponse {
  const error = new FerryError('E_USAGE', `method ${JSON.stringify(method.slice(0, 20))} is not allowed: the API is read-only`, { hint: 'use GET (or HEAD)' });
  return { status: 405, body: errorBody(error), headers: { Allow: 'GET, HEAD' } };
}

/** Answers one API request: GET (or HEAD: the same, the body left out by the server) on a route of ROUTES. */
export function handleApi(catalog: ApiCatalog, method: string, url: URL, options: ApiOptions = {}): ApiResponse {
  if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(method);
  try {
    const segments = segmentsOf(url.pathname);
    const found = segments === undefined ? undefined : match(segments);
    if (found === undefined) return notFound(url.pathname);
    const route = `${API_PREFIX}${found.route.path}`;
    const ctx: Context = {
      catalog,
      params: found.params,
      query: (known) => Query.of(url, known, route),
      now: (options.now ?? Date.now)(),
      version: options.version ?? ferryVersion(),
    };
    return { status: 200, body: { ok: true, result: found.route.handle(ctx) } };
  } catch (thrown) {
    const error = toFerryError(thrown);
    return { status: STATUS[error.code] ?? 500, body: errorBody(error) };
  }
}
