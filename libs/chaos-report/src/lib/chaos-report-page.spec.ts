// The report in a real browser (Debian's chromium, headless), opened from a
// file with every request that is not for that file refused and recorded:
// it draws both charts with the fault windows shaded, shows the figures and
// the planted anomaly, and fetches nothing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { checkChaosHistory } from '@bulwark/chaos-history';
import { acquire, ChaosHistoryBuilder, get, getOk, granted, put, putOk, replica } from '@bulwark/chaos-history/testing';
import { renderChaosReport } from './render-chaos-report';
import { reportFigures } from './report-figures';

/** Where Debian's chromium package installs the browser (as libs/dashboard's browser tests use it). */
const chromiumExecutablePath = '/usr/bin/chromium';
/** Long enough for a loaded 2-core CI machine; waits end as soon as the page is ready. */
const pageTimeoutMs = 30_000;

async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumExecutablePath)) {
    throw new Error(`${chromiumExecutablePath} not found: the browser tests need Debian's chromium package`);
  }
  // No sandbox: it refuses to start as root, as CI and containers run the
  // tests. A small /dev/shm in containers is too small for the renderers.
  return chromium.launch({
    executablePath: chromiumExecutablePath,
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-dev-shm-usage'],
  });
}

/** A second of traffic, a kill of the primary with a failover, a pause, and a double grant with a hostile description. */
function plantedRun() {
  const history = new ChaosHistoryBuilder();
  for (let ms = 0; ms < 6_000; ms += 100) {
    history.ok('c1', get('k'), [ms, ms + 8], getOk(null));
  }
  history.fault('kill', [replica('replica-a1', 'group-a', true)], [1_000, 3_000]);
  history.fail('c2', put('k2', 'a'), [1_100, 1_200]);
  history.unknown('c3', put('k3', 'b'), [1_150, 2_000]);
  history.ok('c2', put('k4', 'c'), [1_500, 2_400], putOk());
  history.fault('pause', [replica('replica-b2', 'group-b')], [4_000, 4_500]);
  history.ok('c4', acquire('L', 'o1'), [5_000, 5_005], granted(1n, 5_990));
  history.ok('c5', acquire('L', 'o2'), [5_010, 5_500], granted(2n, 6_500));
  const { records } = history;
  const figures = reportFigures(
    records,
    checkChaosHistory(records, { asyncLossWindow: { beforeFaultMs: 0, afterFaultMs: 0 } }),
  );
  const description = '</script><script>document.body.dataset.injected = "yes"</script>';
  return { ...figures, anomalies: figures.anomalies.map((anomaly) => ({ ...anomaly, description })) };
}

describe('chaos report page', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-chaos-report-'));
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('draws the charts with fault windows shaded, the figures and the anomaly, fetching nothing', async () => {
    const figures = plantedRun();
    const file = join(scratch, 'report.html');
    writeFileSync(file, renderChaosReport(figures, { title: 'Chaos run 7', seed: 7, command: 'npm run chaos' }));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(pageTimeoutMs);
    const fetched: string[] = [];
    await page.route('**', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      fetched.push(url);
      return route.abort();
    });
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) fetched.push(request.url());
    });
    // Uncaught errors and console errors, Content-Security-Policy violations among them.
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });

    await page.goto(pathToFileURL(file).href);
    await page.locator('body[data-rendered="true"]').waitFor();

    expect(await page.locator('canvas').count()).toBe(2);
    for (const chart of ['operations', 'latency']) {
      const container = page.locator(`[data-chart="${chart}"]`);
      const box = await container.locator('canvas').boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(box?.height).toBeGreaterThan(100);
      expect(await container.getAttribute('data-shaded-faults')).toBe('1 2');
    }
    expect(await page.locator('[data-fault-kind]').allTextContents()).toEqual(['kill', 'pause']);
    expect(await page.getByTestId('success-in-faults').textContent()).toContain('93.33 %');
    expect(await page.getByTestId('success-outside-faults').textContent()).toContain('100.00 %');
    expect(await page.locator('[data-fault="1"]').textContent()).toContain('1.40 s'); // its failover time
    const verdict = page.getByTestId('verdict');
    expect(await verdict.getAttribute('data-anomalies')).toBe('1');
    expect(await verdict.textContent()).toBe('1 anomaly found');
    const anomaly = page.locator('[data-anomaly="lockMutualExclusion"]');
    expect(await anomaly.count()).toBe(1);
    expect(await anomaly.locator('summary').textContent()).toContain(figures.anomalies[0]?.description);
    expect(await anomaly.locator('pre').textContent()).toBe(figures.anomalies[0]?.recordLines.join('\n'));
    expect(await page.evaluate('document.body.dataset.injected ?? null')).toBeNull();
    expect(fetched).toEqual([]);
    expect(errors).toEqual([]);
  });
});
