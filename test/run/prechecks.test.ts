/**
 * Pre-training checks in a search: a constraint known before training (params) and the
 * training-memory estimate refuse a candidate before it trains; it is recorded as failed, with
 * the reason, and the search goes on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CandidateEvaluator,
  type EvaluationRequest,
  untrainedResult,
} from '../../src/evaluate/evaluator.js';
import { estimateTrainingMemory } from '../../src/evaluate/memory.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import type { Architecture } from '../../src/space/ir.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(300, 60);
const tempStore = (): string => join(mkdtempSync(join(tmpdir(), 'nascent-precheck-')), 'runs.db');

function config(store: string, overrides: Record<string, unknown> = {}) {
  return loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 200,
    strategy: 'random',
    population: 6,
    epochs: 1,
    generations: 2,
    protocol: 'standard',
    ...overrides,
  });
}

/** An evaluator that trains nothing and remembers every candidate it was asked for. */
function recordingEvaluator(): CandidateEvaluator & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    description: 'records requests',
    concurrency: 1,
    evaluate(request: EvaluationRequest) {
      asked.push(request.candidateId);
      return Promise.resolve(
        untrainedResult({ accuracy: 0.5, params: 1 }, new Date().toISOString()),
      );
    },
    close: () => Promise.resolve(),
  };
}

function readRun(path: string, runId: string) {
  const store = RunStore.open(path);
  try {
    return {
      run: store.getRun(runId),
      candidates: store.candidates(runId),
      evaluations: store.evaluations(runId),
    };
  } finally {
    store.close();
  }
}

describe('pre-training checks', () => {
  it('refuses a candidate over a params constraint before any training, and goes on', async () => {
    const path = tempStore();
    // First the same proposals without a constraint: the parameter counts to set a limit between.
    const probe = await runSearch({ config: config(path), evaluator: recordingEvaluator() });
    const params = readRun(path, probe.runId)
      .candidates.map((c) => c.params as number)
      .sort((a, b) => a - b);
    const limit = params[Math.floor(params.length / 2)] as number;
    expect(params.at(-1)).toBeGreaterThan(limit);

    const constrainedPath = tempStore();
    const evaluator = recordingEvaluator();
    const { runId, reason } = await runSearch({
      config: config(constrainedPath, {
        set: [`constraints=[{metric: params, op: "<=", value: ${limit}}]`],
      }),
      evaluator,
    });
    // The search went on to the end of its budget.
    expect(reason).toBe('2 generations done');
    const { run, candidates, evaluations } = readRun(constrainedPath, runId);
    expect(run.status).toBe('finished');
    const over = candidates.filter((c) => (c.params as number) > limit);
    const within = candidates.filter((c) => (c.params as number) <= limit);
    expect(over.length).toBeGreaterThan(0);
    expect(within.length).toBeGreaterThan(0);
    for (const candidate of over) {
      const evaluation = evaluations.find((e) => e.candidateId === candidate.id);
      expect(evaluation?.status).toBe('failed');
      expect(evaluation?.fidelity).toBe(0);
      expect(evaluation?.epochs).toEqual([]);
      expect(evaluation?.error).toMatch(
        new RegExp(
          `^infeasible before training: params [\\d,]+ > limit ${limit.toLocaleString('en-US')}`,
        ),
      );
      expect(evaluation?.metrics.params).toBe(candidate.params);
    }
    // The evaluator (the engine behind it) was never asked for a refused candidate, and was for
    // every other one.
    expect(evaluator.asked.filter((id) => over.some((c) => c.id === id))).toEqual([]);
    expect(new Set(evaluator.asked)).toEqual(new Set(within.map((c) => c.id)));
  });

  it('records a candidate whose memory estimate is over the limit as failed, and trains the rest', async () => {
    const probePath = tempStore();
    const probe = await runSearch({
      config: config(probePath, { generations: 1 }),
      evaluator: recordingEvaluator(),
    });
    const training = getProtocol('standard').training;
    const estimates = readRun(probePath, probe.runId)
      .candidates.map(
        (c) =>
          estimateTrainingMemory(c.architecture as Architecture, {
            batchSize: training.batchSize,
            optimizer: training.optimizer,
            momentum: training.momentum,
          }).bytes,
      )
      .sort((a, b) => a - b);
    const limit = estimates[Math.floor(estimates.length / 2)] as number;
    expect(estimates.at(-1)).toBeGreaterThan(limit);

    const path = tempStore();
    const { runId, reason } = await runSearch({
      config: config(path, { set: [`evaluation.maxMemory=${limit}`] }),
    });
    expect(reason).toBe('2 generations done');
    const { run, evaluations } = readRun(path, runId);
    expect(run.status).toBe('finished');
    const refused = evaluations.filter((e) => e.metrics.infeasible === 1);
    const trained = evaluations.filter((e) => e.metrics.infeasible === undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(trained.length).toBeGreaterThan(0);
    for (const evaluation of refused) {
      expect(evaluation.status).toBe('failed');
      expect(evaluation.fidelity).toBe(0);
      expect(evaluation.error).toMatch(/over the memory limit of/);
      expect(evaluation.metrics.memory_estimate_bytes).toBeGreaterThan(limit);
    }
    // The others trained (the search went on past the refusals, into the second generation).
    expect(trained.every((e) => e.status === 'ok' && e.fidelity === 1)).toBe(true);
    expect(trained.every((e) => (e.metrics.memory_estimate_bytes ?? Infinity) <= limit)).toBe(true);
    expect(evaluations.some((e) => e.generation === 1)).toBe(true);
  });
});
