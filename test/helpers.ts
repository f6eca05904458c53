import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { writeIdx } from '../src/data/idx.js';
import type { ImageDataset } from '../src/data/types.js';
import type { Architecture, InputShape, IrNode } from '../src/space/ir.js';
import { Random } from '../src/util/random.js';

/**
 * A small learnable image set: each class has its own bright square position, plus noise, so a
 * small CNN can learn it in a few steps.
 */
export function syntheticImages(
  count: number,
  options: { channels?: number; size?: number; classes?: number; seed?: number } = {},
): ImageDataset {
  const channels = options.channels ?? 1;
  const size = options.size ?? 12;
  const classes = options.classes ?? 4;
  const random = new Random(options.seed ?? 1);
  const images = new Uint8Array(count * channels * size * size);
  const labels = new Uint8Array(count);
  const cell = Math.floor(size / 2);
  for (let i = 0; i < count; i += 1) {
    const label = i % classes;
    labels[i] = label;
    const top = (label >> 1) % 2 === 0 ? 0 : cell;
    const left = label % 2 === 0 ? 0 : cell;
    for (let c = 0; c < channels; c += 1) {
      for (let y = 0; y < size; y += 1) {
        for (let x = 0; x < size; x += 1) {
          const inside = y >= top && y < top + cell && x >= left && x < left + cell;
          const noise = random.int(0, 60);
          images[((i * channels + c) * size + y) * size + x] = inside ? 180 + noise : noise;
        }
      }
    }
  }
  return {
    name: 'synthetic',
    images,
    labels,
    count,
    channels,
    height: size,
    width: size,
    classes: Array.from({ length: classes }, (_, k) => `class ${k}`),
  };
}

/** A Fashion-MNIST-shaped directory (28x28 IDX files, gzip) holding a learnable synthetic task. */
export function fakeFashionMnist(train: number, test: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-fmnist-'));
  const write = (prefix: string, count: number, seed: number): void => {
    const data = syntheticImages(count, { size: 28, classes: 4, seed });
    writeIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`), data.images, [count, 28, 28], {
      gzip: true,
    });
    writeIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`), data.labels, [count], { gzip: true });
  };
  write('train', train, 1);
  write('t10k', test, 2);
  return dir;
}

/** A conv2d IR node: stride 1, same padding, bias, unless `extra` says otherwise. */
export function conv(
  id: string,
  input: string,
  filters: number,
  kernel: number,
  extra: Partial<IrNode> = {},
): IrNode {
  return {
    id,
    op: 'conv2d',
    inputs: [input],
    filters,
    kernel,
    stride: 1,
    padding: 'same',
    dilation: 1,
    groups: 1,
    bias: true,
    ...extra,
  } as IrNode;
}

/**
 * The smallest convolutional classifier: `c1`, a 3x3 convolution of `filters`, global average
 * pooling (`pool`) and a dense layer of `classes` (`fc`).
 */
export function convPoolDense(input: InputShape, filters: number, classes = 10): Architecture {
  return {
    format: 'nascent-ir/1',
    input,
    nodes: [
      { id: 'input', op: 'input', inputs: [] },
      conv('c1', 'input', filters, 3),
      { id: 'pool', op: 'global_avg_pool', inputs: ['c1'] },
      { id: 'fc', op: 'dense', inputs: ['pool'], units: classes, bias: true },
    ],
    output: 'fc',
  };
}

/**
 * Fresh empty directories under one temporary root that is removed after the test file: call
 * at the top level of a test file, then call the returned function for each new directory.
 */
export function scratchDirectories(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let counter = 0;
  return () => {
    const dir = join(root, `d${counter++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
}
