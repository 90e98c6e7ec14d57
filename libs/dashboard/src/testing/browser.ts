// A real browser for tests of the dashboard page: Debian's chromium, driven
// headless by playwright-core (which ships no browser of its own).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian's chromium package installs the browser. */
export const chromiumExecutablePath = '/usr/bin/chromium';

/** Long enough for a loaded 2-core CI machine; waits end as soon as the page is ready. */
const pageTimeoutMs = 30_000;

/** Launches headless chromium; close it with browser.close(). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumExecutablePath)) {
    throw new Error(
      `${chromiumExecutablePath} not found: the browser tests need Debian's chromium package (apt-get install chromium)`,
    );
  }
  return chromium.launch({
    executablePath: chromiumExecutablePath,
    headless: true,
    // Chromium's sandbox refuses to start as root, as CI and containers run
    // the tests; the pages opened are our own.
    chromiumSandbox: false,
    // Containers often have a 64 MB /dev/shm, too small for Chromium's renderers.
    args: ['--disable-dev-shm-usage'],
  });
}

/** Waits until the page shows a snapshot with its three charts drawn. */
export async function waitForDashboard(page: Page): Promise<void> {
  await page.locator('[data-testid="connection"][data-connection="live"]').waitFor({ timeout: pageTimeoutMs });
  for (const chart of ['throughput', 'latency', 'lag']) {
    await page.locator(`[data-chart="${chart}"] canvas`).waitFor({ timeout: pageTimeoutMs });
  }
}

/** Opens the dashboard at url in a new page of browser, waiting until it shows a snapshot. */
export async function openDashboard(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(pageTimeoutMs);
  await page.goto(url);
  await waitForDashboard(page);
  return page;
}

/** Writes a full-page PNG of the dashboard at url to path (its folder is made if missing). */
export async function writeDashboardScreenshot(browser: Browser, url: string, path: string): Promise<void> {
  const page = await openDashboard(browser, url);
  try {
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path, fullPage: true });
  } finally {
    await page.close();
  }
}
