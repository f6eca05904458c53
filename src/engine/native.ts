/**
 * The raw binding: the shapes of what the native addon (native/nascent.cc) takes and returns.
 * Everything above this file uses the typed facade in ./engine.ts instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnginePlan } from './plan.js';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type WeightMap = Record<string, WeightTensor>;

export interface NativeEpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly valLoss: number | null;
  readonly valAccuracy: number | null;
  readonly lr: number;
  readonly seconds: number;
}

export type NativeProgressEvent =
  | {
      readonly type: 'batch';
      readonly epoch: number;
      readonly batch: number;
      readonly batches: number;
      readonly loss: number;
    }
  | { readonly type: 'epoch'; readonly record: NativeEpochRecord };

export interface NativeTrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: 'adamw' | 'adam' | 'sgd';
  lr: number;
  weightDecay: number;
  momentum?: number;
  nesterov?: boolean;
  eps?: number;
  beta1?: number;
  beta2?: number;
  schedule: 'constant' | 'exponential' | 'cosine' | 'step';
  decaySteps?: number;
  decayRate?: number;
  staircase?: boolean;
  milestones?: number[];
  gamma?: number;
  /** Early stopping on validation loss; omit or negative for none. */
  patience?: number;
  minDelta?: number;
  restoreBest?: boolean;
  threads?: number;
  seed: number;
  progressEvery?: number;
  maxStepsPerEpoch?: number;
  evalBatchSize?: number;
  /** Augmentation: random crops of each training image padded by this many black pixels. */
  cropPadding?: number;
  /** Augmentation: random horizontal flips of training images. */
  flip?: boolean;
  /**
   * A network with mix nodes (a DARTS tournament): after every weight step, one Adam step of this
   * learning rate on the architecture weights alpha, on a validation batch (first-order DARTS).
   * Omitted or 0: alpha stays uniform and is never trained.
   */
  architectureLr?: number;
  /**
   * Linear learning-rate warmup over this many epochs (fractions allowed; default 0) before the
   * schedule; a cosine schedule then decays over the remaining steps.
   */
  warmupEpochs?: number;
  /** Label smoothing of the training loss, in [0, 1) (default 0); validation and test never. */
  labelSmoothing?: number;
  /**
   * The epoch count the learning-rate schedule (cosine, step, exponential) is defined over
   * (default: `epochs`). A training cut short by a pruner follows the schedule of the full one.
   */
  scheduleEpochs?: number;
  /**
   * Pause after this epoch (default: `epochs`): the training returns with status `paused`, and
   * a later call with {@link NativeContinueOptions} goes on exactly where it stopped.
   */
  untilEpoch?: number;
}

/**
 * Resumes the model's paused training with the same optimizer state, step count, data-order and
 * augmentation engines, dropout generator and early-stopping state: training 2 epochs, then
 * continuing 2 more, gives exactly the records and weights of one 4-epoch training. Only where
 * it pauses or ends and how it reports may change. `epochs` equal to the epochs trained so far
 * ends the training there (restoring the best epoch's weights under `restoreBest`).
 */
export interface NativeContinueOptions {
  continue: true;
  /** Where the training ends (default: the paused training's `epochs`). */
  epochs?: number;
  /** Pause again after this epoch (default: `epochs`). */
  untilEpoch?: number;
  progressEvery?: number;
  threads?: number;
  evalBatchSize?: number;
}

export interface NativeTrainResult {
  /** Every epoch of the training so far, earlier segments included. */
  readonly epochs: NativeEpochRecord[];
  readonly status: 'completed' | 'early_stopped' | 'stopped' | 'diverged' | 'paused';
  readonly reason?: string;
  readonly bestEpoch: number;
  /** Weight steps, images seen and seconds trained, over all segments so far. */
  readonly steps: number;
  readonly images: number;
  readonly seconds: number;
  readonly threads: number;
  /** A network with mix nodes: its architecture weights alpha after training (one per input). */
  readonly alpha?: number[];
}

export interface NativeEvalResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly count: number;
}

export interface NativeDataset {
  readonly count: number;
  readonly device: string;
  release(): void;
}

export interface NativeDatasetShape {
  count: number;
  channels: number;
  height: number;
  width: number;
  classes: number;
  mean?: readonly number[];
  std?: readonly number[];
  device: string;
}

