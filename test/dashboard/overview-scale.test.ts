import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOverview } from '../../src/dashboard/api-types.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/index.js';
import { type SyntheticRun, buildWeb, writeSyntheticRun } from './fixtures.js';

const CANDIDATES = 20_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('dashboard with 20,000 candidates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-dashboard-scale-'));
  const artifacts = process.env.NASCENT_TEST_ARTIFACTS ?? join(dir, 'artifacts');
  let run: SyntheticRun;
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    const webRoot = buildWeb();
    run = writeSyntheticRun(join(dir, 'runs.db'), {
      count: CANDIDATES,
      generations: 40,
      name: 'scale',
    });
    dashboard = await startDashboard({ storePath: join(dir, 'runs.db'), port: 0, webRoot });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('renders the overview in under 2 seconds, with every candidate accounted for', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    // As a person would: open the dashboard (the runs list), then the run in a new page load.
    await page.goto(dashboard.url);
    await page.waitForFunction(() => document.body.dataset.ready === 'runs');
    expect(await page.locator('[data-testid="runs-table"] tbody tr').count()).toBe(1);
    // Three loads of the overview, each timed from navigation start to the moment the page has
    // drawn its three charts and the first page of the table; the median must be under 2 s
    // (the median, so that one load slowed by another process on a busy machine does not decide).
    const loads: number[] = [];
    for (let load = 0; load < 3; load += 1) {
      await page.goto('about:blank');
      await page.goto(`${dashboard.url}#/runs/scale`);
      await page.waitForFunction(() => document.body.dataset.ready === 'overview', undefined, {
        timeout: 30_000,
      });
      loads.push(
        await page.evaluate(
          () =>
            (window as unknown as { nascentReadyAt: Record<string, number> }).nascentReadyAt
              .overview,
        ),
      );
    }
    const median = [...loads].sort((a, b) => a - b)[1] as number;
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'overview-20000.json'), JSON.stringify({ loads, median }));
    expect(median).toBeGreaterThan(0);
    expect(median).toBeLessThan(2000);

    await expect
      .poll(() => page.textContent('[data-testid="evaluated-count"]'))
      .toBe(`${CANDIDATES} / ${CANDIDATES}`);
    const rows = page.locator('[data-testid="candidates-table"] tbody tr');
    expect(await rows.count()).toBe(50);
    // newest first: the last candidate written heads the table
    expect(await rows.first().getAttribute('data-candidate')).toBe(`${run.runId}-c${CANDIDATES}`);
    const problemCounts = await page
      .locator('[data-testid="problems-table"] tbody tr td.num')
      .allTextContents();
    expect(problemCounts.map(Number).sort((a, b) => b - a)).toEqual(
      [run.killed, run.failed].sort((a, b) => b - a),
    );
    // each chart drew on its canvas
    for (const chart of ['pareto-chart', 'generations-chart', 'timeline-chart']) {
      const drawn = await page.evaluate((id) => {
        const canvas = document.querySelector(`[data-testid="${id}"] canvas`);
        return canvas instanceof HTMLCanvasElement ? canvas.toDataURL().length : 0;
      }, chart);
      expect(drawn, chart).toBeGreaterThan(5000);
    }

    // the server's aggregate agrees with what was written
    const overview = (await page.evaluate(async () =>
      (await fetch('/api/runs/scale/overview?x=params')).json(),
    )) as RunOverview;
    expect(overview.pareto.total).toBe(run.ok);
    expect(overview.pareto.binned).toBe(true);
    expect(overview.pareto.cloud.count.reduce((a, b) => a + b, 0)).toBe(run.ok);
    expect(Math.max(...overview.pareto.front.y)).toBeCloseTo(run.bestAccuracy, 12);
    expect(overview.run.best.accuracy).toBeCloseTo(run.bestAccuracy, 12);
    expect(overview.generations).toHaveLength(40);

    // sorting by accuracy pages in the server: the best candidate comes first
    await page.click('[data-testid="candidates-table"] th button:has-text("val accuracy")');
    await expect
      .poll(() => rows.first().locator('td').nth(3).textContent())
      .toBe(`${(run.bestAccuracy * 100).toFixed(2)}%`);

    const shot = join(artifacts, 'overview-20000.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBeGreaterThan(20_000);
    await page.close();
  });
});
