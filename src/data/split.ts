/**
 * Deterministic subsets and train/validation splits of an {@link ImageDataset}.
 */
import { Random } from '../util/random.js';
import { DatasetError, imageSize } from './types.js';
import type { ImageDataset } from './types.js';

export interface SplitOptions {
  /** Fraction of the dataset held out for validation, in (0, 1). Default 0.1. */
  readonly validationFraction?: number;
  /** Exact number of images held out (instead of a fraction), in [1, count - 1]. */
  readonly validationCount?: number;
  /** Seed of the permutation that decides which images are held out. */
  readonly seed: number;
}

export interface TrainValidationSplit {
  readonly train: ImageDataset;
  readonly validation: ImageDataset;
}

/**
 * Copies the images at `indices` (in that order; repeats allowed) into a new dataset.
 * @param name defaults to `${ds.name}[${indices.length} of ${ds.count}]`
 */
export function sliceDataset(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  name = `${ds.name}[${indices.length} of ${ds.count}]`,
): ImageDataset {
  const size = imageSize(ds);
  const n = indices.length;
  const images = new Uint8Array(n * size);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i] ?? -1;
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) {
      throw new DatasetError(
        `cannot slice ${ds.name}: index ${String(indices[i])} at position ${i} is outside 0..${ds.count - 1}`,
      );
    }
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j] ?? 0;
  }
  return {
    name,
    images,
    labels,
    count: n,
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
    classes: ds.classes,
  };
}

function sortedCopy(values: Uint32Array): Uint32Array {
  return Uint32Array.from(values).sort();
}

/**
 * A seeded random subset of `count` distinct images (not stratified), kept in their original
 * order, named e.g. 'fashion-mnist/train[subset 1000]'.
 */
export function takeSubset(ds: ImageDataset, count: number, seed: number): ImageDataset {
  if (!Number.isInteger(count) || count < 1 || count > ds.count) {
    throw new DatasetError(
      `cannot take a subset of ${String(count)} images from ${ds.name}: the count must be an integer in 1..${ds.count}`,
    );
  }
  const chosen = sortedCopy(new Random(seed).permutation(ds.count).subarray(0, count));
  return sliceDataset(ds, chosen, `${ds.name}[subset ${count}]`);
}

/** Resolves the options of {@link splitTrainValidation} to a validation size. */
function validationSize(ds: ImageDataset, options: SplitOptions): number {
  const { validationFraction, validationCount } = options;
  if (validationFraction !== undefined && validationCount !== undefined) {
    throw new DatasetError(
      `cannot split ${ds.name}: give validationFraction or validationCount, not both`,
    );
  }
  if (ds.count < 2) {
    throw new DatasetError(
      `cannot split ${ds.name} into train and validation: it holds only ${ds.count} image${ds.count === 1 ? '' : 's'}`,
    );
  }
  if (validationCount !== undefined) {
    if (!Number.isInteger(validationCount) || validationCount < 1 || validationCount >= ds.count) {
      throw new DatasetError(
        `cannot split ${ds.name}: validationCount must be an integer in 1..${ds.count - 1}, got ${String(validationCount)}`,
      );
    }
    return validationCount;
  }
  const fraction = validationFraction ?? 0.1;
  if (!Number.isFinite(fraction) || fraction <= 0 || fraction >= 1) {
    throw new DatasetError(
      `cannot split ${ds.name}: validationFraction must be strictly between 0 and 1, got ${String(fraction)}`,
    );
  }
  return Math.min(ds.count - 1, Math.max(1, Math.round(fraction * ds.count)));
}

/**
 * Splits `ds` into disjoint train and validation parts that together hold every image once.
 * Which images are held out depends only on the seed (and the dataset size); both parts keep
 * the original order. Names: '<name>[train 54000]' and '<name>[validation 6000]'.
 */
export function splitTrainValidation(
  ds: ImageDataset,
  options: SplitOptions,
): TrainValidationSplit {
  if (!Number.isSafeInteger(options.seed)) {
    throw new DatasetError(
      `cannot split ${ds.name}: the seed must be a safe integer, got ${String(options.seed)}`,
    );
  }
  const nValidation = validationSize(ds, options);
  const perm = new Random(options.seed).permutation(ds.count);
  const validationIdx = sortedCopy(perm.subarray(0, nValidation));
  const trainIdx = sortedCopy(perm.subarray(nValidation));
  return {
    train: sliceDataset(ds, trainIdx, `${ds.name}[train ${trainIdx.length}]`),
    validation: sliceDataset(ds, validationIdx, `${ds.name}[validation ${nValidation}]`),
  };
}
