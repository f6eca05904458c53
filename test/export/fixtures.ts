import { Network, TensorData } from '../../src/engine/engine.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import type { Architecture } from '../../src/space/ir.js';
import { conv, syntheticImages } from '../helpers.js';

const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };

/**
 * Architectures that together use every IR op and activation: odd and even kernels with 'same'
 * padding (asymmetric for even kernels), strides, groups, dilation, pools with padding, batch
 * norm on maps and vectors, skips (add of three inputs), concat of maps and of vectors, and node
 * ids that collide with the exported graph's input and output names.
 */
export const EXPORT_ARCHITECTURES: Record<string, Architecture> = {
  activations: genomeToArchitecture(
    'NC 3 4 swish;RC 5 3 gelu;NC 4 6 elu;RC 6 2 leaky_relu;NC 2 7 tanh;FL sigmoid;',
    small,
  ),
  relu: genomeToArchitecture('NC 6 2 relu;RC 8 3 relu;RC 8 3 relu;NC 4 5 relu;FL relu;', small),
  graph: {
    format: 'nascent-ir/1',
    input: { channels: 3, height: 11, width: 11 },
    output: 'out',
    nodes: [
      { id: 'x', op: 'input', inputs: [] },
      conv('c1', 'x', 4, 3),
      { id: 'bn', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r', op: 'activation', inputs: ['bn'], fn: 'relu' },
      conv('c2', 'r', 4, 2, { bias: false }),
      conv('c3', 'r', 4, 1, { padding: 'valid' }),
      { id: 'sum', op: 'add', inputs: ['c2', 'r', 'c3'] },
      { id: 'cat', op: 'concat', inputs: ['sum', 'c1'] },
      { id: 'mp', op: 'maxpool2d', inputs: ['cat'], kernel: 3, stride: 2, padding: 1 },
      conv('dw', 'mp', 8, 3, { groups: 4, stride: 2, padding: 'same' }),
      conv('dil', 'dw', 6, 2, { dilation: 2, padding: 'same' }),
      conv('input', 'dil', 6, 4, { stride: 2, padding: 'same', bias: false }),
      { id: 'ap', op: 'avgpool2d', inputs: ['dil'], kernel: 3, stride: 1, padding: 'same' },
      { id: 'ap2', op: 'avgpool2d', inputs: ['mp'], kernel: 2, stride: 2, padding: 1 },
      { id: 'gap', op: 'global_avg_pool', inputs: ['ap2'] },
      { id: 'fl', op: 'flatten', inputs: ['ap'] },
      { id: 'fl2', op: 'flatten', inputs: ['input'] },
      { id: 'both', op: 'concat', inputs: ['fl', 'fl2', 'gap'] },
      { id: 'bn1', op: 'batchnorm', inputs: ['both'] },
      { id: 'do', op: 'dropout', inputs: ['bn1'], rate: 0.3 },
      { id: 'logits', op: 'dense', inputs: ['do'], units: 5, bias: false },
      { id: 'act', op: 'activation', inputs: ['logits'], fn: 'elu' },
      { id: 'out', op: 'dense', inputs: ['act'], units: 5, bias: true },
    ],
  },
};

export interface TrainedExample {
  readonly network: Network;
  /** The 8-bit input images, NCHW. */
  readonly pixels: Uint8Array;
  /** The input images as the network saw them (pixels / 255, then standardised if asked). */
  readonly inputs: Float32Array;
  readonly count: number;
  /** The engine's logits for `inputs`, count x classes. */
  readonly logits: Float32Array;
  readonly classes: number;
}

/**
 * Builds the architecture with a seed, trains it a few steps on synthetic images (so that batch
 * norm's running statistics are not the initial ones) and predicts `count` other images.
 */
export async function trainedExample(
  architecture: Architecture,
  count = 6,
  normalisation?: { mean: number[]; std: number[] },
): Promise<TrainedExample> {
  const { channels, height } = architecture.input;
  const options = normalisation ? { normalisation } : {};
  const network = Network.build(architecture, { init: 'glorot', seed: 7 });
  const train = TensorData.fromImages(
    syntheticImages(96, { channels, size: height, seed: 3 }),
    options,
  );
  await network.train(train, null, {
    epochs: 2,
    batchSize: 16,
    optimizer: 'adamw',
    lr: 0.01,
    weightDecay: 0,
    schedule: 'constant',
    seed: 3,
    maxStepsPerEpoch: 4,
    threads: 1,
  });
  train.release();
  const images = syntheticImages(count, { channels, size: height, seed: 11 });
  const data = TensorData.fromImages(images, options);
  const { logits, classes } = await network.predict(data, { threads: 1 });
  data.release();
  return {
    network,
    pixels: images.images,
    inputs: Float32Array.from(images.images, (pixel, i) => {
      const channel = Math.floor(i / (height * height)) % channels;
      const scaled = Math.fround(pixel / 255);
      if (!normalisation) return scaled;
      const mean = Math.fround(normalisation.mean[channel] as number);
      const std = Math.fround(normalisation.std[channel] as number);
      return Math.fround(Math.fround(scaled - mean) / std);
    }),
    count,
    logits,
    classes,
  };
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) {
    const difference = Math.abs((a[i] as number) - (b[i] as number));
    if (Number.isNaN(difference)) return NaN;
    if (difference > max) max = difference;
  }
  return max;
}
