import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../src/cli/report.js';
import { showCommand } from '../../src/cli/search.js';
import { type ReportResult, loadReportData, writeReport } from '../../src/report/index.js';
import { lineage } from '../../src/report/charts.js';
import { epochPoints } from '../../src/report/data.js';
import { RunStore } from '../../src/store/index.js';
import { GENERATIONS, HOSTILE_GENOME, PER_GENERATION, writeSyntheticRun } from './synthetic-run.js';

const made: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-report-'));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Spearman's rho the long way: ranks by counting (ties averaged), then Pearson's formula. */
function referenceSpearman(xs: number[], ys: number[]): number {
  const rank = (values: number[]): number[] =>
    values.map((v) => {
      const below = values.filter((w) => w < v).length;
      const equal = values.filter((w) => w === v).length;
      return below + (equal + 1) / 2;
    });
  const rx = rank(xs);
  const ry = rank(ys);
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += ((rx[i] as number) - mx) * ((ry[i] as number) - my);
    sxx += ((rx[i] as number) - mx) ** 2;
    syy += ((ry[i] as number) - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** The ids, in order, of the rows of a `nascent show` table section. */
function idsIn(text: string, runId: string): string[] {
  return [...text.matchAll(new RegExp(`${runId}-c\\d+`, 'g'))].map((m) => m[0]);
}

function figureKinds(html: string): string[] {
  return [...html.matchAll(/<figure class="chart" data-figure="([a-z]+)"/g)].map(
    (m) => m[1] as string,
  );
}

describe('nascent report on a synthetic run', () => {
  let dir: string;
  let storePath: string;
  let runId: string;
  let result: ReportResult;
  let html: string;

  beforeAll(() => {
    dir = tempDir();
    ({ store: storePath, runId } = writeSyntheticRun(dir));
    const store = RunStore.open(storePath, { readonly: true });
    try {
      result = writeReport(store, 'synthetic', join(dir, 'report'));
    } finally {
      store.close();
    }
    html = readFileSync(result.html, 'utf8');
  });

  it('writes the page and every figure as an SVG file, each also inlined in the page', () => {
    expect(result.html).toBe(join(dir, 'report', 'report.html'));
    const names = result.figures.map((path) =>
      path.slice(join(dir, 'report', 'figures').length + 1),
    );
    expect(names.slice(0, 4)).toEqual([
      'pareto.svg',
      'fitness.svg',
      'lineage.svg',
      'proxy-synflow.svg',
    ]);
    expect(names.filter((n) => n.startsWith('architecture-'))).toHaveLength(3);
    expect(names.filter((n) => n.startsWith('curves-'))).toHaveLength(3);
    for (const path of result.figures) {
      expect(existsSync(path)).toBe(true);
      const svg = readFileSync(path, 'utf8').trim();
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
      expect(svg.endsWith('</svg>')).toBe(true);
      expect(html).toContain(svg);
    }
  });

  it('is self-contained: nothing to fetch, no scripts, unique element ids', () => {
    const withoutNamespaces = html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, '');
    expect(withoutNamespaces).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<(script|link|iframe|img)\b/i);
    // url(#id) references inside an SVG are local; anything else would be fetched
    expect(html).not.toMatch(/url\((?!#)|@import/i);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has every section and the expected figures', () => {
    for (const section of [
      'summary',
      'best',
      'pareto',
      'fitness',
      'lineage',
      'proxies',
      'architectures',
      'training',
      'problems',
    ]) {
      expect(html).toContain(`<section id="${section}">`);
    }
    const kinds = figureKinds(html);
    expect(kinds.filter((k) => k === 'pareto')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'fitness')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'lineage')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'proxy')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'architecture')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'curves')).toHaveLength(3);
    expect(html).toContain(
      `${GENERATIONS * PER_GENERATION} in ${GENERATIONS} generations: 16 ok, 1 killed, 1 failed, 0 not evaluated`,
    );
  });

  it('escapes the texts it takes from the store', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('NC 8 3 relu;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
    expect(html).toContain('shape &lt;mismatch&gt; &amp; &quot;quotes&quot;');
    expect(HOSTILE_GENOME).toContain('<script>');
  });

  it('ranks the best candidates and the Pareto front exactly as nascent show does', () => {
    const shown = showCommand({ run: runId, store: storePath, top: 10 });
    const [bestPart, frontPart] = shown.split('Pareto front');
    const table = (id: string): string => {
      const start = html.indexOf(`<table id="${id}">`);
      return html.slice(start, html.indexOf('</table>', start));
    };
    const short = (ids: string[]): string[] => ids.map((id) => id.slice(runId.length + 1));
    const rowIds = (id: string): string[] =>
      [...table(id).matchAll(/<tr><td class="num">\d+<\/td><td>([^<]+)<\/td>/g)].map(
        (m) => m[1] as string,
      );
    expect(rowIds('best-table')).toEqual(short(idsIn(bestPart as string, runId)));
    expect(rowIds('front-table')).toEqual(short(idsIn(frontPart as string, runId)));
  });

  it('puts on the front exactly the ok candidates no other one beats in accuracy and parameters', () => {
    const store = RunStore.open(storePath, { readonly: true });
    try {
      const data = loadReportData(store, runId);
      const ok = data.evaluated.filter((e) => e.status === 'ok');
      const point = (e: (typeof ok)[number]) => ({
        acc: e.metrics.accuracy as number,
        params: e.metrics.params as number,
      });
      const nonDominated = ok.filter((e) => {
        const p = point(e);
        return !ok.some((o) => {
          const q = point(o);
          return q.acc >= p.acc && q.params <= p.params && (q.acc > p.acc || q.params < p.params);
        });
      });
      expect(new Set(data.front.map((e) => e.candidate.id))).toEqual(
        new Set(nonDominated.map((e) => e.candidate.id)),
      );
      expect(data.front.length).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  });

  it('computes best and median per generation from the candidates of each generation', () => {
    const store = RunStore.open(storePath, { readonly: true });
    try {
      const data = loadReportData(store, runId);
      for (const row of data.generations) {
        const accuracies = data.evaluated
          .filter((e) => e.candidate.generation === row.generation && e.status === 'ok')
          .map((e) => e.metrics.accuracy as number)
          .sort((a, b) => a - b);
        const mid = accuracies.length / 2;
        const expectedMedian =
          accuracies.length % 2 === 1
            ? accuracies[Math.floor(mid)]
            : ((accuracies[mid - 1] as number) + (accuracies[mid] as number)) / 2;
        expect(row.median).toBeCloseTo(expectedMedian as number, 12);
        expect(row.best).toBe(Math.max(...accuracies));
      }
      expect(data.generations.map((g) => g.bestSoFar)).toEqual([0.95, 0.95, 0.95]);
    } finally {
      store.close();
    }
  });

  it("titles the proxy chart with Spearman's rho against validation accuracy", () => {
    const store = RunStore.open(storePath, { readonly: true });
    try {
      const ok = loadReportData(store, runId).evaluated.filter((e) => e.status === 'ok');
      const rho = referenceSpearman(
        ok.map((e) => e.metrics.synflow as number),
        ok.map((e) => e.metrics.accuracy as number),
      );
      expect(rho).toBeGreaterThan(0.3);
      const svg = readFileSync(join(dir, 'report', 'figures', 'proxy-synflow.svg'), 'utf8');
      expect(svg).toContain(`Spearman ρ = ${rho.toFixed(3)} (n = ${ok.length})`);
    } finally {
      store.close();
    }
  });

  it('draws the curves of a reused result from the training it reused', () => {
    const store = RunStore.open(storePath, { readonly: true });
    try {
      const data = loadReportData(store, runId);
      const reused = data.evaluated.find((e) => e.evaluation.reusedFrom !== null);
      expect(reused?.evaluation.epochs).toEqual([]);
      const original = store.findEvaluation(reused?.evaluation.reusedFrom as number);
      expect(reused?.epochs.map((p) => p.valAccuracy)).toEqual(
        (original?.epochs as { valAccuracy: number }[]).map((r) => r.valAccuracy),
      );
      // the two share the best accuracy, so both are drawn
      expect(data.ranked.slice(0, 2).map((e) => e.candidate.id)).toContain(reused?.candidate.id);
      expect(html).toContain(`id="fig-curves-${reused?.shortId}"`);
    } finally {
      store.close();
    }
  });

  it('draws the lineage of the best five with every ancestor, best ones marked', () => {
    const store = RunStore.open(storePath, { readonly: true });
    try {
      const data = loadReportData(store, runId);
      const graph = lineage(data, 5);
      const ids = new Set(graph.nodes.map((n) => n.id));
      const top = data.ranked.slice(0, 5).map((e) => e.candidate.id);
      expect(
        graph.nodes
          .filter((n) => n.top)
          .map((n) => n.id)
          .sort(),
      ).toEqual([...top].sort());
      const parentsOf = new Map(
        data.evaluated.map((e) => [e.candidate.id, e.candidate.parents] as const),
      );
      for (const node of graph.nodes) {
        for (const parent of parentsOf.get(node.id) ?? []) {
          expect(ids.has(parent)).toBe(true);
          expect(graph.edges).toContainEqual({ source: parent, target: node.id });
        }
      }
      expect(graph.omitted).toBe(0);
      // one row per generation present, oldest on top
      for (const node of graph.nodes) expect(node.y).toBe(node.generation);
    } finally {
      store.close();
    }
  });

  it('says so when the run recorded no proxy scores, instead of an empty chart', () => {
    const other = tempDir();
    const { store: path } = writeSyntheticRun(other, { proxy: false });
    const store = RunStore.open(path, { readonly: true });
    try {
      const written = writeReport(store, 'synthetic', join(other, 'report'));
      const page = readFileSync(written.html, 'utf8');
      expect(page).toContain('This run recorded no proxy scores.');
      expect(figureKinds(page)).not.toContain('proxy');
      expect(written.figures.some((f) => f.includes('proxy-'))).toBe(false);
    } finally {
      store.close();
    }
  });

  it('reads epoch records in the engine names and in snake_case, skipping malformed ones', () => {
    expect(
      epochPoints([
        { epoch: 1, trainLoss: 1.5, valAccuracy: 0.6, valLoss: null },
        { epoch: 2, loss: 1.2, val_accuracy: 0.7, val_loss: 0.9, train_accuracy: 0.72 },
        { loss: 3 },
        'nonsense',
      ]),
    ).toEqual([
      { epoch: 1, trainLoss: 1.5, trainAccuracy: undefined, valLoss: undefined, valAccuracy: 0.6 },
      { epoch: 2, trainLoss: 1.2, trainAccuracy: 0.72, valLoss: 0.9, valAccuracy: 0.7 },
    ]);
  });

  it('nascent report writes to runs/<run id>-report by default and says what it wrote', async () => {
    const cwd = process.cwd();
    const work = tempDir();
    process.chdir(work);
    try {
      const line = await reportCommand({ run: 'synthetic', store: storePath });
      const out = join('runs', `${runId}-report`);
      expect(line).toBe(
        `wrote ${join(out, 'report.html')} and ${result.figures.length} figures in ${join(out, 'figures')}`,
      );
      expect(existsSync(join(work, out, 'report.html'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a run that is not in the store, naming it', async () => {
    await expect(
      reportCommand({ run: 'no-such-run', store: storePath, out: tempDir() }),
    ).rejects.toThrow(/no-such-run/);
  });
});
