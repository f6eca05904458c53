/**
 * `npz:FILE`: a NumPy `.npz` archive (`np.savez` or `np.savez_compressed`) holding `x_train`,
 * `y_train`, `x_test` and `y_test`, as PyTorch and Keras users export them.
 *
 * - Pixels are uint8 (0..255) or float32/float64 (0..1, or 0..255 when any value exceeds 1),
 *   shaped N x H x W (grayscale), N x H x W x C (NHWC) or N x C x H x W (NCHW), C being 1 or 3.
 *   The layout is read from where the 1 or 3 lies (NHWC when both places could be channels).
 * - Labels are integers (any integer type) shaped N or N x 1, or one-hot rows N x K.
 * - Class names are optional: a string array `classes` (or `class_names`); else "0", "1", ...
 * - The normalisation is computed on x_train (rounded to 3 decimals).
 *
 * The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { computeNormalisation } from './folder.js';
import { DatasetError } from './types.js';
import type { DatasetSplits, ImageDataset } from './types.js';

/** A parsed .npy array: its dtype descriptor (e.g. `<f4`), shape and raw little-endian data. */
export interface NpyArray {
  readonly descr: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses a .npy file; `name` is named in errors. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const fail = (reason: string): never => {
    throw new DatasetError(`${name}: ${reason}`);
  };
  if (!NPY_MAGIC.every((byte, i) => bytes[i] === byte))
    fail('not a .npy array (no \\x93NUMPY magic)');
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLength)).toString(
    'latin1',
  );
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(`unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True')
    fail('the array is in Fortran order; save it with np.ascontiguousarray(...) first');
  if ((descr as string).startsWith('|O'))
    fail(
      'the array holds Python objects (pickled); save strings as np.array(names, dtype=str) and numbers as numeric arrays',
    );
  const shape = (shapeText as string)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map(Number);
  const data = bytes.subarray(headerStart + headerLength);
  const elements = shape.reduce((a, b) => a * b, 1);
  const itemSize = Number(/\d+$/.exec(descr as string)?.[0] ?? '0');
  const width = (descr as string).includes('U') ? itemSize * 4 : itemSize;
  if (data.length < elements * width)
    fail(`truncated: ${elements * width} bytes of data expected, ${data.length} found`);
  return { descr: descr as string, shape, data: data.subarray(0, elements * width) };
}

/** A numeric .npy array's values as numbers (uint8, int8..int64, uint16..uint64, float32/64). */
function numbers(array: NpyArray, name: string): Float64Array | Uint8Array {
  const { descr, data } = array;
  if (descr === '|u1' || descr === '<u1' || descr === '|b1') return data;
  const kind = descr.slice(1);
  if (descr.startsWith('>'))
    throw new DatasetError(
      `${name}: big-endian arrays (${descr}) are not read; save with .astype('<${kind}')`,
    );
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const itemSize = Number(kind.slice(1));
  const count = data.byteLength / itemSize;
  const out = new Float64Array(count);
  const readers: Record<string, (offset: number) => number> = {
    i1: (o) => view.getInt8(o),
    i2: (o) => view.getInt16(o, true),
    u2: (o) => view.getUint16(o, true),
    i4: (o) => view.getInt32(o, true),
    u4: (o) => view.getUint32(o, true),
    i8: (o) => Number(view.getBigInt64(o, true)),
    u8: (o) => Number(view.getBigUint64(o, true)),
    f4: (o) => view.getFloat32(o, true),
    f8: (o) => view.getFloat64(o, true),
  };
  const read = readers[kind];
  if (read === undefined)
    throw new DatasetError(
      `${name}: dtype ${descr} is not read (uint8, integers, float32 or float64)`,
    );
  for (let i = 0; i < count; i += 1) out[i] = read(i * itemSize);
  return out;
}

/** Strings of a '<U' or '|S' array. */
function strings(array: NpyArray, name: string): string[] {
  const size = Number(/\d+$/.exec(array.descr)?.[0] ?? '0');
  const count = array.shape.reduce((a, b) => a * b, 1);
  const out: string[] = [];
  if (array.descr.includes('U')) {
    const view = new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength);
    for (let i = 0; i < count; i += 1) {
      let text = '';
      for (let j = 0; j < size; j += 1) {
        const code = view.getUint32((i * size + j) * 4, true);
        if (code === 0) break;
        text += String.fromCodePoint(code);
      }
      out.push(text);
    }
  } else if (array.descr.includes('S')) {
    for (let i = 0; i < count; i += 1) {
      const part = array.data.subarray(i * size, (i + 1) * size);
      const end = part.indexOf(0);
      out.push(Buffer.from(end < 0 ? part : part.subarray(0, end)).toString('utf8'));
    }
  } else {
    throw new DatasetError(
      `${name}: class names must be a string array, found dtype ${array.descr}`,
    );
  }
  return out;
}

function images(
  array: NpyArray,
  name: string,
): { images: Uint8Array; count: number; channels: number; height: number; width: number } {
  const shape = array.shape;
  let layout: 'NHW' | 'NHWC' | 'NCHW';
  if (shape.length === 3) layout = 'NHW';
  else if (shape.length === 4 && (shape[3] === 1 || shape[3] === 3)) layout = 'NHWC';
  else if (shape.length === 4 && (shape[1] === 1 || shape[1] === 3)) layout = 'NCHW';
  else
    throw new DatasetError(
      `${name}: images must be N x H x W, N x H x W x C or N x C x H x W with C = 1 or 3; found shape (${shape.join(', ')})`,
    );
  const [count, a = 1, b = 1, c = 1] = shape as [number, number?, number?, number?];
  const [channels, height, width] =
    layout === 'NHW' ? [1, a, b] : layout === 'NHWC' ? [c, a, b] : [a, b, c];
  const values = numbers(array, name);
  const isFloat = array.descr.includes('f');
  let scale = 1;
  if (isFloat) {
    let max = 0;
    let min = 0;
    for (const value of values) {
      if (value > max) max = value;
      if (value < min) min = value;
    }
    if (min < 0 || max > 255 || Number.isNaN(max))
      throw new DatasetError(
        `${name}: pixel values from ${min} to ${max}; give raw pixels (0..1 or 0..255), not standardised ones`,
      );
    scale = max <= 1 ? 255 : 1;
  }
  const plane = height * width;
  const out = new Uint8Array(count * channels * plane);
  for (let n = 0; n < count; n += 1) {
    for (let ch = 0; ch < channels; ch += 1) {
      for (let i = 0; i < plane; i += 1) {
        const source =
          layout === 'NHWC' ? (n * plane + i) * channels + ch : (n * channels + ch) * plane + i;
        const value = values[source] ?? 0;
        out[(n * channels + ch) * plane + i] = isFloat
          ? Math.min(255, Math.max(0, Math.round(value * scale)))
          : value;
      }
    }
  }
  return { images: out, count, channels, height, width };
}

function labels(array: NpyArray, name: string, count: number): Uint8Array {
  const values = numbers(array, name);
  const shape = array.shape;
  const out = new Uint8Array(count);
  if (shape[0] !== count) throw new DatasetError(`${name}: ${shape[0]} labels for ${count} images`);
  const perRow = shape.slice(1).reduce((a, b) => a * b, 1);
  for (let n = 0; n < count; n += 1) {
    let label: number;
    if (perRow === 1) label = values[n] ?? 0;
    else {
      label = 0;
      for (let k = 1; k < perRow; k += 1)
        if ((values[n * perRow + k] ?? 0) > (values[n * perRow + label] ?? 0)) label = k;
    }
    if (!Number.isInteger(label) || label < 0 || label > 255)
      throw new DatasetError(`${name}: label ${label} at row ${n} is not a class index 0..255`);
    out[n] = label;
  }
  return out;
}

const loaded = new Map<string, DatasetSplits>();

/** Reads an .npz dataset (synchronously; memoised per file, size and modification time). */
export function readNpzDataset(file: string): DatasetSplits {
  const path = resolve(file);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new DatasetError(`npz:${file}: no such file (${path})`);
  }
  const key = `${path}\t${stat.size}\t${stat.mtimeMs}`;
  const known = loaded.get(key);
  if (known !== undefined) return known;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(path));
  } catch (error) {
    throw new DatasetError(
      `npz:${file}: not a readable .npz (zip) archive (${(error as Error).message})`,
    );
  }
  const arrays = new Map(
    Object.entries(entries).map(([entry, bytes]) => [entry.replace(/\.npy$/, ''), bytes]),
  );
  const array = (key: string): NpyArray => {
    const bytes = arrays.get(key);
    if (bytes === undefined)
      throw new DatasetError(
        `npz:${file}: no array ${key}; an .npz dataset holds x_train, y_train, x_test and y_test (this one holds ${[...arrays.keys()].join(', ') || 'nothing'})`,
      );
    return parseNpy(bytes, `npz:${file}: ${key}`);
  };
  const xTrain = images(array('x_train'), `npz:${file}: x_train`);
  const xTest = images(array('x_test'), `npz:${file}: x_test`);
  if (
    xTrain.channels !== xTest.channels ||
    xTrain.height !== xTest.height ||
    xTrain.width !== xTest.width
  )
    throw new DatasetError(
      `npz:${file}: x_train is ${xTrain.channels}x${xTrain.height}x${xTrain.width} but x_test is ${xTest.channels}x${xTest.height}x${xTest.width}`,
    );
  const yTrain = labels(array('y_train'), `npz:${file}: y_train`, xTrain.count);
  const yTest = labels(array('y_test'), `npz:${file}: y_test`, xTest.count);
  const namesKey = ['classes', 'class_names'].find((key) => arrays.has(key));
  let classes: string[];
  const highest = Math.max(...yTrain, ...yTest);
  if (namesKey !== undefined) {
    classes = strings(array(namesKey), `npz:${file}: ${namesKey}`);
    if (highest >= classes.length)
      throw new DatasetError(
        `npz:${file}: label ${highest} but ${namesKey} names ${classes.length} classes`,
      );
  } else {
    classes = Array.from({ length: highest + 1 }, (_, i) => String(i));
  }
  if (classes.length < 2)
    throw new DatasetError(`npz:${file}: only one class; a classification needs at least two`);
  const dataset = (
    split: 'train' | 'test',
    x: ReturnType<typeof images>,
    y: Uint8Array,
  ): ImageDataset => ({
    name: `npz:${file}/${split}`,
    images: x.images,
    labels: y,
    count: x.count,
    channels: x.channels,
    height: x.height,
    width: x.width,
    classes,
  });
  const train = dataset('train', xTrain, yTrain);
  const splits: DatasetSplits = {
    train,
    test: dataset('test', xTest, yTest),
    normalisation: computeNormalisation(train),
  };
  loaded.set(key, splits);
  return splits;
}

/** A .npy file of `values` (tests and benches write datasets with it). */
export function encodeNpy(
  descr: '|u1' | '<f4' | '<i8' | '<i4' | `<U${number}`,
  shape: readonly number[],
  values: ArrayLike<number> | readonly string[],
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const padding = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(padding % 64)}\n`;
  const count = shape.reduce((a, b) => a * b, 1);
  let body: Uint8Array;
  if (descr.startsWith('<U')) {
    const size = Number(descr.slice(2));
    const view = new DataView(new ArrayBuffer(count * size * 4));
    (values as readonly string[]).forEach((text, i) => {
      [...text].slice(0, size).forEach((character, j) => {
        view.setUint32((i * size + j) * 4, character.codePointAt(0) ?? 0, true);
      });
    });
    body = new Uint8Array(view.buffer);
  } else {
    const numeric = values as ArrayLike<number>;
    const size = descr === '|u1' ? 1 : descr === '<i8' ? 8 : 4;
    const view = new DataView(new ArrayBuffer(count * size));
    for (let i = 0; i < count; i += 1) {
      const value = numeric[i] ?? 0;
      if (descr === '|u1') view.setUint8(i, value);
      else if (descr === '<f4') view.setFloat32(i * 4, value, true);
      else if (descr === '<i4') view.setInt32(i * 4, value, true);
      else view.setBigInt64(i * 8, BigInt(value), true);
    }
    body = new Uint8Array(view.buffer);
  }
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(body, 10 + header.length);
  return out;
}

/** An .npz archive of named .npy arrays (compressed when `compress`). */
export function encodeNpz(arrays: Record<string, Uint8Array>, compress = false): Uint8Array {
  return zipSync(
    Object.fromEntries(Object.entries(arrays).map(([name, bytes]) => [`${name}.npy`, bytes])),
    { level: compress ? 6 : 0 },
  );
}
