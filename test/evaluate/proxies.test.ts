/**
 * Training-free proxies: the engine's scores against independent PyTorch/NumPy implementations
 * written after each proxy's published code (python/proxies_reference.py), on the same weights
 * and the same batch; failures as defined worst scores; the rank vote.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import {
  ENGINE_PROXY_NAMES,
  PROXY_NAMES,
  checkProxyNames,
  computeProxies,
  logRankAggregate,
  orientedScore,
  rankVote,
} from '../../src/evaluate/proxies.js';
import { CellSpace } from '../../src/space/cells/index.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { type Architecture, blockOutputs } from '../../src/space/ir.js';
import { conv, syntheticImages } from '../helpers.js';

const input = { channels: 1, height: 12, width: 12 };
const genome = (text: string): Architecture => genomeToArchitecture(text, { input, classes: 4 });

/** A layer-list network with batch norm, pooling and a skip connection. */
const withBatchNorm: Architecture = {
  format: 'nascent-ir/1',
  input,
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    conv('c1', 'input', 6, 3),
    { id: 'bn1', op: 'batchnorm', inputs: ['c1'] },
    { id: 'a1', op: 'activation', inputs: ['bn1'], fn: 'relu' },
    conv('c2', 'a1', 6, 3),
    { id: 'sum', op: 'add', inputs: ['c2', 'a1'] },
    { id: 'a2', op: 'activation', inputs: ['sum'], fn: 'gelu' },
    { id: 'pool', op: 'maxpool2d', inputs: ['a2'], kernel: 2, stride: 2, padding: 'valid' },
    { id: 'flat', op: 'flatten', inputs: ['pool'] },
    { id: 'fc', op: 'dense', inputs: ['flat'], units: 4, bias: true },
  ],
  output: 'fc',
};

/**
 * Depthwise-separable: a grouped convolution with an even kernel and stride 2 (padded unevenly),
 * a pointwise one, global pooling, and batch norm on the flat features before the classifier.
 */
const depthwiseSeparable: Architecture = {
  format: 'nascent-ir/1',
  input,
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    conv('c1', 'input', 8, 3),
    { id: 'bn1', op: 'batchnorm', inputs: ['c1'] },
    { id: 'a1', op: 'activation', inputs: ['bn1'], fn: 'relu' },
    conv('dw', 'a1', 8, 4, { groups: 8, stride: 2 }),
    { id: 'bn2', op: 'batchnorm', inputs: ['dw'] },
    { id: 'a2', op: 'activation', inputs: ['bn2'], fn: 'swish' },
    conv('pw', 'a2', 12, 1),
    { id: 'a3', op: 'activation', inputs: ['pw'], fn: 'relu' },
    { id: 'gap', op: 'global_avg_pool', inputs: ['a3'] },
    { id: 'bn3', op: 'batchnorm', inputs: ['gap'] },
    { id: 'fc', op: 'dense', inputs: ['bn3'], units: 4, bias: true },
  ],
  output: 'fc',
};

/** A small NAS-Bench-201 network (4 channels, one cell a stage): its blocks are declared. */
const cells = new CellSpace({ channels: 4, cellsPerStage: 1 });
const cell = (text: string): Architecture =>
  cells.compile(cells.parse(text), { input, classes: 4 });

const ARCHITECTURES: Record<string, Architecture> = {
  'genome, relu': genome('NC 8 3 relu;RC 8 3 relu;RC 12 3 relu;FL relu;'),
  'genome, mixed activations': genome('NC 4 2 sigmoid;RC 6 3 swish;RC 6 3 tanh;FL leaky_relu;'),
  'layers with batch norm and a skip': withBatchNorm,
  'depthwise-separable, batch norm on flat features': depthwiseSeparable,
  'NAS-Bench-201 cells': cell(
    '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
  ),
};

/** The reference's scores for a network's weights on the batch the engine drew. */
function referenceScores(
  arch: Architecture,
  network: Network,
  source: ReturnType<typeof syntheticImages>,
  batchOrder: readonly number[],
): Record<string, number> {
  const count = batchOrder.length;
  const pixels = source.images.length / source.labels.length;
  const weights: Record<string, { shape: readonly number[]; data: number[] }> = {};
  for (const [key, tensor] of Object.entries(network.getWeights()))
    weights[key] = { shape: tensor.shape, data: Array.from(tensor.data) };
  const python = spawnSync('/usr/bin/python3', ['proxies_reference.py'], {
    input: JSON.stringify({
      architecture: arch,
      weights,
      images: batchOrder.flatMap((row) =>
        Array.from(source.images.subarray(row * pixels, (row + 1) * pixels), (v) => v / 255),
      ),
      input_shape: [count, 1, 12, 12],
      labels: batchOrder.map((row) => source.labels[row] as number),
      blocks: blockOutputs(arch),
      seed: 1,
    }),
    encoding: 'utf8',
    cwd: 'python',
  });
  expect(python.status, python.stderr).toBe(0);
  // Python's json writes -inf as a bare -Infinity token, which is not JSON.
  const text = python.stdout.replace(/-Infinity/g, '"-Infinity"');
  return Object.fromEntries(
    Object.entries(JSON.parse(text) as Record<string, number | string>).map(([key, value]) => [
      key,
      value === '-Infinity' ? -Infinity : (value as number),
    ]),
  );
}

