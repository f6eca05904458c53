/**
 * Pure scheduling for successive halving and Hyperband over one generation's batch of
 * candidates: the rung schedule, Hyperband's brackets, and promotion (non-dominated rank, then
 * crowding distance, then the batch order, so the same results always promote the same ids).
 */
import { rankAndCrowding } from '../../search/pareto.js';
import type { Constraint, EvaluationStatus, Objective } from '../../search/strategy.js';

export interface RungSettings {
  /** Epochs of the first rung. */
  readonly minEpochs: number;
  /** Each rung keeps the best 1/eta and trains them eta times as long. */
  readonly eta: number;
  /** Epochs of the last rung: the run's full fidelity. */
  readonly maxEpochs: number;
}

function check(settings: RungSettings): void {
  const { minEpochs, eta, maxEpochs } = settings;
  if (!Number.isInteger(minEpochs) || minEpochs < 1)
    throw new Error(`pruner minEpochs must be a whole number, at least 1 (got ${minEpochs})`);
  if (!Number.isInteger(eta) || eta < 2)
    throw new Error(`pruner eta must be a whole number, at least 2 (got ${eta})`);
  if (!Number.isInteger(maxEpochs) || maxEpochs < 1)
    throw new Error(`pruner maxEpochs must be a whole number, at least 1 (got ${maxEpochs})`);
}

/**
 * The epochs of each rung: minEpochs, minEpochs * eta, minEpochs * eta^2, ... below maxEpochs,
 * then maxEpochs itself. minEpochs 1, eta 3, maxEpochs 9: [1, 3, 9]; minEpochs 2, eta 2,
 * maxEpochs 10: [2, 4, 8, 10]. A minEpochs at or above maxEpochs gives the one rung [maxEpochs].
 */
export function rungEpochs(settings: RungSettings): number[] {
  check(settings);
  const rungs: number[] = [];
  for (let epochs = settings.minEpochs; epochs < settings.maxEpochs; epochs *= settings.eta) {
    rungs.push(epochs);
  }
  rungs.push(settings.maxEpochs);
  return rungs;
}

/** One rung of a plan: train `count` candidates to `epochs`. */
export interface Rung {
  readonly epochs: number;
  readonly count: number;
}

/**
 * Successive halving of `candidates`: every candidate to the first rung, then the best
 * floor(n / eta) (at least 1) of each rung to the next. The last rung's epochs are maxEpochs.
 */
export function planRungs(candidates: number, settings: RungSettings): Rung[] {
  const epochs = rungEpochs(settings);
  const plan: Rung[] = [];
  let count = candidates;
  for (const [i, rung] of epochs.entries()) {
    if (count <= 0) break;
    plan.push({ epochs: rung, count });
    if (i < epochs.length - 1) count = Math.max(1, Math.floor(count / settings.eta));
  }
  return plan;
}

/** Epochs trained in all by a plan whose promoted candidates continue (never restart). */
export function plannedEpochs(plan: readonly Rung[]): number {
  let total = 0;
  let before = 0;
  for (const [i, rung] of plan.entries()) {
    const next = plan[i + 1]?.count ?? 0;
    // every candidate of this rung trains from the previous rung's epochs to this one's
    total += rung.count * (rung.epochs - before);
    before = rung.epochs;
    if (next === 0) break;
  }
  return total;
}

/** A Hyperband bracket: successive halving starting at `minEpochs`, over `share` of the batch. */
export interface Bracket {
  /** s in Li et al.: the bracket with s = s_max starts at the smallest rung. */
  readonly s: number;
  readonly minEpochs: number;
  /** Hyperband's n for the bracket: its share of candidates relative to the others. */
  readonly weight: number;
}

/**
 * Hyperband's brackets (Li et al. 2018) for a rung schedule: s_max = floor(log_eta(max/min));
 * bracket s starts at maxEpochs / eta^s (at least minEpochs) with weight
 * ceil((s_max + 1) / (s + 1) * eta^s). Most aggressive bracket first.
 */
export function hyperbandBrackets(settings: RungSettings): Bracket[] {
  check(settings);
  const { minEpochs, eta, maxEpochs } = settings;
  const sMax = Math.max(0, rungEpochs(settings).length - 1);
  const brackets: Bracket[] = [];
  for (let s = sMax; s >= 0; s -= 1) {
    brackets.push({
      s,
      minEpochs: Math.max(minEpochs, Math.floor(maxEpochs / eta ** s)),
      weight: Math.ceil(((sMax + 1) / (s + 1)) * eta ** s),
    });
  }
  return brackets;
}

/**
 * Splits a batch of `candidates` over brackets in proportion to their weights (largest
 * remainder, ties to the earlier bracket): how many of the batch, in batch order, each takes.
 */
export function assignBrackets(candidates: number, brackets: readonly Bracket[]): number[] {
  const total = brackets.reduce((sum, b) => sum + b.weight, 0);
  const exact = brackets.map((b) => (candidates * b.weight) / total);
  const counts = exact.map(Math.floor);
  let left = candidates - counts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, i) => ({ i, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    counts[i] = (counts[i] as number) + 1;
    left -= 1;
  }
  return counts;
}

/** A candidate's standing at a rung. */
export interface RungResult {
  readonly id: string;
  readonly status: EvaluationStatus;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * The ids of the `count` results to promote: only `ok` ones, by non-dominated rank (with Deb's
 * constraint handling), then larger crowding distance, then batch order. With one objective the
 * rank is the objective's order.
 */
export function promote(
  results: readonly RungResult[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
  count: number,
): string[] {
  const ok = results.filter((r) => r.status === 'ok');
  const { rank, crowding } = rankAndCrowding(ok, objectives, constraints);
  return ok
    .map((result, i) => ({ id: result.id, i, rank: rank[i] ?? 0, crowding: crowding[i] ?? 0 }))
    .sort((a, b) => a.rank - b.rank || b.crowding - a.crowding || a.i - b.i)
    .slice(0, Math.max(0, count))
    .map((entry) => entry.id);
}
