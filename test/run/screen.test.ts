/**
 * Pre-screening in a search: each generation's candidates are scored without training (a proxy
 * vote, or a trained predictor) and only the best are trained; the rest are stored as screened
 * out, and a resume never screens or trains them again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { predictorTrainCommand } from '../../src/cli/predictor.js';
import { AccuracyPredictor } from '../../src/evaluate/predictor.js';
import { PredictorScreenedSpace } from '../../src/run/screened-space.js';
import type { Genome } from '../../src/space/genome.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { Random } from '../../src/util/random.js';
import { ConfigError, loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(600, 100);
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'nascent-screen-'));

function config(store: string, overrides: Record<string, unknown> = {}) {
  return loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 400,
    testSubset: 100,
    strategy: 'random',
    population: 6,
    epochs: 1,
    generations: 2,
    protocol: 'standard',
    screenKeep: 2,
    ...overrides,
  });
}

describe('pre-screening', () => {
  it('trains only the best of each generation by proxy vote and stores the rest as screened out', async () => {
    const store = join(tempDir(), 'runs.db');
    const { runId } = await runSearch({ config: config(store) });
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(runId);
      expect(evaluations).toHaveLength(12);
      for (const generation of [0, 1]) {
        const own = evaluations.filter((e) => e.generation === generation);
        const trained = own.filter((e) => e.metrics.screened_out === undefined);
        const screened = own.filter((e) => e.metrics.screened_out === 1);
        expect(trained).toHaveLength(2);
        expect(screened).toHaveLength(4);
        expect(trained.every((e) => e.status === 'ok' && e.epochs.length === 1)).toBe(true);
        expect(screened.every((e) => e.status === 'killed' && e.fidelity === 0)).toBe(true);
        expect(screened[0]?.error).toMatch(/^screened out: proxy_vote \d\.\d{4} ranks [3-6] of 6/);
        // The kept ones out-voted every screened-out one, and all carry their proxy scores.
        const worstKept = Math.min(...trained.map((e) => e.metrics.proxy_vote as number));
        expect(screened.every((e) => (e.metrics.proxy_vote as number) <= worstKept)).toBe(true);
        for (const e of own) {
          expect(e.metrics.proxy_synflow).toBeGreaterThan(0);
          expect(e.metrics.params).toBeGreaterThan(0);
        }
      }
    } finally {
      runs.close();
    }
    // An evaluation budget counts trained candidates only: 3 trainings = 2 + 1.
    const budgeted = await runSearch({
      config: config(join(tempDir(), 'runs.db'), { generations: undefined, evaluations: 3 }),
    });
    expect(budgeted.reason).toBe('3 evaluations done');
  });

  it('resumes a generation stopped after screening without screening or training anything twice', async () => {
    const store = join(tempDir(), 'runs.db');
    const stopped = await runSearch({
      config: config(store, { generations: undefined, evaluations: 1 }),
    });
    expect(stopped.reason).toBe('1 evaluations done');
    const resumed = await runSearch({
      config: config(store, { generations: 1 }),
      resume: stopped.runId,
    });
    expect(resumed.reason).toBe('1 generation done');
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(stopped.runId);
      expect(evaluations).toHaveLength(6);
      expect(new Set(evaluations.map((e) => e.candidateId)).size).toBe(6);
      expect(evaluations.filter((e) => e.metrics.screened_out === 1)).toHaveLength(4);
    } finally {
      runs.close();
    }
  });

  it('screens with a predictor trained on an earlier run', async () => {
    const dir = tempDir();
    const store = join(dir, 'runs.db');
    const first = await runSearch({
      config: config(store, { name: 'teacher', population: 6, screenKeep: 6 }),
    });
    const out = join(dir, 'predictor');
    const message = await predictorTrainCommand({
      run: first.runId,
      store,
      kind: 'mlp',
      seed: 0,
      epochs: 30,
      out,
    });
    expect(message).toMatch(/trained a mlp predictor on \d+ architectures/);
    const screened = await runSearch({
      config: config(store, { name: 'student', screenPredictor: out, generations: 1, seed: 3 }),
    });
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(screened.runId);
      const kept = evaluations.filter((e) => e.metrics.screened_out === undefined);
      const dropped = evaluations.filter((e) => e.metrics.screened_out === 1);
      expect(kept).toHaveLength(2);
      expect(dropped).toHaveLength(4);
      const predicted = (e: (typeof evaluations)[number]) => e.metrics.predicted_accuracy as number;
      expect(Math.min(...kept.map(predicted))).toBeGreaterThanOrEqual(
        Math.max(...dropped.map(predicted)),
      );
      expect(dropped[0]?.error).toMatch(/^screened out: predicted_accuracy/);
    } finally {
      runs.close();
    }
  });

  it('searches on proxy scores alone with the proxies evaluator, training nothing', async () => {
    const store = join(tempDir(), 'runs.db');
    const proxyConfig = loadSearchConfig(
      undefined,
      {
        store,
        dataDir,
        subset: 400,
        testSubset: 100,
        strategy: 'ga',
        population: 4,
        generations: 2,
        evaluator: 'proxies',
      },
      { objectives: [{ metric: 'proxy_synflow', direction: 'maximize' }] },
    );
    const { runId } = await runSearch({ config: proxyConfig });
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(runId);
      expect(evaluations.length).toBeGreaterThanOrEqual(7);
      for (const e of evaluations) {
        expect(e.fidelity).toBe(0);
        expect(e.epochs).toEqual([]);
        expect(e.metrics.accuracy).toBeUndefined();
        for (const name of ['synflow', 'grad_norm', 'snip', 'jacob_cov', 'ntk_cond'])
          expect(Number.isFinite(e.metrics[`proxy_${name}`]), name).toBe(true);
        expect(e.objectives.proxy_synflow).toBe(e.metrics.proxy_synflow);
      }
    } finally {
      runs.close();
    }
  });

  it('screens inside the strategy: each operator keeps the predictor favourite of several tries', async () => {
    const dir = tempDir();
    const store = join(dir, 'runs.db');
    const first = await runSearch({
      config: config(store, { name: 'teacher', screenKeep: 6 }),
    });
    const out = join(dir, 'predictor');
    await predictorTrainCommand({ run: first.runId, store, kind: 'mlp', seed: 0, epochs: 30, out });
    const predictor = AccuracyPredictor.load(out);
    const space = new GenomeSpace();
    const screened = new PredictorScreenedSpace(space, predictor, 4);
    const target = { input: { channels: 1, height: 28, width: 28 }, classes: 4 };
    const predict = (genome: Genome): number =>
      predictor.predict([{ architecture: space.compile(genome, target) }])[0] as number;
    // The same random stream gives the plain space's four tries; the screened space keeps the best.
    const parent = space.sample(new Random(1), target);
    const tries = (() => {
      const random = new Random(2);
      return Array.from({ length: 4 }, () => space.mutate(parent, random, target));
    })();
    const chosen = screened.mutate(parent, new Random(2), target);
    expect(space.format(chosen)).toBe(
      space.format(tries.reduce((a, b) => (predict(b) > predict(a) ? b : a))),
    );
    expect(() => new PredictorScreenedSpace(space, predictor, 1)).toThrow(/at least 2/);

    const run = await runSearch({
      config: config(store, {
        name: 'operators',
        screenKeep: undefined,
        screenOperators: out,
        strategy: 'ga',
        population: 4,
      }),
    });
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(run.runId);
      expect(evaluations.length).toBeGreaterThanOrEqual(7);
      expect(evaluations.every((e) => e.metrics.screened_out === undefined)).toBe(true);
      expect(evaluations.every((e) => e.status !== 'killed')).toBe(true);
    } finally {
      runs.close();
    }
  });

  it('screens with a predictor it refits on the run itself once it has enough trained candidates', async () => {
    const store = join(tempDir(), 'runs.db');
    const base = config(store, { generations: 3 });
    const { runId } = await runSearch({
      config: {
        ...base,
        evaluation: {
          ...base.evaluation,
          screen: {
            by: 'online',
            keep: 2,
            minExamples: 6,
            refitGrowth: 0.1,
            proxies: [],
            batchSize: 64,
          },
        },
      },
    });
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(runId);
      expect(evaluations).toHaveLength(18);
      // Generation 0: no predictor yet, all six trained.
      const first = evaluations.filter((e) => e.generation === 0);
      expect(first.every((e) => e.status === 'ok' && e.metrics.screened_out === undefined)).toBe(
        true,
      );
      // Then the predictor, fitted on the run's own results, keeps 2 of 6 per generation.
      for (const generation of [1, 2]) {
        const own = evaluations.filter((e) => e.generation === generation);
        const screened = own.filter((e) => e.metrics.screened_out === 1);
        expect(screened).toHaveLength(4);
        const kept = own.filter((e) => e.metrics.screened_out === undefined);
        const worstKept = Math.min(...kept.map((e) => e.metrics.predicted_accuracy as number));
        expect(screened.every((e) => (e.metrics.predicted_accuracy as number) <= worstKept)).toBe(
          true,
        );
      }
      const refits = runs.events(runId).filter((e) => e.kind === 'predictor');
      expect(refits.map((e) => e.message)).toEqual([
        'online predictor refitted on 6 trained candidates',
        'online predictor refitted on 8 trained candidates',
      ]);
    } finally {
      runs.close();
    }
  });

  it('refits the online predictor only once the trained candidates have grown by refitGrowth', async () => {
    const store = join(tempDir(), 'runs.db');
    const base = config(store, { generations: 4 });
    const { runId } = await runSearch({
      config: {
        ...base,
        evaluation: {
          ...base.evaluation,
          screen: {
            by: 'online',
            keep: 2,
            minExamples: 6,
            refitGrowth: 0.5,
            proxies: [],
            batchSize: 64,
          },
        },
      },
    });
    const runs = RunStore.open(store);
    try {
      // 6 trained, then 2 a generation: 8 is under 6 x 1.5, 10 is not.
      expect(runs.evaluations(runId).filter((e) => e.status === 'ok')).toHaveLength(12);
      const refits = runs.events(runId).filter((e) => e.kind === 'predictor');
      expect(refits.map((e) => e.message)).toEqual([
        'online predictor refitted on 6 trained candidates',
        'online predictor refitted on 10 trained candidates',
      ]);
    } finally {
      runs.close();
    }
  });

  it('refuses a screen without a keep count, or by predictor without one', () => {
    expect(() =>
      loadSearchConfig(undefined, { evaluations: 2, screenPredictor: undefined }),
    ).not.toThrow();
    const withoutKeep = (): unknown =>
      loadSearchConfig(undefined, { evaluations: 2, screenPredictor: 'runs/p' });
    expect(withoutKeep).toThrow(ConfigError);
    expect(withoutKeep).toThrow(/evaluation\.screen\.keep/);
  });
});
