/**
 * A dataset made ready for training: loaded, optionally subset, split into training and
 * validation by seed, and copied once into native memory, where it stays for every candidate.
 */
import { assertDatasetSpec, datasetNormalisation, loadDataset } from '../data/registry.js';
import { splitTrainValidation, takeSubset } from '../data/split.js';
import type { ImageDataset, Normalisation } from '../data/types.js';
import { TensorData } from '../engine/engine.js';
import type { InputShape } from '../space/ir.js';
import type { TrainingProtocol } from './protocols.js';

export interface PreparedData {
  readonly dataset: string;
  readonly input: InputShape;
  readonly classes: readonly string[];
  readonly train: TensorData;
  readonly validation: TensorData | null;
  readonly test: TensorData;
  release(): void;
}

export interface PrepareOptions {
  dataDir?: string;
  download?: boolean;
  /** Use only this many training images (before the validation split). */
  subset?: number;
  /** With `subset`: a smaller training set is used whole instead of being an error. */
  subsetAtMost?: boolean;
  /** Use only this many test images. */
  testSubset?: number;
  validationFraction: number;
  /** A fixed number of validation images, instead of `validationFraction`. */
  validationCount?: number;
  /** Seed of the subset and the split; kept apart from the training seed. */
  splitSeed?: number;
  standardise: boolean;
  device?: string;
  log?: (message: string) => void;
}

export function prepareImages(
  name: string,
  splits: { train: ImageDataset; test: ImageDataset; normalisation?: Normalisation },
  options: PrepareOptions,
): PreparedData {
  const datasetName = assertDatasetSpec(name);
  const splitSeed = options.splitSeed ?? 0;
  let train = splits.train;
  if (options.subset !== undefined && !(options.subsetAtMost && options.subset >= train.count))
    train = takeSubset(train, options.subset, splitSeed);
  let test = splits.test;
  if (options.testSubset !== undefined) test = takeSubset(test, options.testSubset, splitSeed);
  const normalisation = options.standardise
    ? (splits.normalisation ?? datasetNormalisation(datasetName))
    : undefined;
  const tensorOptions = {
    ...(normalisation ? { normalisation } : {}),
    device: options.device ?? 'cpu',
  };
  let validation: ImageDataset | null = null;
  if (options.validationCount !== undefined || options.validationFraction > 0) {
    const parts = splitTrainValidation(train, {
      ...(options.validationCount !== undefined
        ? { validationCount: Math.min(options.validationCount, train.count - 1) }
        : { validationFraction: options.validationFraction }),
      seed: splitSeed,
    });
    train = parts.train;
    validation = parts.validation;
  }
  const prepared = {
    dataset: datasetName,
    input: { channels: train.channels, height: train.height, width: train.width },
    classes: train.classes,
    train: TensorData.fromImages(train, tensorOptions),
    validation: validation ? TensorData.fromImages(validation, tensorOptions) : null,
    test: TensorData.fromImages(test, tensorOptions),
    release(): void {
      prepared.train.release();
      prepared.validation?.release();
      prepared.test.release();
    },
  };
  return prepared;
}

/**
 * The validation split a protocol asks for: the dataset's own fraction when the configuration
 * gives one, else the protocol's fixed count (express) or fraction.
 */
export function validationSplit(
  protocol: Pick<TrainingProtocol, 'validationFraction' | 'validationCount'>,
  datasetFraction?: number,
): Pick<PrepareOptions, 'validationFraction' | 'validationCount'> {
  if (datasetFraction !== undefined) return { validationFraction: datasetFraction };
  if (protocol.validationCount !== undefined)
    return {
      validationFraction: protocol.validationFraction,
      validationCount: protocol.validationCount,
    };
  return { validationFraction: protocol.validationFraction };
}

/**
 * Which images of a dataset a training uses, as a search configuration, a queue job, final
 * training or `nascent train` states it. `null` and `undefined` both mean "not given".
 */
export interface DataSelection {
  readonly dataDir?: string | null | undefined;
  readonly download?: boolean | undefined;
  /** Training images used (before the validation split); all when absent. */
  readonly subset?: number | null | undefined;
  readonly testSubset?: number | null | undefined;
  /** The dataset's own validation fraction; it replaces the protocol's split. */
  readonly validationFraction?: number | null | undefined;
  /** A split already resolved (a queue job carries one): used as it is, before the above. */
  readonly split?: Pick<PrepareOptions, 'validationFraction' | 'validationCount'> | undefined;
  /** Seed of the subset and the split (0 when absent). */
  readonly splitSeed?: number | undefined;
  readonly device?: string | undefined;
  readonly log?: ((message: string) => void) | undefined;
}

/**
 * The options {@link prepareData} is given for a training under `protocol`: the selection's
 * images, the protocol's (or the selection's) validation split and the protocol's pixel scaling.
 * Every caller that prepares training data (a search's evaluators, its DARTS tournaments, final
 * training, `nascent train`, a queue worker) builds its options here, so they cannot drift apart.
 */
export function trainingDataOptions(
  protocol: Pick<TrainingProtocol, 'standardise' | 'validationFraction' | 'validationCount'>,
  selection: DataSelection,
): PrepareOptions {
  const given = <T>(value: T | null | undefined): value is T =>
    value !== undefined && value !== null;
  return {
    ...(given(selection.dataDir) ? { dataDir: selection.dataDir } : {}),
    ...(selection.download !== undefined ? { download: selection.download } : {}),
    ...(given(selection.subset) ? { subset: selection.subset } : {}),
    ...(given(selection.testSubset) ? { testSubset: selection.testSubset } : {}),
    ...(selection.split ?? validationSplit(protocol, selection.validationFraction ?? undefined)),
    standardise: protocol.standardise,
    ...(selection.splitSeed !== undefined ? { splitSeed: selection.splitSeed } : {}),
    ...(selection.device !== undefined ? { device: selection.device } : {}),
    ...(selection.log ? { log: selection.log } : {}),
  };
}

/** Loads and prepares `name` for a training under `protocol` ({@link trainingDataOptions}). */
export function prepareTrainingData(
  name: string,
  protocol: Pick<TrainingProtocol, 'standardise' | 'validationFraction' | 'validationCount'>,
  selection: DataSelection,
): Promise<PreparedData> {
  return prepareData(name, trainingDataOptions(protocol, selection));
}

export async function prepareData(name: string, options: PrepareOptions): Promise<PreparedData> {
  const splits = await loadDataset(assertDatasetSpec(name), {
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.download !== undefined ? { download: options.download } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return prepareImages(name, splits, options);
}
