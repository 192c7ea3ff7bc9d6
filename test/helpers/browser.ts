/**
 * A real browser for the dashboard tests: Debian's Chromium (scripts/setup.sh installs it) driven by
 * playwright-core (Playwright's own browser download is not available here), started with the flags that
 * keep it off the network, a fresh profile each time. Collects console errors, page errors and every request.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { repoRoot } from '../cli/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Where screenshots go: test artefacts, not committed. */
export const ARTEFACTS = join(repoRoot, '.artefacts');

export interface Watched {
  page: Page;
  errors: string[];
  requests: string[];
}

export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; scripts/setup.sh does it)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A new page recording console errors, uncaught errors and the URL of every request it makes. */
export async function watchedPage(browser: Browser): Promise<Watched> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  return { page, errors, requests };
}

/** Saves a full-page screenshot as a test artefact; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const path = join(ARTEFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
