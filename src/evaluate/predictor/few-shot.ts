/**
 * Predictors that learn from few examples (tens to a few thousand), in pure TypeScript:
 *
 * - `gbdt`: gradient-boosted regression trees (src/util/gbdt.ts), averaged over a few seeds;
 * - `gp`: a Gaussian process with a squared-exponential kernel (gaussian-process.ts);
 * - `ensemble`: the mean of the two.
 *
 * They read a fixed-length vector made of one or more encodings: for the NAS-Bench-201 `cells`
 * space the cell's own encodings (cell-encodings.ts: `adjacency`, `path`, `graf`), which need no
 * compiled network, so a cell without an input-output path is an ordinary example; for every
 * space `network`, the whole-network features of the MLP predictor (counts per op, depth, widths,
 * parameters, FLOPs; all zero for a network with no path to its output). Zero-cost proxy scores
 * may be added as extra features (signed log, as for the MLP).
 *
 * The target is fitted through a rank-Gaussian transform (each training accuracy replaced by the
 * normal quantile of its rank), so that a few very poor networks (NAS-Bench-201's 10% cells) do not
 * dominate the squared loss; predictions go back through the training set's quantiles, a monotone
 * map, so the ranking is the model's own. A predictor saves as one JSON file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCell } from '../../space/cells/arch-string.js';
import { analyzeArchitecture } from '../../space/ir.js';
import { type BoostedTreesJson, BoostedTrees, fitBoostedTrees } from '../../util/gbdt.js';
import {
  NETWORK_FEATURE_NAMES,
  type PredictorExample,
  type PredictorQuery,
  networkFeatures,
  proxyFeature,
} from '../predictor.js';
import { PROXY_NAMES, type ProxyName, checkProxyNames } from '../proxies.js';
import { CELL_ENCODINGS, encodeCell } from './cell-encodings.js';
import {
  type GaussianProcessJson,
  GaussianProcess,
  fitGaussianProcess,
} from './gaussian-process.js';

export const FEW_SHOT_KINDS = ['gbdt', 'gp', 'ensemble'] as const;
export type FewShotKind = (typeof FEW_SHOT_KINDS)[number];

export const FEATURE_ENCODINGS = [...CELL_ENCODINGS, 'network'] as const;
export type FeatureEncoding = (typeof FEATURE_ENCODINGS)[number];

/** What the few-shot predictors read by default: the cell's encodings, or the network's features. */
export function defaultEncodings(space: string | undefined): FeatureEncoding[] {
  return space === 'cells' ? ['graf', 'path'] : ['network'];
}

export interface FewShotOptions {
  readonly kind: FewShotKind;
  /** Default: {@link defaultEncodings} of the examples' space. */
  readonly encodings?: readonly FeatureEncoding[];
  readonly proxyFeatures?: readonly ProxyName[];
  /** Trees per boosted model (default 300). */
  readonly trees?: number;
  /** Boosted models averaged, each with its own seed (default 3). */
  readonly boostedModels?: number;
  readonly seed?: number;
}

const FORMAT = 'nascent-few-shot-predictor/1';
const FILE = 'predictor.json';

const fileSchema = z.object({
  format: z.literal(FORMAT),
  kind: z.enum(FEW_SHOT_KINDS),
  space: z.string().optional(),
  encodings: z.array(z.enum(FEATURE_ENCODINGS)).min(1),
  proxyFeatures: z.array(z.enum(PROXY_NAMES as [ProxyName, ...ProxyName[]])),
  examples: z.number().int().nonnegative(),
  /** Sorted training targets (accuracies) and their transformed values, for the inverse map. */
  quantiles: z.object({ targets: z.array(z.number()), scores: z.array(z.number()) }),
  boosted: z.array(z.custom<BoostedTreesJson>((v) => typeof v === 'object' && v !== null)),
  gp: z.custom<GaussianProcessJson>((v) => typeof v === 'object' && v !== null).optional(),
  trainedAt: z.string(),
  source: z.string().optional(),
});
type FewShotFile = z.infer<typeof fileSchema>;

/** An example's features: its encodings in order, then its proxies. */
export function featureVector(
  example: PredictorQuery,
  encodings: readonly FeatureEncoding[],
  proxies: readonly ProxyName[],
): number[] {
  let cell: ReturnType<typeof parseCell> | undefined;
  const out: number[] = [];
  for (const encoding of encodings) {
    if (encoding === 'network') {
      out.push(
        ...(example.architecture === null
          ? new Array<number>(NETWORK_FEATURE_NAMES.length).fill(0)
          : networkFeatures(example.architecture, analyzeArchitecture(example.architecture))),
      );
      continue;
    }
    if (cell === undefined) {
      if (example.genome?.space !== 'cells') {
        throw new Error(
          `the ${encoding} encoding reads NAS-Bench-201 cells; this example is ` +
            `${example.genome ? `a ${example.genome.space}-space architecture` : 'not a cell'} ` +
            '(use the network encoding for other spaces)',
        );
      }
      cell = parseCell(example.genome.text);
    }
    out.push(...encodeCell(cell, [encoding]));
  }
  for (const name of proxies) out.push(proxyFeature(example.proxies?.[name]));
  return out;
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (coefficients: number[], x: number): number =>
    coefficients.reduce((sum, k) => sum * x + k, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** Each target's normal score (ties share their mean rank), and the sorted pairs for the inverse. */
function rankGaussian(targets: readonly number[]): {
  scores: number[];
  quantiles: { targets: number[]; scores: number[] };
} {
  const n = targets.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => (targets[i] as number) - (targets[j] as number),
  );
  const scores = new Array<number>(n);
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && targets[order[end + 1] as number] === targets[order[start] as number])
      end++;
    const score = normalQuantile(((start + end) / 2 + 0.5) / n);
    for (let k = start; k <= end; k++) scores[order[k] as number] = score;
    start = end + 1;
  }
  const sortedTargets = order.map((i) => targets[i] as number);
  const sortedScores = order.map((i) => scores[i] as number);
  return { scores, quantiles: { targets: sortedTargets, scores: sortedScores } };
}

