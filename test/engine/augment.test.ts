import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import type { Architecture } from '../../src/space/ir.js';
import { conv, syntheticImages } from '../helpers.js';

// 12x12 images whose class is the quadrant of a bright square: classes 0 and 1 (and 2 and 3)
// differ only by left and right.
const arch: Architecture = {
  format: 'nascent-ir/1',
  input: { channels: 1, height: 12, width: 12 },
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    conv('c1', 'input', 8, 3),
    { id: 'a1', op: 'activation', fn: 'relu', inputs: ['c1'] },
    { id: 'p1', op: 'maxpool2d', kernel: 2, stride: 2, padding: 0, inputs: ['a1'] },
    { id: 'f', op: 'flatten', inputs: ['p1'] },
    { id: 'logits', op: 'dense', units: 4, bias: true, inputs: ['f'] },
  ],
  output: 'logits',
};
const options = {
  epochs: 8,
  batchSize: 32,
  optimizer: 'adam' as const,
  lr: 0.01,
  weightDecay: 0,
  schedule: 'constant' as const,
  seed: 3,
  threads: 1,
};

async function trainAndScore(augment: { cropPadding?: number; flip?: boolean }) {
  const data = TensorData.fromImages(syntheticImages(256, { seed: 4 }));
  // Fresh images (other noise), so that memorising the training images does not count.
  const test = TensorData.fromImages(syntheticImages(256, { seed: 5 }));
  const net = Network.build(arch, { seed: 1 });
  try {
    const result = await net.train(data, null, { ...options, ...augment });
    const evaluation = await net.evaluate(test);
    const last = result.epochs.at(-1);
    return {
      loss: last?.trainLoss ?? Number.NaN,
      trainAccuracy: last?.trainAccuracy ?? Number.NaN,
      accuracy: evaluation.accuracy,
    };
  } finally {
    data.release();
    test.release();
  }
}

describe('training augmentation', () => {
  it('flips left-right: classes told apart only by left and right become a coin toss', async () => {
    const plain = await trainAndScore({});
    const flipped = await trainAndScore({ flip: true });
    expect(plain.accuracy).toBeGreaterThan(0.9);
    expect(plain.loss).toBeLessThan(0.1);
    // Every training image is as likely to be seen mirrored, so within each left/right pair the
    // label says nothing the image shows: the loss cannot go below ln 2 per image (0.69), and the
    // training accuracy stays near 1/2.
    expect(flipped.loss).toBeGreaterThan(0.6);
    expect(flipped.trainAccuracy).toBeLessThan(0.6);
  });

  it('crops with padding: repeatable for a seed, and not the same training as without', async () => {
    const a = await trainAndScore({ cropPadding: 2 });
    const b = await trainAndScore({ cropPadding: 2 });
    const none = await trainAndScore({});
    expect(a.loss).toBe(b.loss);
    expect(a.loss).not.toBe(none.loss);
    expect(Number.isFinite(a.loss)).toBe(true);
  });

  it('refuses a negative padding', async () => {
    const data = TensorData.fromImages(syntheticImages(32));
    const net = Network.build(arch);
    await expect(net.train(data, null, { ...options, cropPadding: -1 })).rejects.toThrow(
      'cropPadding must be at least 0',
    );
    data.release();
  });
});
