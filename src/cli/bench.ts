/**
 * `nascent bench strategies`: regret curves of the search strategies on a table of known results
 * (see src/bench/strategies.ts for the rules and docs/tabular-benchmarks.md for the files).
 */
import { writeStrategyReport } from '../bench/strategy-report.js';
import { BenchmarkOptionsError, runStrategyBenchmark } from '../bench/strategies.js';
import { datasetShape } from '../data/registry.js';
import { loadResultTable } from '../evaluate/table.js';
import { createSpace, parseSpaceArgument } from '../space/registry.js';
import { formatSeconds, table } from '../util/format.js';
import { parseSpaceOptions } from './architecture-input.js';

export interface BenchStrategiesOptions {
  /** `table:<file>`. */
  evaluator: string;
  /** Search space name (default `cells`). */
  space?: string;
  /** The space's options as JSON, e.g. `{"maxNormal": 1}`. */
  spaceOptions?: string;
  /** Dataset whose image shape the space's candidates are built for (default `cifar10`). */
  dataset?: string;
  queries?: number;
  trials?: number;
  /** Comma-separated strategy names. */
  strategies?: string;
  population?: number;
  seed?: number;
  /** Output directory (default `runs/bench-strategies`). */
  out?: string;
  /** Progress lines on stderr (default true). */
  progress?: boolean;
}

export const DEFAULT_BENCH_STRATEGIES = 'random,re,ga,nsga2,predictor,local-search,bananas';

function tablePath(evaluator: string): string {
  const match = /^table:(.+)$/.exec(evaluator);
  if (!match) {
    throw new BenchmarkOptionsError(
      `--evaluator must be table:<file> (a JSON or CSV table of results), got ${JSON.stringify(evaluator)}`,
    );
  }
  return match[1] as string;
}

/** Runs the benchmark, writes the CSV, the plots and the report page; returns a summary. */
export function benchStrategiesCommand(options: BenchStrategiesOptions): string {
  const path = tablePath(options.evaluator);
  const space = createSpace({
    ...parseSpaceArgument(options.space ?? 'cells'),
    options: parseSpaceOptions(options.spaceOptions),
  });
  const shape = datasetShape(options.dataset ?? 'cifar10');
  const resultTable = loadResultTable(path, { space });
  const strategies = (options.strategies ?? DEFAULT_BENCH_STRATEGIES)
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const progress = options.progress !== false;
  const trials = options.trials ?? 100;
  const benchmark = runStrategyBenchmark({
    space,
    target: {
      input: { channels: shape.channels, height: shape.height, width: shape.width },
      classes: shape.classes,
    },
    table: resultTable,
    strategies,
    queries: options.queries ?? 150,
    trials,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.population !== undefined ? { populationSize: options.population } : {}),
    onTrial: (strategy, trial) => {
      if (progress && (trial + 1 === trials || (trial + 1) % 10 === 0))
        process.stderr.write(`  ${strategy}: ${trial + 1}/${trials} trials\n`);
    },
  });
  const report = writeStrategyReport(benchmark, options.out ?? 'runs/bench-strategies');
  return [
    report.settings,
    report.anchors,
    `After ${benchmark.queries} queries (mean ± standard error over ${benchmark.trials} trials):`,
    table(
      [...report.header],
      report.rows.map((row) => [...row]),
      ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    `total ${formatSeconds(benchmark.seconds)}; wrote ${report.files.join(', ')}`,
  ].join('\n');
}