/** Back from a normal score to an accuracy: linear between the training quantiles, flat beyond. */
function inverseScore(
  quantiles: { targets: readonly number[]; scores: readonly number[] },
  score: number,
): number {
  const { targets, scores } = quantiles;
  const last = scores.length - 1;
  if (score <= (scores[0] as number)) return targets[0] as number;
  if (score >= (scores[last] as number)) return targets[last] as number;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((scores[mid] as number) <= score) lo = mid;
    else hi = mid;
  }
  const s0 = scores[lo] as number;
  const s1 = scores[hi] as number;
  const t0 = targets[lo] as number;
  const t1 = targets[hi] as number;
  return s1 === s0 ? t0 : t0 + ((score - s0) / (s1 - s0)) * (t1 - t0);
}

export class FewShotPredictor {
  private readonly boosted: BoostedTrees[];
  private readonly gp: GaussianProcess | undefined;

  private constructor(private readonly file: FewShotFile) {
    this.boosted = file.boosted.map((json) => BoostedTrees.fromJSON(json));
    this.gp = file.gp === undefined ? undefined : new GaussianProcess(file.gp);
  }

  get kind(): FewShotKind {
    return this.file.kind;
  }

  get encodings(): readonly FeatureEncoding[] {
    return this.file.encodings;
  }

  get proxyFeatures(): readonly ProxyName[] {
    return this.file.proxyFeatures;
  }

  get trainedOn(): number {
    return this.file.examples;
  }

  static train(
    examples: readonly PredictorExample[],
    options: FewShotOptions,
    source?: string,
  ): FewShotPredictor {
    if (examples.length < 4) {
      throw new Error(
        `a predictor needs at least 4 evaluated architectures to learn from (got ${examples.length})`,
      );
    }
    const space = examples[0]?.genome?.space;
    const encodings = [...(options.encodings ?? defaultEncodings(space))];
    if (encodings.length === 0) throw new Error('give the predictor at least one encoding');
    const proxyFeatures = checkProxyNames(options.proxyFeatures ?? []);
    const rows = examples.map((example) => featureVector(example, encodings, proxyFeatures));
    const { scores, quantiles } = rankGaussian(examples.map((e) => e.accuracy));
    const seed = options.seed ?? 0;
    const boosted: BoostedTreesJson[] = [];
    if (options.kind !== 'gp') {
      for (let m = 0; m < (options.boostedModels ?? 3); m++) {
        boosted.push(
          fitBoostedTrees(rows, scores, {
            trees: options.trees ?? 300,
            depth: 4,
            learningRate: 0.05,
            minLeaf: examples.length < 300 ? 2 : 3,
            subsample: 0.8,
            colsample: 0.7,
            lambda: 1,
            seed: seed * 1000 + m,
          }).toJSON(),
        );
      }
    }
    const gp = options.kind === 'gbdt' ? undefined : fitGaussianProcess(rows, scores).toJSON();
    return new FewShotPredictor({
      format: FORMAT,
      kind: options.kind,
      ...(space !== undefined ? { space } : {}),
      encodings,
      proxyFeatures,
      examples: examples.length,
      quantiles,
      boosted,
      ...(gp !== undefined ? { gp } : {}),
      trainedAt: new Date().toISOString(),
      ...(source !== undefined ? { source } : {}),
    });
  }

  /** The models' mean normal score per query (higher predicts a better accuracy). */
  scores(queries: readonly PredictorQuery[]): number[] {
    for (const name of this.file.proxyFeatures) {
      const missing = queries.findIndex((q) => q.proxies?.[name] === undefined);
      if (missing >= 0) {
        throw new Error(
          `this predictor reads the proxy "${name}", which query ${missing + 1} does not have`,
        );
      }
    }
    const rows = queries.map((q) => featureVector(q, this.file.encodings, this.file.proxyFeatures));
    const sums = new Array<number>(rows.length).fill(0);
    let parts = 0;
    if (this.boosted.length > 0) {
      for (const model of this.boosted) {
        model.predict(rows).forEach((value, i) => {
          sums[i] = (sums[i] as number) + value / this.boosted.length;
        });
      }
      parts += 1;
    }
    if (this.gp !== undefined) {
      this.gp.predict(rows).forEach((value, i) => {
        sums[i] = (sums[i] as number) + value;
      });
      parts += 1;
    }
    return sums.map((sum) => sum / parts);
  }

  /** Predicted accuracies (the scores mapped back through the training quantiles). */
  predict(queries: readonly PredictorQuery[]): number[] {
    return this.scores(queries).map((score) => inverseScore(this.file.quantiles, score));
  }

  save(directory: string): void {
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, FILE), `${JSON.stringify(this.file)}\n`);
  }

  /** True when the directory holds a few-shot predictor (rather than an LSTM or MLP one). */
  static isSavedIn(directory: string): boolean {
    try {
      const raw = JSON.parse(readFileSync(join(directory, FILE), 'utf8')) as { format?: unknown };
      return raw.format === FORMAT;
    } catch {
      return false;
    }
  }

  static load(directory: string): FewShotPredictor {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(directory, FILE), 'utf8'));
    } catch (error) {
      throw new Error(`cannot read a predictor from ${directory}: ${(error as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `${join(directory, FILE)} is not a Nascent few-shot predictor: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    return new FewShotPredictor(parsed.data);
  }
}
