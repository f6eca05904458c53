import { describe, expect, it } from 'vitest';
import {
  constraintViolation,
  crowdingDistance,
  dominates,
  environmentalSelection,
  nonDominatedSort,
  paretoFront,
  rankAndCrowding,
  type Scored,
} from '../../src/search/pareto.js';
import type { Constraint, Objective } from '../../src/search/strategy.js';

const ACC_PARAMS: Objective[] = [
  { metric: 'accuracy', direction: 'maximize' },
  { metric: 'params', direction: 'minimize' },
];

const pt = (accuracy: number, params: number, extra: Partial<Scored> = {}): Scored => ({
  metrics: { accuracy, params },
  ...extra,
});

describe('dominates', () => {
  it('is Pareto dominance with per-objective directions', () => {
    expect(dominates(pt(0.9, 10), pt(0.8, 20), ACC_PARAMS)).toBe(true);
    expect(dominates(pt(0.9, 10), pt(0.9, 20), ACC_PARAMS)).toBe(true);
    expect(dominates(pt(0.8, 20), pt(0.9, 10), ACC_PARAMS)).toBe(false);
    // a trade-off: neither dominates
    expect(dominates(pt(0.9, 20), pt(0.8, 10), ACC_PARAMS)).toBe(false);
    expect(dominates(pt(0.8, 10), pt(0.9, 20), ACC_PARAMS)).toBe(false);
  });

  it('does not let equal points dominate each other', () => {
    expect(dominates(pt(0.9, 10), pt(0.9, 10), ACC_PARAMS)).toBe(false);
  });

  it('ranks a missing or non-finite metric worst', () => {
    const missing: Scored = { metrics: { params: 10 } };
    expect(dominates(pt(0.1, 10), missing, ACC_PARAMS)).toBe(true);
    expect(dominates(missing, pt(0.1, 10), ACC_PARAMS)).toBe(false);
    const nan = pt(Number.NaN, 10);
    expect(dominates(pt(0, 10), nan, ACC_PARAMS)).toBe(true);
  });

  it('puts ok before killed before failed', () => {
    const killedGood = pt(0.99, 1, { status: 'killed' });
    const okBad = pt(0.1, 100, { status: 'ok' });
    const failed: Scored = { status: 'failed', metrics: {} };
    expect(dominates(okBad, killedGood, ACC_PARAMS)).toBe(true);
    expect(dominates(killedGood, failed, ACC_PARAMS)).toBe(true);
    expect(dominates(failed, okBad, ACC_PARAMS)).toBe(false);
    // killed candidates still compare by their metrics among themselves
    expect(dominates(killedGood, pt(0.5, 5, { status: 'killed' }), ACC_PARAMS)).toBe(true);
  });

  it("applies Deb's constrained dominance", () => {
    const constraints: Constraint[] = [{ metric: 'accuracy', op: '>=', value: 0.75 }];
    const feasibleBig = pt(0.8, 1000);
    const infeasibleSmall = pt(0.7, 1);
    const infeasibleWorse = pt(0.5, 1);
    // feasible beats infeasible even when infeasible is better on every objective but accuracy
    expect(dominates(feasibleBig, infeasibleSmall, ACC_PARAMS, constraints)).toBe(true);
    expect(dominates(infeasibleSmall, feasibleBig, ACC_PARAMS, constraints)).toBe(false);
    // two infeasible: smaller violation wins, whatever the objectives say
    expect(dominates(infeasibleSmall, infeasibleWorse, ACC_PARAMS, constraints)).toBe(true);
    expect(dominates(pt(0.7, 500), pt(0.6, 1), ACC_PARAMS, constraints)).toBe(true);
    // two feasible: Pareto
    expect(dominates(pt(0.8, 10), pt(0.9, 20), ACC_PARAMS, constraints)).toBe(false);
    expect(dominates(pt(0.9, 10), pt(0.8, 20), ACC_PARAMS, constraints)).toBe(true);
  });
});

describe('constraintViolation', () => {
  it('is 0 when all constraints hold and sums normalised violations otherwise', () => {
    const constraints: Constraint[] = [
      { metric: 'accuracy', op: '>=', value: 0.8 },
      { metric: 'params', op: '<=', value: 1000 },
    ];
    expect(constraintViolation({ accuracy: 0.8, params: 1000 }, constraints)).toBe(0);
    expect(constraintViolation({ accuracy: 0.6, params: 1000 }, constraints)).toBeCloseTo(0.25);
    expect(constraintViolation({ accuracy: 0.9, params: 1500 }, constraints)).toBeCloseTo(0.5);
    expect(constraintViolation({ accuracy: 0.6, params: 1500 }, constraints)).toBeCloseTo(0.75);
  });

  it('scales by 1 for a zero bound and is infinite for a missing metric', () => {
    expect(constraintViolation({ loss: 0.5 }, [{ metric: 'loss', op: '<=', value: 0 }])).toBe(0.5);
    expect(constraintViolation({}, [{ metric: 'loss', op: '<=', value: 1 }])).toBe(Infinity);
  });
});

