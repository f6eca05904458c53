/**
 * The typed facade over the native engine, in the manner of tfjs-node and onnxruntime-node: a
 * thin layer that validates input and gives names and types to what the addon does.
 */
import type { ImageDataset } from '../data/types.js';
import { type Architecture, type ArchitectureSummary, analyzeArchitecture } from '../space/ir.js';
import {
  type NativeDataset,
  type NativeEvalResult,
  type NativeInfo,
  type NativeModel,
  type NativeProgressEvent,
  type NativeProxyOptions,
  type NativeProxyResult,
  type NativeRegressor,
  type NativeRegressorFitOptions,
  type NativeRunOptions,
  type NativeContinueOptions,
  type NativeTrainOptions,
  type NativeTrainResult,
  type WeightInit,
  type WeightMap,
  loadNative,
} from './native.js';
import { lowerToPlan } from './plan.js';

export type {
  NativeEpochRecord as EpochRecord,
  NativeEvalResult as EvalResult,
  NativeProgressEvent as ProgressEvent,
  NativeProxyOptions as ProxyOptions,
  NativeProxyResult as ProxyResult,
  NativeProxyScore as ProxyScore,
  NativeRegressorFitOptions as RegressorFitOptions,
  NativeContinueOptions as ContinueOptions,
  NativeTrainOptions as TrainOptions,
  NativeTrainResult as TrainResult,
  WeightInit,
  WeightMap,
  WeightTensor,
} from './native.js';

export { WEIGHT_INITS } from './native.js';

/** `cpu`, `cuda` or `cuda:N`. */
export function checkDevice(device: string): string {
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) {
    throw new Error(`unknown device "${device}" (expected cpu, cuda or cuda:N)`);
  }
  if (device.startsWith('cuda') && !loadNative().info().cudaAvailable) {
    throw new Error(
      `device "${device}" requested, but the engine's libtorch has no usable CUDA device (built without CUDA, or no GPU visible)`,
    );
  }
  return device;
}

export function engineInfo(): NativeInfo {
  return loadNative().info();
}

/** Images and labels copied once into native memory (or onto the GPU), normalised to float. */
export class TensorData {
  private constructor(
    readonly native: NativeDataset,
    readonly name: string,
    readonly count: number,
  ) {}

  static fromImages(
    dataset: ImageDataset,
    options: {
      normalisation?: { mean: readonly number[]; std: readonly number[] };
      device?: string;
    } = {},
  ): TensorData {
    const { mean, std } = options.normalisation ?? {};
    if (mean && (mean.length !== dataset.channels || std?.length !== dataset.channels)) {
      throw new Error(`normalisation needs ${dataset.channels} means and standard deviations`);
    }
    const native = new (loadNative().Dataset)(dataset.images, dataset.labels, {
      count: dataset.count,
      channels: dataset.channels,
      height: dataset.height,
      width: dataset.width,
      classes: dataset.classes.length,
      ...(mean && std ? { mean, std } : {}),
      device: checkDevice(options.device ?? 'cpu'),
    });
    return new TensorData(native, dataset.name, dataset.count);
  }

  release(): void {
    this.native.release();
  }
}

export interface BuildOptions {
  device?: string;
  init?: WeightInit;
  seed?: number;
}

/** A trainable network built by libtorch from an architecture. */
export class Network {
  readonly summary: ArchitectureSummary;
  private readonly model: NativeModel;

  private constructor(
    readonly architecture: Architecture,
    options: BuildOptions,
  ) {
    this.summary = analyzeArchitecture(architecture);
    this.model = new (loadNative().Model)(lowerToPlan(architecture), {
      device: checkDevice(options.device ?? 'cpu'),
      init: options.init ?? 'torch',
      seed: options.seed ?? 0,
    });
  }

  static build(architecture: Architecture, options: BuildOptions = {}): Network {
    return new Network(architecture, options);
  }

  get device(): string {
    return this.model.device;
  }

