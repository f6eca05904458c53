import { loadIdxDataset } from './mnist-format.js';
import type { IdxDatasetSpec } from './mnist-format.js';
import type { DatasetSplits, LoadOptions } from './types.js';

export const MNIST_CLASSES: readonly string[] = Object.freeze([
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);

export const MNIST_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/';

const SPEC: IdxDatasetSpec = {
  id: 'mnist',
  title: 'MNIST',
  classes: MNIST_CLASSES,
  height: 28,
  width: 28,
  baseUrl: MNIST_URL,
  systemDirs: ['/usr/share/datasets/mnist'],
};

/**
 * Loads MNIST (60,000 train / 10,000 test images, 1x28x28, digits 0-9).
 *
 * Without `dataDir`, searches `/usr/share/datasets/mnist`, then `$NASCENT_DATA_DIR/mnist`, then
 * `~/.cache/nascent/datasets/mnist`. With `dataDir`, searches `dataDir` and `dataDir/mnist`.
 */
export function loadMnist(options: LoadOptions = {}): Promise<DatasetSplits> {
  return loadIdxDataset(SPEC, options);
}
