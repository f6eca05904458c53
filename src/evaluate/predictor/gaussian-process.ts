/**
 * Gaussian-process regression with a squared-exponential kernel on standardised features, for the
 * few-shot predictor. The targets are centred and scaled to unit variance; the length scale and
 * the noise are chosen by the log marginal likelihood over a fixed grid (on at most
 * {@link SELECTION_ROWS} of the examples, so that choosing stays cheap at a few thousand), then the
 * process is conditioned on every example (on an evenly spaced {@link MAX_GP_ROWS} of them when
 * there are more, e.g. a whole 15,625-row table). Pure TypeScript: O(n^3) for n examples, about a second
 * at 1,500 here.
 */

export interface GaussianProcessJson {
  readonly format: 'nascent-gp/1';
  readonly lengthScale: number;
  readonly noise: number;
  readonly targetMean: number;
  readonly targetStd: number;
  readonly featureMean: readonly number[];
  readonly featureStd: readonly number[];
  /** Standardised training rows. */
  readonly rows: readonly (readonly number[])[];
  /** K^-1 y, for the posterior mean. */
  readonly alpha: readonly number[];
}

/** Rows used to choose the length scale and noise by marginal likelihood. */
export const SELECTION_ROWS = 400;
/** Length scales tried, in units of sqrt(features). */
const LENGTH_SCALES = [0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5];
const NOISES = [0.01, 0.05, 0.15, 0.4];

function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += ((a[j] as number) - (b[j] as number)) ** 2;
  return sum;
}

/** Lower Cholesky factor of a symmetric positive-definite matrix (row-major, n x n), in place. */
function cholesky(matrix: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let diagonal = matrix[j * n + j] as number;
    for (let k = 0; k < j; k++) diagonal -= (matrix[j * n + k] as number) ** 2;
    if (!(diagonal > 0)) return false;
    const root = Math.sqrt(diagonal);
    matrix[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let sum = matrix[i * n + j] as number;
      for (let k = 0; k < j; k++)
        sum -= (matrix[i * n + k] as number) * (matrix[j * n + k] as number);
      matrix[i * n + j] = sum / root;
    }
  }
  return true;
}

/** Solves L L^T x = b with the factor of {@link cholesky}. */
function solve(factor: Float64Array, n: number, b: readonly number[]): Float64Array {
  const z = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let sum = z[i] as number;
    for (let k = 0; k < i; k++) sum -= (factor[i * n + k] as number) * (z[k] as number);
    z[i] = sum / (factor[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (factor[k * n + i] as number) * (z[k] as number);
    z[i] = sum / (factor[i * n + i] as number);
  }
  return z;
}

function kernelMatrix(
  distances: Float64Array,
  n: number,
  lengthScale: number,
  noise: number,
): Float64Array {
  const matrix = new Float64Array(n * n);
  const scale = -0.5 / (lengthScale * lengthScale);
  for (let i = 0; i < n * n; i++) matrix[i] = Math.exp(scale * (distances[i] as number));
  for (let i = 0; i < n; i++) matrix[i * n + i] = 1 + noise;
  return matrix;
}

/** Log marginal likelihood of unit-variance targets, or -Infinity when the kernel is singular. */
function logLikelihood(
  distances: Float64Array,
  n: number,
  targets: readonly number[],
  lengthScale: number,
  noise: number,
): number {
  const matrix = kernelMatrix(distances, n, lengthScale, noise);
  if (!cholesky(matrix, n)) return -Infinity;
  const alpha = solve(matrix, n, targets);
  let fit = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    fit += (targets[i] as number) * (alpha[i] as number);
    logDet += Math.log(matrix[i * n + i] as number);
  }
  return -0.5 * fit - logDet;
}

function pairwise(rows: readonly (readonly number[])[]): Float64Array {
  const n = rows.length;
  const distances = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = squaredDistance(rows[i] as readonly number[], rows[j] as readonly number[]);
      distances[i * n + j] = d;
      distances[j * n + i] = d;
    }
  }
  return distances;
}

/** Most examples the process is conditioned on (an evenly spaced subset beyond): O(n^3). */
export const MAX_GP_ROWS = 2000;

