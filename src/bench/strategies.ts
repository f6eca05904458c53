/**
 * Benchmarks search strategies on a table of known results (`nascent bench strategies`): each
 * strategy runs `trials` times with seeds `seed`, `seed + 1`, ..., each trial for `queries`
 * queries, and the curves are the best validation accuracy found so far and the test accuracy of
 * that architecture, against the number of queries, as mean and standard error over trials.
 *
 * Rules, the same for every strategy:
 * - The strategy is driven directly (ask one proposal, tell its result, repeat), without the run
 *   store.
 * - A query is the first evaluation of a distinct architecture (by the space's canonical text).
 *   A proposal of an architecture the trial has already queried is answered from the trial's
 *   cache and does not count: the curves are against distinct architectures evaluated. A trial
 *   whose strategy proposes only repeats for `staleLimit` proposals in a row stops there, its
 *   curve held flat at its last value (counted in `stalledTrials`).
 * - Every strategy optimises validation accuracy (the single objective `accuracy`, maximised);
 *   the test accuracy is never shown to it.
 * - "Best so far" is the highest validation accuracy among the queried architectures (the first
 *   found on ties); its test accuracy is reported beside it, and its regret is the table's best
 *   test accuracy minus that test accuracy.
 * - An architecture missing from the table stops the benchmark with a TableLookupError.
 */
import { performance } from 'node:perf_hooks';
import { createStrategy, STRATEGY_NAMES } from '../search/registry.js';
import type { Evaluated, Objective, Strategy } from '../search/strategy.js';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { type ResultTable, TABLE_METRICS } from '../evaluate/table.js';
import { type CellEncoding, encodeCell } from '../evaluate/predictor/cell-encodings.js';
import { BANANAS_NAME } from '../search/bananas.js';
import { parseCell } from '../space/cells/arch-string.js';
import { CELL_SPACE_NAME } from '../space/cells/cell-space.js';
import { PREDICTOR_STRATEGY_NAME, PredictorStrategy } from './predictor-strategy.js';

/** Strategies the benchmark can run: the registered ones plus `predictor`. */
export const BENCH_STRATEGY_NAMES: readonly string[] = [...STRATEGY_NAMES, PREDICTOR_STRATEGY_NAME];

/** What `bananas` reads of a NAS-Bench-201 cell in the benchmark (evaluate/predictor/cell-encodings.ts). */
export const BANANAS_CELL_ENCODINGS: readonly CellEncoding[] = ['graf'];

const OBJECTIVES: readonly Objective[] = [
  { metric: TABLE_METRICS.accuracy, direction: 'maximize' },
];

export interface StrategyBenchmarkOptions {
  readonly space: SearchSpace<unknown>;
  readonly target: CompileTarget;
  /** Must hold `accuracy` (validation) and `test_accuracy` for every architecture. */
  readonly table: ResultTable;
  readonly strategies: readonly string[];
  readonly queries: number;
  readonly trials: number;
  /** Seed of the first trial (default 0); trial t uses seed + t, for every strategy. */
  readonly seed?: number;
  /** Population size of every strategy (default 10). */
  readonly populationSize?: number;
  /** Repeated proposals in a row after which a trial stops (default max(1000, 10 * queries)). */
  readonly staleLimit?: number;
  /** Called after each trial. */
  readonly onTrial?: (strategy: string, trial: number, seconds: number) => void;
}

/** One trial: per query q (index q - 1), the best validation accuracy and its test accuracy. */
export interface TrialCurve {
  readonly bestValidation: Float64Array;
  readonly testAtBest: Float64Array;
  /** Proposals answered from the trial's cache (repeats). */
  readonly repeats: number;
  /** Queries made before the strategy stalled; `queries` when it did not. */
  readonly queried: number;
}

/** Mean and standard error (sample standard deviation / sqrt(trials); NaN for one trial). */
export interface MeanCurve {
  readonly mean: readonly number[];
  readonly se: readonly number[];
}

export interface StrategyCurves {
  readonly strategy: string;
  readonly trials: number;
  readonly bestValidation: MeanCurve;
  readonly testAtBest: MeanCurve;
  /** Table's best test accuracy minus the test accuracy at the best validation accuracy. */
  readonly regret: MeanCurve;
  readonly stalledTrials: number;
  /** Mean repeated proposals per trial. */
  readonly meanRepeats: number;
  readonly seconds: number;
}

