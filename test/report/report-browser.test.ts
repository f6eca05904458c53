import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReportResult, writeReport } from '../../src/report/index.js';
import { RunStore } from '../../src/store/index.js';
import { writeSyntheticRun } from './synthetic-run.js';

const CHROMIUM = '/usr/bin/chromium';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('the report in headless Chromium', () => {
  let dir: string;
  let result: ReportResult;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run this test`,
      );
    }
    dir = mkdtempSync(join(tmpdir(), 'nascent-report-browser-'));
    const { store: path } = writeSyntheticRun(dir);
    const store = RunStore.open(path, { readonly: true });
    try {
      result = writeReport(store, 'synthetic', join(dir, 'report'));
    } finally {
      store.close();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders every chart with a size, fetches nothing, and screenshots to a PNG', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(result.html).href, { waitUntil: 'load' });

    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          kind: figure.getAttribute('data-figure'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          shapes: svg ? svg.querySelectorAll('path, rect, circle, polygon, text').length : 0,
        };
      }),
    );
    // every file written is one chart on the page
    expect(charts).toHaveLength(result.figures.length);
    expect(charts.map((c) => c.kind)).toEqual([
      'pareto',
      'fitness',
      'lineage',
      'proxy',
      'architecture',
      'architecture',
      'architecture',
      'curves',
      'curves',
      'curves',
    ]);
    for (const chart of charts) {
      expect(chart.width).toBeGreaterThan(100);
      expect(chart.height).toBeGreaterThan(100);
      expect(chart.shapes).toBeGreaterThan(10);
    }
    // the charts carry their data: a marker per finished candidate on the Pareto chart, one
    // node per candidate on the lineage, and the titles as text
    const texts = await page.$$eval('figure.chart svg text', (nodes) =>
      nodes.map((node) => node.textContent ?? ''),
    );
    expect(texts).toContain('Validation accuracy vs parameters, all generations');
    expect(texts.some((t) => t.startsWith('Spearman ρ = '))).toBe(true);
    expect(requested.every((url) => url.startsWith('file://'))).toBe(true);
    expect(errors).toEqual([]);

    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // IHDR: the full page is as wide as the viewport and much taller than it
    expect(png.readUInt32BE(16)).toBe(1280);
    expect(png.readUInt32BE(20)).toBeGreaterThan(3000);
    await page.close();
  });

  it('opens every figure file on its own as a well-formed SVG document', async () => {
    const page = await browser.newPage();
    for (const file of result.figures) {
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const root = await page.$eval(':root', (element) => ({
        name: element.localName,
        namespace: element.namespaceURI,
        parseErrors: element.getElementsByTagName('parsererror').length,
      }));
      expect(root, file).toEqual({
        name: 'svg',
        namespace: 'http://www.w3.org/2000/svg',
        parseErrors: 0,
      });
    }
    await page.close();
  });
});