const BATCH = 16;
const images = syntheticImages(BATCH, { size: 12, classes: 4, seed: 3 });

describe('training-free proxies', () => {
  it.each(Object.keys(ARCHITECTURES))(
    '%s: every engine proxy equals the PyTorch reference on the same weights and batch',
    async (name) => {
      const arch = ARCHITECTURES[name] as Architecture;
      const data = TensorData.fromImages(images);
      const network = Network.build(arch, { init: 'glorot', seed: 4 });
      const before = network.getWeights();
      // The batch is the whole set, shuffled by the engine; the reference gets it in the engine's
      // order (ZiCo splits the batch in halves, MeCo reads its first image).
      const result = await network.proxies(data, {
        names: ENGINE_PROXY_NAMES,
        batchSize: BATCH,
        ntkBatchSize: BATCH,
        seed: 1,
        threads: 1,
      });
      expect(result.batchSize).toBe(BATCH);
      expect([...result.batchOrder].sort((a, b) => a - b)).toEqual(
        Array.from({ length: BATCH }, (_, index) => index),
      );
      // Proxies leave the network as they found it (synflow takes absolute values, in double).
      const after = network.getWeights();
      for (const [key, tensor] of Object.entries(before))
        expect(Array.from(after[key]?.data ?? [])).toEqual(Array.from(tensor.data));
      const reference = referenceScores(arch, network, images, result.batchOrder);
      for (const proxy of ENGINE_PROXY_NAMES) {
        const ours = result.scores[proxy];
        expect(ours?.failure, `${proxy}: ${ours?.failure}`).toBeUndefined();
        const expected = reference[proxy] as number;
        expect(
          expected,
          `${proxy}: the reference scored 0, a comparison that proves nothing`,
        ).not.toBe(0);
        const value = ours?.value as number;
        // float32 gradients on both sides; the NTK's condition number amplifies their rounding.
        const tolerance = proxy === 'ntk_cond' ? 2e-2 : 2e-3;
        expect(
          Math.abs(value - expected) / Math.max(1e-9, Math.abs(expected)),
          `${proxy}: ${value} vs ${expected}`,
        ).toBeLessThan(tolerance);
        expect(ours?.seconds).toBeGreaterThanOrEqual(0);
      }
    },
  );

  it('packs SWAP patterns of more than 64 images into several words, as the reference counts them', async () => {
    const count = 80;
    const many = syntheticImages(count, { size: 12, classes: 4, seed: 7 });
    const arch = ARCHITECTURES['genome, relu'] as Architecture;
    const network = Network.build(arch, { init: 'glorot', seed: 4 });
    const result = await network.proxies(TensorData.fromImages(many), {
      names: ['swap', 'naswot'],
      batchSize: count,
      seed: 1,
      threads: 1,
    });
    const reference = referenceScores(arch, network, many, result.batchOrder);
    expect(result.scores.swap?.value).toBe(reference.swap);
    const naswot = result.scores.naswot?.value as number;
    expect(Math.abs(naswot - (reference.naswot as number))).toBeLessThan(1e-6 * Math.abs(naswot));
  });

  it('gives a proxy the same score alone as beside the proxies it shares a pass with', async () => {
    const data = TensorData.fromImages(images);
    const arch = ARCHITECTURES['layers with batch norm and a skip'] as Architecture;
    const score = (names: readonly string[]) =>
      Network.build(arch, { init: 'glorot', seed: 4 }).proxies(data, {
        names,
        batchSize: BATCH,
        seed: 1,
        threads: 1,
      });
    const shared = [
      'naswot',
      'grad_norm',
      'swap',
      'snip',
      'meco',
      'zico',
      'jacob_cov',
      'az_expressivity',
      'az_progressivity',
      'az_trainability',
    ];
    const together = await score(shared);
    for (const name of shared) {
      const alone = await score([name]);
      expect(alone.scores[name]?.value, name).toBe(together.scores[name]?.value);
    }
  });

  it("scores AZ-NAS's trainability of a network with an identity block as a failure, where the reference gives -inf", async () => {
    // Every cell a single skip: each cell's output is its input, so blocks repeat.
    const arch = cell('|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|');
    expect(blockOutputs(arch)).toEqual([
      'stem_bn',
      'stem_bn',
      'r1_add',
      'r1_add',
      'r2_add',
      'r2_add',
    ]);
    const network = Network.build(arch, { init: 'glorot', seed: 4 });
    const result = await network.proxies(TensorData.fromImages(images), {
      names: ['az_trainability', 'az_expressivity', 'az_progressivity'],
      batchSize: BATCH,
      seed: 1,
      threads: 1,
    });
    expect(result.scores.az_trainability?.value).toBeNull();
    expect(result.scores.az_trainability?.failure).toMatch(/identity/);
    // Repeated blocks add their entropy twice and make the smallest increase 0.
    expect(result.scores.az_progressivity?.value).toBeLessThanOrEqual(0);
    const reference = referenceScores(arch, network, images, result.batchOrder);
    expect(reference.az_trainability).toBe(-Infinity);
    const expressivity = result.scores.az_expressivity?.value as number;
    expect(Math.abs(expressivity - (reference.az_expressivity as number))).toBeLessThan(
      1e-6 * Math.abs(expressivity),
    );
  });

  it('is deterministic for a seed, and another seed draws another batch', async () => {
    const data = TensorData.fromImages(syntheticImages(200, { size: 12, classes: 4, seed: 5 }));
    const arch = ARCHITECTURES['genome, relu'] as Architecture;
    const score = (seed: number) =>
      computeProxies(arch, data, {
        names: ['naswot', 'grad_norm'],
        init: 'glorot',
        seed,
        batchSize: 32,
      });
    const first = await score(1);
    const again = await score(1);
    const other = await score(2);
    expect(again.naswot?.value).toBe(first.naswot?.value);
    expect(again.grad_norm?.value).toBe(first.grad_norm?.value);
    expect(other.grad_norm?.value).not.toBe(first.grad_norm?.value);
  });

  it('gives a failing proxy a null score and its reason instead of throwing', async () => {
    // Identical (blank) images share one activation pattern: the NASWOT kernel is singular.
    const blank = syntheticImages(32, { size: 12, classes: 4 });
    blank.images.fill(0);
    const scores = await computeProxies(
      ARCHITECTURES['genome, relu'] as Architecture,
      TensorData.fromImages(blank),
      {
        names: PROXY_NAMES,
        init: 'glorot',
        seed: 1,
      },
    );
    expect(scores.naswot?.value).toBeNull();
    expect(scores.naswot?.failure).toMatch(/singular/);
    expect(orientedScore('naswot', scores.naswot?.value)).toBe(-Infinity);
    // IR counts are always there.
    expect(scores.params?.value).toBeGreaterThan(0);
    expect(scores.flops?.value).toBeGreaterThan(0);
  });

  it('rejects unknown proxy names with the list of known ones', () => {
    expect(() => checkProxyNames(['synflow', 'zen'])).toThrow(
      /unknown proxy "zen" \(expected synflow/,
    );
    expect(checkProxyNames(['synflow', 'synflow', 'naswot'])).toEqual(['synflow', 'naswot']);
  });

  it('rank-votes with each proxy turned the right way and failures last', () => {
    const rows = [
      { synflow: 10, ntk_cond: 100 },
      { synflow: 30, ntk_cond: 10 },
      { synflow: 20, ntk_cond: null },
    ];
    // synflow: higher is better (ranks 1, 3, 2); ntk_cond: lower is better, failure worst (2, 3, 1).
    expect(rankVote(rows, ['synflow', 'ntk_cond'])).toEqual([
      (1 + 2) / 2 / 3,
      (3 + 3) / 2 / 3,
      (2 + 1) / 2 / 3,
    ]);
    expect(() => rankVote(rows, [])).toThrow(/at least one proxy/);
  });

  it('aggregates ranks as AZ-NAS does: the sum of log(rank / n)', () => {
    const rows = [
      { az_expressivity: 1, flops: 30 },
      { az_expressivity: 3, flops: 10 },
      { az_expressivity: 2, flops: null },
    ];
    // expressivity ranks 1, 3, 2; flops (maximize) 3, 2, failure 1.
    const expected = [
      Math.log(1 / 3) + Math.log(3 / 3),
      Math.log(3 / 3) + Math.log(2 / 3),
      Math.log(2 / 3) + Math.log(1 / 3),
    ];
    logRankAggregate(rows, ['az_expressivity', 'flops']).forEach((value, index) =>
      expect(value).toBeCloseTo(expected[index] as number, 12),
    );
    expect(() => logRankAggregate(rows, [])).toThrow(/at least one proxy/);
  });
});
