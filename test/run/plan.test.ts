/** The run plan: a configuration resolved once; stored JSON decoded in one place. */
import { describe, expect, it } from 'vitest';
import { PROTOCOLS } from '../../src/evaluate/protocols.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { resolveRunPlan } from '../../src/run/plan.js';
import { StoredRecordError, decodeLoopState, decodeRunConfig } from '../../src/run/stored.js';

const base = { generations: 1, dataDir: '/nowhere' };

describe('run plan', () => {
  it('resolves the protocol, the evaluation settings and the pre-training checks once', () => {
    const config = loadSearchConfig(undefined, {
      ...base,
      protocol: 'standard',
      epochs: 3,
      pool: 2,
      threads: 5,
      set: [
        'constraints=[{metric: params, op: "<=", value: 1000}, {metric: accuracy, op: ">=", value: 0.5}]',
        'evaluation.maxMemory=2GiB',
      ],
    });
    const plan = resolveRunPlan(config, { defaultMemoryLimitBytes: () => 7 });
    expect(plan.protocol).toEqual(PROTOCOLS.standard);
    expect(plan.evaluation).toMatchObject({ protocol: PROTOCOLS.standard, epochs: 3, threads: 5 });
    expect(plan.pool).toEqual({ size: 2, threads: 5 });
    // Only what is known before training is checked before training; the limit as configured.
    expect(plan.pruners.preTrainingConstraints).toEqual([
      { metric: 'params', op: '<=', value: 1000 },
    ]);
    expect(plan.pruners.memoryLimitBytes).toBe(2 * 2 ** 30);
    expect(plan.target).toEqual({ input: { channels: 1, height: 28, width: 28 }, classes: 10 });
    expect(plan.strategy.options).toMatchObject({ seed: 0, populationSize: 10 });
  });

  it('trains express candidates under the express protocol and checks no memory for a queue', () => {
    const express = resolveRunPlan(loadSearchConfig(undefined, { ...base, evaluator: 'express' }), {
      defaultMemoryLimitBytes: () => 123,
    });
    expect(express.protocol.name).toBe('express');
    expect(express.evaluation.epochs).toBe(PROTOCOLS.express.training.epochs);
    expect(express.pruners.memoryLimitBytes).toBe(123);
    const queued = resolveRunPlan(
      loadSearchConfig(undefined, { ...base, queue: 'redis://127.0.0.1:1' }),
      { defaultMemoryLimitBytes: () => 123 },
    );
    expect(queued.pruners.memoryLimitBytes).toBeNull();
    const table = resolveRunPlan(
      loadSearchConfig(undefined, { ...base, evaluator: 'table:results.csv' }),
      { defaultMemoryLimitBytes: () => 123 },
    );
    expect(table.evaluator).toEqual({ kind: 'table', file: 'results.csv' });
    expect(table.pruners.memoryLimitBytes).toBeNull();
  });

  it('decodes stored configurations and loop states, naming the run and the field', () => {
    const config = loadSearchConfig(undefined, base);
    expect(decodeRunConfig({ id: 'run-1', config }).budget).toEqual({ generations: 1 });
    expect(() =>
      decodeRunConfig({ id: 'run-1', config: { ...config, budget: { generations: 0 } } }),
    ).toThrow(
      /run run-1's stored configuration is not valid for this Nascent: budget\.generations/,
    );
    expect(() => decodeRunConfig({ id: 'run-1', config: 'text' })).toThrow(StoredRecordError);
    expect(
      decodeLoopState({
        runId: 'run-1',
        seq: 3,
        state: { strategy: {}, generation: 2, asked: [] },
      }),
    ).toEqual({ strategy: {}, generation: 2, asked: [] });
    expect(() =>
      decodeLoopState({
        runId: 'run-1',
        seq: 3,
        state: { strategy: {}, generation: -1, asked: [] },
      }),
    ).toThrow(/run run-1's saved search state #3 cannot be read: generation/);
  });
});
