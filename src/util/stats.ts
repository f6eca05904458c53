/**
 * Small statistics: the median, rank correlations (Spearman, Kendall tau-b) and R^2.
 */

/** The median of the values, or `undefined` for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** 1-based ranks; tied values share the mean of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length).fill(0);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]?.value === order[start]?.value) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[(order[k] as { index: number }).index] = rank;
    start = end + 1;
  }
  return ranks;
}

/**
 * Pearson's correlation of paired values. `undefined` for fewer than 2 pairs or when either side
 * is constant.
 */
export function pearson(xs: readonly number[], ys: readonly number[]): number | undefined {
  if (xs.length !== ys.length) {
    throw new Error(`pearson needs paired values (got ${xs.length} and ${ys.length})`);
  }
  const n = xs.length;
  if (n < 2) return undefined;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - meanX;
    const dy = (ys[i] as number) - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return undefined;
  return covariance / Math.sqrt(varianceX * varianceY);
}

/**
 * Spearman's rank correlation of paired values (the Pearson correlation of their average
 * ranks, so ties are handled exactly). `undefined` for fewer than 3 pairs or when either side
 * is constant.
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number | undefined {
  if (xs.length !== ys.length) {
    throw new Error(`spearman needs paired values (got ${xs.length} and ${ys.length})`);
  }
  if (xs.length < 3) return undefined;
  return pearson(averageRanks(xs), averageRanks(ys));
}

/**
 * Kendall's tau-b of paired values (ties on either side corrected for), by counting concordant
 * and discordant pairs: O(n^2), which is fine for the few thousand points Nascent compares.
 * `undefined` for fewer than 3 pairs or when either side is constant.
 */
export function kendall(xs: readonly number[], ys: readonly number[]): number | undefined {
  if (xs.length !== ys.length) {
    throw new Error(`kendall needs paired values (got ${xs.length} and ${ys.length})`);
  }
  const n = xs.length;
  if (n < 3) return undefined;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign((xs[i] as number) - (xs[j] as number));
      const dy = Math.sign((ys[i] as number) - (ys[j] as number));
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX += 1;
      else if (dy === 0) tiesY += 1;
      else if (dx === dy) concordant += 1;
      else discordant += 1;
    }
  }
  const denominator = Math.sqrt(
    (concordant + discordant + tiesX) * (concordant + discordant + tiesY),
  );
  return denominator === 0 ? undefined : (concordant - discordant) / denominator;
}

/**
 * The coefficient of determination of predictions against true values: 1 - SS_res / SS_tot.
 * Negative when the predictions are worse than the mean. `undefined` when the truth is constant.
 */
export function rSquared(
  truth: readonly number[],
  predicted: readonly number[],
): number | undefined {
  if (truth.length !== predicted.length) {
    throw new Error(`rSquared needs paired values (got ${truth.length} and ${predicted.length})`);
  }
  if (truth.length === 0) return undefined;
  const mean = truth.reduce((a, b) => a + b, 0) / truth.length;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    residual += ((truth[i] as number) - (predicted[i] as number)) ** 2;
    total += ((truth[i] as number) - mean) ** 2;
  }
  return total === 0 ? undefined : 1 - residual / total;
}

/** exp(x_i) / sum_j exp(x_j), computed stably (the largest value subtracted first). */
export function softmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const exps = values.map((value) => Math.exp(value - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}