export interface StrategyBenchmark {
  readonly table: { readonly source: string; readonly sha256: string; readonly size: number };
  readonly space: string;
  readonly queries: number;
  readonly trials: number;
  readonly seed: number;
  readonly populationSize: number;
  /** The table's best test accuracy (regret is measured from it) and its architecture. */
  readonly optimum: { readonly arch: string; readonly testAccuracy: number };
  /** The table's best validation accuracy, its architecture and that architecture's test accuracy. */
  readonly bestValidation: {
    readonly arch: string;
    readonly validationAccuracy: number;
    readonly testAccuracy: number;
  };
  readonly curves: readonly StrategyCurves[];
  readonly seconds: number;
}

/** Options checks with messages a user understands. */
export class BenchmarkOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchmarkOptionsError';
  }
}

function makeStrategy(
  name: string,
  options: StrategyBenchmarkOptions,
  seed: number,
  populationSize: number,
): Strategy<unknown> {
  const base = { space: options.space, target: options.target, objectives: OBJECTIVES, seed };
  if (name === PREDICTOR_STRATEGY_NAME) return new PredictorStrategy({ ...base, populationSize });
  if (name === BANANAS_NAME && options.space.name === CELL_SPACE_NAME) {
    // NAS-Bench-201 cells: the predictor's cell features instead of the generic token one-hot.
    const space = options.space;
    const encode = (genome: unknown): number[] =>
      encodeCell(parseCell(space.format(genome)), BANANAS_CELL_ENCODINGS);
    return createStrategy(name, { ...base, populationSize, encode });
  }
  return createStrategy(name, { ...base, populationSize });
}

/** Runs one trial of one strategy. */
export function runTrial(
  strategyName: string,
  options: StrategyBenchmarkOptions,
  seed: number,
): TrialCurve {
  const { space, table, queries } = options;
  const populationSize = options.populationSize ?? 10;
  const staleLimit = options.staleLimit ?? Math.max(1000, 10 * queries);
  const strategy = makeStrategy(strategyName, options, seed, populationSize);
  const bestValidation = new Float64Array(queries);
  const testAtBest = new Float64Array(queries);
  const cache = new Map<string, Readonly<Record<string, number>>>();
  let best = -Infinity;
  let bestTest = NaN;
  let queried = 0;
  let repeats = 0;
  let stale = 0;
  let proposals = 0;
  while (queried < queries && stale < staleLimit) {
    const [proposal] = strategy.ask(1);
    if (proposal === undefined) {
      throw new Error(`strategy ${strategyName} proposed nothing while no evaluation was pending`);
    }
    proposals += 1;
    const text = space.format(proposal.genome);
    let metrics = cache.get(text);
    if (metrics === undefined) {
      metrics = table.require(text).metrics;
      cache.set(text, metrics);
      const validation = metrics.accuracy as number;
      if (validation > best) {
        best = validation;
        bestTest = metrics.test_accuracy as number;
      }
      bestValidation[queried] = best;
      testAtBest[queried] = bestTest;
      queried += 1;
      stale = 0;
    } else {
      repeats += 1;
      stale += 1;
    }
    const result: Evaluated<unknown> = {
      id: `c${proposals}`,
      genome: proposal.genome,
      parents: proposal.parents,
      status: 'ok',
      metrics,
    };
    strategy.tell([result]);
  }
  for (let q = queried; q < queries; q++) {
    bestValidation[q] = best;
    testAtBest[q] = bestTest;
  }
  return { bestValidation, testAtBest, repeats, queried };
}

/** Mean and standard error, per query, of a set of curves. */
export function meanCurve(curves: readonly Float64Array[], queries: number): MeanCurve {
  const n = curves.length;
  const mean: number[] = [];
  const se: number[] = [];
  for (let q = 0; q < queries; q++) {
    let sum = 0;
    for (const curve of curves) sum += curve[q] as number;
    const m = sum / n;
    let squares = 0;
    for (const curve of curves) squares += ((curve[q] as number) - m) ** 2;
    mean.push(m);
    se.push(n > 1 ? Math.sqrt(squares / (n - 1) / n) : NaN);
  }
  return { mean, se };
}

