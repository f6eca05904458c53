/**
 * `nascent report`: one self-contained HTML page about a run, with its figures also written as
 * SVG files beside it.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReader } from '../store/read-model.js';
import { architectureSvg } from './architecture-diagram.js';
import {
  curvesChart,
  fitnessChart,
  lineage,
  lineageChart,
  lineageHeight,
  paretoChart,
  proxyChart,
  proxyCorrelation,
  proxyPoints,
  renderChart,
} from './charts.js';
import { type ReportData, loadReportData } from './data.js';
import { type Figure, type ReportFigures, reportHtml } from './html.js';

export { architectureSvg } from './architecture-diagram.js';
export { type ReportData, loadReportData } from './data.js';

export interface ReportOptions {
  /** Rows of the best-candidates table (default 10). */
  readonly top?: number;
  /** Best candidates whose architecture and training curves are drawn (default 3). */
  readonly drawn?: number;
  /** Best candidates whose ancestry the lineage shows (default 5). */
  readonly lineage?: number;
}

export interface ReportResult {
  readonly runId: string;
  /** The HTML file written. */
  readonly html: string;
  /** The SVG files written, in the order they appear in the page. */
  readonly figures: readonly string[];
}

const WIDE = 900;
const SMALL = { width: 440, height: 340 } as const;
/** Names of the files a report writes under `figures/` (older ones are replaced). */
const FIGURE_FILE = /^(pareto|fitness|lineage|(proxy|architecture|curves)-.+)\.svg$/;

/** A file-name-safe form of a metric name or candidate id. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** Renders every figure of the report (pure: writes nothing). */
export function reportFigures(data: ReportData, options: ReportOptions = {}): ReportFigures {
  const used = new Set<string>();
  // Distinct names can share a slug: later ones get a number.
  const fileFor = (prefix: string, name: string): string => {
    const base = `${prefix}-${slug(name)}`;
    let file = `${base}.svg`;
    for (let k = 2; used.has(file); k++) file = `${base}-${k}.svg`;
    used.add(file);
    return file;
  };
  const drawn = data.ranked.slice(0, options.drawn ?? 3);
  const lineageTop = options.lineage ?? 5;
  const pareto: Figure = {
    file: 'pareto.svg',
    kind: 'pareto',
    svg: renderChart(paretoChart(data), { width: WIDE, height: 520 }),
    caption:
      'Validation accuracy against parameters of every candidate that finished its training, coloured by generation; killed candidates in grey; the final Pareto front in red.',
  };
  const fitness: Figure = {
    file: 'fitness.svg',
    kind: 'fitness',
    svg: renderChart(fitnessChart(data), { width: WIDE, height: 380 }),
    caption: `Best and median ${data.fitnessMetric.metric} of each generation's new candidates, and the best so far.`,
  };
  let lineageFigure: Figure | undefined;
  if (data.ranked.length > 0) {
    const graph = lineage(data, lineageTop);
    lineageFigure = {
      file: 'lineage.svg',
      kind: 'lineage',
      svg: renderChart(lineageChart(graph, lineageTop, WIDE), {
        width: WIDE,
        height: lineageHeight(graph.rows),
      }),
      caption:
        'Each node is a candidate (short id, validation accuracy, the operator that made it); arrows go from parent to child. The best candidates are red, other finished ones blue, killed or failed ones grey.',
    };
  }
  const proxies = data.proxyMetrics.map((metric): Figure => {
    const points = proxyPoints(data, metric);
    const rho = proxyCorrelation(points);
    return {
      file: fileFor('proxy', metric),
      kind: 'proxy',
      svg: renderChart(proxyChart(metric, points), SMALL),
      caption: `${metric} against validation accuracy over ${points.length} finished candidates: Spearman ρ = ${rho === undefined ? 'n/a' : rho.toFixed(3)}.`,
    };
  });
  const architectures: Figure[] = [];
  const architectureNotes: string[] = [];
  const curves: Figure[] = [];
  const curveNotes: string[] = [];
  for (const item of drawn) {
    if (item.architecture) {
      architectures.push({
        file: fileFor('architecture', item.shortId),
        kind: 'architecture',
        svg: architectureSvg(item.architecture),
        caption: `${item.shortId}: ${item.candidate.genome}`,
      });
    } else {
      architectureNotes.push(
        `${item.shortId}: not drawn, ${item.architectureProblem ?? 'no architecture'}.`,
      );
    }
    if (item.epochs.length > 0) {
      curves.push({
        file: fileFor('curves', item.shortId),
        kind: 'curves',
        svg: renderChart(curvesChart(item), SMALL),
        caption: `${item.shortId}: loss (dashed, left axis) and accuracy (solid, right axis) per epoch.`,
      });
    } else {
      curveNotes.push(
        `${item.shortId}: no epoch records (${item.status}${item.evaluation.error ? `: ${item.evaluation.error}` : ''}).`,
      );
    }
  }
  if (drawn.length === 0) {
    architectureNotes.push('No candidate has a result yet.');
    curveNotes.push('No candidate has a result yet.');
  }
  return {
    pareto,
    fitness,
    lineage: lineageFigure,
    proxies,
    architectures,
    architectureNotes,
    curves,
    curveNotes,
  };
}

/**
 * Writes `<outDir>/report.html` and `<outDir>/figures/*.svg` for a run (by id or name),
 * replacing the figures of an earlier report in the same folder.
 */
export function writeReport(
  store: RunReader,
  run: string,
  outDir: string,
  options: ReportOptions = {},
): ReportResult {
  const data = loadReportData(store, run);
  const figures = reportFigures(data, options);
  const html = reportHtml(data, figures, options.top ?? 10);
  const figureDir = join(outDir, 'figures');
  mkdirSync(figureDir, { recursive: true });
  for (const name of readdirSync(figureDir)) {
    if (FIGURE_FILE.test(name)) rmSync(join(figureDir, name));
  }
  const ordered = [
    figures.pareto,
    figures.fitness,
    ...(figures.lineage ? [figures.lineage] : []),
    ...figures.proxies,
    ...figures.architectures,
    ...figures.curves,
  ];
  const written = ordered.map((figure) => {
    const path = join(figureDir, figure.file);
    writeFileSync(path, figure.svg.endsWith('\n') ? figure.svg : `${figure.svg}\n`);
    return path;
  });
  const htmlPath = join(outDir, 'report.html');
  writeFileSync(htmlPath, html);
  return { runId: data.run.id, html: htmlPath, figures: written };
}
