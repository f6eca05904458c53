/**
 * CIFAR-10, "binary version": `cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`
 * and `batches.meta.txt`, usually shipped as `cifar-10-binary.tar.gz`.
 *
 * A record is 1 label byte followed by 3072 pixel bytes: 1024 red, 1024 green, 1024 blue, each
 * a 32x32 image in row-major order — which is already the CHW layout of {@link ImageDataset}.
 * The official MD5 is deliberately not checked: re-packed copies with a different record order
 * are equally valid.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { extract as extractTar } from 'tar';
import { downloadFile, envDataRoot, userCacheRoot, writableDatasetDir } from './download.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, ImageDataset, LoadOptions } from './types.js';
import { isDirectory, isFile } from '../util/fs.js';

export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz';
export const CIFAR10_BATCHES_DIR = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze([
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
]);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** Bytes per record: 1 label + 3 * 32 * 32 pixels. */
export const CIFAR10_RECORD_BYTES = 3073;

const PIXELS = 3072;
const SOURCE_MARKER = '.nascent-source.json';

export interface Cifar10Options extends LoadOptions {
  /**
   * Where an archive is extracted (once; later loads reuse the extraction). Defaults to
   * `$NASCENT_DATA_DIR/cifar-10`, else `~/.cache/nascent/datasets/cifar-10`.
   */
  readonly cacheDir?: string;
}

function missingBatches(dir: string): string[] {
  return [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].filter((f) => !isFile(join(dir, f)));
}

function hasBatches(dir: string): boolean {
  return missingBatches(dir).length === 0;
}

type Found =
  | { readonly kind: 'batches'; readonly dir: string }
  | { readonly kind: 'archive'; readonly file: string };

/** Looks for the batch files or the archive in `dir` (a directory, or the archive itself). */
function findIn(dir: string): Found | undefined {
  if (isFile(dir)) return { kind: 'archive', file: dir };
  if (!isDirectory(dir)) return undefined;
  const nested = join(dir, CIFAR10_BATCHES_DIR);
  if (hasBatches(nested)) return { kind: 'batches', dir: nested };
  if (hasBatches(dir)) return { kind: 'batches', dir };
  const archive = join(dir, CIFAR10_ARCHIVE);
  if (isFile(archive)) return { kind: 'archive', file: archive };
  return undefined;
}

function describeDir(dir: string): string {
  if (!isDirectory(dir)) return `${dir} (does not exist)`;
  const nested = join(dir, CIFAR10_BATCHES_DIR);
  if (isDirectory(nested)) {
    return `${dir} (${CIFAR10_BATCHES_DIR}/ lacks ${missingBatches(nested).join(', ')})`;
  }
  return `${dir} (no ${CIFAR10_BATCHES_DIR}/ or ${CIFAR10_ARCHIVE})`;
}

interface SourceStamp {
  readonly archive: string;
  readonly size: number;
  readonly mtimeMs: number;
}

function stampOf(archive: string): SourceStamp {
  const st = statSync(archive);
  return { archive: resolve(archive), size: st.size, mtimeMs: st.mtimeMs };
}

