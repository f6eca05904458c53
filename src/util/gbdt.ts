/**
 * Gradient-boosted regression trees (squared loss), small and dependency-free, for surrogates fitted
 * on tens to a few thousand examples: the few-shot accuracy predictor (evaluate/predictor/) and the
 * BANANAS-style strategy (search/bananas.ts).
 *
 * Each feature is cut into at most `bins` bins at its distinct values (quantiles when there are
 * more), once per fit; a tree grows level by level to `depth`, each split the one with the largest
 * reduction of squared error, `lambda` shrinking every leaf value towards 0 (XGBoost's L2 term with
 * unit hessians). Rows and features may be subsampled per tree (`subsample`, `colsample`), drawn
 * from a seeded generator, so a fit is a pure function of its data and options. A fitted model is
 * plain JSON.
 */
import { Random } from './random.js';

export interface BoostingOptions {
  /** Trees (default 200). */
  readonly trees?: number;
  /** Levels per tree (default 4: up to 16 leaves). */
  readonly depth?: number;
  /** Shrinkage of each tree (default 0.05). */
  readonly learningRate?: number;
  /** Fewest rows in a leaf (default 3). */
  readonly minLeaf?: number;
  /** Fraction of rows each tree sees, drawn without replacement (default 0.8). */
  readonly subsample?: number;
  /** Fraction of features each tree may split on (default 0.8). */
  readonly colsample?: number;
  /** L2 penalty on leaf values (default 1). */
  readonly lambda?: number;
  /** Bins per feature (default 32, at most 255). */
  readonly bins?: number;
  readonly seed?: number;
}

/** One node of a tree: a split (`feature`, go left when x <= `threshold`) or a leaf (`value`). */
export interface TreeNode {
  readonly feature: number;
  readonly threshold: number;
  readonly left: number;
  readonly right: number;
  readonly value: number;
}

/** A fitted model: a base value plus the sum of its trees' leaves. */
export interface BoostedTreesJson {
  readonly format: 'nascent-gbdt/1';
  readonly features: number;
  readonly base: number;
  readonly learningRate: number;
  /** Each tree's nodes, the root first; a leaf has feature -1. */
  readonly trees: readonly (readonly TreeNode[])[];
}

const DEFAULTS = {
  trees: 200,
  depth: 4,
  learningRate: 0.05,
  minLeaf: 3,
  subsample: 0.8,
  colsample: 0.8,
  lambda: 1,
  bins: 32,
  seed: 0,
};

/** Upper edges of the bins of one feature: its distinct values, or quantiles of them. */
function binEdges(values: Float64Array, bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const distinct: number[] = [];
  for (const value of sorted) if (distinct.at(-1) !== value) distinct.push(value);
  if (distinct.length <= bins) return distinct;
  const edges: number[] = [];
  for (let b = 1; b <= bins; b++) {
    const edge = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / bins) - 1)];
    if (edge !== undefined && edges.at(-1) !== edge) edges.push(edge);
  }
  if (edges.at(-1) !== distinct.at(-1)) edges.push(distinct.at(-1) as number);
  return edges;
}

function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function checkRows(rows: readonly (readonly number[])[], targets: readonly number[]): number {
  if (rows.length === 0) throw new Error('boosted trees need at least one example');
  if (rows.length !== targets.length)
    throw new Error(`boosted trees: ${rows.length} rows for ${targets.length} targets`);
  const width = (rows[0] as readonly number[]).length;
  for (const [i, row] of rows.entries()) {
    if (row.length !== width)
      throw new Error(`boosted trees: row ${i} has ${row.length} features, row 0 has ${width}`);
    if (!row.every(Number.isFinite)) throw new Error(`boosted trees: row ${i} is not finite`);
  }
  if (!targets.every(Number.isFinite)) throw new Error('boosted trees: a target is not finite');
  return width;
}

/** Fits boosted trees to rows of features and their targets. */
export function fitBoostedTrees(
  rows: readonly (readonly number[])[],
  targets: readonly number[],
  options: BoostingOptions = {},
): BoostedTrees {
  const o = { ...DEFAULTS, ...options };
  const width = checkRows(rows, targets);
  const n = rows.length;
  const random = new Random(o.seed);
  const bins = Math.max(2, Math.min(255, o.bins));
  const edges: number[][] = [];
  const binned: Uint8Array[] = [];
  for (let f = 0; f < width; f++) {
    const column = Float64Array.from(rows, (row) => row[f] as number);
    const e = binEdges(column, bins);
    edges.push(e);
    binned.push(Uint8Array.from(column, (value) => binOf(e, value)));
  }
  const base = targets.reduce((a, b) => a + b, 0) / n;
  const prediction = new Float64Array(n).fill(base);
  const residual = new Float64Array(n);
  const trees: TreeNode[][] = [];
  const rowCount = Math.max(1, Math.min(n, Math.round(o.subsample * n)));
  const featureCount = Math.max(1, Math.min(width, Math.round(o.colsample * width)));
  const splittable = Array.from({ length: width }, (_, f) => (edges[f] as number[]).length > 1);
  for (let t = 0; t < o.trees; t++) {
    for (let i = 0; i < n; i++) residual[i] = (targets[i] as number) - (prediction[i] as number);
    const sample =
      rowCount === n ? Array.from({ length: n }, (_, i) => i) : pick(random, n, rowCount);
    const features = (
      featureCount === width
        ? Array.from({ length: width }, (_, f) => f)
        : pick(random, width, featureCount)
    ).filter((f) => splittable[f]);
    const tree = growTree(sample, features, binned, edges, residual, o.depth, o.minLeaf, o.lambda);
    trees.push(tree);
    for (let i = 0; i < n; i++)
      prediction[i] =
        (prediction[i] as number) + o.learningRate * leafValue(tree, rows[i] as readonly number[]);
  }
  return new BoostedTrees({
    format: 'nascent-gbdt/1',
    features: width,
    base,
    learningRate: o.learningRate,
    trees,
  });
}

