/**
 * The safetensors format (https://huggingface.co/docs/safetensors), float32 tensors only: an
 * 8-byte little-endian header length N, N bytes of JSON header (padded with spaces so that the
 * data starts on an 8-byte boundary), then the raw little-endian tensor data. The header maps each
 * tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the data) and may
 * hold `__metadata__`, a string-to-string map.
 */
import { endianness } from 'node:os';
import { z } from 'zod';
import type { WeightMap, WeightTensor } from '../engine/engine.js';

/** The largest header the reader accepts (as the reference implementation: 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = endianness() === 'LE';

/** A file that is not valid safetensors, or holds something Nascent cannot read. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface SafetensorsContents {
  readonly tensors: WeightMap;
  readonly metadata: Readonly<Record<string, string>>;
}

const tensorEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const metadataSchema = z.record(z.string(), z.string());

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Encodes float32 tensors (in the given order) and string metadata as safetensors bytes. */
export function encodeSafetensors(
  tensors: WeightMap,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, tensor] of entries) {
    if (name === METADATA_KEY) throw new SafetensorsError(`a tensor cannot be named ${name}`);
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new SafetensorsError(
        `tensor ${name} has ${tensor.data.length} values but shape [${tensor.shape.join(', ')}]`,
      );
    }
    const bytes = tensor.data.length * 4;
    header[name] = {
      dtype: 'F32',
      shape: [...tensor.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + headerLength + offset, 0x20);
  out.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(out, 8);
  let position = 8 + headerLength;
  for (const [, tensor] of entries) {
    if (LITTLE_ENDIAN) {
      out.set(
        new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.length * 4),
        position,
      );
    } else {
      tensor.data.forEach((value, i) => out.writeFloatLE(value, position + 4 * i));
    }
    position += tensor.data.length * 4;
  }
  return out;
}

function readFloats(bytes: Uint8Array, start: number, count: number): Float32Array {
  if (LITTLE_ENDIAN) {
    // a copy, aligned: the data of a tensor need not start on a 4-byte boundary of `bytes`
    const copy = new Uint8Array(4 * count);
    copy.set(bytes.subarray(start, start + 4 * count));
    return new Float32Array(copy.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, 4 * count);
  return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
}

/**
 * Decodes safetensors bytes. `source` (a file name) prefixes every error message. Rejects
 * anything but float32 tensors, offsets outside the data (a truncated file), and data that the
 * offsets do not cover exactly.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsContents {
  function fail(reason: string): never {
    throw new SafetensorsError(`${source}: ${reason}`);
  }
  if (bytes.length < 8) fail(`not a safetensors file: ${bytes.length} bytes, too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(`not a safetensors file: its first 8 bytes give a header of ${declared} bytes`);
  }
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    fail(
      `truncated or not a safetensors file: the header should be ${headerLength} bytes, but only ${bytes.length - 8} follow the length`,
    );
  }
  const headerText = Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8');
  if (!headerText.startsWith('{')) fail('not a safetensors file: the header is not a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`not a safetensors file: the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('not a safetensors file: the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors: Record<string, WeightTensor> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      const parsed = metadataSchema.safeParse(value);
      if (!parsed.success) fail(`${METADATA_KEY} must map strings to strings`);
      metadata = parsed.data;
      continue;
    }
    const parsed = tensorEntrySchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      fail(
        `tensor ${name}: ${issue?.path.join('.') || 'entry'}: ${issue?.message ?? 'invalid'} (expected {dtype, shape, data_offsets})`,
      );
    }
    const entry = parsed.data;
    if (entry.dtype !== 'F32') {
      fail(`tensor ${name} has dtype ${entry.dtype}; Nascent model files hold F32 (float32) only`);
    }
    const [begin, end] = entry.data_offsets;
    const count = elementCount(entry.shape);
    if (end - begin !== 4 * count) {
      fail(
        `tensor ${name}: shape [${entry.shape.join(', ')}] needs ${4 * count} bytes, its offsets [${begin}, ${end}] give ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(
        `truncated: tensor ${name} ends at byte ${end} of the data, but the file holds only ${dataLength} bytes of data`,
      );
    }
    spans.push({ name, begin, end });
    tensors[name] = { shape: entry.shape, data: readFloats(bytes, dataStart + begin, count) };
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const span of spans) {
    if (span.begin !== covered) {
      fail(
        span.begin < covered
          ? `tensor ${span.name} overlaps the tensor before it (offset ${span.begin} < ${covered})`
          : `the data has a gap of ${span.begin - covered} bytes before tensor ${span.name}`,
      );
    }
    covered = span.end;
  }
  if (covered !== dataLength) {
    fail(`${dataLength - covered} bytes after the last tensor belong to no tensor`);
  }
  return { tensors, metadata };
}