describe('nonDominatedSort', () => {
  it('finds a known set of fronts', () => {
    const items = [
      pt(0.9, 50), // 0: front 0
      pt(0.8, 10), // 1: front 0
      pt(0.85, 60), // 2: front 1 (dominated by 0)
      pt(0.7, 5), // 3: front 0
      pt(0.65, 25), // 4: front 2 (dominated by 1 and 5)
      pt(0.75, 20), // 5: front 1 (dominated by 1)
      pt(0.7, 30), // 6: front 2 (dominated by 5)
    ];
    expect(nonDominatedSort(items, ACC_PARAMS)).toEqual([
      [0, 1, 3],
      [2, 5],
      [4, 6],
    ]);
  });

  it('keeps ties in the same front', () => {
    const items = [pt(0.9, 10), pt(0.9, 10), pt(0.8, 20)];
    expect(nonDominatedSort(items, ACC_PARAMS)).toEqual([[0, 1], [2]]);
  });

  it('puts infeasible points after feasible ones, ordered by violation', () => {
    const constraints: Constraint[] = [{ metric: 'accuracy', op: '>=', value: 0.75 }];
    const items = [
      pt(0.5, 1), // violation 1/3
      pt(0.8, 100), // feasible
      pt(0.7, 1), // violation 1/15
      pt(0.9, 50), // feasible, dominates 1
      pt(0.7, 2), // violation 1/15, same as 2
    ];
    expect(nonDominatedSort(items, ACC_PARAMS, constraints)).toEqual([[3], [1], [2, 4], [0]]);
    expect(paretoFront(items, ACC_PARAMS, constraints)).toEqual([items[3]]);
  });

  it('ranks failed candidates in the last front', () => {
    const items: Scored[] = [{ status: 'failed', metrics: {} }, pt(0.1, 100), pt(0.9, 1)];
    expect(nonDominatedSort(items, ACC_PARAMS)).toEqual([[2], [1], [0]]);
  });

  it('handles no items', () => {
    expect(nonDominatedSort([], ACC_PARAMS)).toEqual([]);
    expect(paretoFront([], ACC_PARAMS)).toEqual([]);
  });
});

describe('crowdingDistance', () => {
  it('gives the extremes infinity and the others the normalised neighbour gap', () => {
    const front = [pt(0.5, 5), pt(0.9, 9), pt(0.1, 1), pt(0.6, 6)];
    const d = crowdingDistance(front, ACC_PARAMS);
    expect(d[1]).toBe(Infinity);
    expect(d[2]).toBe(Infinity);
    // point 0: accuracy neighbours 0.1 and 0.6 over range 0.8; params neighbours 1 and 6 over 8
    expect(d[0]).toBeCloseTo(0.5 / 0.8 + 5 / 8);
    // point 3: neighbours 0.5 and 0.9; 5 and 9
    expect(d[3]).toBeCloseTo(0.4 / 0.8 + 4 / 8);
  });

  it('is infinite for fronts of one or two points and adds nothing for a flat objective', () => {
    expect(crowdingDistance([pt(0.5, 5)], ACC_PARAMS)).toEqual([Infinity]);
    expect(crowdingDistance([pt(0.5, 5), pt(0.6, 4)], ACC_PARAMS)).toEqual([Infinity, Infinity]);
    const flat = crowdingDistance([pt(0.5, 1), pt(0.5, 2), pt(0.5, 3)], ACC_PARAMS);
    expect(flat[1]).toBeCloseTo(1);
  });
});

describe('environmentalSelection and rankAndCrowding', () => {
  it('fills by fronts and cuts the last one by crowding distance', () => {
    const items = [
      pt(1.0, 10), // front 0
      pt(0.5, 5), // front 0
      pt(0.0, 0), // front 0
      pt(0.9, 10), // front 1 (dominated by 0)
      pt(0.5, 6), // front 1: middle of front 1, smallest crowding
      pt(0.4, 6), // front 2
      pt(0.0, 1), // front 1: extreme
    ];
    const { rank } = rankAndCrowding(items, ACC_PARAMS);
    expect(rank).toEqual([0, 0, 0, 1, 1, 2, 1]);
    const chosen = environmentalSelection(items, 5, ACC_PARAMS);
    expect(chosen.slice(0, 3)).toEqual([0, 1, 2]);
    expect(new Set(chosen.slice(3))).toEqual(new Set([3, 6]));
  });
});
