/**
 * Shared loader for datasets distributed as four MNIST-style IDX files
 * (train/t10k images and labels, optionally gzip-compressed).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DATA_DIR_ENV, downloadFile, envDataRoot, userCacheRoot } from './download.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, ImageDataset, LoadOptions } from './types.js';
import { isDirectory, isFile } from '../util/fs.js';

export interface IdxDatasetSpec {
  /** Short id, used in dataset names and as the sub-directory name, e.g. 'fashion-mnist'. */
  readonly id: string;
  /** Display name for messages, e.g. 'Fashion-MNIST'. */
  readonly title: string;
  readonly classes: readonly string[];
  readonly height: number;
  readonly width: number;
  /** Base URL the four `.gz` files are downloaded from (ends with '/'). */
  readonly baseUrl: string;
  /** System-wide directories searched first (e.g. where a Debian package installs the files). */
  readonly systemDirs: readonly string[];
  /** How to install the files system-wide, if there is a way (e.g. 'apt-get install ...'). */
  readonly installHint?: string;
}

/** The four files, by their canonical (uncompressed) names. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type FileKey = keyof typeof IDX_FILES;
const FILE_KEYS = Object.keys(IDX_FILES) as FileKey[];

/** Accepted names for a canonical file, in order of preference. */
function fileVariants(base: string): string[] {
  // Some mirrors write 'train-images.idx3-ubyte' instead of 'train-images-idx3-ubyte'.
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

interface DirProbe {
  readonly dir: string;
  readonly files: Partial<Record<FileKey, string>>;
  readonly missing: readonly string[];
}

function probe(dir: string): DirProbe {
  const files: Partial<Record<FileKey, string>> = {};
  const missing: string[] = [];
  for (const key of FILE_KEYS) {
    const base = IDX_FILES[key];
    const found = fileVariants(base)
      .map((name) => join(dir, name))
      .find(isFile);
    if (found === undefined) missing.push(`${base}[.gz]`);
    else files[key] = found;
  }
  return { dir, files, missing };
}

function searchDirs(spec: IdxDatasetSpec, dataDir: string | undefined): string[] {
  const dirs =
    dataDir !== undefined
      ? [dataDir, join(dataDir, spec.id)]
      : [
          ...spec.systemDirs,
          ...(envDataRoot() !== undefined ? [join(envDataRoot() ?? '', spec.id)] : []),
          join(userCacheRoot(), spec.id),
        ];
  return [...new Set(dirs.map((d) => resolve(d)))];
}

function describeProbe(p: DirProbe): string {
  if (!existsSync(p.dir)) return `${p.dir} (does not exist)`;
  if (!isDirectory(p.dir)) return `${p.dir} (not a directory)`;
  return `${p.dir} (missing ${p.missing.join(', ')})`;
}

function notFound(spec: IdxDatasetSpec, probes: readonly DirProbe[], target: string): DatasetError {
  const ways = [
    ...(spec.installHint !== undefined ? [spec.installHint] : []),
    `pass --download (download: true) to fetch them from ${spec.baseUrl} into ${target}`,
    `or put the four files (${FILE_KEYS.map((k) => `${IDX_FILES[k]}.gz`).join(', ')}) in ${target}` +
      ` or $${DATA_DIR_ENV}/${spec.id}`,
  ];
  return new DatasetError(
    `${spec.title} dataset files not found. Searched:\n` +
      probes.map((p) => `  ${describeProbe(p)}`).join('\n') +
      `\nTo get them: ${ways.join('; ')}.`,
  );
}

function loadSplit(
  spec: IdxDatasetSpec,
  split: 'train' | 'test',
  imagesPath: string,
  labelsPath: string,
): ImageDataset {
  const images = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath);
  if (images.height !== spec.height || images.width !== spec.width) {
    throw new DatasetError(
      `${imagesPath} holds ${images.height}x${images.width} images; ${spec.title} images are ${spec.height}x${spec.width}`,
    );
  }
  if (images.count !== labels.count) {
    throw new DatasetError(
      `${spec.title} ${split} split is inconsistent: ${imagesPath} holds ${images.count} images but ${labelsPath} holds ${labels.count} labels`,
    );
  }
  const classCount = spec.classes.length;
  const bad = labels.data.findIndex((v) => v >= classCount);
  if (bad >= 0) {
    throw new DatasetError(
      `${labelsPath} has label ${labels.data[bad]} at index ${bad}; ${spec.title} labels must be 0..${classCount - 1}`,
    );
  }
  return {
    name: `${spec.id}/${split}`,
    images: images.data,
    labels: labels.data,
    count: images.count,
    channels: 1,
    height: images.height,
    width: images.width,
    classes: spec.classes,
  };
}

/** Finds (or downloads) and loads an MNIST-style dataset. */
export async function loadIdxDataset(
  spec: IdxDatasetSpec,
  options: LoadOptions = {},
): Promise<DatasetSplits> {
  const log = options.log ?? (() => undefined);
  const dirs = searchDirs(spec, options.dataDir);
  const probes = dirs.map(probe);
  let chosen = probes.find((p) => p.missing.length === 0);
  const target = resolve(options.dataDir ?? join(envDataRoot() ?? userCacheRoot(), spec.id));
  if (chosen === undefined) {
    if (options.download !== true) throw notFound(spec, probes, target);
    const present = probe(target);
    for (const key of FILE_KEYS) {
      if (present.files[key] !== undefined) continue;
      const name = `${IDX_FILES[key]}.gz`;
      await downloadFile(`${spec.baseUrl}${name}`, join(target, name), log);
    }
    chosen = probe(target);
    if (chosen.missing.length > 0) throw notFound(spec, [chosen], target);
  }
  const f = chosen.files as Record<FileKey, string>;
  return {
    train: loadSplit(spec, 'train', f.trainImages, f.trainLabels),
    test: loadSplit(spec, 'test', f.testImages, f.testLabels),
  };
}
