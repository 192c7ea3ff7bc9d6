#!/usr/bin/env node
// Makes the dashboard screenshot of the README and docs/dashboard.md (docs/images/dashboard.png): a catalog filled by
// ferry's own commands and drivers (datastores, images made by the fs driver's mkfs) in a temp folder, a month of
// usage history as a growing datastore would leave it, a real `ferry serve`, and Debian's Chromium on the datastore's
// page at its 30-day range. Run after a build: node scripts/screenshot.mjs [--out FILE] [--range 30d]
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const out = option('--out', join(root, 'docs', 'images', 'dashboard.png'));
const range = option('--range', '30d');
const bin = join(root, 'dist', 'bin', 'ferry.js');
const { Catalog } = await import(join(root, 'dist', 'catalog', 'catalog.js'));

const dir = mkdtempSync(join(tmpdir(), 'ferry-screenshot-'));
let serve;
let browser;
try {
  // The bundled drivers, plus `lab`: the fs driver whose monitor reports the figures this month's history ends at.
  const remotes = join(dir, 'remotes');
  cpSync(join(root, 'remotes'), remotes, { recursive: true, verbatimSymlinks: true });
  cpSync(join(remotes, 'datastore', 'fs'), join(remotes, 'datastore', 'lab'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(remotes, 'datastore', 'lab', 'monitor'), '#!/bin/sh\n# A datastore of 2 TB with 1.6 TB used (the end of the history below).\nset -eu\nprintf "USED_MB=1638400\\nTOTAL_MB=2048000\\nFREE_MB=409600\\n"\n');
  chmodSync(join(remotes, 'datastore', 'lab', 'monitor'), 0o755);
  const env = { ...process.env, FERRY_HOME: join(dir, 'home'), NO_COLOR: '1' };
  const ferry = (...argv) => JSON.parse(execFileSync(process.execPath, [bin, '--remotes', remotes, '--json', ...argv], { env, encoding: 'utf8' }));
  const base = (name) => {
    mkdirSync(join(dir, 'ds', name), { recursive: true });
    return join(dir, 'ds', name);
  };
  const lab = ferry('datastore', 'create', 'lab-images', '--ds-mad', 'lab', '--tm-mad', 'shared', '--base-path', base('lab'), '--attr', 'MONITOR_INTERVAL=300').result ?? ferry('datastore', 'show', 'lab-images');
  ferry('datastore', 'create', 'system', '--type', 'system', '--tm-mad', 'shared', '--base-path', base('system'));
  for (const [name, size, format] of [
    ['debian-12', '64M', 'raw'],
    ['ubuntu-24.04', '96M', 'qcow2'],
    ['windows-2022', '128M', 'qcow2'],
    ['scratch', '32M', 'raw'],
  ]) ferry('image', 'create', '--datastore', 'lab-images', '--name', name, '--size', size, '--format', format, '--fs', 'raw');

  // A month of samples every 30 minutes, from 1.2 TB to 1.6 TB used, with a daily swing.
  const id = lab.id ?? lab.datastore?.id;
  const now = Date.now();
  const start = now - 30 * 86_400_000;
  const samples = [];
  for (let at = start; at <= now - 300_000; at += 1_800_000) {
    const used = Math.round(1_228_800 + ((at - start) / (now - start)) * 409_600 + 12_000 * Math.sin(((at % 86_400_000) / 86_400_000) * 2 * Math.PI));
    samples.push({ datastoreId: id, attribute: 'used_mb', at, value: used }, { datastoreId: id, attribute: 'total_mb', at, value: 2_048_000 }, { datastoreId: id, attribute: 'free_mb', at, value: 2_048_000 - used });
  }
  const catalog = Catalog.open(join(dir, 'home', 'catalog.db'));
  catalog.recordSamples(samples);
  catalog.close();

  serve = spawn(process.execPath, [bin, '--remotes', remotes, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    serve.stderr.setEncoding('utf8').on('data', (chunk) => {
      text += chunk;
      const found = /listening on (http:\/\/\S+)/.exec(text);
      if (found && /watching/.test(text)) resolve(found[1]);
    });
    serve.on('exit', (code) => reject(new Error(`ferry serve exited with ${code}: ${text}`)));
  });

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/datastores/${id}?range=${range}`);
  await page.waitForSelector('[data-points]:not([data-points="0"])', { timeout: 15_000 });
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  process.stderr.write(`wrote ${out}\n`);
} finally {
  await browser?.close();
  serve?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
