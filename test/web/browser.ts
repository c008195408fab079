/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core: no browser download.
 * When Chromium is missing, the browser suites are skipped with a message that says how to install it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../support/server.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** false when the browser is there; otherwise the reason node:test prints for the skipped suite. */
export const browserSkip: false | string = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;

export const ARTIFACTS = path.join(ROOT, '.test-artifacts', 'web');
export const README_SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // as root, in a closed network: no sandbox, and none of Chromium's own background connections
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface Watched {
  page: Page;
  /** dialogs (alert/confirm/prompt) the page opened: each one is script that ran */
  dialogs: string[];
  /** console errors and uncaught page errors */
  errors: string[];
}

/** A page whose dialogs and errors are recorded (dialogs are dismissed so nothing blocks). */
export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const w: Watched = { page, dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => undefined);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(String(e)));
  return w;
}

/** Saves a screenshot as a test artifact (`.test-artifacts/web/NAME.png`, gitignored) and returns its path. */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
  return file;
}

/**
 * The README's screenshots (docs/screenshots/NAME.png): written when missing, or on every run with
 * PROVENA_UPDATE_SCREENSHOTS=1, so that an ordinary test run leaves the working tree clean.
 */
export async function readmeScreenshot(page: Page, name: string): Promise<void> {
  const file = path.join(README_SCREENSHOTS, `${name}.png`);
  if (existsSync(file) && process.env.PROVENA_UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(README_SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: file, fullPage: false });
}

/** The page's document is no wider than its viewport (nothing to scroll sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;
}
