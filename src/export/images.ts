/**
 * Image files for prediction, read without dependencies: PNG (8- or 16-bit grayscale, RGB, with
 * or without alpha, 8-bit palette; not interlaced) and Netpbm PGM/PPM (P2, P5, P3, P6). Alpha is
 * dropped; 16-bit samples keep their high byte; Netpbm samples are rescaled from their maxval to
 * 0..255.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

/** A decoded image: `channels` (1 or 3) x height x width bytes, channel-major (CHW). */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** An image file that cannot be read; the message names the file. */
export class ImageFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFileError';
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const IMAGE_EXTENSIONS = ['.png', '.pgm', '.ppm', '.pnm'] as const;

/** Interleaved (HWC) samples to channel-major (CHW). */
function toChannelMajor(
  interleaved: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Uint8Array {
  const plane = width * height;
  const out = new Uint8Array(plane * channels);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < channels; c += 1) out[c * plane + i] = interleaved[i * channels + c] ?? 0;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

function decodePng(bytes: Uint8Array, name: string): DecodedImage {
  function fail(reason: string): never {
    throw new ImageFileError(`${name}: ${reason}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: { width: number; height: number; depth: number; colour: number } | undefined;
  let palette: Uint8Array | undefined;
  const data: Uint8Array[] = [];
  for (;;) {
    if (offset + 8 > bytes.length) fail('truncated PNG: no IEND chunk');
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const start = offset + 8;
    const body = bytes.subarray(start, start + length);
    if (start + length + 4 > bytes.length) fail(`truncated PNG: chunk ${type} is cut off`);
    offset = start + length + 4; // the CRC follows the body
    if (type === 'IHDR') {
      if (length < 13) fail('bad PNG header');
      if (body[12] !== 0) fail('interlaced PNG is not supported; save it without interlacing');
      header = {
        width: view.getUint32(start),
        height: view.getUint32(start + 4),
        depth: body[8] ?? 0,
        colour: body[9] ?? 0,
      };
    } else if (type === 'PLTE') {
      palette = body;
    } else if (type === 'IDAT') {
      data.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (!header) fail('PNG without an IHDR chunk');
  const { width, height, depth, colour } = header;
  const samplesPerPixel = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colour];
  if (samplesPerPixel === undefined) fail(`PNG colour type ${colour} is not valid`);
  const depthOk = colour === 3 ? depth === 8 : depth === 8 || depth === 16;
  if (!depthOk) {
    fail(`PNG bit depth ${depth} (colour type ${colour}) is not supported; use 8-bit images`);
  }
  if (colour === 3 && !palette) fail('palette PNG without a PLTE chunk');
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(data));
  } catch (error) {
    fail(`corrupt PNG data (${(error as Error).message})`);
  }
  const bytesPerPixel = (samplesPerPixel * depth) / 8;
  const stride = width * bytesPerPixel;
  if (raw.length < height * (stride + 1)) fail('truncated PNG image data');
  const unfiltered = new Uint8Array(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = unfiltered.subarray(y * stride, (y + 1) * stride);
    const previous = y > 0 ? unfiltered.subarray((y - 1) * stride, y * stride) : undefined;
    for (let x = 0; x < stride; x += 1) {
      const left = x >= bytesPerPixel ? (out[x - bytesPerPixel] ?? 0) : 0;
      const up = previous?.[x] ?? 0;
      const upLeft = x >= bytesPerPixel ? (previous?.[x - bytesPerPixel] ?? 0) : 0;
      const value = line[x] ?? 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = left;
          break;
        case 2:
          predictor = up;
          break;
        case 3:
          predictor = (left + up) >> 1;
          break;
        case 4:
          predictor = paeth(left, up, upLeft);
          break;
        default:
          fail(`PNG row ${y} has an unknown filter type ${String(filter)}`);
      }
      out[x] = (value + predictor) & 0xff;
    }
  }
  const colourChannels = colour === 2 || colour === 3 || colour === 6 ? 3 : 1;
  const interleaved = new Uint8Array(width * height * colourChannels);
  const sampleBytes = depth / 8;
  for (let i = 0; i < width * height; i += 1) {
    if (colour === 3) {
      const index = unfiltered[i] ?? 0;
      if (3 * index + 2 >= (palette as Uint8Array).length) {
        fail(`palette index ${index} is outside the palette`);
      }
      for (let c = 0; c < 3; c += 1) interleaved[3 * i + c] = palette?.[3 * index + c] ?? 0;
      continue;
    }
    for (let c = 0; c < colourChannels; c += 1) {
      // the first (high) byte of each sample; alpha, the last sample, is skipped
      interleaved[i * colourChannels + c] =
        unfiltered[(i * samplesPerPixel + c) * sampleBytes] ?? 0;
    }
  }
  return {
    width,
    height,
    channels: colourChannels,
    pixels: toChannelMajor(interleaved, width, height, colourChannels),
  };
}

function decodeNetpbm(bytes: Uint8Array, name: string): DecodedImage {
  function fail(reason: string): never {
    throw new ImageFileError(`${name}: ${reason}`);
  }
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  const ascii = magic === 'P2' || magic === 'P3';
  const channels = magic === 'P3' || magic === 'P6' ? 3 : 1;
  let offset = 2;
  const isSpace = (byte: number | undefined): boolean =>
    byte === 0x20 ||
    byte === 0x09 ||
    byte === 0x0a ||
    byte === 0x0d ||
    byte === 0x0b ||
    byte === 0x0c;
  const token = (): number => {
    for (;;) {
      while (isSpace(bytes[offset])) offset += 1;
      if (bytes[offset] !== 0x23) break; // '#' comment to the end of the line
      while (offset < bytes.length && bytes[offset] !== 0x0a) offset += 1;
    }
    const start = offset;
    while (offset < bytes.length && !isSpace(bytes[offset]) && bytes[offset] !== 0x23) offset += 1;
    const text = Buffer.from(bytes.subarray(start, offset)).toString('latin1');
    if (!/^\d+$/.test(text))
      fail(`expected a number at byte ${start}, found ${JSON.stringify(text.slice(0, 10))}`);
    return Number(text);
  };
  const width = token();
  const height = token();
  const maxval = token();
  if (width < 1 || height < 1) fail(`bad size ${width}x${height}`);
  if (maxval < 1 || maxval > 65535) fail(`bad maxval ${maxval}`);
  const count = width * height * channels;
  const samples = new Uint8Array(count);
  const scale = (value: number): number => {
    if (value > maxval) fail(`sample ${value} exceeds maxval ${maxval}`);
    return maxval === 255 ? value : Math.round((value * 255) / maxval);
  };
  if (ascii) {
    for (let i = 0; i < count; i += 1) samples[i] = scale(token());
  } else {
    offset += 1; // the single whitespace after maxval
    const wide = maxval > 255;
    const needed = count * (wide ? 2 : 1);
    if (offset + needed > bytes.length) {
      fail(`truncated: ${needed} bytes of pixels expected, ${bytes.length - offset} found`);
    }
    for (let i = 0; i < count; i += 1) {
      const value = wide
        ? ((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0)
        : (bytes[offset + i] ?? 0);
      samples[i] = scale(value);
    }
  }
  return { width, height, channels, pixels: toChannelMajor(samples, width, height, channels) };
}

/** Decodes PNG or PGM/PPM bytes, recognised by their first bytes; `name` is used in errors. */
export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return decodePng(bytes, name);
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (['P2', 'P3', 'P5', 'P6'].includes(magic)) return decodeNetpbm(bytes, name);
  throw new ImageFileError(
    `${name}: not a PNG, PGM or PPM image (the supported image formats; or give IDX files or a dataset name)`,
  );
}

export function readImage(path: string): DecodedImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ImageFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return decodeImage(bytes, path);
}
