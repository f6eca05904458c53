/**
 * `nascent predict <model file> <dataset name | IDX images | image files or folders>`: the class
 * of each image; on a labelled set (a dataset, or IDX images with `--labels`) the accuracy and a
 * confusion matrix. Pixels are normalised as the model file says, as in training.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isGzip, parseIdx, readIdxLabels } from '../data/idx.js';
import { DATASET_NAME_HINT, isDatasetSpec, loadDataset } from '../data/registry.js';
import { sliceDataset } from '../data/split.js';
import type { ImageDataset } from '../data/types.js';
import { TensorData } from '../engine/engine.js';
import { hasImageExtension } from '../data/image-decode.js';
import { IMAGE_EXTENSIONS, type DecodedImage, decodeImage } from '../export/images.js';
import { type ModelFile, buildNetwork, classNames, readModelFile } from '../export/model-file.js';
import { isDirectory } from '../util/fs.js';
import { softmax } from '../util/stats.js';
import { formatCount, formatPercent, table } from '../util/format.js';

export interface PredictCommandOptions {
  /** Where a named dataset lives. */
  dataDir?: string;
  download?: boolean;
  /** Which part of a named dataset: test (default) or train. */
  split?: string;
  /** Predict only the first this many images. */
  limit?: number;
  /** IDX labels for IDX images (gives accuracy and a confusion matrix). */
  labels?: string;
  threads?: number;
  device?: string;
  /** List this many predictions (default: all when there are at most 20 images, else none). */
  list?: number;
  json?: boolean;
}

/** The images to predict, with a name for each and whether their labels are known. */
interface PredictionInput {
  readonly description: string;
  readonly images: ImageDataset;
  readonly names: readonly string[];
  readonly labelled: boolean;
}

export interface Prediction {
  readonly image: string;
  readonly predicted: number;
  readonly className: string;
  readonly probability: number;
  readonly label?: number;
}

export interface PredictionReport {
  readonly model: string;
  readonly input: string;
  readonly classes: readonly string[];
  readonly predictions: readonly Prediction[];
  /** On a labelled set: share of correct predictions, and counts[true][predicted]. */
  readonly accuracy?: number;
  readonly confusion?: number[][];
}

const LIST_ALL_UP_TO = 20;

function unlabelled(
  description: string,
  images: DecodedImage[],
  names: string[],
  classes: readonly string[],
): PredictionInput {
  const first = images[0] as DecodedImage;
  images.forEach((image, i) => {
    if (
      image.width !== first.width ||
      image.height !== first.height ||
      image.channels !== first.channels
    ) {
      throw new Error(
        `${names[i]} is ${image.channels}x${image.height}x${image.width}, but ${names[0]} is ${first.channels}x${first.height}x${first.width}: give images of one size`,
      );
    }
  });
  const size = first.pixels.length;
  const pixels = new Uint8Array(size * images.length);
  images.forEach((image, i) => pixels.set(image.pixels, i * size));
  return {
    description,
    images: {
      name: description,
      images: pixels,
      labels: new Uint8Array(images.length),
      count: images.length,
      channels: first.channels,
      height: first.height,
      width: first.width,
      classes,
    },
    names,
    labelled: false,
  };
}

function idxInput(
  path: string,
  bytes: Uint8Array,
  labelsPath: string | undefined,
  classes: readonly string[],
): PredictionInput {
  const { dims, data } = parseIdx(bytes, path, 'images');
  const [count = 0, height = 0, width = 0] = dims;
  let labels: Uint8Array = new Uint8Array(count);
  if (labelsPath !== undefined) {
    const read = readIdxLabels(labelsPath);
    if (read.count !== count) {
      throw new Error(
        `${labelsPath} holds ${read.count} labels for the ${count} images of ${path}`,
      );
    }
    labels = read.data;
  }
  return {
    description: path,
    images: { name: path, images: data, labels, count, channels: 1, height, width, classes },
    names: Array.from({ length: count }, (_, i) => `${basename(path)} #${i}`),
    labelled: labelsPath !== undefined,
  };
}

