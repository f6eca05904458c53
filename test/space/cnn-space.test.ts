import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import {
  readModelFile,
  trainingNormalisation,
  writeModelFile,
} from '../../src/export/model-file.js';
import { architectureToOnnx } from '../../src/export/onnx.js';
import { writePytorchExport } from '../../src/export/pytorch.js';
import {
  CnnSpace,
  activationValues,
  compileCnn,
  formatCnn,
  parseCnn,
} from '../../src/space/cnn/index.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { createSpace } from '../../src/space/registry.js';
import { Random } from '../../src/util/random.js';
import { maxAbsDifference, trainedExample } from '../export/fixtures.js';
import type { ImageDataset } from '../../src/data/types.js';

/**
 * A translation-invariant task that global average pooling can learn (a class per position, as
 * test/helpers.ts's syntheticImages, is what pooling throws away): horizontal stripes, vertical
 * stripes, a checkerboard or plain noise, each at a random phase, with noise on top.
 */
function textures(count: number, size: number, seed: number): ImageDataset {
  const random = new Random(seed);
  const images = new Uint8Array(count * size * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = i % 4;
    labels[i] = label;
    const dy = random.int(0, 3);
    const dx = random.int(0, 3);
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        const on = [
          ((y + dy) >> 1) % 2 === 0,
          ((x + dx) >> 1) % 2 === 0,
          (((y + dy) >> 1) + ((x + dx) >> 1)) % 2 === 0,
          false,
        ][label];
        images[(i * size + y) * size + x] = (on ? 150 : 0) + random.int(0, 90);
      }
    }
  }
  return {
    name: 'textures',
    images,
    labels,
    count,
    channels: 1,
    height: size,
    width: size,
    classes: ['horizontal', 'vertical', 'checkerboard', 'noise'],
  };
}

const FASHION = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
/** Every block kind, SE, residual adds (x2 stages), stride-2 reductions and a head conv. */
const EVERY_PART = 'swish|s8|cn8k3|ds8k3se|ir16e3k5s2x2se|ir16e2k3x2|ds24k3s2|h32';

describe('cnn space text form', () => {
  it('parses and formats round trip, for written and sampled networks', () => {
    expect(formatCnn(parseCnn(EVERY_PART))).toBe(EVERY_PART);
    // defaults: k3, stride 1, one block
    expect(formatCnn(parseCnn('relu|s16|cn32|ds32s2'))).toBe('relu|s16|cn32k3|ds32k3s2');
    const space = new CnnSpace();
    const random = new Random(5);
    for (let i = 0; i < 50; i += 1) {
      const genome = space.sample(random, FASHION);
      const text = space.format(genome);
      expect(space.format(space.parse(text))).toBe(text);
      expect(space.fromJSON(JSON.parse(JSON.stringify(space.toJSON(genome))))).toEqual(genome);
    }
  });

  it('refuses malformed strings with a message naming the token', () => {
    const cases: [string, RegExp][] = [
      ['s16|ir16e1k3', /not a CNN architecture string.*e\.g\./],
      ['mish|s16|ir16e1k3', /token 1 "mish" is not an activation/],
      ['relu|16|ir16e1k3', /token 2 "16" is not a stem/],
      ['relu|s16|xx16k3', /token 3 "xx16k3" is not a stage/],
      ['relu|s16|ds16e2k3', /only ir blocks have an expansion ratio/],
      ['relu|s16|ir16k3', /an ir block needs its expansion ratio/],
      ['relu|s16|ir16e2k4', /kernels are odd/],
      ['relu|s16|ir16e2k3s3', /stride is s1 or s2/],
      ['relu|s16|h32', /has no stage/],
      ['relu|s16||ir16e2k3', /not a CNN architecture string/],
    ];
    for (const [text, message] of cases) expect(() => parseCnn(text), text).toThrow(message);
    expect(() =>
      new CnnSpace().fromJSON({ activation: 'relu', stem: 8, stages: [], head: 0 }),
    ).toThrow(/invalid CNN genome: stages/);
    expect(() => createSpace({ name: 'cnn', options: { kernel: [3] } })).toThrow(
      /cnn space.*kernel.*did you mean kernels/,
    );
  });
});

