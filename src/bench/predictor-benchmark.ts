/**
 * How well the predictors rank held-out architectures of a table of known results (NAS-Bench-201's
 * 15,625 cells): for each training size and split, the predictor is fitted on that many rows drawn
 * at random (seeded by the split) and scored on every other row of the table, disconnected cells
 * included. Kendall's tau and Spearman's rho against the table's value of the target metric (by
 * default the 200-epoch test accuracy, as the predictor literature measures).
 */
import { performance } from 'node:perf_hooks';
import { type ResultTable } from '../evaluate/table.js';
import {
  AccuracyPredictor,
  PREDICTOR_KINDS,
  type PredictorExample,
  type PredictorKind,
} from '../evaluate/predictor.js';
import {
  FEW_SHOT_KINDS,
  type FeatureEncoding,
  FewShotPredictor,
  type FewShotKind,
} from '../evaluate/predictor/few-shot.js';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { Random } from '../util/random.js';
import { kendall, spearman } from '../util/stats.js';

export type BenchPredictorKind = PredictorKind | FewShotKind;
export const BENCH_PREDICTOR_KINDS: readonly BenchPredictorKind[] = [
  ...FEW_SHOT_KINDS,
  ...PREDICTOR_KINDS,
];

export interface PredictorBenchmarkOptions {
  readonly table: ResultTable;
  readonly space: SearchSpace<unknown>;
  readonly target: CompileTarget;
  /** The table column to predict (default `test_accuracy`). */
  readonly metric?: string;
  readonly kinds: readonly BenchPredictorKind[];
  readonly trainSizes: readonly number[];
  readonly splits: number;
  readonly seed?: number;
  readonly encodings?: readonly FeatureEncoding[];
  /** Scored rows per split (default: every row not trained on). */
  readonly testSize?: number;
  readonly onResult?: (result: PredictorSplitResult) => void;
}

export interface PredictorSplitResult {
  readonly kind: BenchPredictorKind;
  readonly trainSize: number;
  readonly split: number;
  readonly testSize: number;
  readonly kendall: number;
  readonly spearman: number;
  readonly seconds: number;
}

export interface PredictorBenchmarkRow {
  readonly kind: BenchPredictorKind;
  readonly trainSize: number;
  readonly splits: number;
  readonly kendallMean: number;
  readonly kendallSd: number;
  readonly spearmanMean: number;
  readonly secondsMean: number;
}

/** Every row of the table as an example (architecture null where the cell compiles to no network). */
export function tableExamples(
  table: ResultTable,
  space: SearchSpace<unknown>,
  target: CompileTarget,
  metric: string,
  compile: boolean,
): PredictorExample[] {
  return [...table.entries()].map((entry) => {
    const value = entry.metrics[metric];
    if (value === undefined) throw new Error(`${table.source} ${entry.where} has no ${metric}`);
    let architecture = null;
    if (compile) {
      try {
        architecture = space.compile(space.parse(entry.arch), target);
      } catch {
        architecture = null;
      }
    }
    return { architecture, genome: { space: space.name, text: entry.arch }, accuracy: value };
  });
}

function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
      : NaN;
  return { mean, sd };
}

export async function runPredictorBenchmark(
  options: PredictorBenchmarkOptions,
): Promise<{ rows: PredictorBenchmarkRow[]; results: PredictorSplitResult[] }> {
  const metric = options.metric ?? 'test_accuracy';
  const needsNetworks =
    options.kinds.some((kind) => (PREDICTOR_KINDS as readonly string[]).includes(kind)) ||
    (options.encodings ?? []).includes('network');
  const examples = tableExamples(
    options.table,
    options.space,
    options.target,
    metric,
    needsNetworks,
  );
  const results: PredictorSplitResult[] = [];
  const rows: PredictorBenchmarkRow[] = [];
  for (const trainSize of options.trainSizes) {
    for (const kind of options.kinds) {
      const mine: PredictorSplitResult[] = [];
      for (let split = 0; split < options.splits; split++) {
        const order = new Random((options.seed ?? 0) + split).permutation(examples.length);
        const train = Array.from(
          order.subarray(0, trainSize),
          (i) => examples[i] as PredictorExample,
        );
        const rest = order.subarray(trainSize);
        const testIndices =
          options.testSize === undefined ? rest : rest.subarray(0, options.testSize);
        const test = Array.from(testIndices, (i) => examples[i] as PredictorExample);
        const started = performance.now();
        let predicted: number[];
        if ((FEW_SHOT_KINDS as readonly string[]).includes(kind)) {
          const predictor = FewShotPredictor.train(train, {
            kind: kind as FewShotKind,
            seed: split,
            ...(options.encodings ? { encodings: options.encodings } : {}),
          });
          predicted = predictor.scores(test);
        } else {
          const predictor = await AccuracyPredictor.train(train, {
            kind: kind as PredictorKind,
            seed: split,
          });
          predicted = predictor.predict(test);
        }
        const seconds = (performance.now() - started) / 1000;
        const truth = test.map((e) => e.accuracy);
        const result: PredictorSplitResult = {
          kind,
          trainSize,
          split,
          testSize: test.length,
          kendall: kendall(truth, predicted) ?? NaN,
          spearman: spearman(truth, predicted) ?? NaN,
          seconds,
        };
        results.push(result);
        mine.push(result);
        options.onResult?.(result);
      }
      const tau = meanSd(mine.map((r) => r.kendall));
      rows.push({
        kind,
        trainSize,
        splits: mine.length,
        kendallMean: tau.mean,
        kendallSd: tau.sd,
        spearmanMean: meanSd(mine.map((r) => r.spearman)).mean,
        secondsMean: meanSd(mine.map((r) => r.seconds)).mean,
      });
    }
  }
  return { rows, results };
}
