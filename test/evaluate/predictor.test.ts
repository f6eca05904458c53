/**
 * The accuracy predictor: both models learn a known function of the architecture from examples,
 * answer held-out architectures, and answer the same after a save and a load.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AccuracyPredictor,
  LAYER_FEATURES,
  layerVectors,
  networkFeatures,
  NETWORK_FEATURE_NAMES,
  type PredictorExample,
  predictionQuality,
} from '../../src/evaluate/predictor.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { type Architecture, analyzeArchitecture } from '../../src/space/ir.js';
import { conv } from '../helpers.js';
import { Random } from '../../src/util/random.js';
import { kendall, pearson, rSquared, spearman } from '../../src/util/stats.js';

const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

/** Sampled genomes with a made-up "accuracy" that grows with size and dislikes sigmoid. */
function examples(count: number, seed: number): PredictorExample[] {
  const space = new GenomeSpace();
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const genome = space.sample(random, target);
    const architecture = space.compile(genome, target);
    const params = analyzeArchitecture(architecture).params;
    const sigmoids = architecture.nodes.filter(
      (n) => n.op === 'activation' && n.fn === 'sigmoid',
    ).length;
    return {
      architecture,
      accuracy: 0.5 + 0.08 * Math.log10(params) - 0.05 * sigmoids,
      proxies: { synflow: params * 10, naswot: null },
    };
  });
}