function readStamp(batchesDir: string): SourceStamp | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(batchesDir, SOURCE_MARKER), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { archive, size, mtimeMs } = value as Record<string, unknown>;
    if (typeof archive !== 'string' || typeof size !== 'number' || typeof mtimeMs !== 'number') {
      return undefined;
    }
    return { archive, size, mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * Extracts `cifar-10-batches-bin/` from `archive` into `intoDir`, unless a previous extraction of
 * the same archive (same path, size and modification time) is already there. Returns the path of
 * the extracted batches directory.
 */
export async function extractCifar10Archive(
  archive: string,
  intoDir: string,
  log: (message: string) => void = () => undefined,
): Promise<string> {
  const stamp = stampOf(archive);
  const dest = join(resolve(intoDir), CIFAR10_BATCHES_DIR);
  const previous = readStamp(dest);
  if (
    previous !== undefined &&
    previous.archive === stamp.archive &&
    previous.size === stamp.size &&
    previous.mtimeMs === stamp.mtimeMs &&
    hasBatches(dest)
  ) {
    return dest;
  }
  log(`extracting ${archive} into ${dest}`);
  mkdirSync(intoDir, { recursive: true });
  const tmp = join(
    resolve(intoDir),
    `.extract-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`,
  );
  mkdirSync(tmp);
  try {
    try {
      await extractTar({
        file: archive,
        cwd: tmp,
        strict: true,
        filter: (path) => {
          const p = path.replace(/^\.\//, '');
          return p === CIFAR10_BATCHES_DIR || p.startsWith(`${CIFAR10_BATCHES_DIR}/`);
        },
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DatasetError(
        `${archive} could not be extracted (${reason}); it should be the CIFAR-10 binary archive ${CIFAR10_ARCHIVE}`,
        { cause: err },
      );
    }
    const extracted = join(tmp, CIFAR10_BATCHES_DIR);
    const missing = missingBatches(extracted);
    if (missing.length > 0) {
      throw new DatasetError(
        `${archive} does not contain the CIFAR-10 binary batches: missing ${missing.map((f) => `${CIFAR10_BATCHES_DIR}/${f}`).join(', ')}`,
      );
    }
    writeFileSync(join(extracted, SOURCE_MARKER), `${JSON.stringify(stamp)}\n`);
    rmSync(dest, { recursive: true, force: true });
    try {
      renameSync(extracted, dest);
    } catch (err) {
      // Another process may have finished the same extraction first.
      const other = readStamp(dest);
      if (other === undefined || other.archive !== stamp.archive || !hasBatches(dest)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/** Reads class names from `batches.meta.txt` (one a line, blank lines skipped), else the standard ones. */
function readClassNames(batchesDir: string): readonly string[] {
  let text: string;
  try {
    text = readFileSync(join(batchesDir, 'batches.meta.txt'), 'utf8');
  } catch {
    return CIFAR10_CLASSES;
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return names.length === CIFAR10_CLASSES.length ? Object.freeze(names) : CIFAR10_CLASSES;
}

/** Reads and concatenates CIFAR-10 binary batch files. */
export function readCifar10Batches(
  paths: readonly string[],
  name: string,
  classes: readonly string[] = CIFAR10_CLASSES,
): ImageDataset {
  const buffers = paths.map((path) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DatasetError(`cannot read CIFAR-10 batch ${path}: ${reason}`, { cause: err });
    }
    if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      const records = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
      throw new DatasetError(
        `${path} holds ${bytes.length} bytes, which is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records ` +
          `(1 label byte + 3072 pixel bytes; ${records} records and ${bytes.length - records * CIFAR10_RECORD_BYTES} bytes left over): ` +
          `the file is truncated or not a CIFAR-10 binary batch`,
      );
    }
    return { path, bytes };
  });
  const count = buffers.reduce((n, b) => n + b.bytes.length / CIFAR10_RECORD_BYTES, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let i = 0;
  for (const { path, bytes } of buffers) {
    const records = bytes.length / CIFAR10_RECORD_BYTES;
    for (let r = 0; r < records; r++, i++) {
      const offset = r * CIFAR10_RECORD_BYTES;
      const label = bytes[offset] ?? 0;
      if (label >= classes.length) {
        throw new DatasetError(
          `${path} record ${r} has label ${label}; CIFAR-10 labels must be 0..${classes.length - 1}`,
        );
      }
      labels[i] = label;
      images.set(bytes.subarray(offset + 1, offset + CIFAR10_RECORD_BYTES), i * PIXELS);
    }
  }
  return { name, images, labels, count, channels: 3, height: 32, width: 32, classes };
}

function loadFromBatchesDir(dir: string): DatasetSplits {
  const classes = readClassNames(dir);
  return {
    train: readCifar10Batches(
      CIFAR10_TRAIN_FILES.map((f) => join(dir, f)),
      'cifar10/train',
      classes,
    ),
    test: readCifar10Batches([join(dir, CIFAR10_TEST_FILE)], 'cifar10/test', classes),
  };
}

/**
 * Loads CIFAR-10 (50,000 train / 10,000 test images, 3x32x32, 10 classes).
 *
 * `dataDir` may be a directory containing `cifar-10-batches-bin/` (or the batch files
 * themselves), a directory containing `cifar-10-binary.tar.gz`, or the path of the archive.
 * Archives are extracted once into `cacheDir` (default `$NASCENT_DATA_DIR/cifar-10`, else
 * `~/.cache/nascent/datasets/cifar-10`). Without `dataDir`, `$NASCENT_DATA_DIR/cifar-10`,
 * `~/.cache/nascent/datasets/cifar-10` and `/usr/share/datasets/cifar-10` are searched.
 * With `download: true`, a missing dataset is fetched from the official URL.
 */
export async function loadCifar10(options: Cifar10Options = {}): Promise<DatasetSplits> {
  const log = options.log ?? (() => undefined);
  const dirs =
    options.dataDir !== undefined
      ? [resolve(options.dataDir)]
      : [
          ...new Set(
            [
              ...(envDataRoot() !== undefined ? [join(envDataRoot() ?? '', 'cifar-10')] : []),
              join(userCacheRoot(), 'cifar-10'),
              '/usr/share/datasets/cifar-10',
            ].map((d) => resolve(d)),
          ),
        ];
  let found: Found | undefined;
  for (const dir of dirs) {
    found = findIn(dir);
    if (found !== undefined) break;
  }
  const defaultExtractDir = options.cacheDir ?? writableDatasetDir('cifar-10');
  if (found === undefined) {
    const dataDir = options.dataDir;
    const target =
      dataDir === undefined
        ? join(defaultExtractDir, CIFAR10_ARCHIVE)
        : dataDir.endsWith('.tar.gz')
          ? resolve(dataDir)
          : join(resolve(dataDir), CIFAR10_ARCHIVE);
    if (options.download !== true) {
      throw new DatasetError(
        `CIFAR-10 dataset files not found. Searched:\n` +
          dirs.map((d) => `  ${describeDir(d)}`).join('\n') +
          `\nTo get them: pass --download (download: true) to fetch ${CIFAR10_URL} into ${target}, ` +
          `or put ${CIFAR10_ARCHIVE} (or its extracted ${CIFAR10_BATCHES_DIR}/) there or in $NASCENT_DATA_DIR/cifar-10.`,
      );
    }
    await downloadFile(CIFAR10_URL, target, log);
    const into = options.cacheDir ?? dirname(target);
    return loadFromBatchesDir(await extractCifar10Archive(target, into, log));
  }
  if (found.kind === 'batches') return loadFromBatchesDir(found.dir);
  const into = defaultExtractDir;
  log(`using ${basename(found.file)} from ${dirname(found.file)}`);
  return loadFromBatchesDir(await extractCifar10Archive(found.file, into, log));
}
