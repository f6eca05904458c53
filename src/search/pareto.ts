/**
 * Multi-objective ranking: Pareto dominance with Deb's constraint handling, fast non-dominated
 * sorting and crowding distance (Deb et al. 2002, NSGA-II). Pure functions over anything that
 * carries metrics (and optionally an evaluation status), so they work on `Evaluated` candidates
 * and on hand-made points alike.
 *
 * Conventions shared with `ranking.ts`:
 * - Status comes first: `ok` candidates beat `killed` ones, which beat `failed` ones (a point
 *   without a status counts as `ok`). Within a status, metrics decide.
 * - A missing metric, or one that is not a finite number, is the worst possible value: for an
 *   objective it loses to every measured value; for a constraint it is an infinite violation.
 * - Constraint violation is normalised per constraint by `|value|` (or by 1 when the value is 0)
 *   and summed, so `accuracy >= 0.75` and `params <= 1e6` weigh alike.
 */
import type { Constraint, EvaluationStatus, Objective } from './strategy.js';

/** Anything that can be ranked: its metrics and, optionally, how its evaluation ended. */
export interface Scored {
  readonly status?: EvaluationStatus;
  readonly metrics: Readonly<Record<string, number>>;
}

/** 0 for `ok` (or no status), 1 for `killed`, 2 for `failed`: lower is better. */
export function statusTier(status: EvaluationStatus | undefined): number {
  if (status === 'killed') return 1;
  if (status === 'failed') return 2;
  return 0;
}

/** The metric's value if it is a finite number, else `undefined` (missing). */
export function metricValue(
  metrics: Readonly<Record<string, number>>,
  name: string,
): number | undefined {
  const value = Object.prototype.hasOwnProperty.call(metrics, name) ? metrics[name] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The objective as a cost to minimise: the value for `minimize`, its negation for `maximize`,
 * `Infinity` when the metric is missing.
 */
export function objectiveCost(
  metrics: Readonly<Record<string, number>>,
  objective: Objective,
): number {
  const value = metricValue(metrics, objective.metric);
  if (value === undefined) return Infinity;
  return objective.direction === 'maximize' ? -value : value;
}

/**
 * Total normalised violation of the constraints: 0 when all hold, `Infinity` when a constrained
 * metric is missing. Each broken constraint adds `|value - bound| / scale` with scale `|bound|`
 * (1 for a bound of 0).
 */
export function constraintViolation(
  metrics: Readonly<Record<string, number>>,
  constraints: readonly Constraint[],
): number {
  let total = 0;
  for (const constraint of constraints) {
    const value = metricValue(metrics, constraint.metric);
    if (value === undefined) return Infinity;
    const excess = constraint.op === '>=' ? constraint.value - value : value - constraint.value;
    if (excess > 0) {
      const scale = Math.abs(constraint.value) > 0 ? Math.abs(constraint.value) : 1;
      total += excess / scale;
    }
  }
  return total;
}

/** A point reduced to what dominance looks at. */
interface Prepared {
  readonly tier: number;
  readonly violation: number;
  readonly costs: readonly number[];
}

function prepare(
  item: Scored,
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
): Prepared {
  return {
    tier: statusTier(item.status),
    violation: constraintViolation(item.metrics, constraints),
    costs: objectives.map((objective) => objectiveCost(item.metrics, objective)),
  };
}

function dominatesPrepared(a: Prepared, b: Prepared): boolean {
  if (a.tier !== b.tier) return a.tier < b.tier;
  const aFeasible = a.violation === 0;
  const bFeasible = b.violation === 0;
  if (aFeasible !== bFeasible) return aFeasible;
  if (!aFeasible) return a.violation < b.violation;
  let strictlyBetter = false;
  for (let k = 0; k < a.costs.length; k++) {
    const ca = a.costs[k] ?? Infinity;
    const cb = b.costs[k] ?? Infinity;
    if (ca > cb) return false;
    if (ca < cb) strictlyBetter = true;
  }
  return strictlyBetter;
}

/**
 * Whether `a` dominates `b`. Without constraints this is Pareto dominance: `a` is no worse in
 * every objective and better in at least one. With constraints it is Deb's constrained
 * dominance: a feasible point dominates an infeasible one; of two infeasible points the one with
 * the smaller total normalised violation dominates; two feasible points compare by Pareto
 * dominance. Status (ok, killed, failed) is compared before anything else.
 */
export function dominates(
  a: Scored,
  b: Scored,
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): boolean {
  return dominatesPrepared(
    prepare(a, objectives, constraints),
    prepare(b, objectives, constraints),
  );
}

/**
 * Fast non-dominated sort (Deb et al. 2002): the items' indices split into fronts, best first.
 * Front 0 holds the points no other point dominates; front k those dominated only by points in
 * earlier fronts. Each front lists its indices in increasing order.
 */
export function nonDominatedSort(
  items: readonly Scored[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): number[][] {
  const n = items.length;
  const prepared = items.map((item) => prepare(item, objectives, constraints));
  const dominatedBy: number[] = new Array<number>(n).fill(0);
  const dominatesList: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const pi = prepared[i] as Prepared;
    for (let j = i + 1; j < n; j++) {
      const pj = prepared[j] as Prepared;
      if (dominatesPrepared(pi, pj)) {
        (dominatesList[i] as number[]).push(j);
        dominatedBy[j] = (dominatedBy[j] ?? 0) + 1;
      } else if (dominatesPrepared(pj, pi)) {
        (dominatesList[j] as number[]).push(i);
        dominatedBy[i] = (dominatedBy[i] ?? 0) + 1;
      }
    }
  }
  const fronts: number[][] = [];
  let current: number[] = [];
  for (let i = 0; i < n; i++) if (dominatedBy[i] === 0) current.push(i);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominatesList[i] ?? []) {
        const left = (dominatedBy[j] ?? 0) - 1;
        dominatedBy[j] = left;
        if (left === 0) next.push(j);
      }
    }
    next.sort((x, y) => x - y);
    current = next;
  }
  return fronts;
}