/** Files in a folder with an image extension, sorted by name. */
function imageFilesIn(directory: string): string[] {
  const files = readdirSync(directory)
    .filter((name) => hasImageExtension(name))
    .sort()
    .map((name) => join(directory, name));
  if (files.length === 0) {
    throw new Error(`${directory} holds no image files (${IMAGE_EXTENSIONS.join(', ')})`);
  }
  return files;
}

async function resolveInput(
  inputs: readonly string[],
  model: ModelFile,
  options: PredictCommandOptions,
): Promise<PredictionInput> {
  const classes = classNames(model);
  const [first] = inputs;
  if (first === undefined)
    throw new Error('nothing to predict: give a dataset name, IDX images or image files');
  if (inputs.length === 1 && isDatasetSpec(first) && !isDirectory(first)) {
    if (options.labels !== undefined)
      throw new Error('--labels is for IDX images; a dataset has its labels');
    const split = options.split ?? 'test';
    if (split !== 'test' && split !== 'train') {
      throw new Error(`unknown split "${split}" (expected test or train)`);
    }
    const splits = await loadDataset(first, {
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.download !== undefined ? { download: options.download } : {}),
    });
    const images = splits[split];
    if (images.classes.length !== classes.length) {
      throw new Error(
        `the model has ${classes.length} outputs, but ${first} has ${images.classes.length} classes`,
      );
    }
    return {
      description: `${first} ${split} set`,
      images,
      names: Array.from({ length: images.count }, (_, i) => `#${i}`),
      labelled: true,
    };
  }
  if (options.split !== undefined || options.dataDir !== undefined) {
    throw new Error(`--split and --data-dir go with ${DATASET_NAME_HINT}`);
  }
  const files = inputs.flatMap((input) => (isDirectory(input) ? imageFilesIn(input) : [input]));
  const decoded: DecodedImage[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`);
    }
    // IDX files start with two zero bytes (or are gzip-compressed); images never do
    if (isGzip(bytes) || (bytes[0] === 0 && bytes[1] === 0)) {
      if (files.length > 1)
        throw new Error(`give an IDX file on its own, not with other inputs (${file})`);
      return idxInput(file, bytes, options.labels, classes);
    }
    // a model trained on an image folder read its images resized and converted to its input:
    // its images here are too; other models take images of their own size only
    const { channels, height, width } = model.architecture.input;
    const resize = model.dataset?.startsWith('folder:') === true;
    decoded.push(
      await decodeImage(
        bytes,
        file,
        resize ? { size: { width, height }, channels: channels === 1 ? 1 : 3 } : {},
      ),
    );
  }
  if (options.labels !== undefined) throw new Error('--labels is for IDX images, not image files');
  return unlabelled(
    files.length === 1 ? (files[0] as string) : `${files.length} image files`,
    decoded,
    files,
    classes,
  );
}

function softmaxRow(logits: Float32Array, row: number, classes: number): number[] {
  return softmax(Array.from(logits.subarray(row * classes, (row + 1) * classes)));
}

/** Predicts the images of `inputs` with the model file; the report behind `nascent predict`. */
export async function predictImages(
  modelPath: string,
  inputs: readonly string[],
  options: PredictCommandOptions = {},
): Promise<PredictionReport> {
  const model = readModelFile(modelPath);
  const input = await resolveInput(inputs, model, options);
  let images = input.images;
  let names = input.names;
  if (options.limit !== undefined && options.limit < images.count) {
    images = sliceDataset(
      images,
      Array.from({ length: options.limit }, (_, i) => i),
    );
    names = names.slice(0, options.limit);
  }
  const { channels, height, width } = model.architecture.input;
  if (images.channels !== channels || images.height !== height || images.width !== width) {
    throw new Error(
      `${input.description} holds ${images.channels}x${images.height}x${images.width} images (channels x height x width); the model takes ${channels}x${height}x${width}`,
    );
  }
  const classes = model.classes ?? (input.labelled ? images.classes : classNames(model));
  images.labels.forEach((label, i) => {
    if (label >= classes.length) {
      throw new Error(
        `${names[i]} has label ${label}, but the model has only ${classes.length} classes`,
      );
    }
  });
  const { mean, std } = model.normalisation;
  const device = options.device ?? 'cpu';
  const network = buildNetwork(model, { device });
  const data = TensorData.fromImages(
    { ...images, classes },
    { ...(mean && std ? { normalisation: { mean, std } } : {}), device },
  );
  let logits: Float32Array;
  try {
    ({ logits } = await network.predict(data, options.threads ? { threads: options.threads } : {}));
  } finally {
    data.release();
  }
  const predictions: Prediction[] = names.map((image, i) => {
    const probabilities = softmaxRow(logits, i, classes.length);
    let predicted = 0;
    probabilities.forEach((p, k) => {
      if (p > (probabilities[predicted] as number)) predicted = k;
    });
    return {
      image,
      predicted,
      className: classes[predicted] as string,
      probability: probabilities[predicted] as number,
      ...(input.labelled ? { label: images.labels[i] as number } : {}),
    };
  });
  const report = { model: modelPath, input: input.description, classes, predictions };
  if (!input.labelled) return report;
  const confusion = classes.map(() => classes.map(() => 0));
  let correct = 0;
  for (const prediction of predictions) {
    const row = confusion[prediction.label as number] as number[];
    row[prediction.predicted] = (row[prediction.predicted] as number) + 1;
    if (prediction.label === prediction.predicted) correct += 1;
  }
  return {
    ...report,
    accuracy: predictions.length > 0 ? correct / predictions.length : 0,
    confusion,
  };
}

/** Formats a report: listed predictions, then accuracy and the confusion matrix when labelled. */
export function formatPredictions(report: PredictionReport, list?: number): string {
  const count = report.predictions.length;
  const shown = list ?? (count <= LIST_ALL_UP_TO ? count : 0);
  const labelled = report.accuracy !== undefined;
  const lines = [`${formatCount(count)} image${count === 1 ? '' : 's'} from ${report.input}`];
  if (shown > 0) {
    const rows = report.predictions
      .slice(0, shown)
      .map((p, i) => [
        i + 1,
        p.image,
        p.className,
        formatPercent(p.probability),
        ...(labelled
          ? [report.classes[p.label as number] as string, p.label === p.predicted ? 'yes' : 'no']
          : []),
      ]);
    const head = [
      '#',
      'image',
      'prediction',
      'probability',
      ...(labelled ? ['label', 'right'] : []),
    ];
    lines.push(table(head, rows));
    if (shown < count) lines.push(`(first ${shown} of ${formatCount(count)}; --list N shows more)`);
  }
  if (report.accuracy !== undefined && report.confusion) {
    const correct = report.predictions.filter((p) => p.label === p.predicted).length;
    lines.push(
      `accuracy: ${formatPercent(report.accuracy)} (${formatCount(correct)} of ${formatCount(count)})`,
      'confusion matrix (rows: true class, columns: predicted class):',
      table(
        ['true \\ predicted', ...report.classes.map((_, k) => String(k))],
        report.confusion.map((row, k) => [`${k} ${report.classes[k]}`, ...row]),
        ['left', ...report.classes.map((): 'right' => 'right')],
      ),
    );
  }
  return lines.join('\n');
}

/** Runs `nascent predict`; returns the text to print. */
export async function predictCommand(
  modelPath: string,
  inputs: readonly string[],
  options: PredictCommandOptions = {},
): Promise<string> {
  const report = await predictImages(modelPath, inputs, options);
  return options.json ? JSON.stringify(report, null, 2) : formatPredictions(report, options.list);
}
