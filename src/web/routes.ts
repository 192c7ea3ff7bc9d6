/**
 * The dashboard's routes (issue 16): server-rendered pages and the files they load, all from ferry's own
 * package, with a Content-Security-Policy that allows nothing inline and nothing from another origin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { FerryError } from '../errors.js';
import type { ApiCatalog } from '../service/api.js';
import { alertsPage } from './alerts.js';
import { datastorePage } from './datastore.js';
import { html } from './html.js';
import { imagePage, imagesPage } from './images.js';
import { page } from './layout.js';
import { overviewPage } from './overview.js';
import { vmPage, vmsPage } from './vms.js';

/** No inline script or style, nothing from another origin, no framing, no plugins. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface WebResponse {
  status: number;
  contentType: string;
  body: string;
}

/** What a page is rendered from: the catalog, the path's parameters (`:ref` …), the query string, now (ms). */
export interface PageContext {
  catalog: ApiCatalog;
  params: string[];
  query: URLSearchParams;
  now: number;
}

interface PageRoute {
  path: string;
  /** A promise when the page waits for something outside the catalog (qemu-img): the server answers others meanwhile. */
  render(ctx: PageContext): string | Promise<string>;
}

const PAGES: PageRoute[] = [
  { path: '/', render: (ctx) => overviewPage(ctx.catalog) },
  { path: '/alerts', render: (ctx) => alertsPage(ctx.catalog) },
  { path: '/datastores/:ref', render: datastorePage },
  { path: '/images', render: imagesPage },
  { path: '/images/:ref', render: imagePage },
  { path: '/vms', render: vmsPage },
  { path: '/vms/:ref', render: vmPage },
];

/** Built by scripts/build.mjs into dist/assets: the stylesheets and the pages' small scripts (uPlot bundled into chart.js). */
const ASSETS: Record<string, string> = {
  '/assets/ferry.css': 'text/css; charset=utf-8',
  '/assets/uplot.css': 'text/css; charset=utf-8',
  '/assets/chart.js': 'text/javascript; charset=utf-8',
  '/assets/live.js': 'text/javascript; charset=utf-8',
};

const assetCache = new Map<string, string>();

/** The parameters of `path` when it matches `pattern` (`/vms/:ref`), else undefined. */
function matchPath(pattern: string, path: string): string[] | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) {
      if (got[i] === '') return undefined;
      try {
        params.push(decodeURIComponent(got[i]!));
      } catch {
        return undefined;
      }
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

function htmlPage(status: number, body: string): WebResponse {
  return { status, contentType: 'text/html; charset=utf-8', body };
}

/** A page for a refusal (an unknown image, a bad query): the message and its hint, as text. */
export function errorPage(status: number, error: FerryError): WebResponse {
  return htmlPage(status, page(status === 404 ? 'Not found' : 'Cannot show this page', '', html`<p class="bad">${error.message}</p>${error.hint ? html`<p class="muted">${error.hint}</p>` : ''}<p><a href="/">Back to the overview</a></p>`));
}

/** The page or asset at `url`, or undefined when the dashboard has none there. */
export async function handleWeb(catalog: ApiCatalog, url: URL, now = Date.now()): Promise<WebResponse | undefined> {
  const path = url.pathname;
  const type = ASSETS[path];
  if (type !== undefined) {
    let body = assetCache.get(path);
    if (body === undefined) {
      body = readFileSync(join(packageRoot(), 'dist', 'assets', path.slice('/assets/'.length)), 'utf8');
      assetCache.set(path, body);
    }
    return { status: 200, contentType: type, body };
  }
  for (const route of PAGES) {
    const params = matchPath(route.path, path);
    if (params === undefined) continue;
    try {
      return htmlPage(200, await route.render({ catalog, params, query: url.searchParams, now }));
    } catch (error) {
      if (error instanceof FerryError && (error.code === 'E_NOT_FOUND' || error.code === 'E_USAGE')) return errorPage(error.code === 'E_NOT_FOUND' ? 404 : 400, error);
      throw error;
    }
  }
  return undefined;
}
