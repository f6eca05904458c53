/**
 * Training protocols: named, complete recipes, so that a number reported by Nascent always says
 * how it was trained.
 */
import type { TrainOptions, WeightInit } from '../engine/engine.js';

export interface TrainingProtocol {
  readonly name: string;
  readonly description: string;
  readonly init: WeightInit;
  /** Standardise pixels with the dataset's per-channel mean and std (else pixels / 255). */
  readonly standardise: boolean;
  /** Share of the training set held out for validation (early stopping, reported accuracy). */
  readonly validationFraction: number;
  /** A fixed number of validation images instead of a share (the express protocol's 1,024). */
  readonly validationCount?: number;
  readonly training: Omit<TrainOptions, 'seed' | 'threads' | 'progressEvery' | 'maxStepsPerEpoch'>;
}

export const PROTOCOLS = {
  /**
   * Mirrors the well-known Fashion-MNIST assignment evaluator (Keras): AdamW lr 1e-3 decayed
   * x0.1 per 4,690 steps (continuous, as Keras' ExponentialDecay), weight decay 1e-9, Keras'
   * epsilon 1e-7, batch 128, 10 epochs, early stopping on validation loss (patience 2, min delta
   * 0.005) with the best epoch's weights restored, Glorot-uniform weights and zero biases, pixels
   * scaled to [0, 1]. The loss is cross-entropy from logits applied to the output of the activated
   * last layer, as in the original. 10% of the training set is held out for validation.
   */
  course: {
    name: 'course',
    description:
      'Fashion-MNIST assignment evaluator: AdamW 1e-3, x0.1 decay per 4,690 steps, batch 128, 10 epochs, early stop (val loss, patience 2)',
    init: 'glorot',
    standardise: false,
    validationFraction: 0.1,
    training: {
      epochs: 10,
      batchSize: 128,
      optimizer: 'adamw',
      lr: 1e-3,
      weightDecay: 1e-9,
      eps: 1e-7,
      schedule: 'exponential',
      decaySteps: 4690,
      decayRate: 0.1,
      staircase: false,
      patience: 2,
      minDelta: 0.005,
      restoreBest: true,
    },
  },
  /** SGD with Nesterov momentum 0.9, cosine schedule, weight decay 5e-4, Kaiming init. */
  standard: {
    name: 'standard',
    description:
      'SGD momentum 0.9 (Nesterov), lr 0.05 cosine, weight decay 5e-4, batch 128, 10 epochs, Kaiming init',
    init: 'kaiming',
    standardise: true,
    validationFraction: 0.1,
    training: {
      epochs: 10,
      batchSize: 128,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-4,
      schedule: 'cosine',
    },
  },
  /**
   * Express training, for screening thousands of models: one epoch at batch 256 (the whole
   * training set resident in native or GPU memory, no JavaScript per batch), AdamW 2e-3 with a
   * step schedule (x0.1 at epochs 2 and 3, so it only matters when more epochs are asked for),
   * Kaiming init, and validation on a fixed split of 1,024 images.
   */
  express: {
    name: 'express',
    description:
      'express: 1 epoch, batch 256, AdamW 2e-3, step x0.1 at epochs 2 and 3, validation on a fixed 1,024 images',
    init: 'kaiming',
    standardise: true,
    validationFraction: 0.1,
    validationCount: 1024,
    training: {
      epochs: 1,
      batchSize: 256,
      optimizer: 'adamw',
      lr: 2e-3,
      weightDecay: 5e-4,
      schedule: 'step',
      milestones: [2, 3],
      gamma: 0.1,
    },
  },
} as const satisfies Record<string, TrainingProtocol>;

export type ProtocolName = keyof typeof PROTOCOLS;
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as ProtocolName[];

export function getProtocol(name: string): TrainingProtocol {
  if (!(name in PROTOCOLS)) {
    throw new Error(`unknown protocol "${name}" (expected one of ${PROTOCOL_NAMES.join(', ')})`);
  }
  return PROTOCOLS[name as ProtocolName];
}
