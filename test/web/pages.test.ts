/**
 * The images and VMs pages in a real browser (Debian's Chromium through playwright-core) against a real
 * `ferry serve` on a catalog a real lifecycle filled with the qcow2 transfer manager: the VM's disk is a qcow2
 * overlay whose backing file is the base image, read by qemu-img. Every page renders the catalog's data with no
 * console error, the pages link to each other, a hostile image name is text, no request leaves 127.0.0.1, and
 * the list stays small and fast with 10,000 images. Screenshots go to .artefacts/.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { html } from '../../src/web/html.js';
import { page as framed, type PageHead } from '../../src/web/layout.js';
import { handleWeb } from '../../src/web/routes.js';
import { stage, vmYaml } from '../helpers/catalog-world.js';
import { launchBrowser, screenshot, watchedPage } from '../helpers/browser.js';
import { serveWorld, startServe } from '../helpers/serve.js';
import { fresh } from '../catalog/seed.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const pwned = (page: import('playwright-core').Page) => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);

t.test('images and VMs pages on a real qcow2 world: data, links, backing chain, timelines, escaping', async (t) => {
  t.setTimeout(90_000);
  const w = serveWorld(t);
  await stage(t, w, 'qcow2');
  const hostile = await w.json(['image', 'create', '--datastore', 'images', '--size', '1', '--name', HOSTILE]);
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const catalog = w.catalog();
  const base = catalog.image('base');
  const data = catalog.image('data');
  const images = catalog.datastore('images');
  const system = catalog.datastore('system');
  const disk0 = catalog.vm(vm.id).disks[0]!;
  t.equal(disk0.mode, 'clone', 'disk 0 is a clone of base: a qcow2 overlay');
  const served = await startServe(t, w);
  const origin = served.url as string;

  const browser = await launchBrowser(t);
  const { page, errors, requests } = await watchedPage(browser);

  // The list: a row per image, linked; the hostile name as text.
  t.equal((await page.goto(`${origin}/images`))?.status(), 200);
  t.equal(await page.textContent('h1'), 'Images');
  t.equal(await page.locator('table.images tbody tr').count(), catalog.listImages().length, 'a row per image');
  const baseRow = page.locator(`table.images tr[data-image="${base.id}"]`);
  t.match(await baseRow.textContent(), /base.*images.*USED.*OS.*qcow2.*32 MB.*no.*0/s, 'name, datastore, state, type, format, size, persistent, snapshots');
  t.equal(await baseRow.locator(`a[href="/datastores/${images.id}"]`).textContent(), 'images', 'the datastore linked');
  t.equal(await page.locator(`table.images tr[data-image="${hostile.id}"] td:nth-child(2)`).textContent(), HOSTILE, 'the hostile name shown as text, whole');
  t.equal(await page.locator('table.images img, table.images script').count(), 0, 'no element made of it');
  t.equal(await page.locator('p.filters[data-filter="state"] a').count(), 3, 'state filters: all, READY, USED');
  await screenshot(page, 'images');
  await page.click('p.filters[data-filter="state"] a:has-text("READY")');
  await page.waitForURL(`${origin}/images?state=READY`);
  t.same(await page.locator('table.images tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-image'))), [String(hostile.id)], 'filtered: only the READY image');

  // An image: its facts, the VM using it, its journal.
  await page.goto(`${origin}/images`);
  await page.click(`table.images tr[data-image="${base.id}"] td:nth-child(2) a`);
  await page.waitForURL(`${origin}/images/${base.id}`);
  t.equal(await page.textContent('h1'), 'Image base');
  const facts = (await page.textContent('dl.facts')) ?? '';
  t.match(facts, 'qcow2');
  t.match(facts, base.source as string, 'its source, as text');
  t.match(facts, join(w.root, 'base.qcow2'), 'what it was made from');
  t.ok(await page.locator(`dl.facts a[href="/datastores/${images.id}"]`).count(), 'its datastore linked');
  t.equal(await page.locator(`table.image-vms a[href="/vms/${vm.id}"]`).count(), 1, 'the VM using it, linked');
  const imageSteps = await page.locator('ol.timeline li.step').allTextContents();
  t.ok(imageSteps.length > 0, 'a timeline of its journal');
  t.ok(imageSteps.some((step) => /datastore fs\/cp.*exit 0.*ok/s.test(step)), 'its copy into the datastore: driver/action, exit status, ok');
  await screenshot(page, 'image');

  // The VM, from the image's page: its disks, where they are, the backing chain; its journal.
  await page.click(`table.image-vms a[href="/vms/${vm.id}"]`);
  await page.waitForURL(`${origin}/vms/${vm.id}`);
  t.equal(await page.textContent('h1'), 'VM vm01');
  t.equal(await page.locator(`section.live[data-vm="${vm.id}"]`).count(), 1, 'the live block');
  t.match(await page.textContent('dl.facts'), /RUNNING.*host01/s);
  const diskRow = page.locator('table.disks tr[data-disk="0"]');
  t.equal(await diskRow.locator('.host').textContent(), 'host01', "disk 0's host");
  t.equal(await diskRow.locator('.path').textContent(), disk0.target, 'and path');
  const layers = await diskRow.locator('ol.chain li code').allTextContents();
  t.same(layers, [disk0.target, base.source], 'its backing chain: the overlay, then the base image as a layer');
  t.match(await diskRow.locator('ol.chain li').first().textContent(), /qcow2.*virtual 32 MiB/s, "each layer's format and sizes");
  t.match(await diskRow.textContent(), /clone.*qcow2/s, 'mode clone, format qcow2 (as qemu-img read it)');
  const linkRow = page.locator('table.disks tr[data-disk="1"]');
  t.match(await linkRow.textContent(), /ln.*raw/s, 'disk 1: a link, raw');
  t.match(await linkRow.locator('td.where').textContent(), `link to ${data.source}`, 'to the persistent image');
  const vmSteps = await page.locator('ol.timeline li.step').allTextContents();
  t.ok(vmSteps.some((step) => /tm qcow2\/clone.*exit 0.*ok/s.test(step)), 'the create steps in the timeline: clone');
  t.ok(vmSteps.some((step) => /tm qcow2\/ln.*exit 0.*ok/s.test(step)), 'and ln');
  t.equal(await page.textContent('ol.timeline h3'), 'create');
  await screenshot(page, 'vm');
  await page.click(`table.disks a[href="/images/${base.id}"]`);
  await page.waitForURL(`${origin}/images/${base.id}`);
  t.equal(await page.textContent('h1'), 'Image base', 'VM → image link');

  // The VMs list.
  await page.click('header a[href="/vms"]');
  await page.waitForURL(`${origin}/vms`);
  const vmRow = page.locator(`table.vms tr[data-vm="${vm.id}"]`);
  t.match(await vmRow.textContent(), /vm01.*host01.*system.*RUNNING.*-.*-.*2/s, 'name, host, system datastore, state, no operation, disks');
  t.equal(await vmRow.locator(`a[href="/datastores/${system.id}"]`).count(), 1, 'the system datastore linked');
  await screenshot(page, 'vms');

  // The hostile image's own page, and refusals.
  await page.goto(`${origin}/images/${hostile.id}`);
  t.equal(await page.textContent('h1'), `Image ${HOSTILE}`, 'the hostile name as a title, text');
  t.equal(await page.locator('main img').count(), 0);
  t.equal(await pwned(page), undefined, 'nothing of it ran');
  for (const [path, status] of [['/images/nope', 404], [`/images/${hostile.id + 100}`, 404], ['/vms/vm99', 404], ['/vms/999', 404], ['/images?state=NOPE', 400], ['/images?page=0', 400], ['/images?page=2', 400], ['/vms?state=nope', 400]] as const) {
    const response = await page.goto(`${origin}${path}`);
    t.equal(response?.status(), status, `${path}: ${status}`);
  }
  t.match(await page.textContent('main'), /is not one of PENDING, RUNNING/);

  t.same(errors.filter((error) => !/status of 40[04]/.test(error)), [], 'no console error (but the refused pages)');
  t.same(requests.filter((url) => !url.startsWith(`${origin}/`)), [], `every request went to ${origin}`);
  t.equal(await served.stop(), 0);

  // The disk not here: the page says where it is instead of reading it.
  rmSync(disk0.target);
  const vmBody = async () => (await handleWeb(catalog, new URL(`http://ferry/vms/${vm.id}`)))?.body ?? '';
  t.match(await vmBody(), /<tr data-disk="0">.*host01 is this machine: no file there/s, 'on a local host: missing');
  catalog.addHost({ name: 'far', transport: 'ssh', address: '192.0.2.7' });
  catalog.updateVm(vm.id, { host: 'far' });
  const far = await vmBody();
  t.match(far, /<tr data-disk="0">.*<span class="host">far<\/span>.*on host far, not visible from this machine/s, 'on a remote host: not visible from here');
  t.match(far, /<tr data-disk="1">.*<ol class="chain">/s, 'a file of a shared datastore the front-end sees is still read');
});

t.test('10,000 images: one page of 500 rows, fast, filters and pages', async (t) => {
  const { catalog } = fresh(t);
  const one = catalog.addDatastore({ name: 'one', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/1' });
  const two = catalog.addDatastore({ name: 'two', type: 'IMAGE', dsMad: 'fs', tmMad: 'shared', basePath: '/ds/2' });
  catalog.transaction(() => {
    for (let i = 0; i < 10_000; i++) {
      const image = catalog.addImage({ name: `image-${i}`, datastoreId: i % 4 === 0 ? two.id : one.id, sizeMb: i, format: 'qcow2' });
      if (i % 2 === 0) catalog.updateImage(image.id, { state: 'READY', source: `/ds/x/${i}` });
    }
  });
  const get = async (path: string) => (await handleWeb(catalog, new URL(`http://ferry${path}`)))!;
  // How fast is a benchmark's question (scripts/bench-dashboard.mjs); here: one page of 500, not 10,000 rows.
  const first = await get('/images');
  t.equal(first.status, 200);
  t.ok(first.body.length < 400_000, `${first.body.length} bytes`);
  t.equal(first.body.match(/<tr data-image=/g)?.length, 500, '500 rows');
  t.ok(first.body.includes('page 1 of 20, rows 1–500 of 10000'), 'page 1 of 20');
  t.ok(first.body.includes('<a href="/images?page=20" data-page="20">last »</a>'), 'a link to the last');
  const last = (await get('/images?page=20')).body;
  t.ok(last.includes('<tr data-image="10000">') && !last.includes('<tr data-image="9500">'), 'the last page: rows 9501 to 10000');
  const filtered = (await get(`/images?datastore=${two.id}&state=READY`)).body;
  t.equal(filtered.match(/<tr data-image=/g)?.length, 500, 'datastore two, READY: every 4th image, 2500, one page of 500');
  t.ok(filtered.includes('rows 1–500 of 2500'));
  t.ok(filtered.includes(`<a href="/images?datastore=${two.id}&amp;state=READY&amp;page=2" data-page="2">next ›</a>`), 'the pages keep the filters');
  const has = (text: string, what: string) => t.ok(filtered.includes(text), what);
  has(`<a href="/images?datastore=${two.id}&amp;state=READY" aria-current="true">READY`, 'the state filter in use marked');
  has(`<a href="/images?datastore=${two.id}">all <span class="muted">2500</span></a>`, 'its "all" keeps the datastore filter, counting its images');
  has(`<a href="/images?state=READY">all <span class="muted">5000</span></a>`, 'the datastore "all" keeps the state filter');
});

t.test('a VM whose create failed: its plan with the steps done and the one that failed, the failure in its timeline', async (t) => {
  const w = serveWorld(t);
  await stage(t, w, 'flaky');
  writeFileSync(join(w.markers, 'fail-ln'), '');
  const failed = await w.cli(['vm', 'create', vmYaml(w)]);
  t.not(failed.status, 0, 'the create failed at ln');
  const catalog = w.catalog();
  const vm = catalog.vm('vm01');
  t.equal(vm.state, 'FAILED');
  const body = (await handleWeb(catalog, new URL(`http://ferry/vms/${vm.id}`)))?.body ?? '';
  t.match(body, /<p class="bad error">create step 2\/2 \(LN flaky .*injected failure in ln/, 'its error');
  t.match(body, /<dt>Operation<\/dt><dd>create<\/dd><dt>Step<\/dt><dd>2\/2<\/dd><dt>Previous state<\/dt><dd>PENDING<\/dd>/, 'operation, step, previous state');
  t.match(body, /<li class="done" data-step="0"><span class="mark">done<\/span> <code>tm flaky\/clone<\/code> disk 0: clone image 1 \(base\)/, 'the step done');
  t.match(body, /<li class="current failed" data-step="1" aria-current="step"><span class="mark">failed here<\/span> <code>tm flaky\/ln<\/code>/, 'the step that failed, marked current');
  t.match(body, /<li class="run run-failed"><h3>create<\/h3>/, 'the run failed in the timeline');
  t.match(body, /<li class="step step-failed" data-entry="\d+">\s*<div class="step-head">.*<code class="action">tm flaky\/ln<\/code>.*<span class="exit">exit 1<\/span> <strong class="bad">failed<\/strong><\/div>\s*<p class="message">injected failure in ln/, 'its failed step: action, exit status, message');
  t.match(body, /<li class="log-error"><span class="level">error<\/span> injected failure in ln<\/li>/, 'its log line');
  t.match(body, /<tr data-disk="1">.*host01 is this machine: no file there/, 'the disk never made: said so');
});

t.test("a page's head: the package's own stylesheets and deferred scripts, by path, and nothing else", async (t) => {
  const headOf = (text: string) => text.slice(text.indexOf('<head>'), text.indexOf('</head>'));
  const plain = framed('Plain', '/', html`<p>body</p>`);
  t.same(headOf(plain).match(/<link rel="stylesheet"[^>]*>|<script[^>]*>/g), ['<link rel="stylesheet" href="/assets/ferry.css">'], 'without one: ferry.css only');
  const both = framed('Chart', '/', html`<p>body</p><script src="/assets/live.js" defer></script>`, { stylesheets: ['/assets/uplot.css'], scripts: ['/assets/chart.js', '/assets/chart.js'] });
  t.same(
    headOf(both).match(/<link rel="stylesheet"[^>]*>|<script[^>]*>/g),
    ['<link rel="stylesheet" href="/assets/ferry.css">', '<link rel="stylesheet" href="/assets/uplot.css">', '<script src="/assets/chart.js" defer>'],
    'after ferry.css, each once, scripts deferred',
  );
  t.ok(both.includes('<main>\n<h1>Chart</h1>\n<p>body</p><script src="/assets/live.js" defer></script>\n</main>'), 'a script the body carries (the live block) is left where it is');
  t.throws(() => framed('x', '/', html``, { scripts: ['https://evil.example/x.js'] } as unknown as PageHead), /not one of the dashboard's assets/, 'another address refused');
  t.throws(() => framed('x', '/', html``, { stylesheets: ['/assets/chart.js'] } as unknown as PageHead), /not one of/, 'a script is not a stylesheet');
});
