/**
 * `folder:PATH`: an image classification dataset as a folder of class subfolders holding PNG or
 * JPEG images (or any format sharp reads, see ./image-decode.ts).
 *
 * - With `train/` and `test/` (or `val/`, `validation/`) subfolders, each holds the class folders
 *   and gives its split; otherwise the class folders lie in PATH and a seeded, stratified 20 % of
 *   each class becomes the test split (seed 0, or `split-seed`).
 * - Classes are the class folders' names in natural order (`2` before `10`); their index is the
 *   label. Within a split the images are ordered by file name (numbers compared as numbers), then
 *   by class: files numbered in a dataset's own order (00000.png, 00001.png, ... across the class
 *   folders) keep that order, so a folder written from Fashion-MNIST's IDX files reads back as the
 *   same images in the same order.
 * - Images are resized (stretched) to `size` when given; otherwise they must all have one size.
 *   Channels are `channels` when given, else 3 if any image is in colour, else 1.
 * - An unreadable or corrupt image is skipped and named (`strict`: refused instead).
 * - Decoded tensors are cached once per folder content (relative paths, sizes and modification
 *   times of the images, and the options) under `$NASCENT_CACHE_DIR/folders` (default
 *   `~/.cache/nascent/folders`): later runs and workers on the machine read the cache and decode
 *   nothing.
 * - The normalisation is computed on the training split, rounded to 3 decimals (so the figure is
 *   stable, and Fashion-MNIST as a folder gets the built-in constants 0.286 / 0.353).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { Random } from '../util/random.js';
import { decodeImage, hasImageExtension, readImageHeader } from './image-decode.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, ImageDataset, LoadOptions, Normalisation } from './types.js';

/** Format version of the cache files; a change makes every cache entry stale. */
const CACHE_FORMAT = 'nascent-folder-cache/1';

export interface FolderOptions {
  /** Resize every image to width x height. */
  readonly size?: { readonly width: number; readonly height: number } | undefined;
  readonly channels?: 1 | 3 | undefined;
  /** Refuse the dataset when an image cannot be read (default: skip it and say so). */
  readonly strict?: boolean | undefined;
  /** Test fraction of the seeded stratified split (folders without train/ and test/). */
  readonly testFraction?: number | undefined;
  /** Seed of that split (default 0). */
  readonly splitSeed?: number | undefined;
}

export interface FolderSpec extends FolderOptions {
  readonly path: string;
}

/** The shape a folder's images are read at, known before they are decoded. */
export interface FolderShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classes: readonly string[];
}

/** An image skipped because it could not be read: its path and the reason. */
export interface SkippedImage {
  readonly path: string;
  readonly reason: string;
}

interface FolderFile {
  readonly relative: string;
  readonly absolute: string;
  readonly label: number;
  readonly split: 'train' | 'test';
  readonly bytes: number;
  readonly mtimeMs: number;
}

interface FolderScan {
  readonly root: string;
  readonly classes: readonly string[];
  readonly files: readonly FolderFile[];
  /** Whether the folder gave its own train/test split. */
  readonly ownSplit: boolean;
  readonly key: string;
}

const naturalCollator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Counts of images decoded and read from the cache by this process (tests and benches read it). */
export const folderDecodeStats = { decoded: 0, fromCache: 0 };

function cacheRoot(): string {
  const base = process.env['NASCENT_CACHE_DIR'] ?? join(homedir(), '.cache', 'nascent');
  return join(base, 'folders');
}

function subfolders(path: string): string[] {
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort(naturalCollator.compare);
}

function imagesOf(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && hasImageExtension(entry.name))
    .map((entry) => entry.name);
}

const TEST_FOLDER_NAMES = ['test', 'val', 'validation'];

/** A name cut into text and number parts, for natural order (`2.png` before `10.png`). */
function naturalKey(name: string): Array<string | number> {
  return (name.match(/\d+|\D+/g) ?? []).map((part) => (/^\d/.test(part) ? Number(part) : part));
}