describe('accuracy predictor', () => {
  const train = examples(160, 1);
  const heldOut = examples(60, 2);
  const truth = heldOut.map((e) => e.accuracy);

  it('encodes every IR node as one fixed-length vector, and whole networks as named features', () => {
    const arch = train[0]?.architecture;
    if (!arch) throw new Error('no example');
    const vectors = layerVectors(arch);
    expect(vectors).toHaveLength(arch.nodes.length - 1);
    expect(vectors.every((v) => v.length === LAYER_FEATURES)).toBe(true);
    expect(networkFeatures(arch)).toHaveLength(NETWORK_FEATURE_NAMES.length);
  });

  it('computes the network features a hand count gives', () => {
    const arch: Architecture = {
      format: 'nascent-ir/1',
      input: { channels: 1, height: 8, width: 8 },
      nodes: [
        { id: 'input', op: 'input', inputs: [] },
        conv('c1', 'input', 4, 3),
        { id: 'a1', op: 'activation', inputs: ['c1'], fn: 'sigmoid' },
        { id: 'pool', op: 'maxpool2d', inputs: ['a1'], kernel: 2, stride: 2, padding: 'valid' },
        { id: 'flat', op: 'flatten', inputs: ['pool'] },
        { id: 'fc', op: 'dense', inputs: ['flat'], units: 5, bias: true },
        { id: 'a2', op: 'activation', inputs: ['fc'], fn: 'tanh' },
        { id: 'logits', op: 'dense', inputs: ['a2'], units: 3, bias: true },
      ],
      output: 'logits',
    };
    const named = Object.fromEntries(
      NETWORK_FEATURE_NAMES.map((name, i) => [name, networkFeatures(arch)[i]]),
    );
    // conv 1*4*9 + 4 = 40 weights; dense 64*5 + 5 and 5*3 + 3 = 343; values per image
    // 64 + 256 + 256 + 64 + 64 + 5 + 5 + 3 = 717; the first dense layer is layer 5 of 8.
    expect(named.log10_conv_params).toBeCloseTo(Math.log10(41), 12);
    expect(named.log10_dense_params).toBeCloseTo(Math.log10(344), 12);
    expect(named.log10_activation_values).toBeCloseTo(Math.log10(718), 12);
    expect(named.log2_flatten_features).toBeCloseTo(Math.log2(65), 12);
    expect(named.layers_before_dense).toBe(5);
    expect(named.first_activation_sigmoid).toBe(1);
    expect(named.first_activation_tanh).toBe(0);
    expect(named.last_activation_tanh).toBe(1);
    expect(named.last_activation_relu_like).toBe(0);
  });

  it.each(['lstm', 'mlp'] as const)(
    '%s: learns the function well enough to rank held-out architectures',
    async (kind) => {
      const predictor = await AccuracyPredictor.train(train, { kind, seed: 1, epochs: 80 });
      const predicted = predictor.predict(heldOut);
      const quality = predictionQuality(truth, predicted);
      expect(quality.count).toBe(60);
      expect(quality.r2).toBeGreaterThan(0.7);
      expect(quality.kendall).toBeGreaterThan(0.6);

      const dir = mkdtempSync(join(tmpdir(), 'nascent-predictor-'));
      predictor.save(dir);
      const loaded = AccuracyPredictor.load(dir);
      expect(loaded.kind).toBe(kind);
      expect(loaded.trainedOn).toBe(160);
      expect(loaded.predict(heldOut)).toEqual(predicted);
    },
  );

  it('reads proxy scores as features when asked, and refuses queries without them', async () => {
    const predictor = await AccuracyPredictor.train(train, {
      kind: 'mlp',
      proxyFeatures: ['synflow'],
      seed: 1,
      epochs: 60,
    });
    expect(predictor.proxyFeatures).toEqual(['synflow']);
    expect(predictor.predict(heldOut)).toHaveLength(60);
    const first = heldOut[0] as PredictorExample;
    expect(() => predictor.predict([{ architecture: first.architecture }])).toThrow(
      /reads the proxy "synflow", which query 1 does not have/,
    );
    await expect(
      AccuracyPredictor.train(train, { kind: 'lstm', proxyFeatures: ['synflow'] }),
    ).rejects.toThrow(/give proxy features to the mlp predictor/);
    // A predictor saved by a version with other network features is refused, not misread.
    const dir = mkdtempSync(join(tmpdir(), 'nascent-predictor-'));
    predictor.save(dir);
    const file = join(dir, 'predictor.json');
    const metadata = JSON.parse(readFileSync(file, 'utf8')) as { inputSize: number };
    writeFileSync(file, JSON.stringify({ ...metadata, inputSize: metadata.inputSize - 15 }));
    expect(() => AccuracyPredictor.load(dir)).toThrow(
      new RegExp(
        `mlp predictor of ${metadata.inputSize - 15} features .* computes ${metadata.inputSize}\\. Train it again`,
      ),
    );
  });

  it('needs a few examples, and says what is wrong with a broken predictor directory', async () => {
    await expect(AccuracyPredictor.train(train.slice(0, 3), { kind: 'mlp' })).rejects.toThrow(
      /at least 4 evaluated architectures to learn from \(got 3\)/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'nascent-predictor-'));
    writeFileSync(
      join(dir, 'predictor.json'),
      JSON.stringify({ format: 'nascent-predictor/1', kind: 'tree' }),
    );
    expect(() => AccuracyPredictor.load(dir)).toThrow(/is not a Nascent predictor: kind/);
    expect(() => AccuracyPredictor.load(join(dir, 'missing'))).toThrow(/cannot read a predictor/);
  });
});

describe('rank statistics', () => {
  it('computes Kendall tau-b with ties, R^2, Spearman and Pearson against hand-worked values', () => {
    // Pairs: 6 in all; (1,2) (1,3) (2,3) concordant... worked by hand: C=5, D=0, ties in y: 1.
    expect(kendall([1, 2, 3, 4], [1, 2, 2, 3])).toBeCloseTo(5 / Math.sqrt(6 * 5), 12);
    expect(kendall([1, 2, 3], [3, 2, 1])).toBe(-1);
    expect(kendall([1, 1, 1], [1, 2, 3])).toBeUndefined();
    expect(rSquared([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(rSquared([1, 2, 3], [2, 2, 2])).toBe(0);
    expect(rSquared([1, 2, 3], [3, 2, 1])).toBe(-3);
    expect(spearman([1, 2, 3, 4], [10, 20, 40, 30])).toBeCloseTo(0.8, 12);
    // cov 3, var 2 and 42/9 (sums of squared deviations): 3 / sqrt(2 * 42 / 9).
    expect(pearson([1, 2, 3], [1, 2, 4])).toBeCloseTo(9 / Math.sqrt(84), 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeUndefined();
  });
});