  /** Trainable parameters as libtorch counts them. */
  parameterCount(): number {
    return this.model.parameterCount();
  }

  /**
   * Trains from a fresh optimizer. With `untilEpoch` below `epochs` it pauses there (status
   * `paused`) and {@link Network.continueTraining} goes on from the same state.
   */
  async train(
    train: TensorData,
    validation: TensorData | null,
    options: NativeTrainOptions,
    onProgress?: (event: NativeProgressEvent) => void,
  ): Promise<NativeTrainResult> {
    return this.model.train(train.native, validation?.native ?? null, options, onProgress);
  }

  /**
   * Resumes the paused training on the same datasets, exactly as if it had never paused; the
   * result lists every epoch so far. Throws when no training is paused.
   */
  async continueTraining(
    train: TensorData,
    validation: TensorData | null,
    options: Omit<NativeContinueOptions, 'continue'> = {},
    onProgress?: (event: NativeProgressEvent) => void,
  ): Promise<NativeTrainResult> {
    return this.model.train(
      train.native,
      validation?.native ?? null,
      { ...options, continue: true },
      onProgress,
    );
  }

  /** The epoch a paused training stopped after; null when none is paused. */
  get pausedEpoch(): number | null {
    return this.model.pausedEpoch;
  }

  /** Frees a paused training's optimizer state and snapshots; the weights stay as they are. */
  discardTraining(): void {
    this.model.discardTraining();
  }

  /** Asks a running training to stop after the current batch; it resolves with status `stopped`. */
  stop(): void {
    this.model.stop();
  }

  async evaluate(data: TensorData, options?: NativeRunOptions): Promise<NativeEvalResult> {
    return this.model.evaluate(data.native, options);
  }

  /** Logits, row-major: count x classes. */
  async predict(
    data: TensorData,
    options?: NativeRunOptions,
  ): Promise<{ logits: Float32Array; count: number; classes: number }> {
    return this.model.predict(data.native, options);
  }

  /**
   * Training-free proxy scores of the network as it is now (normally: just initialised), on a
   * seeded mini-batch of `data`. The network's weights are the same afterwards.
   */
  async proxies(data: TensorData, options: NativeProxyOptions): Promise<NativeProxyResult> {
    return this.model.proxies(data.native, options);
  }

  getWeights(): WeightMap {
    return this.model.getWeights();
  }

  /** Copies the given tensors by name; returns how many were copied. */
  setWeights(weights: WeightMap): number {
    return this.model.setWeights(weights);
  }

  save(path: string): void {
    this.model.save(path);
  }

  load(path: string): void {
    this.model.load(path);
  }
}

export interface RegressorShape {
  /** `lstm`: a sequence of per-layer vectors; `mlp`: one fixed-length vector. */
  kind: 'lstm' | 'mlp';
  inputSize: number;
  hidden: number;
  layers: number;
  seed?: number;
}

/** Rows of inputs for a regressor: `count` sequences of `steps` vectors, or `count` vectors. */
export interface RegressorInputs {
  values: Float32Array;
  count: number;
  /** Valid steps per sequence (LSTM only). */
  lengths?: Int32Array;
}

/** A small regression network trained by libtorch (the accuracy predictor's models). */
export class Regressor {
  private readonly model: NativeRegressor;

  constructor(readonly shape: RegressorShape) {
    this.model = new (loadNative().Regressor)({ ...shape, seed: shape.seed ?? 0 });
  }

  fit(
    inputs: RegressorInputs,
    targets: Float32Array,
    options: NativeRegressorFitOptions = {},
  ): Promise<{ loss: number }> {
    return this.model.fit(inputs.values, inputs.lengths ?? null, inputs.count, targets, options);
  }

  predict(inputs: RegressorInputs): Float32Array {
    return this.model.predict(inputs.values, inputs.lengths ?? null, inputs.count);
  }

  save(path: string): void {
    this.model.save(path);
  }

  load(path: string): void {
    this.model.load(path);
  }
}