function checkOptions(options: StrategyBenchmarkOptions): void {
  const { table, queries, trials, strategies } = options;
  const positive = (name: string, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new BenchmarkOptionsError(`${name} must be a whole number of at least 1, got ${value}`);
  };
  positive('queries', queries);
  positive('trials', trials);
  if (strategies.length === 0) throw new BenchmarkOptionsError('name at least one strategy');
  for (const name of strategies) {
    if (!BENCH_STRATEGY_NAMES.includes(name)) {
      throw new BenchmarkOptionsError(
        `unknown strategy ${JSON.stringify(name)} (known: ${BENCH_STRATEGY_NAMES.join(', ')})`,
      );
    }
  }
  if (new Set(strategies).size !== strategies.length)
    throw new BenchmarkOptionsError(`a strategy is named twice in ${strategies.join(',')}`);
  const missing = table.size - table.coverage(TABLE_METRICS.testAccuracy);
  if (missing > 0) {
    throw new BenchmarkOptionsError(
      `the table ${table.source} has no test_accuracy for ${missing} of its ${table.size} ` +
        'architectures; the benchmark reports the test accuracy of the best architecture found, ' +
        'so every row needs one',
    );
  }
}

/** Runs every strategy `trials` times and summarises the curves. */
export function runStrategyBenchmark(options: StrategyBenchmarkOptions): StrategyBenchmark {
  checkOptions(options);
  const { table, queries, trials } = options;
  const seed = options.seed ?? 0;
  const started = performance.now();
  const optimum = table.best(TABLE_METRICS.testAccuracy);
  const bestValidation = table.best(TABLE_METRICS.accuracy);
  if (optimum === undefined || bestValidation === undefined)
    throw new BenchmarkOptionsError(`the table ${table.source} holds no accuracies`);
  const optimumTest = optimum.metrics.test_accuracy as number;
  const curves = options.strategies.map((strategy): StrategyCurves => {
    const strategyStarted = performance.now();
    const runs: TrialCurve[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const trialStarted = performance.now();
      runs.push(runTrial(strategy, options, seed + trial));
      options.onTrial?.(strategy, trial, (performance.now() - trialStarted) / 1000);
    }
    const regrets = runs.map((run) => run.testAtBest.map((test) => optimumTest - test));
    return {
      strategy,
      trials,
      bestValidation: meanCurve(
        runs.map((run) => run.bestValidation),
        queries,
      ),
      testAtBest: meanCurve(
        runs.map((run) => run.testAtBest),
        queries,
      ),
      regret: meanCurve(regrets, queries),
      stalledTrials: runs.filter((run) => run.queried < queries).length,
      meanRepeats: runs.reduce((sum, run) => sum + run.repeats, 0) / trials,
      seconds: (performance.now() - strategyStarted) / 1000,
    };
  });
  return {
    table: { source: table.source, sha256: table.sha256, size: table.size },
    space: options.space.name,
    queries,
    trials,
    seed,
    populationSize: options.populationSize ?? 10,
    optimum: { arch: optimum.arch, testAccuracy: optimumTest },
    bestValidation: {
      arch: bestValidation.arch,
      validationAccuracy: bestValidation.metrics.accuracy as number,
      testAccuracy: bestValidation.metrics.test_accuracy as number,
    },
    curves,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The CSV columns, in order. */
export const CURVE_COLUMNS = [
  'strategy',
  'query',
  'trials',
  'mean_best_val',
  'se_best_val',
  'mean_test_at_best_val',
  'se_test',
  'mean_regret',
  'se_regret',
] as const;

function cell(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(8))) : '';
}

/** The curves as CSV: one row per strategy and query (1-based); empty SE for one trial. */
export function curvesCsv(benchmark: StrategyBenchmark): string {
  const lines: string[] = [CURVE_COLUMNS.join(',')];
  for (const curve of benchmark.curves) {
    for (let q = 0; q < benchmark.queries; q++) {
      const at = (m: MeanCurve): [string, string] => [
        cell(m.mean[q] as number),
        cell(m.se[q] as number),
      ];
      lines.push(
        [
          curve.strategy,
          String(q + 1),
          String(curve.trials),
          ...at(curve.bestValidation),
          ...at(curve.testAtBest),
          ...at(curve.regret),
        ].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
