/** The frame of every page: title, navigation, the stylesheet; no inline script or style (the CSP forbids them). */
import { html, type Html } from './html.js';

export const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/images', label: 'Images' },
  { path: '/vms', label: 'VMs' },
  { path: '/alerts', label: 'Alerts' },
] as const;

export function page(title: string, current: string, body: Html): string {
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ferry</title>
<link rel="stylesheet" href="/assets/ferry.css">
<link rel="icon" href="data:,">
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
