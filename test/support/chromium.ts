import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium: playwright-core drives it, and no browser is ever downloaded. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Screenshots are test output (kept, never committed from here), under the repository's .tmp/. */
export const SCREENSHOT_DIR = new URL('../../../.tmp/test-output/screenshots/', import.meta.url).pathname;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A fresh browser profile and page (own sessionStorage and cookies), accepting the wizard's
 * self-signed certificate. Everything the page logs as an error, every uncaught exception and
 * every failed request is kept in `problems`: a CSP violation or a broken module shows up there.
 */
export class BrowserPage {
  readonly problems: string[] = [];
  private constructor(readonly context: BrowserContext, readonly page: Page) {}

  static async open(browser: Browser, viewport = { width: 1100, height: 900 }): Promise<BrowserPage> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, deviceScaleFactor: 1, locale: 'en-GB' });
    const page = await context.newPage();
    const opened = new BrowserPage(context, page);
    page.on('console', (m) => {
      if (m.type() === 'error') opened.problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => opened.problems.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (r) => {
      // The SSE stream is cut when the page navigates or closes; that is not a failure of the page.
      if (!r.url().endsWith('/api/state/events')) opened.problems.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    return opened;
  }

  /** A full-page PNG in SCREENSHOT_DIR; returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
    return path;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}
