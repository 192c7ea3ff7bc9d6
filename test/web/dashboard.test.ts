/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real `ferry serve` on a
 * catalog a real lifecycle filled: each page renders the catalog's data with no console error, a hostile driver
 * message is shown as text and runs nothing, and no request leaves 127.0.0.1. Screenshots go to .artefacts/.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stage, vmYaml } from '../helpers/catalog-world.js';
import { launchBrowser, screenshot, watchedPage } from '../helpers/browser.js';
import { waitFor } from '../helpers/fixtures.js';
import { serveWorld, startServe } from '../helpers/serve.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

t.test('overview and alerts pages: real data, escaped text, no console error, nothing fetched from elsewhere', async (t) => {
  const w = serveWorld(t);
  await stage(t, w, 'shared');
  await w.json(['vm', 'create', vmYaml(w)]);
  const probe = await w.json(['datastore', 'create', 'probed', '--ds-mad', 'probe', '--tm-mad', 'shared', '--base-path', join(w.root, 'ds', 'images'), '--attr', 'MONITOR_INTERVAL=1']);
  writeFileSync(join(w.markers, `fail-monitor-${probe.id}`), HOSTILE);
  const catalog = w.catalog();
  const served = await startServe(t, w);
  t.ok(await waitFor(() => catalog.monitorState(probe.id).state === 'ERROR', 10_000, 100), 'the failing datastore reached ERROR, its alert raised');

  const browser = await launchBrowser(t);
  const { page, errors, requests } = await watchedPage(browser);
  const response = await page.goto(`${served.url}/`);
  t.equal(response?.status(), 200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self'/, 'a Content-Security-Policy without inline script');
  t.notMatch(csp, /unsafe-inline/);
  t.equal(await page.textContent('h1'), 'Overview');
  const rows = await page.locator('table.datastores tbody tr').allTextContents();
  t.equal(rows.length, catalog.listDatastores().length, 'one row per datastore');
  t.ok(rows.some((row) => row.includes('images') && row.includes('fs / shared')), 'the image datastore with its drivers');
  t.ok(rows.some((row) => row.includes('probed') && row.includes('ERROR')), 'the failing one in ERROR');
  t.equal(await page.locator('table.datastores meter').count(), catalog.listDatastores().filter((ds) => ds.totalMb !== null).length, 'a capacity meter per monitored datastore');
  t.equal(await page.textContent('[data-state="RUNNING"]'), String(catalog.listVms().filter((vm) => vm.state === 'RUNNING').length), 'VMs by state');
  const failures = await page.locator('table.failures').textContent();
  t.ok(failures?.includes(HOSTILE), 'the hostile driver message shown as text, whole');
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'and nothing in it ran');
  t.equal(await page.locator('table.failures img, table.failures script').count(), 0, 'no element made of it');
  await screenshot(page, 'overview');

  await page.click('a[href="/alerts"]');
  t.equal(await page.textContent('h1'), 'Alerts');
  const alerts = await page.locator('table.alerts tbody tr').allTextContents();
  t.ok(alerts.some((row) => row.includes('monitor_failing') && row.includes('firing')), 'the firing alert listed');
  t.match(await page.locator('h2').allTextContents(), [/^Firing \(\d+\)$/, /^Cleared \(\d+\)$/], 'firing, then cleared');
  const subject = page.locator(`table.alerts tbody tr:has-text("monitor_failing") a[href="/datastores/${probe.id}"]`).first();
  t.equal(await subject.count(), 1, "the alert's subject links to its datastore");
  await subject.click();
  t.equal(await page.textContent('h1'), 'Datastore probed', 'and the link leads there');
  await page.goBack();
  await screenshot(page, 'alerts');

  t.same(errors, [], 'no console error');
  const origin = new URL(served.url as string).origin;
  t.same(requests.filter((url) => !url.startsWith(`${origin}/`)), [], `every request went to ${origin}`);
  t.ok(requests.some((url) => url.endsWith('/assets/ferry.css')), 'the stylesheet came from ferry');
  t.equal(await served.stop(), 0);
});

t.test('with a token: the browser signs in once, then every page and the API answer', async (t) => {
  const w = serveWorld(t);
  await stage(t, w, 'shared');
  const tokenFile = join(w.root, 'token');
  const token = 'dash-token-51c2e07a';
  writeFileSync(tokenFile, `${token}\n`);
  chmodSync(tokenFile, 0o600);
  const served = await startServe(t, w, ['--listen', '127.0.0.1:0', '--token-file', tokenFile]);
  const browser = await launchBrowser(t);
  const { page, errors, requests } = await watchedPage(browser);

  const first = await page.goto(`${served.url}/alerts`);
  t.equal(first?.status(), 401, 'not signed in: 401');
  t.equal(await page.textContent('h1'), 'Sign in', 'the login page');
  await page.fill('input[name=token]', 'not-the-token');
  await page.click('button[type=submit]');
  t.match(await page.textContent('[role=alert]'), /not the token/, 'a wrong token is told');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  t.equal(await page.textContent('h1'), 'Alerts', 'signed in, on the page first asked for');
  t.equal(new URL(page.url()).pathname, '/alerts');
  const cookies = await page.context().cookies();
  t.equal(cookies.length, 1);
  t.match(cookies[0], { name: 'ferry_session', httpOnly: true, sameSite: 'Strict' });
  t.notOk(cookies[0]!.value.includes(token), 'the cookie is not the token');
  const overview = await page.goto(`${served.url}/`);
  t.equal(overview?.status(), 200, 'the next page needs no sign-in');
  t.equal(await page.evaluate(async () => (await fetch('/api/v1/health')).status), 200, "the pages' scripts reach the API with the session");
  t.notOk(served.stderr().includes(token), 'the token is not in the log');
  const origin = new URL(served.url as string).origin;
  t.same(requests.filter((url) => !url.startsWith(`${origin}/`)), [], `every request went to ${origin}`);
  t.same(errors.filter((error) => !/status of 401/.test(error)), [], 'no console error but the 401s of the login page itself');
  t.equal(await served.stop(), 0);
});
