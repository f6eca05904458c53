import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Network, TensorData, type WeightMap, engineInfo } from '../../src/engine/engine.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { type Architecture, analyzeArchitecture } from '../../src/space/ir.js';
import { conv, convPoolDense, syntheticImages } from '../helpers.js';

const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
const genome = (text: string): Architecture => genomeToArchitecture(text, small);
const base = {
  epochs: 2,
  batchSize: 32,
  optimizer: 'adamw',
  lr: 0.01,
  weightDecay: 0,
  schedule: 'constant',
  seed: 3,
} as const;

/** Architectures covering every op, odd and even kernels, asymmetric same padding and strides. */
const ARCHITECTURES: Record<string, Architecture> = {
  readme: genomeToArchitecture('NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;', {
    input: { channels: 1, height: 28, width: 28 },
    classes: 10,
  }),
  big: genomeToArchitecture(
    'NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;',
    { input: { channels: 1, height: 28, width: 28 }, classes: 10 },
  ),
  activations: genome(
    'NC 3 4 swish;RC 5 3 gelu;NC 4 6 elu;RC 6 2 leaky_relu;NC 2 7 tanh;FL sigmoid;',
  ),
  graph: {
    format: 'nascent-ir/1',
    input: { channels: 3, height: 9, width: 9 },
    output: 'fc',
    nodes: [
      { id: 'x', op: 'input', inputs: [] },
      conv('c1', 'x', 4, 3),
      { id: 'bn', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r', op: 'activation', inputs: ['bn'], fn: 'relu' },
      conv('c2', 'r', 4, 2, { bias: false }),
      { id: 'sum', op: 'add', inputs: ['c2', 'r'] },
      { id: 'cat', op: 'concat', inputs: ['sum', 'c1'] },
      { id: 'mp', op: 'maxpool2d', inputs: ['cat'], kernel: 3, stride: 2, padding: 1 },
      conv('dw', 'mp', 8, 3, { groups: 4, stride: 2, padding: 'same' }),
      conv('dil', 'dw', 6, 2, { dilation: 2, padding: 'same' }),
      { id: 'ap', op: 'avgpool2d', inputs: ['dil'], kernel: 3, stride: 1, padding: 'same' },
      { id: 'fl', op: 'flatten', inputs: ['ap'] },
      { id: 'bn1', op: 'batchnorm', inputs: ['fl'] },
      { id: 'do', op: 'dropout', inputs: ['bn1'], rate: 0.3 },
      { id: 'fc', op: 'dense', inputs: ['do'], units: 5, bias: true },
    ],
  },
};

function inputFor(arch: Architecture, count: number): { dataset: TensorData; pixels: number[] } {
  const { channels, height, width } = arch.input;
  const images = syntheticImages(count, { channels, size: height, classes: 4, seed: 9 });
  if (width !== height) throw new Error('square inputs only');
  return {
    dataset: TensorData.fromImages(images),
    pixels: Array.from(images.images, (v) => v / 255),
  };
}

describe('native engine', () => {
  it('reports its libtorch and tunes malloc at load', () => {
    const info = engineInfo();
    expect(info.torchVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.mallocTuned).toBe(true);
    expect(info.hardwareCores).toBeGreaterThan(0);
  });

  it.each(Object.keys(ARCHITECTURES))(
    '%s: the IR parameter count equals libtorch and PyTorch, and logits match PyTorch',
    async (name) => {
      const arch = ARCHITECTURES[name] as Architecture;
      const net = Network.build(arch, { init: 'glorot', seed: 5 });
      expect(net.parameterCount()).toBe(analyzeArchitecture(arch).params);
      const { dataset, pixels } = inputFor(arch, 3);
      const { logits } = await net.predict(dataset);
      const weights: Record<string, { shape: readonly number[]; data: number[] }> = {};
      for (const [key, tensor] of Object.entries(net.getWeights()))
        weights[key] = { shape: tensor.shape, data: Array.from(tensor.data) };
      const job = {
        architecture: arch,
        weights,
        inputs: pixels,
        input_shape: [3, arch.input.channels, arch.input.height, arch.input.width],
      };
      const python = spawnSync('/usr/bin/python3', ['python/nascent_ir.py'], {
        input: JSON.stringify(job),
        encoding: 'utf8',
      });
      expect(python.status, python.stderr).toBe(0);
      const reference = JSON.parse(python.stdout) as { params: number; logits: number[][] };
      expect(reference.params).toBe(analyzeArchitecture(arch).params);
      const flat = reference.logits.flat();
      expect(flat.length).toBe(logits.length);
      flat.forEach((value, i) => expect(logits[i]).toBeCloseTo(value, 4));
    },
  );

  it('learns a small task, and the same seed repeats the run exactly', async () => {
    const data = TensorData.fromImages(syntheticImages(256));
    const run = async (seed: number) => {
      const net = Network.build(genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;'), {
        init: 'glorot',
        seed,
      });
      return net.train(data, data, { ...base, epochs: 3, seed });
    };
    const first = await run(1);
    const again = await run(1);
    const other = await run(2);
    expect(first.status).toBe('completed');
    expect(first.epochs.at(-1)?.valAccuracy).toBeGreaterThan(0.9);
    expect(first.steps).toBe(3 * 8);
    expect(first.images).toBe(3 * 256);
    expect(again.epochs.map((e) => e.trainLoss)).toEqual(first.epochs.map((e) => e.trainLoss));
    expect(other.epochs[0]?.trainLoss).not.toBe(first.epochs[0]?.trainLoss);
  });

  it('delivers every progress event before the training promise settles', async () => {
    const net = Network.build(genome('NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;'), { seed: 1 });
    const data = TensorData.fromImages(syntheticImages(128));
    const events: string[] = [];
    const result = await net.train(data, null, { ...base, epochs: 4, progressEvery: 2 }, (e) =>
      events.push(e.type === 'epoch' ? `epoch ${e.record.epoch}` : 'batch'),
    );
    expect(result.epochs).toHaveLength(4);
    expect(events.filter((e) => e.startsWith('epoch'))).toEqual([
      'epoch 1',
      'epoch 2',
      'epoch 3',
      'epoch 4',
    ]);
    expect(events.filter((e) => e === 'batch')).toHaveLength(4 * 2);
  });

  it('applies the exponential schedule per step', async () => {
    const net = Network.build(genome('NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;'), { seed: 1 });
    const data = TensorData.fromImages(syntheticImages(64));
    const result = await net.train(data, null, {
      ...base,
      epochs: 3,
      lr: 0.1,
      schedule: 'exponential',
      decaySteps: 4,
      decayRate: 0.5,
    });
    // 2 steps per epoch; the last step of epoch e is step 2e-1 (0-based)
    result.epochs.forEach((e) =>
      expect(e.lr).toBeCloseTo(0.1 * 0.5 ** ((2 * e.epoch - 1) / 4), 10),
    );
  });

  it('stops early on validation loss and restores the best epoch', async () => {
    const train = TensorData.fromImages(syntheticImages(128, { seed: 1 }));
    // a validation set whose labels have nothing to do with the images: its loss soon rises
    const noise = syntheticImages(128, { seed: 2 });
    noise.labels.reverse();
    const validation = TensorData.fromImages({
      ...noise,
      labels: noise.labels.map((l, i) => (l + i * 7) % 4),
    });
    const net = Network.build(genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;'), { seed: 1 });
    const result = await net.train(train, validation, {
      ...base,
      epochs: 30,
      lr: 0.02,
      patience: 1,
      minDelta: 0,
      restoreBest: true,
    });
    expect(result.status).toBe('early_stopped');
    expect(result.epochs.length).toBeLessThan(30);
    const best = result.epochs.find((e) => e.epoch === result.bestEpoch);
    // Keras: with patience 1, the first epoch without improvement (wait 1 >= 1) stops it.
    expect(result.epochs.length).toBe(result.bestEpoch + 1);
    const now = await net.evaluate(validation);
    expect(now.loss).toBeCloseTo(best?.valLoss ?? NaN, 5);
  });

  it('reports a diverging loss instead of crashing', async () => {
    const net = Network.build(genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;'), { seed: 1 });
    const data = TensorData.fromImages(syntheticImages(64));
    const result = await net.train(data, null, {
      ...base,
      optimizer: 'sgd',
      momentum: 0.9,
      lr: 1e12,
      epochs: 5,
    });
    expect(result.status).toBe('diverged');
    expect(result.reason).toMatch(/training loss became (NaN|infinite) in epoch \d/);
  });

  it('stops on request and rejects a second job on a busy model', async () => {
    const net = Network.build(genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;'), { seed: 1 });
    const data = TensorData.fromImages(syntheticImages(512));
    const running = net.train(
      data,
      null,
      { ...base, epochs: 50, batchSize: 8, progressEvery: 1 },
      () => net.stop(),
    );
    await expect(net.evaluate(data)).rejects.toThrow(/busy/);
    const result = await running;
    expect(result.status).toBe('stopped');
    expect(result.epochs.length).toBeLessThan(50);
  });

  it('shares the cores between concurrent trainings', async () => {
    const cores = engineInfo().hardwareCores;
    const data = TensorData.fromImages(syntheticImages(128));
    const nets = [1, 2, 3].map((seed) =>
      Network.build(genome('NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;'), { seed }),
    );
    const results = await Promise.all(
      nets.map((net) => net.train(data, null, { ...base, threads: 64 })),
    );
    for (const result of results) {
      expect(result.status).toBe('completed');
      expect(result.threads).toBe(cores);
    }
  });

  it('copies weights by name, and saves and loads them', async () => {
    const arch = ARCHITECTURES.graph as Architecture;
    const { dataset } = inputFor(arch, 4);
    const a = Network.build(arch, { seed: 1 });
    const b = Network.build(arch, { seed: 2 });
    const logits = async (n: Network) => Array.from((await n.predict(dataset)).logits);
    expect(await logits(a)).not.toEqual(await logits(b));
    const weights = a.getWeights();
    expect(Object.keys(weights)).toEqual(
      expect.arrayContaining(['c1.weight', 'c1.bias', 'bn.running_mean', 'fc.weight']),
    );
    expect(b.setWeights(weights)).toBe(Object.keys(weights).length);
    expect(await logits(b)).toEqual(await logits(a));

    const path = join(mkdtempSync(join(tmpdir(), 'nascent-')), 'weights.pt');
    a.save(path);
    const c = Network.build(arch, { seed: 3 });
    c.load(path);
    expect(await logits(c)).toEqual(await logits(a));

    const wrongShape: WeightMap = { 'fc.weight': { shape: [1], data: new Float32Array(1) } };
    expect(() => b.setWeights(wrongShape)).toThrow(/'fc.weight' has 1 values/);
    expect(() => b.setWeights({ nope: { shape: [1], data: new Float32Array(1) } })).toThrow(
      /no tensor 'nope'/,
    );
  });

  it('draws Kaiming convolutions with fan_out, or with fan_in under kaiming-fan-in', () => {
    // 3 -> 64 channels, 3x3: fan_in 27, fan_out 576, so the two standard deviations differ 4.6x.
    const arch = convPoolDense({ channels: 3, height: 8, width: 8 }, 64);
    const std = (init: 'kaiming' | 'kaiming-fan-in', key: string): number => {
      const data = Network.build(arch, { init, seed: 1 }).getWeights()[key]?.data ?? [];
      const values = Array.from(data);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    };
    expect(std('kaiming', 'c1.weight')).toBeCloseTo(Math.sqrt(2 / 576), 2);
    expect(std('kaiming-fan-in', 'c1.weight')).toBeCloseTo(Math.sqrt(2 / 27), 2);
    // Dense layers use fan_in under both.
    expect(std('kaiming', 'fc.weight')).toBeCloseTo(std('kaiming-fan-in', 'fc.weight'), 1);
  });

  it('rejects datasets whose buffers do not match their shape, and cuda without a GPU', () => {
    const images = syntheticImages(4);
    expect(() => TensorData.fromImages({ ...images, count: 5 })).toThrow(/buffer sizes/);
    if (!engineInfo().cudaAvailable) {
      expect(() => Network.build(ARCHITECTURES.readme as Architecture, { device: 'cuda' })).toThrow(
        /no usable CUDA device/,
      );
    }
    expect(() => TensorData.fromImages(images, { device: 'tpu' })).toThrow(/unknown device "tpu"/);
  });
});
