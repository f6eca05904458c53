import { describe, expect, it } from 'vitest';
import { kerasEarlyStopping } from '../../src/engine/early-stopping.js';
import {
  Network,
  type TrainOptions,
  type TrainResult,
  TensorData,
  type WeightMap,
} from '../../src/engine/engine.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import type { Architecture } from '../../src/space/ir.js';
import { mixWholeNetworks } from '../../src/space/mixture.js';
import { conv, syntheticImages } from '../helpers.js';

const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
const genome = (text: string): Architecture => genomeToArchitecture(text, small);

/** A network with batch norm and dropout, so buffers and the dropout generator must resume too. */
const NORM_DROPOUT: Architecture = {
  format: 'nascent-ir/1',
  input: { channels: 1, height: 12, width: 12 },
  output: 'fc',
  nodes: [
    { id: 'x', op: 'input', inputs: [] },
    conv('c1', 'x', 6, 3),
    { id: 'bn', op: 'batchnorm', inputs: ['c1'] },
    { id: 'r', op: 'activation', inputs: ['bn'], fn: 'relu' },
    { id: 'mp', op: 'maxpool2d', inputs: ['r'], kernel: 2, stride: 2, padding: 0 },
    { id: 'fl', op: 'flatten', inputs: ['mp'] },
    { id: 'do', op: 'dropout', inputs: ['fl'], rate: 0.3 },
    { id: 'fc', op: 'dense', inputs: ['do'], units: 4, bias: true },
  ],
};

const train = TensorData.fromImages(syntheticImages(96, { seed: 1 }));
const validation = TensorData.fromImages(syntheticImages(48, { seed: 2 }));

function sameWeights(a: WeightMap, b: WeightMap): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [name, tensor] of Object.entries(a)) {
    expect(Array.from(b[name]?.data ?? []), name).toEqual(Array.from(tensor.data));
  }
}

/** Records without wall-clock seconds, for exact comparison. */
const records = (result: TrainResult) => result.epochs.map(({ seconds: _, ...rest }) => rest);

