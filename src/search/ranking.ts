/**
 * A total order for single-objective strategies (genetic algorithm, regularized evolution,
 * (mu+lambda) with one objective).
 *
 * Candidates compare by, in turn:
 * 1. status: `ok` before `killed` before `failed` (killed candidates still rank among
 *    themselves by their low-fidelity metrics, as everything below applies within a status);
 * 2. feasibility: with constraints, feasible candidates first, then infeasible ones by
 *    increasing total normalised violation (see `constraintViolation`);
 * 3. the first objective, then each further objective as a tie-break.
 *
 * "Validation accuracy >= 0.75, then minimise parameters" is objectives
 * `[{ metric: 'params', direction: 'minimize' }]` with constraints
 * `[{ metric: 'accuracy', op: '>=', value: 0.75 }]`. Missing metrics rank worst.
 */
import { constraintViolation, objectiveCost, statusTier, type Scored } from './pareto.js';
import type { Constraint, Objective } from './strategy.js';

/** What the ranking compares, precomputed for one candidate. */
export interface RankingKey {
  readonly tier: number;
  readonly violation: number;
  readonly costs: readonly number[];
}

export function rankingKey(
  item: Scored,
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): RankingKey {
  return {
    tier: statusTier(item.status),
    violation: constraintViolation(item.metrics, constraints),
    costs: objectives.map((objective) => objectiveCost(item.metrics, objective)),
  };
}

function order(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when `a` ranks better than `b`, positive when worse, 0 when tied. */
export function compareKeys(a: RankingKey, b: RankingKey): number {
  const byTier = order(a.tier, b.tier);
  if (byTier !== 0) return byTier;
  const byViolation = order(a.violation, b.violation);
  if (byViolation !== 0) return byViolation;
  for (let k = 0; k < a.costs.length; k++) {
    const byCost = order(a.costs[k] ?? Infinity, b.costs[k] ?? Infinity);
    if (byCost !== 0) return byCost;
  }
  return 0;
}

/** Negative when `a` ranks better than `b`, positive when worse, 0 when tied. */
export function compareRanking(
  a: Scored,
  b: Scored,
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): number {
  return compareKeys(
    rankingKey(a, objectives, constraints),
    rankingKey(b, objectives, constraints),
  );
}

/** A sorted copy, best first; ties keep their input order. */
export function sortByRanking<T extends Scored>(
  items: readonly T[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): T[] {
  const keyed = items.map((item, index) => ({
    item,
    index,
    key: rankingKey(item, objectives, constraints),
  }));
  keyed.sort((x, y) => compareKeys(x.key, y.key) || x.index - y.index);
  return keyed.map((entry) => entry.item);
}

/** The best item (the first of the best on ties), or `undefined` for no items. */
export function bestByRanking<T extends Scored>(
  items: readonly T[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[] = [],
): T | undefined {
  let best: T | undefined;
  let bestKey: RankingKey | undefined;
  for (const item of items) {
    const key = rankingKey(item, objectives, constraints);
    if (bestKey === undefined || compareKeys(key, bestKey) < 0) {
      best = item;
      bestKey = key;
    }
  }
  return best;
}
