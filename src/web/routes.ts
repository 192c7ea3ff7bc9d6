/**
 * The dashboard's routes (issue 16): server-rendered pages and the files they load, all from ferry's own
 * package, with a Content-Security-Policy that allows nothing inline and nothing from another origin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';
import type { ApiCatalog } from '../service/api.js';
import { alertsPage } from './alerts.js';
import { overviewPage } from './overview.js';

/** No inline script or style, nothing from another origin, no framing, no plugins. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface WebResponse {
  status: number;
  contentType: string;
  body: string;
}

const PAGES: Record<string, (catalog: ApiCatalog) => string> = {
  '/': overviewPage,
  '/alerts': alertsPage,
};

const ASSETS: Record<string, { file: string; contentType: string }> = {
  '/assets/ferry.css': { file: join('dist', 'web', 'ferry.css'), contentType: 'text/css; charset=utf-8' },
};

const assetCache = new Map<string, string>();

/** The page or asset at `path`, or undefined when the dashboard has none there. */
export function handleWeb(catalog: ApiCatalog, path: string): WebResponse | undefined {
  const render = PAGES[path];
  if (render) return { status: 200, contentType: 'text/html; charset=utf-8', body: render(catalog) };
  const asset = ASSETS[path];
  if (asset) {
    let body = assetCache.get(path);
    if (body === undefined) {
      body = readFileSync(join(packageRoot(), asset.file), 'utf8');
      assetCache.set(path, body);
    }
    return { status: 200, contentType: asset.contentType, body };
  }
  return undefined;
}
