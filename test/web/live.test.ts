/**
 * A step in flight, live on the VM's page: a real `ferry serve`, real Chromium on /vms/<id>, and the ferry CLI
 * as a separate process running the VM's operation with a TM whose clone copies slowly (tm/slowcp: tm/shared
 * with a clone that writes the destination in chunks, under the contract's temporary name, while a marker says
 * so). The page shows the operation, its step, the lock and the bytes copied growing, then the end state, all
 * without reloading; no console error, and every request to the service.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { binPath } from '../cli/helpers.js';
import { launchBrowser, screenshot, watchedPage } from '../helpers/browser.js';
import { stage, vmYaml, type World } from '../helpers/catalog-world.js';
import { serveWorld, startServe } from '../helpers/serve.js';

const CHUNKS = 12;

/** tm/slowcp: tm/shared, whose clone fails while markers/fail-clone exists and copies in CHUNKS chunks 0.4 s apart while markers/slow-clone does. */
function slowCopyTm(w: World): void {
  const tm = join(w.remotes, 'tm', 'slowcp');
  cpSync(join(w.remotes, 'tm', 'shared'), tm, { recursive: true, verbatimSymlinks: true });
  writeFileSync(
    join(tm, 'clone'),
    `#!/bin/sh
# tm/shared's clone; failing, or copying slowly in chunks under DIR/.NAME.ferry-tmp.PID, while a marker says so.
set -eu
if [ -e '${w.markers}/fail-clone' ]; then echo "ERROR: injected failure in clone" >&2; exit 1; fi
[ -e '${w.markers}/slow-clone' ] || exec '${join(w.remotes, 'tm', 'shared', 'clone')}' "$@"
src=\${1#*:}
dst=\${2#*:}
mkdir -p "$(dirname "$dst")"
tmp="$(dirname "$dst")/.$(basename "$dst").ferry-tmp.$$"
size=$(stat -c %s "$src")
chunk=$(( (size + ${CHUNKS - 1}) / ${CHUNKS} ))
: > "$tmp"
i=0
while [ "$i" -lt ${CHUNKS} ]; do
  dd if="$src" of="$tmp" bs="$chunk" skip="$i" seek="$i" count=1 conv=notrunc status=none
  i=$((i + 1))
  sleep 0.4
done
mv "$tmp" "$dst"
`,
  );
  chmodSync(join(tm, 'clone'), 0o755);
}

