/**
 * The files of a strategy benchmark: the curves as CSV, a JSON summary, three plots (SVG) and a
 * self-contained HTML page showing them with the final numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, reportPage, type CurveSeries } from './plot.js';
import {
  curvesCsv,
  type MeanCurve,
  type StrategyBenchmark,
  type StrategyCurves,
} from './strategies.js';

/** The files written, by role. */
export const BENCH_FILES = {
  csv: 'curves.csv',
  summary: 'summary.json',
  validationPlot: 'best-validation.svg',
  testPlot: 'test-at-best-validation.svg',
  regretPlot: 'regret.svg',
  report: 'report.html',
} as const;

/** What the report says in words: the settings, the table's anchors, the final-query table. */
export interface StrategyReportText {
  readonly settings: string;
  readonly anchors: string;
  readonly header: readonly string[];
  readonly rows: readonly string[][];
  /** Paths of the files written. */
  readonly files: readonly string[];
}

function percent(value: number): string {
  return `${(100 * value).toFixed(2)}%`;
}

function finalValue(curve: MeanCurve): string {
  const mean = curve.mean.at(-1) as number;
  const se = curve.se.at(-1) as number;
  return Number.isFinite(se) ? `${percent(mean)} ± ${(100 * se).toFixed(2)}` : percent(mean);
}

function series(
  benchmark: StrategyBenchmark,
  pick: (curve: StrategyCurves) => MeanCurve,
): CurveSeries[] {
  const x = Array.from({ length: benchmark.queries }, (_, q) => q + 1);
  return benchmark.curves.map((curve) => ({
    name: curve.strategy,
    x,
    mean: pick(curve).mean,
    se: pick(curve).se,
  }));
}

/** The summary as JSON: settings, anchors, and per strategy the values after the last query. */
export function benchmarkSummary(benchmark: StrategyBenchmark): unknown {
  return {
    ...benchmark,
    curves: benchmark.curves.map((curve) => ({
      strategy: curve.strategy,
      trials: curve.trials,
      finalBestValidation: curve.bestValidation.mean.at(-1),
      finalBestValidationSe: curve.bestValidation.se.at(-1),
      finalTestAtBest: curve.testAtBest.mean.at(-1),
      finalTestAtBestSe: curve.testAtBest.se.at(-1),
      finalRegret: curve.regret.mean.at(-1),
      finalRegretSe: curve.regret.se.at(-1),
      stalledTrials: curve.stalledTrials,
      meanRepeats: curve.meanRepeats,
      seconds: curve.seconds,
    })),
  };
}

/** The three plots: best validation accuracy, test accuracy at it, and regret. */
export function benchmarkPlots(benchmark: StrategyBenchmark): [string, string, string] {
  const xLabel = 'queries (distinct architectures evaluated)';
  return [
    lineChartSvg({
      title: 'Best validation accuracy so far',
      xLabel,
      yLabel: 'validation accuracy (%)',
      series: series(benchmark, (c) => c.bestValidation),
      reference: {
        value: benchmark.bestValidation.validationAccuracy,
        label: `table best ${percent(benchmark.bestValidation.validationAccuracy)}`,
      },
      yScale: 100,
    }),
    lineChartSvg({
      title: 'Test accuracy of the best-by-validation architecture',
      xLabel,
      yLabel: 'test accuracy (%)',
      series: series(benchmark, (c) => c.testAtBest),
      reference: {
        value: benchmark.optimum.testAccuracy,
        label: `optimum ${percent(benchmark.optimum.testAccuracy)}`,
      },
      yScale: 100,
    }),
    lineChartSvg({
      title: 'Regret: optimum test accuracy minus test accuracy at best validation',
      xLabel,
      yLabel: 'regret (percentage points)',
      series: series(benchmark, (c) => c.regret),
      yScale: 100,
    }),
  ];
}

/** Writes every file of {@link BENCH_FILES} into `out` (created if missing). */
export function writeStrategyReport(benchmark: StrategyBenchmark, out: string): StrategyReportText {
  mkdirSync(out, { recursive: true });
  const path = (file: string): string => join(out, file);
  writeFileSync(path(BENCH_FILES.csv), curvesCsv(benchmark));
  writeFileSync(
    path(BENCH_FILES.summary),
    `${JSON.stringify(benchmarkSummary(benchmark), null, 2)}\n`,
  );
  const plots = benchmarkPlots(benchmark);
  writeFileSync(path(BENCH_FILES.validationPlot), plots[0]);
  writeFileSync(path(BENCH_FILES.testPlot), plots[1]);
  writeFileSync(path(BENCH_FILES.regretPlot), plots[2]);

  const header = [
    'strategy',
    'best validation',
    'test at best validation',
    'regret (pp)',
    'stalled trials',
    'repeats/trial',
    'seconds',
  ];
  const rows = benchmark.curves.map((curve) => [
    curve.strategy,
    finalValue(curve.bestValidation),
    finalValue(curve.testAtBest),
    (100 * (curve.regret.mean.at(-1) as number)).toFixed(2),
    String(curve.stalledTrials),
    curve.meanRepeats.toFixed(1),
    curve.seconds.toFixed(1),
  ]);
  const { table } = benchmark;
  const settings =
    `${benchmark.trials} trials of ${benchmark.queries} queries, seeds ${benchmark.seed}..` +
    `${benchmark.seed + benchmark.trials - 1}, population ${benchmark.populationSize}, ` +
    `space ${benchmark.space}, table ${table.source} (${table.size} architectures, ` +
    `sha256 ${table.sha256.slice(0, 12)})`;
  const anchors =
    `Table optimum: test ${percent(benchmark.optimum.testAccuracy)} (${benchmark.optimum.arch}); ` +
    `best validation ${percent(benchmark.bestValidation.validationAccuracy)} ` +
    `(test ${percent(benchmark.bestValidation.testAccuracy)}).`;
  writeFileSync(
    path(BENCH_FILES.report),
    reportPage('Search strategies on a tabular benchmark', [
      {
        heading: `After ${benchmark.queries} queries (mean ± standard error over trials)`,
        paragraphs: [
          settings,
          anchors,
          'A query is the first evaluation of a distinct architecture; a repeated proposal is ' +
            'answered from the trial’s cache and not counted.',
        ],
        table: { header, rows },
      },
      { heading: 'Curves (bands: ± one standard error)', figures: plots },
    ]),
  );
  return { settings, anchors, header, rows, files: Object.values(BENCH_FILES).map(path) };
}