function compareNaturalKeys(
  a: ReadonlyArray<string | number>,
  b: ReadonlyArray<string | number>,
): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function scanFolder(spec: FolderSpec): FolderScan {
  const root = resolve(spec.path);
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    throw new DatasetError(`folder:${spec.path}: no such folder (${root})`);
  }
  if (!rootStat.isDirectory())
    throw new DatasetError(`folder:${spec.path}: ${root} is a file, not a folder of class folders`);
  const top = subfolders(root);
  const testName = TEST_FOLDER_NAMES.find((name) => top.includes(name));
  const ownSplit = top.includes('train') && testName !== undefined;
  const splitFolders: Array<{ split: 'train' | 'test'; folder: string; prefix: string }> = ownSplit
    ? [
        { split: 'train', folder: join(root, 'train'), prefix: 'train/' },
        { split: 'test', folder: join(root, testName), prefix: `${testName}/` },
      ]
    : [{ split: 'train', folder: root, prefix: '' }];
  const classes = subfolders(splitFolders[0]?.folder ?? root);
  if (classes.length === 0)
    throw new DatasetError(
      `folder:${spec.path}: no class folders in ${splitFolders[0]?.folder ?? root} (put each class's images in a subfolder named after the class)`,
    );
  if (classes.length === 1)
    throw new DatasetError(
      `folder:${spec.path}: only one class folder (${classes[0]}); a classification needs at least two`,
    );
  if (classes.length > 256)
    throw new DatasetError(`folder:${spec.path}: ${classes.length} classes; at most 256 are read`);
  const files: FolderFile[] = [];
  for (const { split, folder, prefix } of splitFolders) {
    const here = subfolders(folder);
    const unknown = here.filter((name) => !classes.includes(name));
    if (unknown.length > 0)
      throw new DatasetError(
        `folder:${spec.path}: ${prefix}${unknown.join(', ')} ${unknown.length === 1 ? 'is a class' : 'are classes'} the training folder does not have`,
      );
    for (const [label, name] of classes.entries()) {
      const classFolder = join(folder, name);
      const names = existsSync(classFolder) ? imagesOf(classFolder) : [];
      if (names.length === 0 && split === 'train')
        throw new DatasetError(
          `folder:${spec.path}: class folder ${join(prefix, name)} holds no images (PNG or JPEG)`,
        );
      for (const file of names) {
        const absolute = join(classFolder, file);
        const stat = statSync(absolute);
        files.push({
          relative: `${prefix}${name}/${file}`,
          absolute,
          label,
          split,
          bytes: stat.size,
          mtimeMs: stat.mtimeMs,
        });
      }
    }
  }
  const keys = new Map(files.map((file) => [file, naturalKey(basename(file.relative))]));
  files.sort(
    (a, b) =>
      compareNaturalKeys(keys.get(a) ?? [], keys.get(b) ?? []) ||
      a.label - b.label ||
      naturalCollator.compare(a.relative, b.relative),
  );
  const hash = createHash('sha256');
  hash.update(
    `${CACHE_FORMAT}\n${JSON.stringify({
      size: spec.size ?? null,
      channels: spec.channels ?? null,
      testFraction: spec.testFraction ?? null,
      splitSeed: spec.splitSeed ?? null,
      classes,
    })}\n`,
  );
  for (const file of files) hash.update(`${file.relative}\t${file.bytes}\t${file.mtimeMs}\n`);
  return { root, classes, files, ownSplit, key: hash.digest('hex').slice(0, 32) };
}

/** Which files go to the test split of a folder without its own: a seeded 20 % of each class. */
function stratifiedSplit(scan: FolderScan, spec: FolderSpec): Array<'train' | 'test'> {
  const splits = scan.files.map((file) => file.split);
  if (scan.ownSplit) return splits;
  const fraction = spec.testFraction ?? 0.2;
  const random = new Random(spec.splitSeed ?? 0);
  for (let label = 0; label < scan.classes.length; label += 1) {
    const members = scan.files.flatMap((file, index) => (file.label === label ? [index] : []));
    const order = random.permutation(members.length);
    const testCount = members.length < 2 ? 0 : Math.max(1, Math.round(members.length * fraction));
    for (let i = 0; i < testCount; i += 1) splits[members[order[i] ?? 0] ?? 0] = 'test';
  }
  return splits;
}