describe('training in segments', () => {
  const options: TrainOptions = {
    epochs: 4,
    batchSize: 16,
    optimizer: 'adamw',
    lr: 0.01,
    weightDecay: 0.01,
    schedule: 'cosine',
    seed: 7,
    patience: 10,
    restoreBest: true,
    cropPadding: 2,
    flip: true,
  };

  it('2 epochs, then continuing 2 more, gives exactly the records and weights of 4 at once', async () => {
    const whole = Network.build(NORM_DROPOUT, { seed: 3 });
    const once = await whole.train(train, validation, options);
    expect(once.status).toBe('completed');

    const split = Network.build(NORM_DROPOUT, { seed: 3 });
    const first = await split.train(train, validation, { ...options, untilEpoch: 2 });
    expect(first.status).toBe('paused');
    expect(first.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(split.pausedEpoch).toBe(2);
    const events: number[] = [];
    const rest = await split.continueTraining(train, validation, {}, (event) => {
      if (event.type === 'epoch') events.push(event.record.epoch);
    });
    expect(events).toEqual([3, 4]);
    expect(rest.status).toBe('completed');
    expect(split.pausedEpoch).toBeNull();
    expect(records(rest)).toEqual(records(once));
    expect(rest.steps).toBe(once.steps);
    expect(rest.images).toBe(once.images);
    expect(rest.bestEpoch).toBe(once.bestEpoch);
    sameWeights(split.getWeights(), whole.getWeights());
  });

  it('a schedule over more epochs than trained: the first epochs of the long training, exactly', async () => {
    const long = Network.build(NORM_DROPOUT, { seed: 3 });
    const full = await long.train(train, validation, { ...options, patience: -1 });
    const short = Network.build(NORM_DROPOUT, { seed: 3 });
    const cut = await short.train(train, validation, {
      ...options,
      patience: -1,
      epochs: 2,
      scheduleEpochs: 4,
    });
    expect(cut.status).toBe('completed');
    expect(records(cut)).toEqual(records(full).slice(0, 2));
    // a schedule over the 2 epochs themselves anneals faster
    const own = await Network.build(NORM_DROPOUT, { seed: 3 }).train(train, validation, {
      ...options,
      patience: -1,
      epochs: 2,
    });
    expect(own.epochs[1]?.lr).toBeLessThan(cut.epochs[1]?.lr ?? 0);
  });

  it('continues a mixture network with its architecture optimizer', async () => {
    const mixture = mixWholeNetworks([
      genome('NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;'),
      genome('NC 6 5 tanh;RC 4 3 relu;RC 4 3 relu;FL relu;'),
    ]);
    const darts: TrainOptions = {
      ...options,
      epochs: 3,
      optimizer: 'sgd',
      momentum: 0.9,
      lr: 0.05,
      architectureLr: 0.01,
      patience: -1,
      restoreBest: false,
    };
    const whole = Network.build(mixture, { seed: 1 });
    const once = await whole.train(train, validation, darts);
    const split = Network.build(mixture, { seed: 1 });
    await split.train(train, validation, { ...darts, untilEpoch: 1 });
    const paused = await split.continueTraining(train, validation, { untilEpoch: 2 });
    expect(paused.status).toBe('paused');
    const rest = await split.continueTraining(train, validation);
    expect(records(rest)).toEqual(records(once));
    expect(rest.alpha).toEqual(once.alpha);
    sameWeights(split.getWeights(), whole.getWeights());
  });

  it('ends a paused training where it is, and refuses what it cannot continue', async () => {
    const net = Network.build(NORM_DROPOUT, { seed: 3 });
    await expect(net.continueTraining(train, validation)).rejects.toThrow(
      /continue needs a paused training/,
    );
    await expect(net.train(train, validation, { ...options, untilEpoch: 5 })).rejects.toThrow(
      /untilEpoch must be between 1 and epochs/,
    );
    await net.train(train, validation, { ...options, untilEpoch: 2 });
    await expect(net.continueTraining(validation, validation)).rejects.toThrow(
      /same training and validation/,
    );
    await expect(net.continueTraining(train, validation, { untilEpoch: 1 })).rejects.toThrow(
      /after epoch 2/,
    );
    // a refused continuation leaves the paused training as it was
    expect(net.pausedEpoch).toBe(2);
    const ended = await net.continueTraining(train, validation, { epochs: 2 });
    expect(ended.status).toBe('completed');
    expect(ended.epochs).toHaveLength(2);
    expect(net.pausedEpoch).toBeNull();
    // discarding drops the state: nothing is left to continue
    await net.train(train, validation, { ...options, untilEpoch: 1 });
    net.discardTraining();
    expect(net.pausedEpoch).toBeNull();
    await expect(net.continueTraining(train, validation)).rejects.toThrow(/has none/);
  });
});

describe('Keras early stopping', () => {
  it('the rule on a hand-worked loss sequence', () => {
    // epoch:       1    2    3     4    5    6    7
    const losses = [1.0, 0.8, 0.85, 0.7, 0.75, 0.72, 0.9];
    // patience 2: epoch 5 waits 1, epoch 6 waits 2 >= 2: stop after epoch 6, best epoch 4
    expect(kerasEarlyStopping(losses, 2)).toEqual({ stopEpoch: 6, bestEpoch: 4 });
    // patience 1: epoch 3 is the first without improvement
    expect(kerasEarlyStopping(losses, 1)).toEqual({ stopEpoch: 3, bestEpoch: 2 });
    // patience 0 stops at the first epoch without improvement too
    expect(kerasEarlyStopping(losses, 0)).toEqual({ stopEpoch: 3, bestEpoch: 2 });
    // patience 3: epochs 5, 6, 7 wait 1, 2, 3; patience 4 never waits that long here
    expect(kerasEarlyStopping(losses, 3)).toEqual({ stopEpoch: 7, bestEpoch: 4 });
    expect(kerasEarlyStopping(losses, 4)).toEqual({ stopEpoch: null, bestEpoch: 4 });
    // min_delta 0.15: 0.8 (a drop of 0.2) improves, 0.7 (0.1 below 0.8) does not
    expect(kerasEarlyStopping(losses, 2, 0.15)).toEqual({ stopEpoch: 4, bestEpoch: 2 });
  });

  it('the engine stops where the rule does, on its own validation losses', async () => {
    // a validation set whose labels have nothing to do with the images: its loss soon rises
    const noise = syntheticImages(64, { seed: 2 });
    const unrelated = TensorData.fromImages({
      ...noise,
      labels: noise.labels.map((l, i) => (l + i * 7) % 4),
    });
    const arch = genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;');
    const base: TrainOptions = {
      epochs: 12,
      batchSize: 32,
      optimizer: 'adamw',
      lr: 0.02,
      weightDecay: 0,
      schedule: 'constant',
      seed: 5,
    };
    const free = await Network.build(arch, { seed: 1 }).train(train, unrelated, base);
    const losses = free.epochs.map((e) => e.valLoss ?? NaN);
    for (const patience of [1, 2, 3]) {
      const expected = kerasEarlyStopping(losses, patience);
      const stopped = await Network.build(arch, { seed: 1 }).train(train, unrelated, {
        ...base,
        patience,
      });
      expect(stopped.status, `patience ${patience}`).toBe(
        expected.stopEpoch === null ? 'completed' : 'early_stopped',
      );
      expect(stopped.epochs).toHaveLength(expected.stopEpoch ?? base.epochs);
      expect(stopped.bestEpoch).toBe(expected.bestEpoch);
    }
    // the sequence must exercise the rule: some patience stops before the end
    expect(kerasEarlyStopping(losses, 1).stopEpoch).not.toBeNull();
  });

  it('early-stopping state carries across a pause', async () => {
    const noise = syntheticImages(64, { seed: 2 });
    const unrelated = TensorData.fromImages({
      ...noise,
      labels: noise.labels.map((l, i) => (l + i * 7) % 4),
    });
    const arch = genome('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;');
    const base: TrainOptions = {
      epochs: 12,
      batchSize: 32,
      optimizer: 'adamw',
      lr: 0.02,
      weightDecay: 0,
      schedule: 'constant',
      seed: 5,
      patience: 2,
      restoreBest: true,
    };
    const whole = Network.build(arch, { seed: 1 });
    const once = await whole.train(train, unrelated, base);
    const split = Network.build(arch, { seed: 1 });
    let result = await split.train(train, unrelated, { ...base, untilEpoch: 1 });
    while (result.status === 'paused') {
      result = await split.continueTraining(train, unrelated, {
        untilEpoch: Math.min(base.epochs, result.epochs.length + 1),
      });
    }
    expect(result.status).toBe(once.status);
    expect(records(result)).toEqual(records(once));
    expect(result.bestEpoch).toBe(once.bestEpoch);
    sameWeights(split.getWeights(), whole.getWeights());
  });
});