describe('cnn space compilation', () => {
  it('counts parameters and FLOPs of a small network by hand', () => {
    // stem conv 1->4 k3 on 8x8, BN, relu; ir: 1x1 4->8, BN, relu; depthwise 3x3 s2 (8 groups)
    // to 4x4, BN, relu; SE 8->8->8 (at least 8 squeeze channels); 1x1 8->8, BN; pool; dense 8->3
    const architecture = compileCnn(parseCnn('relu|s4|ir8e2k3s2se'), {
      input: { channels: 1, height: 8, width: 8 },
      classes: 3,
    });
    const summary = analyzeArchitecture(architecture);
    const params = [36, 8, 32, 16, 72, 16, 72, 72, 64, 16, 27];
    expect(summary.params).toBe(params.reduce((a, b) => a + b, 0));
    const flops = [
      ...[2 * 9 * 4 * 64, 2 * 4 * 64, 4 * 64], // stem conv, BN, relu
      ...[2 * 4 * 8 * 64, 2 * 8 * 64, 8 * 64], // expand
      ...[2 * 9 * 8 * 16, 2 * 8 * 16, 8 * 16], // depthwise: 9 MACs per output element
      ...[8 * 16, 2 * 64 + 8, 8, 2 * 64 + 8, 8, 8 * 16], // SE: pool, dense, relu, dense, sigmoid, mul
      ...[2 * 8 * 8 * 16, 2 * 8 * 16], // project, BN (linear, no add at stride 2)
      ...[8 * 16, 2 * 8 * 3 + 3], // pool, classifier
    ];
    expect(summary.flops).toBe(flops.reduce((a, b) => a + b, 0));
    expect(summary.outputShape).toEqual({ kind: 'flat', features: 3 });
    // the logits are the classifier's output: no activation after it
    expect(architecture.output).toBe('classifier');
    expect(architecture.nodes.at(-1)?.op).toBe('dense');
    // a stride-1 block that keeps its width adds its input; a widening one does not
    const residual = compileCnn(parseCnn('relu|s8|ir8e2k3|ds16k3'), FASHION);
    expect(residual.nodes.filter((node) => node.op === 'add').map((node) => node.id)).toEqual([
      'b1_1_add',
    ]);
  });

  it('matches libtorch and an independent PyTorch count, and PyTorch logits', async () => {
    const space = new CnnSpace();
    const random = new Random(11);
    const texts = [
      EVERY_PART,
      ...Array.from({ length: 6 }, () => space.format(space.sample(random, FASHION))),
    ];
    for (const text of texts) {
      const architecture = space.compile(space.parse(text), FASHION);
      const network = Network.build(architecture, { init: 'kaiming', seed: 1 });
      expect(network.parameterCount(), text).toBe(analyzeArchitecture(architecture).params);
    }
    // PyTorch: the exported model.py, built and run by python3's torch
    const root = mkdtempSync(join(tmpdir(), 'nascent-cnn-pytorch-'));
    const args: string[] = [];
    const examples = [];
    for (const [k, text] of [EVERY_PART, texts[1] as string].entries()) {
      const architecture = space.compile(space.parse(text), {
        input: { channels: 1, height: 12, width: 12 },
        classes: 4,
      });
      const example = await trainedExample(architecture, 4);
      examples.push(example);
      const file = join(root, `net${k}.safetensors`);
      writeModelFile(file, {
        network: example.network,
        normalisation: trainingNormalisation('mnist', false),
        classes: ['a', 'b', 'c', 'd'],
      });
      const dir = join(root, `net${k}`);
      writePytorchExport(dir, readModelFile(file));
      writeFileSync(join(dir, 'pixels.u8'), example.pixels);
      args.push(dir, join(dir, 'pixels.u8'), String(example.count));
    }
    const python = spawnSync('/usr/bin/python3', ['python/check_pytorch_export.py', ...args], {
      encoding: 'utf8',
    });
    expect(python.status, python.stderr).toBe(0);
    const results = JSON.parse(python.stdout) as { params: number; logits: number[][] }[];
    results.forEach((result, k) => {
      const example = examples[k] as (typeof examples)[number];
      expect(result.params).toBe(example.network.parameterCount());
      expect(maxAbsDifference(result.logits.flat(), example.logits)).toBeLessThanOrEqual(1e-4);
    });
  }, 60_000);

  it('exports to ONNX (grouped convs, SE gates) with the engine logits', async () => {
    const architecture = compileCnn(parseCnn(EVERY_PART), {
      input: { channels: 1, height: 12, width: 12 },
      classes: 4,
    });
    const example = await trainedExample(architecture, 5);
    const session = await InferenceSession.create(
      architectureToOnnx(architecture, example.network.getWeights()),
      { intraOpNumThreads: 1 },
    );
    const result = await session.run({
      input: new Tensor('float32', example.inputs, [example.count, 1, 12, 12]),
    });
    await session.release();
    const logits = (result.logits as Tensor).data as Float32Array;
    expect(maxAbsDifference(logits, example.logits)).toBeLessThanOrEqual(1e-4);
    expect(
      maxAbsDifference(example.logits.slice(0, 4), example.logits.slice(4, 8)),
    ).toBeGreaterThan(1e-3);
  });
});

