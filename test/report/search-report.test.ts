import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../src/cli/report.js';
import { loadReportData } from '../../src/report/index.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-report-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nascent report on a real (tiny) search', () => {
  it('reports what the search stored: curves from the engine, diagrams from the IR', async () => {
    const store = join(dir, 'runs.db');
    const config = loadSearchConfig(undefined, {
      store,
      dataDir: fakeFashionMnist(300, 60),
      subset: 200,
      strategy: 'ga',
      population: 4,
      epochs: 2,
      maxSteps: 2,
      threads: 1,
      generations: 2,
      protocol: 'standard',
      name: 'tiny',
    });
    const { runId } = await runSearch({ config });
    const out = join(dir, 'report');
    const line = await reportCommand({ run: 'tiny', store, out });
    expect(line).toMatch(/^wrote .*report\.html and \d+ figures in /);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const opened = RunStore.open(store, { readonly: true });
    try {
      const data = loadReportData(opened, runId);
      const stored = opened.candidates(runId);
      expect(data.evaluated).toHaveLength(stored.length);
      expect(data.generations.map((g) => g.generation)).toEqual([0, 1]);
      // the engine's epoch records come through with their losses and accuracies
      for (const item of data.ranked.slice(0, 3)) {
        if (item.status === 'failed') continue;
        expect(item.epochs.length).toBe(2);
        for (const point of item.epochs) {
          expect(point.trainLoss).toBeGreaterThan(0);
          expect(point.valAccuracy).toBeGreaterThanOrEqual(0);
          expect(point.valLoss).toBeGreaterThan(0);
        }
        expect(item.architecture).toBeDefined();
        expect(existsSync(join(out, 'figures', `architecture-${item.shortId}.svg`))).toBe(true);
        expect(existsSync(join(out, 'figures', `curves-${item.shortId}.svg`))).toBe(true);
      }
      // children of the second generation hang under their parents in the lineage
      const children = data.evaluated.filter((e) => e.candidate.generation === 1);
      expect(children.some((c) => c.candidate.parents.length > 0)).toBe(true);
      expect(data.proxyMetrics).toEqual([]);
    } finally {
      opened.close();
    }
    expect(html).toContain('This run recorded no proxy scores.');
    for (const figure of ['pareto', 'fitness', 'lineage']) {
      const svg = readFileSync(join(out, 'figures', `${figure}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(html).toContain(svg.trim());
    }
  });
});
