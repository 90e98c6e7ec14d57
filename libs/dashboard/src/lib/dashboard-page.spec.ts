// The dashboard page in a real browser (Debian's chromium, headless): it
// shows a served snapshot, follows updates without a reload, comes back after
// the server restarts, and can be photographed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createLogger } from '@bulwark/logging';
import {
  launchChromium,
  ManualDashboardSource,
  sampleDashboardSnapshot,
  waitForDashboard,
  writeDashboardScreenshot,
} from '../testing';
import type { DashboardSnapshot } from './dashboard-snapshot';
import { startDashboardServer, type DashboardServer } from './dashboard-server';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The sample one step later: r4 is back UP, r6 is DOWN, c3 leads. */
function nextSnapshot(snapshot: DashboardSnapshot): DashboardSnapshot {
  const states: Record<string, DashboardSnapshot['members'][number]['state']> = { r4: 'UP', r6: 'DOWN' };
  return {
    ...snapshot,
    atUnixMs: snapshot.atUnixMs + 2_000,
    leaderId: 'c3',
    members: snapshot.members.map((member) => ({ ...member, state: states[member.id] ?? member.state })),
  };
}

/** Uncaught errors and console errors (Content-Security-Policy violations and failed loads among them). */
function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

describe('dashboard page', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-dashboard-'));
  const source = new ManualDashboardSource(sampleDashboardSnapshot());
  let browser: Browser;
  let server: DashboardServer;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startDashboardServer({ host: '127.0.0.1', port: 0, source, logger });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows the leader, the groups with their primaries, member states and three charts', async () => {
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    pageErrors = collectPageErrors(page);
    await page.goto(server.url);

    await page.locator('[data-testid="connection"][data-connection="live"]').waitFor();
    expect(await page.getByTestId('leader').textContent()).toBe('c2');
    expect(await page.getByTestId('monitor-id').textContent()).toBe('monitor-1');
    expect(await page.locator('[data-group="group-a"]').getAttribute('data-primary')).toBe('r1');
    expect(await page.locator('[data-group="group-b"]').getAttribute('data-primary')).toBe('r5');
    expect(await page.locator('[data-member="r4"]').getAttribute('data-state')).toBe('DOWN');
    expect(await page.locator('[data-member="r6"]').getAttribute('data-state')).toBe('SUSPECT');
    expect(await page.locator('[data-member]').count()).toBe(12);
    // DOWN is red. (Page code is given as text: the specs compile without DOM types.)
    expect(
      await page.evaluate(`getComputedStyle(document.querySelector('[data-member="r4"] .badge')).backgroundColor`),
    ).toBe('rgb(185, 28, 28)');
    for (const chart of ['throughput', 'latency', 'lag']) {
      const canvas = page.locator(`[data-chart="${chart}"] canvas`);
      await canvas.waitFor();
      const box = await canvas.boundingBox();
      expect(box?.width).toBeGreaterThan(200);
      expect(box?.height).toBeGreaterThan(100);
    }
    expect(await page.locator('[data-chart="throughput"] .u-legend').textContent()).toContain('lock');
    expect(await page.locator('[data-failover]').count()).toBe(2);
    expect(await page.locator('[data-canary="kv-group-b"]').getAttribute('data-ok')).toBe('false');
    expect(pageErrors).toEqual([]);
  });

  it('follows an update without reloading', async () => {
    // A full reload would lose this.
    await page.evaluate('window.notReloaded = true');
    const next = nextSnapshot(source.snapshot());

    source.publish(next);

    await page.locator(`body[data-snapshot-at="${next.atUnixMs}"]`).waitFor();
    await page.locator('[data-member="r4"][data-state="UP"]').waitFor();
    await page.locator('[data-member="r6"][data-state="DOWN"]').waitFor();
    expect(await page.getByTestId('leader').textContent()).toBe('c3');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('reconnects when the server comes back', async () => {
    const { port } = server;
    await server.close();
    await page.locator('[data-testid="connection"][data-connection="reconnecting"]').waitFor();

    const restarted = nextSnapshot(source.snapshot());
    source.publish(restarted);
    server = await startDashboardServer({ host: '127.0.0.1', port, source, logger });

    await page.locator(`body[data-snapshot-at="${restarted.atUnixMs}"]`).waitFor();
    await page.locator('[data-testid="connection"][data-connection="live"]').waitFor();
  });

  it('shows a monitor that has seen nothing yet', async () => {
    const empty: DashboardSnapshot = {
      ...sampleDashboardSnapshot(),
      leaderId: null,
      members: [],
      groups: [],
      availability: [],
      canaries: [],
      failovers: [],
      series: [],
    };
    const emptyServer = await startDashboardServer({
      host: '127.0.0.1',
      port: 0,
      source: new ManualDashboardSource(empty),
      logger,
    });
    const emptyPage = await browser.newPage();
    const errors = collectPageErrors(emptyPage);
    try {
      await emptyPage.goto(emptyServer.url);
      await waitForDashboard(emptyPage);
      expect(await emptyPage.getByTestId('leader').textContent()).toBe('none known');
      expect(await emptyPage.locator('[data-member]').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await emptyPage.close();
      await emptyServer.close();
    }
  });

  it('writes a screenshot of the whole page', async () => {
    const path = join(scratch, 'nested', 'dashboard.png');

    await writeDashboardScreenshot(browser, server.url, path);

    const png = readFileSync(path);
    expect(png.subarray(0, 8)).toEqual(pngSignature);
    // Width and height, big-endian, in the IHDR chunk: the 1440 px wide viewport, the whole page tall.
    expect(png.readUInt32BE(16)).toBe(1440);
    expect(png.readUInt32BE(20)).toBeGreaterThan(900);
  });
});
