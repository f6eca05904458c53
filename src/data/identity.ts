/**
 * The content identity of a dataset: a checksum of the images and labels a loader reads, so that
 * two machines (a search and a queue worker) or two runs can tell whether they train on the same
 * data whatever the files are called, where they lie or whether they are gzip-compressed.
 *
 * Cost: the dataset is loaded through its own loader (the same one training uses) and its decoded
 * images, labels, shapes and class names are hashed with SHA-256, once per process and location;
 * later calls for the same dataset and location answer from memory. Fashion-MNIST (about 47 MB
 * decoded) takes well under a second; CIFAR-10 (about 180 MB) about a second. Files changed while
 * a process runs are not noticed by that process (a worker restarted after new files are put in
 * place checksums them again).
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DATA_DIR_ENV } from './download.js';
import { loadDataset } from './registry.js';
import type { DatasetSplits, ImageDataset } from './types.js';

/** Prefix and format version of every content identity. */
export const DATASET_CONTENT_FORMAT = 'nascent-dataset-content/1';

export interface DatasetContentOptions {
  /** Where the dataset lives (as the loaders take it); the loader's default places when absent. */
  readonly dataDir?: string | null | undefined;
}

const cache = new Map<string, Promise<string>>();

/** The checksum of loaded splits: `sha256:<hex>` over every split's shape, classes, images and labels. */
export function datasetContentOfSplits(splits: DatasetSplits): string {
  const hash = createHash('sha256');
  hash.update(`${DATASET_CONTENT_FORMAT}\n`);
  const add = (split: string, data: ImageDataset): void => {
    hash.update(
      `${split} ${data.count}x${data.channels}x${data.height}x${data.width} classes ${JSON.stringify(data.classes)}\n`,
    );
    hash.update(data.images);
    hash.update(data.labels);
  };
  add('train', splits.train);
  add('test', splits.test);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * The content identity of dataset `name` as found from `dataDir` (or the loader's default places):
 * `sha256:<hex>` of its decoded images and labels (see the module's note on cost). Rejects with
 * the loader's error when the dataset cannot be read.
 */
export function datasetContentIdentity(
  name: string,
  options: DatasetContentOptions = {},
): Promise<string> {
  const dataDir = options.dataDir ?? undefined;
  // Without a data directory the loaders also look under $NASCENT_DATA_DIR.
  const key = JSON.stringify([
    name,
    dataDir === undefined ? null : resolve(dataDir),
    dataDir === undefined ? (process.env[DATA_DIR_ENV] ?? null) : null,
  ]);
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = loadDataset(name, dataDir === undefined ? {} : { dataDir }).then(
      datasetContentOfSplits,
    );
    cache.set(key, entry);
    // A dataset that could not be read is tried again next time (its files may be fixed).
    entry.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
  }
  return entry;
}

/** Forgets every checksum this process computed (for tests that rewrite a dataset's files). */
export function forgetDatasetContentIdentities(): void {
  cache.clear();
}