/** `count` distinct indices of 0..n-1 (a partial Fisher-Yates shuffle). */
function pick(random: Random, n: number, count: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = random.int(i, n - 1);
    const swap = all[i] as number;
    all[i] = all[j] as number;
    all[j] = swap;
  }
  return all.slice(0, count);
}

interface Grow {
  readonly rows: number[];
  readonly node: number;
}

function growTree(
  sample: readonly number[],
  features: readonly number[],
  binned: readonly Uint8Array[],
  edges: readonly (readonly number[])[],
  residual: Float64Array,
  depth: number,
  minLeaf: number,
  lambda: number,
): TreeNode[] {
  const nodes: {
    feature: number;
    threshold: number;
    left: number;
    right: number;
    value: number;
  }[] = [];
  const leaf = (rows: readonly number[]): number => {
    let sum = 0;
    for (const i of rows) sum += residual[i] as number;
    nodes.push({
      feature: -1,
      threshold: 0,
      left: -1,
      right: -1,
      value: sum / (rows.length + lambda),
    });
    return nodes.length - 1;
  };
  let level: Grow[] = [{ rows: [...sample], node: leaf(sample) }];
  const sums = new Float64Array(256);
  const counts = new Int32Array(256);
  for (let d = 0; d < depth && level.length > 0; d++) {
    const next: Grow[] = [];
    for (const { rows, node } of level) {
      if (rows.length < 2 * minLeaf) continue;
      let total = 0;
      for (const i of rows) total += residual[i] as number;
      const parentScore = (total * total) / (rows.length + lambda);
      let best = { gain: 1e-12, feature: -1, bin: -1 };
      for (const f of features) {
        const column = binned[f] as Uint8Array;
        const binCount = (edges[f] as readonly number[]).length;
        sums.fill(0, 0, binCount);
        counts.fill(0, 0, binCount);
        for (const i of rows) {
          const b = column[i] as number;
          sums[b] = (sums[b] as number) + (residual[i] as number);
          counts[b] = (counts[b] as number) + 1;
        }
        let leftSum = 0;
        let leftCount = 0;
        for (let b = 0; b < binCount - 1; b++) {
          leftSum += sums[b] as number;
          leftCount += counts[b] as number;
          const rightCount = rows.length - leftCount;
          if (leftCount < minLeaf) continue;
          if (rightCount < minLeaf) break;
          const rightSum = total - leftSum;
          const gain =
            (leftSum * leftSum) / (leftCount + lambda) +
            (rightSum * rightSum) / (rightCount + lambda) -
            parentScore;
          if (gain > best.gain) best = { gain, feature: f, bin: b };
        }
      }
      if (best.feature < 0) continue;
      const column = binned[best.feature] as Uint8Array;
      const leftRows = rows.filter((i) => (column[i] as number) <= best.bin);
      const rightRows = rows.filter((i) => (column[i] as number) > best.bin);
      const left = leaf(leftRows);
      const right = leaf(rightRows);
      const split = nodes[node] as (typeof nodes)[number];
      split.feature = best.feature;
      split.threshold = (edges[best.feature] as readonly number[])[best.bin] as number;
      split.left = left;
      split.right = right;
      next.push({ rows: leftRows, node: left }, { rows: rightRows, node: right });
    }
    level = next;
  }
  return nodes;
}

function leafValue(tree: readonly TreeNode[], row: readonly number[]): number {
  let node = tree[0] as TreeNode;
  while (node.feature >= 0) {
    node = tree[
      (row[node.feature] as number) <= node.threshold ? node.left : node.right
    ] as TreeNode;
  }
  return node.value;
}

/** A fitted model. */
export class BoostedTrees {
  constructor(readonly model: BoostedTreesJson) {}

  predictOne(row: readonly number[]): number {
    if (row.length !== this.model.features) {
      throw new Error(`boosted trees: expected ${this.model.features} features, got ${row.length}`);
    }
    let value = this.model.base;
    for (const tree of this.model.trees) value += this.model.learningRate * leafValue(tree, row);
    return value;
  }

  predict(rows: readonly (readonly number[])[]): number[] {
    return rows.map((row) => this.predictOne(row));
  }

  toJSON(): BoostedTreesJson {
    return this.model;
  }

  static fromJSON(json: BoostedTreesJson): BoostedTrees {
    return new BoostedTrees(json);
  }
}
