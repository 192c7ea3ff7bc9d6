#!/usr/bin/env node
// The dashboard's first paint (issue 16's figures): the overview (`/`) of a real `ferry serve` over a catalog of
// 1,000 datastores and 10,000 images, loaded by Chromium (/usr/bin/chromium through playwright-core), each load a
// fresh browser context (no cache): first-paint and first-contentful-paint from the page's paint timing, the
// server's part (requestStart to responseEnd), the stylesheet's timing, Chromium's layout and style time
// (DevTools' Performance domain) and the HTML's size. Target: first paint at most 300 ms (median). The catalog is
// built directly through the catalog API (dist/): datastores with capacity figures and samples (the meters
// render), a few in ERROR, alerts firing, VMs, a journal with failures. The service monitors every hour and every
// datastore was just sampled, so no monitor script runs while the pages load: what is measured is the page.
// Baseline, in the same run and interleaved: the same HTML and stylesheet bytes, with ferry's headers, served as
// static files by a bare node:http server: the ratio is what ferry's rendering and serving add to sending them.
// Also: the overview fetched alone (Chromium idle) and rendered in this process (the catalog reads and the HTML,
// no HTTP), and the script each dashboard page loads (its resource timing) against the 100 KB budget (100,000
// bytes, uncompressed). Flags: --json, --runs N (measured loads, default 15), --warmup N (default 2),
// --datastores N (default 1000), --images N (default 10000), --journal N (default 500).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Catalog } = await import(join(root, 'dist/catalog/catalog.js'));
const { overviewPage } = await import(join(root, 'dist/web/overview.js'));
const { chromium } = await import('playwright-core');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const RUNS = flag('--runs', 15);
const WARMUP = flag('--warmup', 2);
const DATASTORES = flag('--datastores', 1000);
const IMAGES = flag('--images', 10_000);
const JOURNAL = flag('--journal', 500);
const TARGETS = { firstPaintMs: 300, scriptBytes: 100_000 };
const CHROMIUM = '/usr/bin/chromium';
// As test/helpers/browser.ts: off the network, no first-run work.
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; scripts/setup.sh does it)`);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

const log = (line) => {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
};
const sorted = (values) => [...values].sort((a, b) => a - b);
const median = (values) => {
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
/** Nearest-rank p90. */
const p90 = (values) => sorted(values)[Math.max(0, Math.ceil(values.length * 0.9) - 1)];
const round1 = (x) => Math.round(x * 10) / 10;

/** A catalog of `DATASTORES` datastores (a tenth SYSTEM), `IMAGES` images, VMs, alerts and a journal, at `path`. */
function buildCatalog(path, dir) {
  const catalog = Catalog.open(path);
  const now = Date.now();
  const counts = { datastores: 0, images: 0, vms: 0, alerts: 0, journal: 0, failures: 0, samples: 0, errorDatastores: 0 };
  try {
    catalog.transaction((tx) => {
      const imageDs = [];
      const systemDs = [];
      const samples = [];
      for (let i = 0; i < DATASTORES; i++) {
        const system = i % 10 === 9;
        const ds = tx.addDatastore({ name: `ds-${i}`, type: system ? 'SYSTEM' : 'IMAGE', dsMad: system ? undefined : 'fs', tmMad: i % 3 === 0 ? 'qcow2' : 'shared', basePath: join(dir, 'ds', String(i)) });
        (system ? systemDs : imageDs).push(ds.id);
        counts.datastores += 1;
        // 100 GiB .. 10 TiB, 20 % .. 97 % used: some meters amber, some red.
        const totalMb = 102_400 * (1 + (i % 100));
        const usedMb = Math.floor(totalMb * (0.2 + ((i * 7) % 78) / 100));
        tx.setMonitor(ds.id, { totalMb, usedMb, freeMb: totalMb - usedMb });
        // Sampled now: its next run is an interval (an hour, ferry.yaml below) away.
        tx.recordMonitorSuccess(ds.id, now);
        if (i % 97 === 5) {
          tx.recordMonitorFailure(ds.id, `ERROR: monitor of ds-${i} failed: ssh: connect to host node-${i % 7} port 22: Connection refused`, { at: now, errorAfter: 1 });
          tx.raiseAlert({ rule: 'monitor_failing', subject: { kind: 'datastore', id: ds.id }, severity: 'critical', message: `datastore ds-${i}: its monitor failed 3 times in a row`, at: now });
          counts.errorDatastores += 1;
          counts.alerts += 1;
        }
        const freePct = (totalMb - usedMb) / totalMb;
        if (freePct < 0.1 || (freePct < 0.2 && i % 4 === 0)) {
          const critical = freePct < 0.1;
          tx.raiseAlert({ rule: critical ? 'free_critical' : 'free_low', subject: { kind: 'datastore', id: ds.id }, severity: critical ? 'critical' : 'warning', message: `datastore ds-${i}: ${Math.round(freePct * 1000) / 10} % free`, value: Math.round(freePct * 1000) / 10, at: now });
          counts.alerts += 1;
        }
        // An hour of samples every 5 minutes: the history the datastore pages draw.
        for (let k = 12; k >= 1; k--) {
          const at = now - k * 300_000;
          const used = usedMb - k * 50;
          samples.push({ datastoreId: ds.id, attribute: 'used_mb', at, value: used }, { datastoreId: ds.id, attribute: 'free_mb', at, value: totalMb - used }, { datastoreId: ds.id, attribute: 'total_mb', at, value: totalMb });
        }
      }
      counts.samples = tx.recordSamples(samples);
      for (let i = 0; i < IMAGES; i++) {
        const image = tx.addImage({ name: `image-${i}`, datastoreId: imageDs[i % imageDs.length], path: `/srv/images/image-${i}.qcow2`, sizeMb: 1024 * (1 + (i % 40)), format: i % 2 === 0 ? 'qcow2' : 'raw', persistent: i % 5 === 0 });
        tx.updateImage(image.id, { state: i % 500 === 7 ? 'ERROR' : 'READY', source: join(dir, 'ds', String(image.datastoreId), `${image.id}`), ...(i % 500 === 7 ? { error: 'cp: No space left on device' } : {}) });
        counts.images += 1;
      }
      const VMS = Math.max(1, Math.round(IMAGES / 50));
      tx.addHost({ name: 'node-1', transport: 'local' });
      const states = ['RUNNING', 'RUNNING', 'RUNNING', 'STOPPED', 'PENDING', 'FAILED', 'DONE'];
      for (let i = 0; i < VMS; i++) {
        const systemDsId = systemDs[i % systemDs.length] ?? imageDs[0];
        const vm = tx.addVm({ name: `vm-${i}`, host: 'node-1', systemDsId, disks: [{ diskId: 0, kind: 'image', imageId: 1 + (i % IMAGES), mode: 'clone', sizeMb: 10_240, format: 'qcow2', files: null }] }, join(dir, 'ds', String(systemDsId)));
        tx.updateVm(vm.id, { state: states[i % states.length] });
        counts.vms += 1;
      }
      // A journal of driver actions, one in ten failed (a message with the driver's error, as recorded).
      for (let i = 0; i < JOURNAL; i++) {
        const ok = i % 10 !== 3;
        const imageId = 1 + ((i * 37) % IMAGES);
        tx.record({
          subject: `image:${imageId}`,
          operation: 'image create',
          step: null,
          kind: 'datastore',
          driver: 'fs',
          action: ok ? 'stat' : 'cp',
          args: [String(imageId)],
          ok,
          exitCode: ok ? 0 : 1,
          durationMs: 40 + (i % 200),
          message: ok ? null : `ERROR: cp: cannot create regular file '/srv/ds/${imageId}': No space left on device`,
          logs: [{ level: 'info', message: 'cp: copying' }],
        });
        counts.journal += 1;
        if (!ok) counts.failures += 1;
      }
    });
  } finally {
    catalog.close();
  }
  return counts;
}

/** The overview rendered in this process, `rounds` times: the catalog reads and the HTML, no HTTP. */
function renderFigures(path, rounds) {
  const catalog = Catalog.open(path);
  try {
    const times = [];
    let bytes = 0;
    for (let i = 0; i < rounds + 2; i++) {
      const started = performance.now();
      const text = overviewPage(catalog);
      if (i >= 2) times.push(performance.now() - started);
      bytes = Buffer.byteLength(text);
    }
    return { ms: median(times), bytes };
  } finally {
    catalog.close();
  }
}

/** A child process started by this bench, stopped (SIGTERM, then SIGKILL) by stopAll. */
const children = new Set();
function startChild(argv, options, ready) {
  const child = spawn(process.execPath, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  exited.then(() => children.delete(child));
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start in 60 s: ${text}`)), 60_000);
    const check = (chunk) => {
      text += chunk;
      const url = ready(text);
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, exited, output: () => text });
      }
    };
    child.stdout.setEncoding('utf8').on('data', check);
    child.stderr.setEncoding('utf8').on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited (${code}) before it listened: ${text}`));
    });
  });
}
async function stopAll() {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }),
  );
}

/** A bare node:http server sending the files of `dir` as they are, with ferry's headers for them (the baseline); its URL printed on stdout. */
const STATIC_SERVER = `
const { createServer } = require('node:http');
const { readFileSync } = require('node:fs');
const headers = JSON.parse(readFileSync(process.argv[1] + '/headers.json', 'utf8'));
const files = { '/': readFileSync(process.argv[1] + '/index.html'), '/assets/ferry.css': readFileSync(process.argv[1] + '/ferry.css') };
createServer((req, res) => {
  const file = files[req.url];
  if (!file) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { ...headers[req.url], 'Content-Length': file.length });
  res.end(file);
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });
`;

/** One load of `url` in a fresh context: paint timing, navigation timing, the scripts it loaded. */
async function load(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // Chromium's own counters (DevTools' Performance domain): the main thread's layout and style time in the load.
    const devtools = await context.newCDPSession(page);
    await devtools.send('Performance.enable');
    await page.goto(url, { waitUntil: 'load' });
    const timing = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const done = () => {
            const paint = Object.fromEntries(performance.getEntriesByType('paint').map((entry) => [entry.name, entry.startTime]));
            const [nav] = performance.getEntriesByType('navigation');
            const scripts = performance
              .getEntriesByType('resource')
              .filter((entry) => entry.initiatorType === 'script' || /\.m?js(\?|$)/.test(entry.name))
              .map((entry) => ({ url: entry.name, bytes: entry.decodedBodySize, transfer: entry.transferSize }));
            const css = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith('/assets/ferry.css'));
            resolve({
              cssMs: css ? css.responseEnd - css.startTime : null,
              cssEndMs: css ? css.responseEnd : null,
              firstPaint: paint['first-paint'] ?? null,
              firstContentfulPaint: paint['first-contentful-paint'] ?? null,
              serverMs: nav.responseEnd - nav.requestStart,
              ttfbMs: nav.responseStart - nav.requestStart,
              domContentLoaded: nav.domContentLoadedEventEnd,
              htmlBytes: nav.decodedBodySize,
              scripts,
            });
          };
          if (performance.getEntriesByName('first-contentful-paint').length > 0) return done();
          // The paint entry can come after `load` (a page painted late): wait for it, 10 s at most.
          new PerformanceObserver((list, observer) => {
            if (list.getEntriesByName('first-contentful-paint').length > 0) {
              observer.disconnect();
              done();
            }
          }).observe({ type: 'paint', buffered: true });
          setTimeout(done, 10_000);
        }),
    );
    const metrics = Object.fromEntries((await devtools.send('Performance.getMetrics')).metrics.map((metric) => [metric.name, metric.value]));
    return { ...timing, layoutMs: metrics.LayoutDuration * 1000, styleMs: metrics.RecalcStyleDuration * 1000 };
  } finally {
    await context.close();
  }
}

/** The `.js` files in dist/assets: bytes and gzipped bytes. */
function assetScripts() {
  const dir = join(root, 'dist', 'assets');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .map((name) => {
      const path = join(dir, name);
      return { name, bytes: statSync(path).size, gzipBytes: gzipSync(readFileSync(path)).length };
    });
}

const summary = (values) => ({ median: round1(median(values)), p90: round1(p90(values)) });

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dashboard-'));
let browser;
let cleaned;
/** Chromium, the service and the baseline server stopped, the temp folder removed: once, on the way out or on a signal. */
function cleanup() {
  cleaned ??= (async () => {
    await browser?.close().catch(() => undefined);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaned;
}
// Playwright's own signal handlers are off (below): they would exit before the service and the folder are gone.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void cleanup().finally(() => process.exit(130)));
// Whatever ends this process: no child left behind, no folder (synchronous: the last chance).
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

let report;
try {
  const home = join(dir, 'home');
  mkdirSync(home);
  const catalogFile = join(home, 'catalog.db');
  const building = performance.now();
  const counts = buildCatalog(catalogFile, dir);
  log(`catalog: ${counts.datastores} datastores (${counts.errorDatastores} in ERROR), ${counts.images} images, ${counts.vms} VMs, ${counts.alerts} alerts firing, ${counts.journal} journal entries (${counts.failures} failed), ${counts.samples} samples, built in ${((performance.now() - building) / 1000).toFixed(1)} s`);
  const render = renderFigures(catalogFile, 10);
  log(`overview rendered in this process: ${render.ms.toFixed(1)} ms, ${render.bytes} bytes`);

  // The service monitors every hour; each datastore was sampled just now, so none is due while the bench runs.
  writeFileSync(join(dir, 'ferry.yaml'), 'monitor:\n  interval: 3600\n');
  const serve = await startChild([join(root, 'dist', 'bin', 'ferry.js'), '--config', join(dir, 'ferry.yaml'), '--remotes', join(root, 'remotes'), 'serve', '--listen', '127.0.0.1:0'], { cwd: dir, env: { ...process.env, FERRY_HOME: home, NO_COLOR: '1' } }, (text) =>
    /ferry serve: watching/.test(text) ? /listening on (http:\/\/\S+)/.exec(text)?.[1] : undefined,
  );
  const ferryUrl = `${serve.url}/`;
  const pageResponse = await fetch(ferryUrl);
  const html = await pageResponse.text();
  if (!html.includes('<h1>Overview</h1>')) throw new Error(`${ferryUrl} is not the overview: ${html.slice(0, 200)}`);
  const cssResponse = await fetch(`${serve.url}/assets/ferry.css`);
  const css = Buffer.from(await cssResponse.arrayBuffer());
  // The baseline's files: the overview's own bytes and the stylesheet it links, with the headers ferry sent (its
  // Content-Security-Policy among them), so that the bytes' source is the only difference.
  const kept = (response) => Object.fromEntries([...response.headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)));
  const staticDir = join(dir, 'static');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), html);
  writeFileSync(join(staticDir, 'ferry.css'), css);
  writeFileSync(join(staticDir, 'headers.json'), JSON.stringify({ '/': kept(pageResponse), '/assets/ferry.css': kept(cssResponse) }));
  const bare = await startChild(['-e', STATIC_SERVER, staticDir], {}, (text) => /listening on (http:\/\/\S+)/.exec(text)?.[1]);
  const baseUrl = `${bare.url}/`;

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
  const sides = { ferry: [], baseline: [] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Alternate which side goes first, so drift in machine load favours neither.
    const order = i % 2 === 0 ? ['ferry', 'baseline'] : ['baseline', 'ferry'];
    const round = {};
    for (const side of order) {
      round[side] = await load(browser, side === 'ferry' ? ferryUrl : baseUrl);
      if (round[side].firstContentfulPaint === null) throw new Error(`${side}: no first-contentful-paint entry`);
      if (i >= WARMUP) sides[side].push(round[side]);
    }
    const fcp = (side) => `${round[side].firstContentfulPaint.toFixed(0)} ms (server ${round[side].serverMs.toFixed(0)} ms)`;
    log(`load ${i + 1} of ${WARMUP + RUNS}${i < WARMUP ? ' (warm-up)' : ''}: first contentful paint ferry ${fcp('ferry')}, baseline ${fcp('baseline')}`);
  }

  // The server alone, Chromium idle: the overview fetched by this process, one request at a time.
  const fetches = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await (await fetch(ferryUrl)).arrayBuffer();
    fetches.push(performance.now() - started);
  }

  // The script each page loads (its resource timing), against the budget.
  const firstDs = (await (await fetch(`${serve.url}/api/v1/datastores`)).json()).result?.[0];
  const pages = ['/', '/images', '/vms', '/alerts', `/datastores/${firstDs?.id ?? 0}`, '/images/1', '/vms/1'];
  const pageScripts = [];
  for (const path of pages) {
    const result = await load(browser, `${serve.url}${path}`);
    pageScripts.push({ path, scripts: result.scripts.map((script) => new URL(script.url).pathname), bytes: result.scripts.reduce((sum, script) => sum + script.bytes, 0) });
  }
  const assets = assetScripts();

  const pick = (side, field) => sides[side].map((run) => run[field]);
  const ferryFcp = summary(pick('ferry', 'firstContentfulPaint'));
  const baseFcp = summary(pick('baseline', 'firstContentfulPaint'));
  report = {
    machine: { node: process.version, cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) },
    catalog: counts,
    runs: RUNS,
    warmup: WARMUP,
    chromium: browser.version(),
    ferry: {
      firstPaintMs: summary(pick('ferry', 'firstPaint')),
      firstContentfulPaintMs: ferryFcp,
      serverMs: summary(pick('ferry', 'serverMs')),
      ttfbMs: summary(pick('ferry', 'ttfbMs')),
      domContentLoadedMs: summary(pick('ferry', 'domContentLoaded')),
      cssMs: summary(pick('ferry', 'cssMs')),
      cssEndMs: summary(pick('ferry', 'cssEndMs')),
      layoutMs: summary(pick('ferry', 'layoutMs')),
      styleMs: summary(pick('ferry', 'styleMs')),
      fetchMs: summary(fetches),
      htmlBytes: sides.ferry[0]?.htmlBytes ?? 0,
      htmlGzipBytes: gzipSync(html).length,
    },
    baseline: {
      firstPaintMs: summary(pick('baseline', 'firstPaint')),
      firstContentfulPaintMs: baseFcp,
      serverMs: summary(pick('baseline', 'serverMs')),
      cssMs: summary(pick('baseline', 'cssMs')),
      cssEndMs: summary(pick('baseline', 'cssEndMs')),
      layoutMs: summary(pick('baseline', 'layoutMs')),
      styleMs: summary(pick('baseline', 'styleMs')),
      htmlBytes: sides.baseline[0]?.htmlBytes ?? 0,
    },
    ratio: Math.round((ferryFcp.median / baseFcp.median) * 100) / 100,
    render: { ms: round1(render.ms), bytes: render.bytes },
    scripts: {
      pages: pageScripts,
      maxPageBytes: Math.max(...pageScripts.map((page) => page.bytes)),
      assets,
      allAssetsBytes: assets.reduce((sum, asset) => sum + asset.bytes, 0),
      allAssetsGzipBytes: assets.reduce((sum, asset) => sum + asset.gzipBytes, 0),
    },
    targets: TARGETS,
  };
} finally {
  await cleanup();
}

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  for (const row of dashboardRows(report)) console.log(row);
}

/** The table. */
function dashboardRows(r) {
  const c = r.catalog;
  const f = r.ferry;
  const b = r.baseline;
  const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
  const s = r.scripts;
  return [
    `dashboard first paint (Chromium ${r.chromium}, node ${r.machine.node}, ${r.machine.cpus} cpus, load average ${r.machine.loadavg.join(' ')}; ${r.runs} loads each after ${r.warmup} warm-up, a fresh context each)`,
    `catalog: ${c.datastores.toLocaleString('en')} datastores, ${c.images.toLocaleString('en')} images, ${c.vms} VMs, ${c.alerts} alerts firing, ${c.journal} journal entries (${c.failures} failed)`,
    '',
    '| measure | baseline | ferry | ratio | target |',
    '| --- | --- | --- | --- | --- |',
    `| overview first contentful paint, median (p90) | static file ${b.firstContentfulPaintMs.median} ms (${b.firstContentfulPaintMs.p90}) | ${f.firstContentfulPaintMs.median} ms (${f.firstContentfulPaintMs.p90}) | ${r.ratio.toFixed(2)} | <= ${r.targets.firstPaintMs} ms |`,
    `| overview first paint, median (p90) | static file ${b.firstPaintMs.median} ms (${b.firstPaintMs.p90}) | ${f.firstPaintMs.median} ms (${f.firstPaintMs.p90}) | - | - |`,
    `| overview server time in the browser (requestStart to responseEnd), median (p90) | static file ${b.serverMs.median} ms (${b.serverMs.p90}) | ${f.serverMs.median} ms (${f.serverMs.p90}) | - | - |`,
    `| the stylesheet: its request / loaded at, median | static file ${b.cssMs.median} / ${b.cssEndMs.median} ms | ${f.cssMs.median} / ${f.cssEndMs.median} ms | - | - |`,
    `| overview in Chromium to load: layout / style recalculation, median | static file ${b.layoutMs.median} / ${b.styleMs.median} ms | ${f.layoutMs.median} / ${f.styleMs.median} ms | - | - |`,
    `| overview server time, Chromium idle: fetched alone / rendered in-process | - | ${f.fetchMs.median} ms (${f.fetchMs.p90}) / ${r.render.ms} ms | - | - |`,
    `| overview HTML | - | ${kb(f.htmlBytes)} (${kb(f.htmlGzipBytes)} gzipped) | - | - |`,
    `| script per page (the most of ${s.pages.length} pages) | - | ${kb(s.maxPageBytes)}; all of dist/assets/*.js ${kb(s.allAssetsBytes)} (${kb(s.allAssetsGzipBytes)} gzipped) | - | <= ${kb(r.targets.scriptBytes)} |`,
    '',
    ...s.pages.map((page) => `  ${page.path}: ${page.scripts.length === 0 ? 'no script' : page.scripts.join(', ')} (${kb(page.bytes)})`),
    ...s.assets.map((asset) => `  dist/assets/${asset.name}: ${kb(asset.bytes)} (${kb(asset.gzipBytes)} gzipped)`),
  ];
}
