/** The frame of every page: title, navigation, the stylesheets and scripts; no inline script or style (the CSP forbids them). */
import { html, type Html } from './html.js';

export const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/images', label: 'Images' },
  { path: '/vms', label: 'VMs' },
  { path: '/alerts', label: 'Alerts' },
] as const;

/** The package's stylesheets a page may add to ferry.css (routes.ts serves them). */
export const EXTRA_STYLESHEETS = ['/assets/uplot.css'] as const;
/** The package's scripts a page may load (deferred: they run once the page is parsed). */
export const PAGE_SCRIPTS = ['/assets/chart.js', '/assets/live.js'] as const;

/** What a page adds to its <head>: only the package's own files, by path. */
export interface PageHead {
  stylesheets?: ReadonlyArray<(typeof EXTRA_STYLESHEETS)[number]>;
  scripts?: ReadonlyArray<(typeof PAGE_SCRIPTS)[number]>;
}

/** `paths` when each is one of `allowed` (a check at run time too: the type alone does not stop a cast). */
function known(paths: readonly string[] | undefined, allowed: readonly string[]): string[] {
  for (const path of paths ?? []) if (!allowed.includes(path)) throw new Error(`${path} is not one of the dashboard's assets (${allowed.join(', ')})`);
  return [...new Set(paths ?? [])];
}

export function page(title: string, current: string, body: Html, head: PageHead = {}): string {
  const stylesheets = known(head.stylesheets, EXTRA_STYLESHEETS);
  const scripts = known(head.scripts, PAGE_SCRIPTS);
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ferry</title>
<link rel="stylesheet" href="/assets/ferry.css">
${stylesheets.map((href) => html`<link rel="stylesheet" href="${href}">\n`)}${scripts.map((src) => html`<script src="${src}" defer></script>\n`)}<link rel="icon" href="data:,">
</head>
<body>
<header><strong>ferry</strong><nav>${NAV.map((item) => html`<a href="${item.path}"${item.path === current ? html` aria-current="page"` : ''}>${item.label}</a>`)}</nav></header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.text}\n`;
}