const cacheMetaSchema = z.object({
  format: z.literal(CACHE_FORMAT),
  channels: z.number().int(),
  height: z.number().int(),
  width: z.number().int(),
  classes: z.array(z.string()),
  trainCount: z.number().int(),
  testCount: z.number().int(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  normalisation: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }),
});
type CacheMeta = z.infer<typeof cacheMetaSchema>;

function readCacheMeta(key: string): CacheMeta | undefined {
  const path = join(cacheRoot(), `${key}.json`);
  if (!existsSync(path) || !existsSync(join(cacheRoot(), `${key}.bin`))) return undefined;
  try {
    const parsed = cacheMetaSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface HeaderScan {
  readonly channels: 1 | 3;
  readonly width: number;
  readonly height: number;
  readonly unreadable: SkippedImage[];
}

/** Size and colour of every image from its header (synchronous, nothing decoded). */
function scanHeaders(scan: FolderScan, spec: FolderSpec): HeaderScan {
  const sizes = new Map<string, { count: number; example: string }>();
  const unreadable: SkippedImage[] = [];
  let colour = false;
  for (const file of scan.files) {
    const header = readImageHeader(file.absolute);
    if (header === undefined) continue; // another format: decoding tells
    if (!header.ok) {
      unreadable.push({ path: file.absolute, reason: header.reason });
      continue;
    }
    if (header.channels === 3) colour = true;
    const size = `${header.width}x${header.height}`;
    const entry = sizes.get(size);
    if (entry === undefined) sizes.set(size, { count: 1, example: file.relative });
    else entry.count += 1;
  }
  let width = spec.size?.width;
  let height = spec.size?.height;
  if (width === undefined || height === undefined) {
    if (sizes.size > 1) {
      const listed = [...sizes.entries()]
        .sort((a, b) => b[1].count - a[1].count)
        .map(([size, { count, example }]) => `${size} (${count}, e.g. ${example})`)
        .join(', ');
      throw new DatasetError(
        `folder:${spec.path}: the images have mixed sizes: ${listed}; give --image-size (e.g. --image-size 32) to resize them all to one size`,
      );
    }
    const only = [...sizes.keys()][0];
    if (only === undefined)
      throw new DatasetError(`folder:${spec.path}: none of its images could be read`);
    [width, height] = only.split('x').map(Number) as [number, number];
  }
  return { channels: spec.channels ?? (colour ? 3 : 1), width, height, unreadable };
}

function refuseSkipped(spec: FolderSpec, skipped: readonly SkippedImage[]): void {
  if (skipped.length === 0 || spec.strict !== true) return;
  throw new DatasetError(
    `folder:${spec.path}: ${skipped.length} image${skipped.length === 1 ? '' : 's'} cannot be read (--strict refuses the dataset): ${skipped
      .map((image) => `${image.path}: ${image.reason}`)
      .join('; ')}`,
  );
}

const shapes = new Map<string, FolderShape>();

/** The shape a folder is read at, from its cache or its images' headers (nothing decoded). */
export function folderShape(spec: FolderSpec): FolderShape {
  const scan = scanFolder(spec);
  const known = shapes.get(scan.key);
  if (known !== undefined) return known;
  const meta = readCacheMeta(scan.key);
  let shape: FolderShape;
  if (meta !== undefined) {
    refuseSkipped(spec, meta.skipped);
    shape = {
      channels: meta.channels,
      height: meta.height,
      width: meta.width,
      classes: meta.classes,
    };
  } else {
    const headers = scanHeaders(scan, spec);
    refuseSkipped(spec, headers.unreadable);
    shape = { ...headers, classes: scan.classes };
  }
  shapes.set(scan.key, shape);
  return shape;
}

/** Per-channel mean and standard deviation of [0, 1] pixels, rounded to 3 decimals. */
export function computeNormalisation(data: ImageDataset): Normalisation {
  const plane = data.height * data.width;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < data.channels; c += 1) {
    let sum = 0;
    let squares = 0;
    for (let n = 0; n < data.count; n += 1) {
      const start = (n * data.channels + c) * plane;
      for (let i = start; i < start + plane; i += 1) {
        const value = data.images[i] ?? 0;
        sum += value;
        squares += value * value;
      }
    }
    const count = Math.max(1, data.count * plane);
    const m = sum / count;
    const variance = Math.max(0, squares / count - m * m);
    mean.push(Math.round((m / 255) * 1000) / 1000);
    std.push(Math.max(0.001, Math.round((Math.sqrt(variance) / 255) * 1000) / 1000));
  }
  return { mean, std };
}

async function decodeAll(
  files: readonly FolderFile[],
  target: { channels: 1 | 3; width: number; height: number },
  skipped: SkippedImage[],
): Promise<Array<Uint8Array | undefined>> {
  const out = new Array<Uint8Array | undefined>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next;
      next += 1;
      const file = files[index] as FolderFile;
      try {
        const image = await decodeImage(readFileSync(file.absolute), file.absolute, {
          size: { width: target.width, height: target.height },
          channels: target.channels,
        });
        folderDecodeStats.decoded += 1;
        out[index] = image.pixels;
      } catch (error) {
        skipped.push({
          path: file.absolute,
          reason: (error as Error).message.replace(`${file.absolute}: `, ''),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

function datasetOf(
  name: string,
  shape: { channels: number; height: number; width: number; classes: readonly string[] },
  images: Uint8Array,
  labels: Uint8Array,
): ImageDataset {
  return {
    name,
    images,
    labels,
    count: labels.length,
    channels: shape.channels,
    height: shape.height,
    width: shape.width,
    classes: shape.classes,
  };
}

/** Loads an image folder, from its cache when the folder's content has one. */
export async function loadFolder(
  spec: FolderSpec,
  options: LoadOptions = {},
): Promise<DatasetSplits> {
  const log = options.log ?? ((): void => undefined);
  const scan = scanFolder(spec);
  const label = `folder:${spec.path}`;
  const meta = readCacheMeta(scan.key);
  if (meta !== undefined) {
    refuseSkipped(spec, meta.skipped);
    const bytes = readFileSync(join(cacheRoot(), `${scan.key}.bin`));
    const size = meta.channels * meta.height * meta.width;
    const expected = (meta.trainCount + meta.testCount) * (size + 1);
    if (bytes.length === expected) {
      let offset = 0;
      const take = (length: number): Uint8Array => {
        const part = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
        offset += length;
        return part;
      };
      const trainImages = take(meta.trainCount * size);
      const trainLabels = take(meta.trainCount);
      const testImages = take(meta.testCount * size);
      const testLabels = take(meta.testCount);
      folderDecodeStats.fromCache += meta.trainCount + meta.testCount;
      log(
        `${label}: read ${meta.trainCount + meta.testCount} images from the cache (${scan.key}), decoded 0`,
      );
      if (meta.skipped.length > 0) logSkipped(log, label, meta.skipped, scan.files.length);
      shapes.set(scan.key, meta);
      return {
        train: datasetOf(`${label}/train`, meta, trainImages, trainLabels),
        test: datasetOf(`${label}/test`, meta, testImages, testLabels),
        normalisation: meta.normalisation,
        skipped: meta.skipped,
      };
    }
  }
  const headers = scanHeaders(scan, spec);
  refuseSkipped(spec, headers.unreadable);
  const started = Date.now();
  const skipped: SkippedImage[] = [...headers.unreadable];
  const unreadable = new Set(headers.unreadable.map((image) => image.path));
  const readable = scan.files.filter((file) => !unreadable.has(file.absolute));
  const decoded = await decodeAll(readable, headers, skipped);
  refuseSkipped(spec, skipped);
  const splitOf = stratifiedSplit(scan, spec);
  const splitByPath = new Map(scan.files.map((file, index) => [file.absolute, splitOf[index]]));
  const size = headers.channels * headers.height * headers.width;
  const parts = { train: [] as number[], test: [] as number[] };
  readable.forEach((file, index) => {
    if (decoded[index] !== undefined) parts[splitByPath.get(file.absolute) ?? 'train'].push(index);
  });
  const build = (indices: number[]): { images: Uint8Array; labels: Uint8Array } => {
    const images = new Uint8Array(indices.length * size);
    const labels = new Uint8Array(indices.length);
    indices.forEach((fileIndex, i) => {
      images.set(decoded[fileIndex] as Uint8Array, i * size);
      labels[i] = (readable[fileIndex] as FolderFile).label;
    });
    return { images, labels };
  };
  const train = build(parts.train);
  const test = build(parts.test);
  if (train.labels.length === 0)
    throw new DatasetError(`${label}: no training image could be read`);
  if (test.labels.length === 0)
    throw new DatasetError(
      `${label}: the test split is empty (put images in test/, or more than one image in each class)`,
    );
  const shape = { ...headers, classes: scan.classes };
  const trainSet = datasetOf(`${label}/train`, shape, train.images, train.labels);
  const normalisation = computeNormalisation(trainSet);
  const newMeta: CacheMeta = {
    format: CACHE_FORMAT,
    channels: headers.channels,
    height: headers.height,
    width: headers.width,
    classes: [...scan.classes],
    trainCount: train.labels.length,
    testCount: test.labels.length,
    skipped,
    normalisation,
  };
  writeCache(scan.key, newMeta, [train.images, train.labels, test.images, test.labels], log);
  log(
    `${label}: decoded ${readable.length - (skipped.length - headers.unreadable.length)} images in ${((Date.now() - started) / 1000).toFixed(1)} s (${train.labels.length} train, ${test.labels.length} test, ${headers.channels}x${headers.height}x${headers.width}, ${scan.classes.length} classes), cached as ${scan.key}`,
  );
  if (skipped.length > 0) logSkipped(log, label, skipped, scan.files.length);
  shapes.set(scan.key, shape);
  return {
    train: trainSet,
    test: datasetOf(`${label}/test`, shape, test.images, test.labels),
    normalisation,
    skipped,
  };
}

/** Event kind under which a run records the images its dataset skipped. */
export const SKIPPED_IMAGES_EVENT = 'skipped-images';

/** Whether a loader's log message is the list of skipped images (a run records it as an event). */
export function isSkippedImagesMessage(message: string): boolean {
  return (
    message.startsWith('folder:') &&
    message.includes(' images that cannot be read (--strict refuses them): ')
  );
}

function logSkipped(
  log: (message: string) => void,
  label: string,
  skipped: readonly SkippedImage[],
  total: number,
): void {
  log(
    `${label}: skipped ${skipped.length} of ${total} images that cannot be read (--strict refuses them): ${skipped
      .map((image) => `${image.path}: ${image.reason}`)
      .join('; ')}`,
  );
}

function writeCache(
  key: string,
  meta: CacheMeta,
  parts: readonly Uint8Array[],
  log: (message: string) => void,
): void {
  const root = cacheRoot();
  try {
    mkdirSync(root, { recursive: true });
    const suffix = `.${process.pid}.tmp`;
    writeFileSync(join(root, `${key}.bin${suffix}`), Buffer.concat(parts));
    renameSync(join(root, `${key}.bin${suffix}`), join(root, `${key}.bin`));
    writeFileSync(join(root, `${key}.json${suffix}`), `${JSON.stringify(meta)}\n`);
    renameSync(join(root, `${key}.json${suffix}`), join(root, `${key}.json`));
  } catch (error) {
    log(
      `cannot write the folder cache under ${root} (${(error as Error).message}); decoding again next time`,
    );
  }
}