t.test('a VM operation run from the CLI shows live on its page: operation, step, lock, bytes copied, end state', async (t) => {
  t.setTimeout(90_000);
  const w = serveWorld(t);
  slowCopyTm(w);
  await stage(t, w, 'slowcp');
  // A create whose clone fails leaves the VM FAILED at step 1: its page exists before the operation runs again.
  writeFileSync(join(w.markers, 'fail-clone'), '');
  const failed = await w.cli(['vm', 'create', vmYaml(w)]);
  t.not(failed.status, 0, 'the create failed');
  const catalog = w.catalog();
  const vm = catalog.vm('vm01');
  t.equal(vm.state, 'FAILED');
  rmSync(join(w.markers, 'fail-clone'));

  const served = await startServe(t, w);
  const origin = served.url as string;
  const browser = await launchBrowser(t);
  const { page, errors, requests } = await watchedPage(browser);
  t.equal((await page.goto(`${origin}/vms/${vm.id}`))?.status(), 200);
  const text = (name: string) => page.locator(`section.live [data-live="${name}"]`).textContent();
  t.equal(await text('state'), 'FAILED', 'rendered: the failed state');
  t.equal(await text('operation'), 'create');
  await page.waitForFunction(() => document.querySelector('[data-live="conn"]')?.textContent === 'live', undefined, { timeout: 10_000 });
  t.pass('the stream is open');
  t.ok(await page.locator('section.live ol.live-journal li.bad').count() >= 1, "the failed clone in the journal list");
  // Set before the operation: still there at the end only if the page never reloaded.
  await page.evaluate(() => ((window as unknown as { __sameDocument: number }).__sameDocument = 42));

  writeFileSync(join(w.markers, 'slow-clone'), '');
  const cli = spawn(process.execPath, [binPath, '--config', join(w.root, 'ferry.yaml'), '--remotes', w.remotes, 'vm', 'recover', String(vm.id), '--retry'], {
    cwd: w.root,
    env: { ...process.env, FERRY_HOME: w.home, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  cli.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  t.teardown(() => void (cli.exitCode === null && cli.signalCode === null && cli.kill('SIGKILL')));

  await page.waitForFunction(() => document.querySelector('[data-live="step-status"]')?.textContent === 'running', undefined, { timeout: 15_000 });
  t.equal(await text('operation'), 'create', 'the operation under way');
  t.equal(await text('state'), 'PENDING', 'while its create is retried the VM is no longer FAILED: its state before the create');
  t.equal(await text('step'), '1/2', 'its step, of the plan');
  t.equal(await text('action'), 'clone');
  t.equal(await text('driver'), '(tm slowcp)');
  t.match(await text('why'), /disk 0: clone image/);
  t.match(await text('lock'), new RegExp(`held by ferry process ${cli.pid} on \\S+ \\(create-recover\\)`), 'the lock and its holder');

  const copied = () => page.evaluate(() => {
    const bar = document.querySelector<HTMLProgressElement>('progress[data-live="copy-bar"]');
    return bar && !bar.closest('[hidden]') ? { value: bar.value, max: bar.max } : null;
  });
  await page.waitForFunction(() => Number(document.querySelector<HTMLProgressElement>('progress[data-live="copy-bar"]')?.value) > 0, undefined, { timeout: 10_000 });
  const first = await copied();
  await screenshot(page, 'live-copy');
  await page.waitForFunction((before) => Number(document.querySelector<HTMLProgressElement>('progress[data-live="copy-bar"]')?.value) > before, first?.value ?? 0, { timeout: 10_000 });
  const second = await copied();
  t.ok(first && second && second.value > first.value, `bytes copied grew: ${first?.value} then ${second?.value}`);
  t.ok(second && second.value < second.max, 'not finished yet');
  t.match(await text('copy-text'), / of .* \(\d+ %\)$/, 'bytes of the source size, as a percentage');

  const status = await exited;
  t.equal(status, 0, 'the CLI finished');
  if (status !== 0) t.comment(output);
  await page.waitForFunction(() => document.querySelector('[data-live="state"]')?.textContent === 'RUNNING', undefined, { timeout: 10_000 });
  t.pass('the end state, live');
  t.equal(await text('operation'), 'none');
  t.match(await text('finished'), /^create finished at /);
  t.ok(await page.locator('section.live [data-row="step"]').isHidden(), 'no step any more');
  t.ok(await page.locator('section.live [data-row="copy"]').isHidden(), 'no copy any more');
  t.ok(await page.locator('section.live [data-row="lock"]').isHidden(), 'no lock any more');
  const journal = await page.locator('section.live ol.live-journal li').allTextContents();
  t.match(journal[0], /ln \(slowcp\) create step 2: done/, 'the newest entry on top');
  t.match(journal[1], /clone \(slowcp\) create step 1: done/);
  t.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: number }).__sameDocument), 42, 'the same document throughout: no reload');
  await screenshot(page, 'live-done');

  t.same(errors, [], 'no console error');
  t.same(requests.filter((url) => !url.startsWith(`${origin}/`)), [], `every request went to ${origin}`);
  t.ok(requests.includes(`${origin}/assets/live.js`) && requests.includes(`${origin}/events/vms/${vm.id}`), 'the script and its stream');
  await page.close();
  t.equal(await served.stop(), 0);
});

t.test('without JavaScript the live block shows the state as rendered', async (t) => {
  const w = serveWorld(t);
  await stage(t, w, 'shared');
  const vm = await w.json(['vm', 'create', vmYaml(w)]);
  const served = await startServe(t, w);
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  t.equal((await page.goto(`${served.url}/vms/${vm.id}`))?.status(), 200);
  t.equal(await page.locator('section.live [data-live="state"]').textContent(), 'RUNNING');
  t.equal(await page.locator('section.live [data-live="operation"]').textContent(), 'none');
  t.ok(await page.locator('section.live [data-row="step"]').isHidden(), 'no step: nothing under way');
  t.ok(await page.locator('section.live [data-live="conn"]').isHidden(), 'no claim of being live');
  t.equal(await page.locator('section.live script[src="/assets/live.js"][defer]').count(), 1);
  await context.close();
  t.equal(await served.stop(), 0);
});