function evenlySpaced(n: number, count: number): number[] {
  const step = Math.max(1, n / count);
  const chosen: number[] = [];
  for (let k = 0; Math.floor(k * step) < n && chosen.length < count; k++)
    chosen.push(Math.floor(k * step));
  return chosen;
}

export function fitGaussianProcess(
  allRows: readonly (readonly number[])[],
  allTargets: readonly number[],
): GaussianProcess {
  const kept = evenlySpaced(allRows.length, MAX_GP_ROWS);
  const rows =
    kept.length === allRows.length ? allRows : kept.map((i) => allRows[i] as readonly number[]);
  const targets =
    kept.length === allTargets.length ? allTargets : kept.map((i) => allTargets[i] as number);
  const n = rows.length;
  if (n < 2) throw new Error('a Gaussian process needs at least 2 examples');
  const width = (rows[0] as readonly number[]).length;
  const featureMean = new Array<number>(width).fill(0);
  const featureStd = new Array<number>(width).fill(0);
  for (const row of rows)
    for (let j = 0; j < width; j++)
      featureMean[j] = (featureMean[j] as number) + (row[j] as number) / n;
  for (const row of rows)
    for (let j = 0; j < width; j++)
      featureStd[j] =
        (featureStd[j] as number) + ((row[j] as number) - (featureMean[j] as number)) ** 2 / n;
  for (let j = 0; j < width; j++) {
    const s = Math.sqrt(featureStd[j] as number);
    featureStd[j] = s > 1e-9 ? s : 1;
  }
  const standardised = rows.map((row) =>
    row.map((value, j) => (value - (featureMean[j] as number)) / (featureStd[j] as number)),
  );
  const targetMean = targets.reduce((a, b) => a + b, 0) / n;
  const targetStd = Math.sqrt(targets.reduce((a, b) => a + (b - targetMean) ** 2, 0) / n) || 1;
  const scaled = targets.map((t) => (t - targetMean) / targetStd);
  // Choose the hyperparameters on an evenly spaced subset (deterministic).
  const step = Math.max(1, n / SELECTION_ROWS);
  const chosen: number[] = [];
  for (let k = 0; Math.floor(k * step) < n && chosen.length < SELECTION_ROWS; k++)
    chosen.push(Math.floor(k * step));
  const subset = chosen.map((i) => standardised[i] as number[]);
  const subsetTargets = chosen.map((i) => scaled[i] as number);
  const subsetDistances = pairwise(subset);
  const root = Math.sqrt(width);
  let best = { lengthScale: root, noise: 0.1, score: -Infinity };
  for (const relative of LENGTH_SCALES) {
    for (const noise of NOISES) {
      const score = logLikelihood(
        subsetDistances,
        subset.length,
        subsetTargets,
        relative * root,
        noise,
      );
      if (score > best.score) best = { lengthScale: relative * root, noise, score };
    }
  }
  const distances = pairwise(standardised);
  const matrix = kernelMatrix(distances, n, best.lengthScale, best.noise);
  if (!cholesky(matrix, n)) throw new Error('the Gaussian process kernel matrix is singular');
  const alpha = solve(matrix, n, scaled);
  return new GaussianProcess({
    format: 'nascent-gp/1',
    lengthScale: best.lengthScale,
    noise: best.noise,
    targetMean,
    targetStd,
    featureMean,
    featureStd,
    rows: standardised,
    alpha: Array.from(alpha),
  });
}

export class GaussianProcess {
  constructor(readonly model: GaussianProcessJson) {}

  /** Posterior means. */
  predict(rows: readonly (readonly number[])[]): number[] {
    const { featureMean, featureStd, lengthScale, alpha, targetMean, targetStd } = this.model;
    const scale = -0.5 / (lengthScale * lengthScale);
    return rows.map((row) => {
      if (row.length !== featureMean.length) {
        throw new Error(
          `Gaussian process: expected ${featureMean.length} features, got ${row.length}`,
        );
      }
      const x = row.map(
        (value, j) => (value - (featureMean[j] as number)) / (featureStd[j] as number),
      );
      let mean = 0;
      this.model.rows.forEach((train, i) => {
        mean += (alpha[i] as number) * Math.exp(scale * squaredDistance(x, train));
      });
      return targetMean + targetStd * mean;
    });
  }

  toJSON(): GaussianProcessJson {
    return this.model;
  }
}
