import { describe, expect, it } from 'vitest';
import { bestByRanking, compareRanking, sortByRanking } from '../../src/search/ranking.js';
import type { Constraint, EvaluationStatus, Objective } from '../../src/search/strategy.js';

interface Point {
  readonly name: string;
  readonly status?: EvaluationStatus;
  readonly metrics: Record<string, number>;
}

const names = (items: readonly Point[]): string[] => items.map((p) => p.name);

describe('ranking', () => {
  const maxAccuracy: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];

  it('orders by the first objective in its direction', () => {
    const items: Point[] = [
      { name: 'b', metrics: { accuracy: 0.8 } },
      { name: 'a', metrics: { accuracy: 0.9 } },
      { name: 'c', metrics: { accuracy: 0.7 } },
    ];
    expect(names(sortByRanking(items, maxAccuracy))).toEqual(['a', 'b', 'c']);
    const minParams: Objective[] = [{ metric: 'params', direction: 'minimize' }];
    expect(
      names(
        sortByRanking(
          [
            { name: 'big', metrics: { params: 100 } },
            { name: 'small', metrics: { params: 10 } },
          ],
          minParams,
        ),
      ),
    ).toEqual(['small', 'big']);
  });

  it('says "accuracy >= 0.75, then minimise params"', () => {
    const objectives: Objective[] = [{ metric: 'params', direction: 'minimize' }];
    const constraints: Constraint[] = [{ metric: 'accuracy', op: '>=', value: 0.75 }];
    const items: Point[] = [
      { name: 'tiny-bad', metrics: { accuracy: 0.5, params: 1 } },
      { name: 'big-good', metrics: { accuracy: 0.9, params: 1000 } },
      { name: 'small-ok', metrics: { accuracy: 0.76, params: 100 } },
      { name: 'tiny-almost', metrics: { accuracy: 0.74, params: 2 } },
    ];
    expect(names(sortByRanking(items, objectives, constraints))).toEqual([
      'small-ok',
      'big-good',
      'tiny-almost',
      'tiny-bad',
    ]);
    expect(bestByRanking(items, objectives, constraints)?.name).toBe('small-ok');
  });

  it('ranks failed and killed candidates below ok ones, killed ones by their metrics', () => {
    const items: Point[] = [
      { name: 'failed', status: 'failed', metrics: {} },
      { name: 'killed-high', status: 'killed', metrics: { accuracy: 0.95 } },
      { name: 'ok-low', status: 'ok', metrics: { accuracy: 0.2 } },
      { name: 'killed-low', status: 'killed', metrics: { accuracy: 0.3 } },
      { name: 'ok-high', status: 'ok', metrics: { accuracy: 0.6 } },
    ];
    expect(names(sortByRanking(items, maxAccuracy))).toEqual([
      'ok-high',
      'ok-low',
      'killed-high',
      'killed-low',
      'failed',
    ]);
  });

  it('ranks missing metrics worst and breaks ties with later objectives, then input order', () => {
    const objectives: Objective[] = [
      { metric: 'accuracy', direction: 'maximize' },
      { metric: 'params', direction: 'minimize' },
    ];
    const items: Point[] = [
      { name: 'missing', metrics: { params: 1 } },
      { name: 'tie-big', metrics: { accuracy: 0.8, params: 50 } },
      { name: 'tie-small', metrics: { accuracy: 0.8, params: 10 } },
      { name: 'same-as-small', metrics: { accuracy: 0.8, params: 10 } },
      { name: 'nan', metrics: { accuracy: Number.NaN, params: 1 } },
    ];
    expect(names(sortByRanking(items, objectives))).toEqual([
      'tie-small',
      'same-as-small',
      'tie-big',
      'missing',
      'nan',
    ]);
    expect(compareRanking(items[2] as Point, items[3] as Point, objectives)).toBe(0);
    expect(compareRanking(items[1] as Point, items[2] as Point, objectives)).toBeGreaterThan(0);
  });

  it('orders infeasible candidates by violation', () => {
    const constraints: Constraint[] = [{ metric: 'accuracy', op: '>=', value: 0.75 }];
    const items: Point[] = [
      { name: 'far', metrics: { accuracy: 0.1 } },
      { name: 'near', metrics: { accuracy: 0.7 } },
      { name: 'unmeasured', metrics: {} },
    ];
    expect(names(sortByRanking(items, maxAccuracy, constraints))).toEqual([
      'near',
      'far',
      'unmeasured',
    ]);
    expect(bestByRanking([], maxAccuracy)).toBeUndefined();
  });
});
