/**
 * Reader and writer for the IDX format of the MNIST family of datasets.
 *
 * Header: two zero bytes, a data-type byte (0x08 = unsigned byte, the only one supported here),
 * a byte giving the number of dimensions, then one big-endian uint32 per dimension, then the
 * data in row-major order. Files may be gzip-compressed; compression is detected from the
 * gzip magic bytes (1f 8b), not from the file name.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DatasetError } from './types.js';

export type IdxKind = 'images' | 'labels';

export interface IdxArray {
  readonly dims: readonly number[];
  /** The data, a fresh array (byteOffset 0) of exactly product(dims) bytes. */
  readonly data: Uint8Array;
}

export interface IdxImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly data: Uint8Array;
}

export interface IdxLabels {
  readonly count: number;
  readonly data: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};
const EXPECTED_DIMS: Readonly<Record<IdxKind, number>> = { images: 3, labels: 1 };

function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

function expectedMagic(kind: IdxKind): string {
  return hex((UBYTE << 8) | EXPECTED_DIMS[kind], 8);
}

/** True when `bytes` starts with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function describeDims(dims: readonly number[], kind: IdxKind | undefined): string {
  if (kind === 'images' && dims.length === 3) {
    return `${dims[0]} images of ${dims[1]}x${dims[2]}`;
  }
  if (kind === 'labels' && dims.length === 1) return `${dims[0]} labels`;
  return `dimensions ${dims.join('x')}`;
}

/**
 * Parses an IDX file already in memory (raw or gzip).
 * @param name used in error messages (usually the file path)
 * @param kind when given, the file must be uint8 with 3 dims (images) or 1 dim (labels)
 */
export function parseIdx(bytes: Uint8Array, name: string, kind?: IdxKind): IdxArray {
  let buf = bytes;
  let compressed = false;
  if (isGzip(buf)) {
    compressed = true;
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DatasetError(
        `${name} is a corrupt or truncated gzip file (${reason}); delete it and fetch it again`,
        { cause: err },
      );
    }
  }
  const what = kind === undefined ? '' : ` for ${kind}`;
  const expected = kind === undefined ? '' : `, expected ${expectedMagic(kind)}${what}`;
  if (buf.length < 4) {
    throw new DatasetError(
      `${name} is not an IDX file: it holds only ${buf.length} bytes${compressed ? ' after decompression' : ''}, too few for the 4-byte magic number`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const typeByte = buf[2] ?? 0;
  const ndims = buf[3] ?? 0;
  if (buf[0] !== 0 || buf[1] !== 0 || TYPE_NAMES[typeByte] === undefined || ndims === 0) {
    throw new DatasetError(`${name} is not an IDX file (magic ${hex(magic, 8)}${expected})`);
  }
  if (typeByte !== UBYTE) {
    throw new DatasetError(
      `${name} holds IDX data of type ${hex(typeByte, 2)} (${TYPE_NAMES[typeByte]}); only type 0x08 (unsigned byte) is supported`,
    );
  }
  if (kind !== undefined && ndims !== EXPECTED_DIMS[kind]) {
    throw new DatasetError(
      `${name} has ${ndims} dimension${ndims === 1 ? '' : 's'} (magic ${hex(magic, 8)}${expected}: ${kind} files have ${EXPECTED_DIMS[kind]})`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new DatasetError(
      `${name} is truncated: its header declares ${ndims} dimensions (${headerBytes} header bytes) but the file holds ${buf.length} bytes${compressed ? ' after decompression' : ''}`,
    );
  }
  const dims: number[] = [];
  let total = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    total *= d;
  }
  if (!Number.isSafeInteger(total) || total > 2 ** 32) {
    throw new DatasetError(
      `${name} declares ${describeDims(dims, kind)}, which is implausibly large (${total} bytes)`,
    );
  }
  const held = buf.length - headerBytes;
  if (held !== total) {
    const problem = held < total ? 'is truncated' : `has ${held - total} bytes of trailing data`;
    throw new DatasetError(
      `${name} ${problem}: header declares ${describeDims(dims, kind)} (${total} bytes) but the file holds ${held} bytes after the ${headerBytes}-byte header${compressed ? ' (after decompression)' : ''}`,
    );
  }
  const data = new Uint8Array(total);
  data.set(buf.subarray(headerBytes, headerBytes + total));
  return { dims, data };
}

/** Reads an IDX file (raw or gzip-compressed) from disk. */
export function readIdx(path: string, kind?: IdxKind): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetError(`cannot read ${path}: ${reason}`, { cause: err });
  }
  return parseIdx(bytes, path, kind);
}

/** Reads a uint8 IDX file of images (count x height x width). */
export function readIdxImages(path: string): IdxImages {
  const { dims, data } = readIdx(path, 'images');
  return { count: dims[0] ?? 0, height: dims[1] ?? 0, width: dims[2] ?? 0, data };
}

/** Reads a uint8 IDX file of labels (count). */
export function readIdxLabels(path: string): IdxLabels {
  const { dims, data } = readIdx(path, 'labels');
  return { count: dims[0] ?? 0, data };
}

/** Encodes `data` with the given dimensions as uint8 IDX bytes (optionally gzip-compressed). */
export function encodeIdx(
  data: Uint8Array,
  dims: readonly number[],
  options: { gzip?: boolean } = {},
): Uint8Array {
  if (dims.length === 0 || dims.length > 255) {
    throw new RangeError(`IDX needs 1 to 255 dimensions, got ${dims.length}`);
  }
  let total = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= 2 ** 32) {
      throw new RangeError(`IDX dimension must be an integer in [0, 2^32), got ${d}`);
    }
    total *= d;
  }
  if (total !== data.length) {
    throw new RangeError(
      `IDX dimensions ${dims.join('x')} hold ${total} bytes but the data has ${data.length}`,
    );
  }
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerBytes);
  return options.gzip === true ? gzipSync(out) : out;
}

/** Writes `data` as a uint8 IDX file (creating parent directories). */
export function writeIdx(
  path: string,
  data: Uint8Array,
  dims: readonly number[],
  options: { gzip?: boolean } = {},
): void {
  const bytes = encodeIdx(data, dims, options);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