describe('cnn space operators', () => {
  it('samples, mutates and crosses over into networks within the bounds', () => {
    const space = new CnnSpace({ maxParams: 100_000 });
    const random = new Random(3);
    const seen = new Set<string>();
    let genome = space.sample(random, FASHION);
    let other = space.sample(random, FASHION);
    for (let i = 0; i < 150; i += 1) {
      const child = space.mutate(genome, random, FASHION);
      expect(space.format(child)).not.toBe(space.format(genome));
      const [a, b] = space.crossover(child, other, random, FASHION);
      for (const g of [child, a, b]) {
        expect(space.problem(g, FASHION), space.format(g)).toBeNull();
        const summary = analyzeArchitecture(space.compile(g, FASHION));
        expect(summary.params).toBeLessThanOrEqual(100_000);
        seen.add(space.format(g));
      }
      genome = i % 10 === 9 ? space.sample(random, FASHION) : child;
      other = b;
    }
    expect(seen.size).toBeGreaterThan(200);
  });

  it('bounds activation values per image: refuses a wide full-resolution expansion, samples within', () => {
    const space = new CnnSpace({ maxParams: 100_000, maxActivations: 450_000 });
    // 831,178 values (a 128-channel expansion at 28x28), against 402,282 for the strided network
    const wide = parseCnn('relu|s32|ir48e4k3|ds128k5s2');
    const strided = parseCnn('swish|s24|ds64k3s2x2|ir80e3k5s2x2');
    expect(activationValues(analyzeArchitecture(space.compile(wide, FASHION)))).toBe(831_178);
    expect(space.problem(wide, FASHION)).toBe(
      '831178 activation values per image, above maxActivations 450000',
    );
    expect(space.problem(strided, FASHION)).toBeNull();
    const random = new Random(5);
    for (let i = 0; i < 40; i += 1) {
      const genome = space.sample(random, FASHION);
      const values = activationValues(analyzeArchitecture(space.compile(genome, FASHION)));
      expect(values, space.format(genome)).toBeLessThanOrEqual(450_000);
    }
  });

  it('draws every block kind, both activations, SE and heads', () => {
    const space = new CnnSpace();
    const random = new Random(8);
    const texts = Array.from({ length: 60 }, () => space.format(space.sample(random, FASHION)));
    const joined = texts.join(' ');
    for (const part of ['|cn', '|ds', '|ir', 'se', 'relu|', 'swish|', '|h', 's2']) {
      expect(joined, part).toContain(part);
    }
    // widths never shrink from stage to stage in a sample
    for (const text of texts) {
      const widths = parseCnn(text).stages.map((stage) => stage.channels);
      expect([...widths].sort((a, b) => a - b)).toEqual(widths);
    }
  });

  it('rarely samples a dead network: 1 short epoch beats chance for at least 85%', async () => {
    // 12x12 textures of 4 classes: a network that cannot learn them in one epoch is dead
    const target = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
    const space = new CnnSpace({ maxStages: 4, maxReductions: 2 });
    const train = TensorData.fromImages(textures(512, 12, 1));
    const test = TensorData.fromImages(textures(128, 12, 2));
    const random = new Random(21);
    const accuracies: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const network = Network.build(space.compile(space.sample(random, target), target), {
        init: 'kaiming',
        seed: i,
      });
      await network.train(train, null, {
        epochs: 1,
        // 64 steps: enough for batch norm's running statistics (momentum 0.1) to settle, which
        // evaluation uses; after 16 steps a network that fits its training batches still fails
        batchSize: 8,
        optimizer: 'sgd',
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 5e-4,
        schedule: 'cosine',
        seed: i,
        threads: 1,
      });
      accuracies.push((await network.evaluate(test, { threads: 1 })).accuracy);
    }
    train.release();
    test.release();
    const alive = accuracies.filter((accuracy) => accuracy > 0.4).length;
    expect(alive / accuracies.length, accuracies.join(' ')).toBeGreaterThanOrEqual(0.85);
  }, 120_000);
});
