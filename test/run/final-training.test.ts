import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareCommand, parseSeeds, trainBestCommand } from '../../src/cli/final.js';
import { Network } from '../../src/engine/engine.js';
import { baselineArchitecture } from '../../src/evaluate/baselines.js';
import { readModelFile } from '../../src/export/model-file.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { selectCandidates } from '../../src/run/final-training.js';
import { runSearch } from '../../src/run/runner.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const cifar = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };

describe('baselines', () => {
  it('ResNet-18 for small images has the published 11,173,962 parameters, as libtorch counts', () => {
    const arch = baselineArchitecture('resnet18', cifar);
    expect(analyzeArchitecture(arch).params).toBe(11_173_962);
    expect(Network.build(arch).parameterCount()).toBe(11_173_962);
  });

  it('builds every baseline for one-channel 28x28 images with exact counts', () => {
    const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
    for (const name of ['resnet18', 'plain-cnn', 'mobilenet-v2-narrow']) {
      const arch = baselineArchitecture(name, target);
      const summary = analyzeArchitecture(arch);
      expect(summary.outputShape).toEqual({ kind: 'flat', features: 10 });
      expect(Network.build(arch).parameterCount()).toBe(summary.params);
    }
    expect(() => baselineArchitecture('vgg', target)).toThrow(
      'unknown baseline "vgg"; known baselines: resnet18, plain-cnn, mobilenet-v2-narrow',
    );
  });
});

describe('train-best and compare', () => {
  it('stacks the searched cells in a larger macro network when given other space options', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nascent-final-')), 'runs.db');
    const config = loadSearchConfig(undefined, {
      store: path,
      // 100 images: fewer than the proxies' pool of 256, which then uses them all.
      dataDir: fakeFashionMnist(100, 20),
      space: 'cells',
      evaluator: 'proxies',
      strategy: 'random',
      population: 2,
      generations: 1,
      protocol: 'standard',
    });
    const { runId } = await runSearch({
      config: { ...config, space: { ...config.space, options: { channels: 4, cellsPerStage: 1 } } },
    });
    const store = RunStore.open(path);
    try {
      const [searched] = selectCandidates(store, runId, { top: 1 });
      const [stacked] = selectCandidates(store, runId, {
        top: 1,
        spaceOptions: { channels: 8, cellsPerStage: 3 },
      });
      expect(stacked?.genome).toBe(searched?.genome);
      expect(stacked?.name).toBe(`${searched?.name ?? ''}-channels8-cellsPerStage3`);
      const cells = (entry: typeof searched): number =>
        new Set(
          (entry?.architecture.nodes ?? [])
            .map((node) => /^s(\d)c(\d)_/.exec(node.id)?.slice(1, 3).join(''))
            .filter((id) => id !== undefined),
        ).size;
      expect(cells(searched)).toBe(3); // one cell per stage
      expect(cells(stacked)).toBe(9); // three per stage
      expect(analyzeArchitecture(stacked?.architecture as never).params).toBeGreaterThan(
        analyzeArchitecture(searched?.architecture as never).params,
      );
    } finally {
      store.close();
    }
  });

  it('re-trains the best candidates with each seed and records them; baselines train alongside', async () => {
    const dataDir = fakeFashionMnist(300, 80);
    const path = join(mkdtempSync(join(tmpdir(), 'nascent-final-')), 'runs.db');
    const config = loadSearchConfig(undefined, {
      store: path,
      dataDir,
      subset: 200,
      strategy: 'random',
      population: 3,
      epochs: 1,
      generations: 1,
      protocol: 'standard',
    });
    const { runId } = await runSearch({ config });
    const before = RunStore.open(path);
    const chosen = selectCandidates(before, runId, { top: 2 });
    before.close();
    expect(chosen.length).toBe(2);

    const summary = await trainBestCommand({
      run: runId,
      store: path,
      top: 2,
      epochs: 1,
      seeds: [1, 2],
      progress: false,
    });
    for (const entry of chosen) expect(summary).toContain(entry.name);
    const store = RunStore.open(path);
    const records = store.finalTrainings(runId);
    store.close();
    expect(records.map((r) => [r.name, r.seed])).toEqual([
      [chosen[0]?.name, 1],
      [chosen[0]?.name, 2],
      [chosen[1]?.name, 1],
      [chosen[1]?.name, 2],
    ]);
    for (const record of records) {
      expect(record.status).toBe('ok');
      expect(record.role).toBe('candidate');
      expect(record.metrics.test_accuracy).toBeGreaterThanOrEqual(0);
      expect(record.metrics.test_accuracy).toBeLessThanOrEqual(1);
      expect(record.epochs).toHaveLength(1);
      expect(record.settings).toMatchObject({ protocol: 'standard', epochs: 1 });
      // The trained model is kept as a model file that loads with the same architecture.
      const model = readModelFile(record.modelPath as string);
      expect(model.architecture).toEqual(record.architecture);
      expect(model.testAccuracy).toBeCloseTo(record.metrics.test_accuracy as number, 6);
    }
    // Different seeds give different trainings of the same network.
    expect(records[0]?.metrics.test_loss).not.toBe(records[1]?.metrics.test_loss);

    const comparison = await compareCommand({
      run: runId,
      store: path,
      epochs: 1,
      seeds: [1],
      baselines: ['plain-cnn'],
      progress: false,
    });
    expect(comparison).toContain('plain-cnn (baseline)');
    expect(comparison).toContain(chosen[0]?.name);
    const after = RunStore.open(path);
    const baseline = after.finalTrainings(runId).find((r) => r.role === 'baseline');
    after.close();
    expect(baseline?.candidateId).toBeNull();
    const fashion = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
    expect(baseline?.metrics.params).toBe(
      analyzeArchitecture(baselineArchitecture('plain-cnn', fashion)).params,
    );

    // --candidates compares a chosen candidate (say the best from scratch) instead of the top 1.
    const second = chosen[1]?.name as string;
    const chosenComparison = await compareCommand({
      run: runId,
      store: path,
      epochs: 1,
      seeds: [3],
      candidates: [second.slice(second.lastIndexOf('-') + 1)],
      baselines: [],
      progress: false,
    });
    expect(chosenComparison).toContain(second);
    expect(chosenComparison).not.toContain(chosen[0]?.name);
    const last = RunStore.open(path);
    const seedThree = last.finalTrainings(runId).filter((r) => r.seed === 3);
    last.close();
    expect(seedThree.map((r) => r.name)).toEqual([second]);
  });

  it('reads seeds from the command line', () => {
    expect(parseSeeds('1,2,3')).toEqual([1, 2, 3]);
    expect(() => parseSeeds('1,x')).toThrow('--seeds takes whole numbers');
  });
});