export interface NativeRunOptions {
  batchSize?: number;
  threads?: number;
}

export interface NativeModel {
  readonly device: string;
  train(
    train: NativeDataset,
    validation: NativeDataset | null,
    options: NativeTrainOptions | NativeContinueOptions,
    onProgress?: (event: NativeProgressEvent) => void,
  ): Promise<NativeTrainResult>;
  /** Drops a paused training's state; the weights stay as they are. */
  discardTraining(): void;
  /** The epoch a paused training stopped after; null when none is paused. */
  readonly pausedEpoch: number | null;
  evaluate(data: NativeDataset, options?: NativeRunOptions): Promise<NativeEvalResult>;
  predict(
    data: NativeDataset,
    options?: NativeRunOptions,
  ): Promise<{ logits: Float32Array; count: number; classes: number }>;
  proxies(data: NativeDataset, options: NativeProxyOptions): Promise<NativeProxyResult>;
  stop(): void;
  parameterCount(): number;
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): number;
  save(path: string): void;
  load(path: string): void;
}

export interface NativeProxyOptions {
  names: readonly string[];
  /** Images in the mini-batch (default 64). */
  batchSize?: number;
  /** Images for the NTK, the first of the batch (default 32). */
  ntkBatchSize?: number;
  seed?: number;
  threads?: number;
}

export interface NativeProxyScore {
  /** null when the proxy failed numerically; `failure` says why. */
  readonly value: number | null;
  readonly seconds: number;
  readonly failure?: string;
}

export interface NativeProxyResult {
  readonly scores: Record<string, NativeProxyScore>;
  readonly batchSize: number;
  /** The dataset rows of the batch, in the order the proxies saw them. */
  readonly batchOrder: readonly number[];
}

export interface NativeRegressorFitOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  threads?: number;
}

/** An LSTM over per-layer vectors (`lengths` given) or an MLP over fixed-length vectors. */
export interface NativeRegressor {
  fit(
    inputs: Float32Array,
    lengths: Int32Array | null,
    count: number,
    targets: Float32Array,
    options: NativeRegressorFitOptions,
  ): Promise<{ loss: number }>;
  predict(inputs: Float32Array, lengths: Int32Array | null, count: number): Float32Array;
  save(path: string): void;
  load(path: string): void;
}

export interface NativeInfo {
  readonly torchVersion: string;
  readonly cudaAvailable: boolean;
  readonly cudaDevices: number;
  readonly hardwareCores: number;
  readonly mallocTuned: boolean;
  /** Datasets copied into native memory since the addon loaded. */
  readonly datasetCopies: number;
}

/**
 * How a network's weights are drawn. `glorot`: Xavier uniform; `kaiming`: He normal, fan_out for
 * convolutions and fan_in for dense layers; `kaiming-fan-in`: He normal with fan_in everywhere
 * (what AZ-NAS scores at); `torch`: libtorch's defaults. Biases start at zero except under `torch`.
 */
export const WEIGHT_INITS = ['glorot', 'kaiming', 'kaiming-fan-in', 'torch'] as const;
export type WeightInit = (typeof WEIGHT_INITS)[number];

export interface NativeBinding {
  Dataset: new (images: Uint8Array, labels: Uint8Array, shape: NativeDatasetShape) => NativeDataset;
  Model: new (
    plan: EnginePlan,
    options: { device: string; init: WeightInit; seed: number },
  ) => NativeModel;
  Regressor: new (options: {
    kind: 'lstm' | 'mlp';
    inputSize: number;
    hidden: number;
    layers: number;
    seed: number;
  }) => NativeRegressor;
  info(): NativeInfo;
}

function findAddon(): string {
  const fromEnv = process.env.NASCENT_ADDON;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    const candidate = join(dir, 'build', 'native', 'Release', 'nascent.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    'the native engine is not built: run `npm run build:native` (needs libtorch: `apt-get install libtorch-dev`)',
  );
}

let binding: NativeBinding | undefined;

/** Loads the addon once. */
export function loadNative(): NativeBinding {
  if (!binding) {
    const require = createRequire(import.meta.url);
    binding = require(findAddon()) as NativeBinding;
  }
  return binding;
}
