import { loadIdxDataset } from './mnist-format.js';
import type { IdxDatasetSpec } from './mnist-format.js';
import type { DatasetSplits, LoadOptions } from './types.js';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

const SPEC: IdxDatasetSpec = {
  id: 'fashion-mnist',
  title: 'Fashion-MNIST',
  classes: FASHION_MNIST_CLASSES,
  height: 28,
  width: 28,
  baseUrl: FASHION_MNIST_URL,
  systemDirs: [FASHION_MNIST_SYSTEM_DIR],
  installHint: 'apt-get install dataset-fashion-mnist',
};

/**
 * Loads Fashion-MNIST (60,000 train / 10,000 test images, 1x28x28, 10 classes).
 *
 * Without `dataDir`, searches `/usr/share/datasets/fashion-mnist` (Debian package
 * dataset-fashion-mnist), then `$NASCENT_DATA_DIR/fashion-mnist`, then
 * `~/.cache/nascent/datasets/fashion-mnist`. With `dataDir`, searches `dataDir` and
 * `dataDir/fashion-mnist`. Files may be gzip-compressed or not.
 */
export function loadFashionMnist(options: LoadOptions = {}): Promise<DatasetSplits> {
  return loadIdxDataset(SPEC, options);
}
