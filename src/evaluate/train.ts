/**
 * The training evaluator: maps an architecture, a protocol and a budget to metrics.
 */
import {
  type EpochRecord,
  type EvalResult,
  Network,
  type ProgressEvent,
  type TrainOptions,
  type TrainResult,
} from '../engine/engine.js';
import type { Architecture } from '../space/ir.js';
import type { PreparedData } from './prepared-data.js';
import type { TrainingProtocol } from './protocols.js';

export interface Augmentation {
  /** Pad each side with this many black pixels and crop back to size at a random offset. */
  readonly cropPadding?: number;
  /** Flip left-right with probability 1/2 (for CIFAR-like data, not for digits or text). */
  readonly flip?: boolean;
}

/** The augmentation that `--crop-padding` and `--flip` ask for; undefined when they ask for none. */
export function augmentationFromFlags(flags: {
  cropPadding?: number;
  flip?: boolean;
}): Augmentation | undefined {
  if (!flags.cropPadding && !flags.flip) return undefined;
  return {
    ...(flags.cropPadding ? { cropPadding: flags.cropPadding } : {}),
    ...(flags.flip ? { flip: true } : {}),
  };
}

export interface TrainingBudget {
  /** Overrides the protocol's epoch count. */
  epochs?: number;
  /** Caps the batches per epoch (for benchmarks and smoke runs). */
  maxStepsPerEpoch?: number;
}

export interface TrainArchitectureOptions {
  protocol: TrainingProtocol;
  budget?: TrainingBudget;
  seed: number;
  threads?: number;
  device?: string;
  progressEvery?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Augmentation of training batches (random crops with black padding, horizontal flips). */
  augment?: Augmentation;
  /** Called with the network before training, e.g. to inherit weights or to keep a stop handle. */
  beforeTraining?: (network: Network) => void;
}

export interface TrainingReport {
  readonly params: number;
  readonly flops: number;
  readonly macs: number;
  readonly status: TrainResult['status'];
  readonly reason?: string;
  readonly epochs: readonly EpochRecord[];
  /** 1-based epoch whose weights were kept (lowest validation loss under early stopping). */
  readonly bestEpoch: number;
  readonly valAccuracy: number | null;
  readonly valLoss: number | null;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly trainSeconds: number;
  readonly imagesPerSecond: number;
  /** Training images the network saw (each epoch counts every image it trained on). */
  readonly trainedImages: number;
  readonly threads: number;
}

export interface TrainedArchitecture {
  readonly network: Network;
  readonly report: TrainingReport;
}

/** What the engine's `train` takes for a protocol, a budget and the run's options. */
export function engineTrainOptions(
  protocol: TrainingProtocol,
  data: PreparedData,
  options: {
    readonly budget?: TrainingBudget;
    readonly seed: number;
    readonly threads?: number;
    readonly progressEvery?: number;
    readonly augment?: Augmentation;
    /** The epoch count the learning-rate schedule is defined over (default: the epochs). */
    readonly scheduleEpochs?: number;
  },
): TrainOptions {
  const training = { ...protocol.training };
  if (data.validation === null) {
    delete (training as { patience?: number }).patience;
    delete (training as { restoreBest?: boolean }).restoreBest;
  }
  return {
    ...training,
    epochs: options.budget?.epochs ?? protocol.training.epochs,
    seed: options.seed,
    ...(options.scheduleEpochs ? { scheduleEpochs: options.scheduleEpochs } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.budget?.maxStepsPerEpoch
      ? { maxStepsPerEpoch: options.budget.maxStepsPerEpoch }
      : {}),
    ...(options.progressEvery ? { progressEvery: options.progressEvery } : {}),
    ...(options.augment?.cropPadding ? { cropPadding: options.augment.cropPadding } : {}),
    ...(options.augment?.flip ? { flip: true } : {}),
  };
}

/** The report of a finished training and its test evaluation. */
export function trainingReport(
  network: Network,
  result: TrainResult,
  test: EvalResult,
): TrainingReport {
  const best =
    result.epochs.find((epoch) => epoch.epoch === result.bestEpoch) ?? result.epochs.at(-1);
  return {
    params: network.summary.params,
    flops: network.summary.flops,
    macs: network.summary.macs,
    status: result.status,
    ...(result.reason ? { reason: result.reason } : {}),
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    valAccuracy: best?.valAccuracy ?? null,
    valLoss: best?.valLoss ?? null,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    trainSeconds: result.seconds,
    imagesPerSecond: result.seconds > 0 ? result.images / result.seconds : 0,
    trainedImages: result.images,
    threads: result.threads,
  };
}

export async function trainArchitecture(
  architecture: Architecture,
  data: PreparedData,
  options: TrainArchitectureOptions,
): Promise<TrainedArchitecture> {
  const { protocol } = options;
  const network = Network.build(architecture, {
    init: protocol.init,
    seed: options.seed,
    ...(options.device ? { device: options.device } : {}),
  });
  options.beforeTraining?.(network);
  const result = await network.train(
    data.train,
    data.validation,
    engineTrainOptions(protocol, data, options),
    options.onProgress,
  );
  const test = await network.evaluate(
    data.test,
    options.threads ? { threads: options.threads } : {},
  );
  return { network, report: trainingReport(network, result, test) };
}
