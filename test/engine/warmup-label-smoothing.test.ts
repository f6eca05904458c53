import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import { compileCnn, parseCnn } from '../../src/space/cnn/index.js';
import { syntheticImages } from '../helpers.js';

const target = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
const base = {
  batchSize: 8,
  optimizer: 'sgd' as const,
  momentum: 0.9,
  weightDecay: 0,
  seed: 3,
  threads: 1,
};

describe('final recipe options of the engine', () => {
  it('warms the learning rate up linearly, then runs the cosine over the remaining steps', async () => {
    const data = TensorData.fromImages(syntheticImages(32, { size: 12 })); // 4 steps per epoch
    const network = Network.build(compileCnn(parseCnn('relu|s8|ds8k3s2'), target), { seed: 1 });
    const result = await network.train(data, null, {
      ...base,
      epochs: 4,
      lr: 0.1,
      schedule: 'cosine',
      warmupEpochs: 2,
    });
    data.release();
    // each epoch reports the rate of its last step: steps 3, 7 (warmup over 8 steps: (s+1)/9),
    // then 11 and 15 of the cosine over steps 8..16
    const cosine = (step: number): number => 0.05 * (1 + Math.cos((Math.PI * (step - 8)) / 8));
    const expected = [(0.1 * 4) / 9, (0.1 * 8) / 9, cosine(11), cosine(15)];
    result.epochs.forEach((epoch, i) => expect(epoch.lr).toBeCloseTo(expected[i] as number, 9));
  });

  it('smooths the training loss only, and refuses a smoothing of 1', async () => {
    const train = TensorData.fromImages(syntheticImages(32, { size: 12, seed: 1 }));
    const validation = TensorData.fromImages(syntheticImages(16, { size: 12, seed: 2 }));
    const architecture = compileCnn(parseCnn('relu|s8|ds8k3s2'), target);
    const losses = [];
    for (const labelSmoothing of [0, 0.2]) {
      const network = Network.build(architecture, { seed: 1 });
      // lr 0: the weights stay, so the two trainings differ only by the loss they report
      const { epochs } = await network.train(train, validation, {
        ...base,
        epochs: 1,
        lr: 0,
        schedule: 'constant',
        labelSmoothing,
      });
      losses.push(epochs[0]);
    }
    const [plain, smoothed] = losses;
    expect(Math.abs((smoothed?.trainLoss ?? 0) - (plain?.trainLoss ?? 0))).toBeGreaterThan(1e-4);
    expect(smoothed?.valLoss).toBeCloseTo(plain?.valLoss ?? NaN, 6);
    const network = Network.build(architecture, { seed: 1 });
    await expect(
      network.train(train, null, {
        ...base,
        epochs: 1,
        lr: 0.1,
        schedule: 'constant',
        labelSmoothing: 1,
      }),
    ).rejects.toThrow(/labelSmoothing must be in \[0, 1\)/);
    train.release();
    validation.release();
  });
});