/**
 * Crowding distance of each point of one front, in the front's order (Deb et al. 2002): per
 * objective, the two extreme points get `Infinity` and every other point adds the normalised
 * distance between its two neighbours. Objectives whose measured values do not spread add
 * nothing; missing values sort last and add nothing to their neighbours.
 */
export function crowdingDistance(
  front: readonly Scored[],
  objectives: readonly Objective[],
): number[] {
  const n = front.length;
  const distance: number[] = new Array<number>(n).fill(0);
  if (n <= 2) return distance.fill(Infinity);
  for (const objective of objectives) {
    const costs = front.map((item) => objectiveCost(item.metrics, objective));
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (x, y) => (costs[x] as number) - (costs[y] as number) || x - y,
    );
    distance[order[0] as number] = Infinity;
    distance[order[n - 1] as number] = Infinity;
    const finite = costs.filter((c) => Number.isFinite(c));
    if (finite.length < 2) continue;
    const range = Math.max(...finite) - Math.min(...finite);
    if (!(range > 0)) continue;
    for (let k = 1; k < n - 1; k++) {
      const i = order[k] as number;
      const gap =
        (costs[order[k + 1] as number] as number) - (costs[order[k - 1] as number] as number);
      if (Number.isFinite(gap)) distance[i] = (distance[i] as number) + gap / range;
    }
  }
  return distance;
}

/** Each item's front index (0 = non-dominated) and crowding distance within its front. */
export function rankAndCrowding(
  items: readonly Scored[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): { rank: number[]; crowding: number[] } {
  const rank: number[] = new Array<number>(items.length).fill(0);
  const crowding: number[] = new Array<number>(items.length).fill(0);
  nonDominatedSort(items, objectives, constraints).forEach((front, f) => {
    const distances = crowdingDistance(
      front.map((i) => items[i] as Scored),
      objectives,
    );
    front.forEach((i, k) => {
      rank[i] = f;
      crowding[i] = distances[k] ?? 0;
    });
  });
  return { rank, crowding };
}

/**
 * NSGA-II environmental selection: indices of `count` items taken front by front; the front that
 * does not fit whole is cut by decreasing crowding distance (ties by index). Returns the
 * selected indices in selection order.
 */
export function environmentalSelection(
  items: readonly Scored[],
  count: number,
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): number[] {
  const selected: number[] = [];
  for (const front of nonDominatedSort(items, objectives, constraints)) {
    if (selected.length >= count) break;
    if (selected.length + front.length <= count) {
      selected.push(...front);
      continue;
    }
    const distances = crowdingDistance(
      front.map((i) => items[i] as Scored),
      objectives,
    );
    const order = front
      .map((index, k) => ({ index, distance: distances[k] ?? 0 }))
      .sort((x, y) =>
        x.distance === y.distance ? x.index - y.index : x.distance > y.distance ? -1 : 1,
      );
    for (const { index } of order.slice(0, count - selected.length)) selected.push(index);
  }
  return selected;
}

/**
 * The items of the first front, in their original order: with constraints, the feasible
 * non-dominated points when any point is feasible (else the least-violating ones).
 */
export function paretoFront<T extends Scored>(
  items: readonly T[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): T[] {
  const fronts = nonDominatedSort(items, objectives, constraints);
  return (fronts[0] ?? []).map((i) => items[i] as T);
}
