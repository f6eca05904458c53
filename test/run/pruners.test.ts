import { describe, expect, it } from 'vitest';
import { TensorData } from '../../src/engine/engine.js';
import { type EvaluationSettings, evaluateCandidate } from '../../src/evaluate/evaluator.js';
import type { PreparedData } from '../../src/evaluate/prepared-data.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import { TrainingSession } from '../../src/evaluate/training-session.js';
import {
  assignBrackets,
  hyperbandBrackets,
  planRungs,
  plannedEpochs,
  promote,
  rungEpochs,
  runHyperband,
  runSuccessiveHalving,
} from '../../src/run/pruners/index.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { syntheticImages } from '../helpers.js';

describe('rung schedules', () => {
  it('rungs grow by eta up to the full fidelity', () => {
    expect(rungEpochs({ minEpochs: 1, eta: 3, maxEpochs: 9 })).toEqual([1, 3, 9]);
    expect(rungEpochs({ minEpochs: 2, eta: 2, maxEpochs: 10 })).toEqual([2, 4, 8, 10]);
    expect(rungEpochs({ minEpochs: 5, eta: 2, maxEpochs: 3 })).toEqual([3]);
    expect(() => rungEpochs({ minEpochs: 1, eta: 1, maxEpochs: 3 })).toThrow(/eta/);
  });

  it('successive halving keeps floor(n / eta), at least 1, and counts continued epochs', () => {
    const plan = planRungs(9, { minEpochs: 1, eta: 3, maxEpochs: 9 });
    expect(plan).toEqual([
      { epochs: 1, count: 9 },
      { epochs: 3, count: 3 },
      { epochs: 9, count: 1 },
    ]);
    // 9 x 1 + 3 x (3 - 1) + 1 x (9 - 3), not 9 + 3 x 3 + 9 (restarts)
    expect(plannedEpochs(plan)).toBe(9 + 6 + 6);
    expect(planRungs(2, { minEpochs: 1, eta: 3, maxEpochs: 9 }).map((r) => r.count)).toEqual([
      2, 1, 1,
    ]);
  });

  it('Hyperband brackets and their shares of a batch', () => {
    const brackets = hyperbandBrackets({ minEpochs: 1, eta: 3, maxEpochs: 9 });
    expect(brackets).toEqual([
      { s: 2, minEpochs: 1, weight: 9 },
      { s: 1, minEpochs: 3, weight: 5 },
      { s: 0, minEpochs: 9, weight: 3 },
    ]);
    const counts = assignBrackets(10, brackets);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(counts).toEqual([5, 3, 2]);
    expect(assignBrackets(10, brackets)).toEqual(counts);
  });

  it('promotes by non-dominated rank, then crowding, then batch order; only ok results', () => {
    const objectives = [
      { metric: 'accuracy', direction: 'maximize' },
      { metric: 'params', direction: 'minimize' },
    ] as const;
    const results = [
      { id: 'a', status: 'ok', metrics: { accuracy: 0.5, params: 100 } },
      { id: 'b', status: 'ok', metrics: { accuracy: 0.9, params: 900 } },
      { id: 'c', status: 'ok', metrics: { accuracy: 0.4, params: 200 } }, // dominated by a
      { id: 'd', status: 'ok', metrics: { accuracy: 0.7, params: 500 } },
      { id: 'e', status: 'failed', metrics: { accuracy: 0.99, params: 1 } },
    ] as const;
    // front 0: a, b (extremes: infinite crowding), d (middle); then c
    expect(promote(results, objectives, [], 2)).toEqual(['a', 'b']);
    expect(promote(results, objectives, [], 3)).toEqual(['a', 'b', 'd']);
    expect(promote(results, objectives, [], 5)).toEqual(['a', 'b', 'd', 'c']);
    // one objective: its order; ties by batch order
    const single = [{ metric: 'accuracy', direction: 'maximize' }] as const;
    const tied = [
      { id: 'x', status: 'ok', metrics: { accuracy: 0.5 } },
      { id: 'y', status: 'ok', metrics: { accuracy: 0.5 } },
      { id: 'z', status: 'ok', metrics: { accuracy: 0.6 } },
    ] as const;
    expect(promote(tied, single, [], 2)).toEqual(['z', 'x']);
    // a constraint: infeasible results come after feasible ones
    expect(promote(results, single, [{ metric: 'params', op: '<=', value: 600 }], 1)).toEqual([
      'd',
    ]);
  });
});

