import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../src/dashboard/index.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';
import { buildWeb } from './fixtures.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function expectPng(path: string): void {
  const png = readFileSync(path);
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.length).toBeGreaterThan(10_000);
}

describe('live dashboard during a search', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-dashboard-live-'));
  const artifacts = process.env.NASCENT_TEST_ARTIFACTS ?? join(dir, 'artifacts');
  const store = join(dir, 'runs.db');
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    const webRoot = buildWeb();
    dashboard = await startDashboard({
      storePath: store,
      port: 0,
      webRoot,
      createStore: true,
      pollIntervalMs: 200,
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('shows candidates as the search records them, then a candidate page', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Opened before the run exists: the page must fill in from the live feed alone.
    await page.goto(`${dashboard.url}#/runs/live`);
    await page.waitForSelector('text=no run "live"');
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));

    const search = runSearch({
      config: loadSearchConfig(undefined, {
        store,
        dataDir: fakeFashionMnist(600, 100),
        subset: 400,
        strategy: 'ga',
        population: 3,
        epochs: 2,
        generations: 2,
        protocol: 'standard',
        name: 'live',
      }),
    });

    const rows = page.locator('[data-testid="candidates-table"] tbody tr');
    // the first candidates appear (pending, then evaluated) ...
    await rows.first().waitFor({ timeout: 45_000 });
    await page.locator('[data-testid="candidates-table"] tr[data-status="ok"]').first().waitFor({
      timeout: 45_000,
    });
    const { runId } = await search;
    // ... and so does everything else, up to the finished run
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(5);
    await expect
      .poll(() => page.locator('h1 .badge').textContent(), { timeout: 15_000 })
      .toBe('finished');
    // all of it without a reload
    expect(
      await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce),
    ).toBe(true);
    // the charts catch up too (they reload at most every 1.5 s while the run changes)
    await page.waitForSelector('text=5 ok candidates', { timeout: 10_000 });
    await page.waitForFunction(() => document.body.dataset.ready === 'overview');
    await page.screenshot({ path: join(artifacts, 'live-run.png'), fullPage: true });
    expectPng(join(artifacts, 'live-run.png'));

    // the table agrees with the store
    const stored = RunStore.open(store, { readonly: true });
    const evaluations = stored.evaluations(runId);
    stored.close();
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-candidate'), tr.getAttribute('data-status')] as const),
    );
    expect(new Map(shown)).toEqual(
      new Map(evaluations.map((e) => [e.candidateId, e.status] as [string, string])),
    );

    // open a trained candidate
    const trained = evaluations.find((e) => e.status === 'ok' && e.reusedFrom === null);
    expect(trained).toBeDefined();
    const id = trained?.candidateId as string;
    await page.click(`[data-testid="candidates-table"] tr[data-candidate="${id}"] a`);
    await page.waitForFunction(() => document.body.dataset.ready === 'candidate');
    expect(await page.textContent('[data-testid="genome"]')).toBe(trained?.genome);
    const architecture = (await (
      await fetch(`${dashboard.url}api/candidates/${id}/export/ir`)
    ).json()) as { nodes: unknown[] };
    expect(await page.locator('[data-testid="architecture-diagram"] g[data-node]').count()).toBe(
      architecture.nodes.length,
    );
    expect(await page.locator('[data-testid="layer-table"] tbody tr').count()).toBe(
      architecture.nodes.length,
    );
    const curve = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="training-curves"] canvas');
      return canvas instanceof HTMLCanvasElement ? canvas.toDataURL().length : 0;
    });
    expect(curve).toBeGreaterThan(5000);
    expect(await page.locator('[data-testid="exports"] a').allTextContents()).toEqual([
      'Genome (text)',
      'Architecture (IR JSON)',
    ]);
    await page.screenshot({ path: join(artifacts, 'live-candidate.png'), fullPage: true });
    expectPng(join(artifacts, 'live-candidate.png'));
    expect(
      await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce),
    ).toBe(true);
    await page.close();
  });
});