describe('successive halving and Hyperband with training sessions', () => {
  const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
  const genomes = [
    'NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;',
    'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
    'NC 6 5 tanh;RC 6 3 relu;RC 6 3 relu;FL relu;',
    'NC 8 3 relu;RC 4 3 relu;RC 8 3 relu;FL relu;',
  ];
  const candidates = genomes.map((genome, i) => ({
    id: `c${i}`,
    architecture: genomeToArchitecture(genome, small),
  }));
  const data: PreparedData = {
    dataset: 'synthetic',
    input: small.input,
    classes: ['a', 'b', 'c', 'd'],
    train: TensorData.fromImages(syntheticImages(64, { seed: 1 })),
    validation: TensorData.fromImages(syntheticImages(32, { seed: 2 })),
    test: TensorData.fromImages(syntheticImages(32, { seed: 3 })),
    release: () => undefined,
  };
  const protocol = getProtocol('course');
  const settings: EvaluationSettings = {
    // no early stopping here, so every candidate reaches its rung
    protocol: {
      ...protocol,
      training: { ...protocol.training, batchSize: 16, patience: -1, restoreBest: false },
    },
    epochs: 4,
    seed: 3,
    device: 'cpu',
  };
  const objectives = [{ metric: 'accuracy', direction: 'maximize' }] as const;

  it('continues promoted candidates: epochs trained equal the rung schedule', async () => {
    let trainedEpochs = 0;
    const start = (candidate: (typeof candidates)[number]) =>
      TrainingSession.start(candidate.architecture, data, settings, {
        onEpoch: () => {
          trainedEpochs += 1;
        },
      });
    const options = { minEpochs: 1, eta: 2, maxEpochs: 4, objectives, constraints: [] };
    const outcomes = await runSuccessiveHalving(candidates, start, options);
    const plan = planRungs(candidates.length, options);
    expect(plan.map((r) => [r.epochs, r.count])).toEqual([
      [1, 4],
      [2, 2],
      [4, 1],
    ]);
    expect(trainedEpochs).toBe(plannedEpochs(plan)); // 4 + 2 + 2 = 8, not 4 + 4 + 4
    expect(outcomes.map((o) => o.result.fidelity).reduce((a, b) => a + b, 0)).toBe(8);
    const completed = outcomes.filter((o) => o.decision === 'completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.rungEpochs).toBe(4);
    expect(
      outcomes
        .filter((o) => o.decision === 'not-promoted')
        .map((o) => o.rungEpochs)
        .sort(),
    ).toEqual([1, 1, 2]);
    // the winner's records are those of one uninterrupted 4-epoch training
    const winner = candidates.find((c) => c.id === completed[0]?.id);
    if (!winner) throw new Error('no winner');
    const straight = await evaluateCandidate(winner.architecture, data, settings);
    const timeless = (records: readonly { seconds: number }[]) =>
      records.map((r) => ({ ...r, seconds: 0 }));
    expect(timeless(completed[0]?.result.epochs ?? [])).toEqual(timeless(straight.epochs));
    // the same inputs promote the same candidates
    const again = await runSuccessiveHalving(candidates, start, options);
    expect(again.map((o) => [o.id, o.decision, o.rungEpochs])).toEqual(
      outcomes.map((o) => [o.id, o.decision, o.rungEpochs]),
    );
  });

  it('Hyperband: each bracket continues its candidates from its own first rung', async () => {
    let trainedEpochs = 0;
    const start = (candidate: (typeof candidates)[number]) =>
      TrainingSession.start(candidate.architecture, data, settings, {
        onEpoch: () => {
          trainedEpochs += 1;
        },
      });
    const options = { minEpochs: 1, eta: 2, maxEpochs: 4, objectives, constraints: [] };
    const brackets = hyperbandBrackets(options);
    const counts = assignBrackets(candidates.length, brackets);
    const expected = brackets.reduce(
      (sum, bracket, i) =>
        sum +
        plannedEpochs(planRungs(counts[i] ?? 0, { ...options, minEpochs: bracket.minEpochs })),
      0,
    );
    const outcomes = await runHyperband(candidates, start, options);
    expect(outcomes).toHaveLength(candidates.length);
    expect(trainedEpochs).toBe(expected);
  });
});
