/**
 * Image files decoded with sharp (libvips, shipped in sharp's @img platform packages: nothing is
 * downloaded at install): PNG, JPEG, WebP, GIF, TIFF and AVIF, plus Netpbm PGM/PPM (P2, P3, P5,
 * P6), which libvips reads only from files and which is read here. Alpha is dropped. An image can
 * be resized (stretched to the size, no cropping) and converted to grayscale or RGB.
 *
 * `readImageHeader` reads only the first bytes of a PNG or JPEG (size and colour), synchronously,
 * so that a folder's shape is known before anything is decoded.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';

/** A decoded image: `channels` (1 or 3) x height x width bytes, channel-major (CHW). */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** An image file that cannot be read or decoded; the message names the file and the reason. */
export class ImageFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFileError';
  }
}

export interface DecodeOptions {
  /** Resize to this size (stretched, no cropping); the image's own size when absent. */
  readonly size?: { readonly width: number; readonly height: number } | undefined;
  /** 1 (grayscale) or 3 (RGB); the image's own when absent (grayscale stays 1, colour is 3). */
  readonly channels?: 1 | 3 | undefined;
}

/** Extensions read as images (lower case, with the dot). */
export const IMAGE_EXTENSIONS = [
  '.png',
  '.jpg',
  '.jpeg',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.pgm',
  '.ppm',
  '.pnm',
] as const;

/** Whether `path` has one of the {@link IMAGE_EXTENSIONS}. */
export function hasImageExtension(path: string): boolean {
  const lower = path.toLowerCase();
  return IMAGE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/** Interleaved (HWC) samples to channel-major (CHW). */
function toChannelMajor(
  interleaved: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Uint8Array {
  if (channels === 1) return interleaved;
  const plane = width * height;
  const out = new Uint8Array(plane * channels);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < channels; c += 1) out[c * plane + i] = interleaved[i * channels + c] ?? 0;
  }
  return out;
}

/** Netpbm (P2, P3, P5, P6) as interleaved 8-bit samples; undefined when not Netpbm. */
function readNetpbm(
  bytes: Uint8Array,
  name: string,
): { width: number; height: number; channels: 1 | 3; samples: Uint8Array } | undefined {
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (!['P2', 'P3', 'P5', 'P6'].includes(magic)) return undefined;
  const fail = (reason: string): never => {
    throw new ImageFileError(`${name}: ${reason}`);
  };
  const ascii = magic === 'P2' || magic === 'P3';
  const channels = magic === 'P3' || magic === 'P6' ? 3 : 1;
  let offset = 2;
  const isSpace = (byte: number | undefined): boolean =>
    byte === 0x20 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
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
    if (offset + needed > bytes.length)
      fail(`truncated: ${needed} bytes of pixels expected, ${bytes.length - offset} found`);
    for (let i = 0; i < count; i += 1) {
      const value = wide
        ? ((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0)
        : (bytes[offset + i] ?? 0);
      samples[i] = scale(value);
    }
  }
  return { width, height, channels, samples };
}

/**
 * Decodes image bytes (any format sharp reads, or Netpbm), optionally resized and converted;
 * `name` (the file's path) is named in errors.
 */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  let pipeline: Sharp;
  let ownChannels: 1 | 3;
  try {
    const netpbm = readNetpbm(bytes, name);
    if (netpbm !== undefined) {
      ownChannels = netpbm.channels;
      pipeline = sharp(netpbm.samples, {
        raw: { width: netpbm.width, height: netpbm.height, channels: netpbm.channels },
      });
    } else {
      pipeline = sharp(bytes, { failOn: 'error' });
      const metadata = await pipeline.metadata();
      const colour = (metadata.channels ?? 3) - (metadata.hasAlpha ? 1 : 0);
      ownChannels = colour >= 3 ? 3 : 1;
    }
    const channels = options.channels ?? ownChannels;
    if (options.size !== undefined)
      pipeline = pipeline.resize(options.size.width, options.size.height, { fit: 'fill' });
    pipeline = pipeline.removeAlpha().toColourspace(channels === 1 ? 'b-w' : 'srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels)
      throw new Error(`decoded ${info.channels} channels where ${channels} were asked for`);
    return {
      width: info.width,
      height: info.height,
      channels,
      pixels: toChannelMajor(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        info.width,
        info.height,
        channels,
      ),
    };
  } catch (error) {
    if (error instanceof ImageFileError) throw error;
    const reason = (error as Error).message;
    throw new ImageFileError(
      /unsupported image format/.test(reason)
        ? `${name}: not an image Nascent can read (PNG, JPEG, WebP, GIF, TIFF, AVIF, PGM or PPM)`
        : `${name}: corrupt or unreadable image (${reason})`,
    );
  }
}

/** The size and colour an image's first bytes state, or the reason they cannot be read. */
export type ImageHeader =
  | { readonly ok: true; readonly width: number; readonly height: number; readonly channels: 1 | 3 }
  | { readonly ok: false; readonly reason: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Size and colour from a PNG, JPEG or Netpbm file's first bytes (undefined: another format). */
export function parseImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
    if (bytes.length < 26 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR')
      return { ok: false, reason: 'truncated PNG header' };
    const colour = bytes[25] ?? 0;
    if (![0, 2, 3, 4, 6].includes(colour))
      return { ok: false, reason: `PNG colour type ${colour} is not valid` };
    const width = view.getUint32(16);
    const height = view.getUint32(20);
    if (width === 0 || height === 0) return { ok: false, reason: 'PNG of size 0' };
    return { ok: true, width, height, channels: colour === 0 || colour === 4 ? 1 : 3 };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let offset = 2;
    while (offset + 4 <= bytes.length) {
      if (bytes[offset] !== 0xff) return { ok: false, reason: 'corrupt JPEG marker' };
      const marker = bytes[offset + 1] ?? 0;
      if (marker === 0xff) {
        offset += 1;
        continue;
      }
      const length = view.getUint16(offset + 2);
      const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
      if (isFrame) {
        if (offset + 10 > bytes.length) break;
        const height = view.getUint16(offset + 5);
        const width = view.getUint16(offset + 7);
        const components = bytes[offset + 9] ?? 0;
        if (width === 0 || height === 0) return { ok: false, reason: 'JPEG of size 0' };
        return { ok: true, width, height, channels: components >= 3 ? 3 : 1 };
      }
      offset += 2 + length;
    }
    return { ok: false, reason: 'JPEG without a frame header (truncated?)' };
  }
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (['P2', 'P3', 'P5', 'P6'].includes(magic)) {
    const fields = Buffer.from(bytes.subarray(0, 200))
      .toString('latin1')
      .replace(/#[^\n]*/g, ' ')
      .split(/\s+/)
      .slice(1, 3)
      .map(Number);
    const [width, height] = fields;
    if (width === undefined || height === undefined || !(width > 0) || !(height > 0))
      return { ok: false, reason: 'bad Netpbm header' };
    return { ok: true, width, height, channels: magic === 'P3' || magic === 'P6' ? 3 : 1 };
  }
  return undefined;
}

const headerBuffer = new Uint8Array(65536);

/**
 * {@link parseImageHeader} on a file's first 4 KiB (64 KiB for a JPEG whose frame header lies
 * after large metadata), read synchronously.
 */
export function readImageHeader(path: string): ImageHeader | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    let read = readSync(fd, headerBuffer, 0, 4096, 0);
    if (read === 0) return { ok: false, reason: 'empty file' };
    let header = parseImageHeader(headerBuffer.subarray(0, read));
    if (header?.ok === false && read === 4096 && headerBuffer[0] === 0xff) {
      read = readSync(fd, headerBuffer, 0, headerBuffer.length, 0);
      header = parseImageHeader(headerBuffer.subarray(0, read));
    }
    return header;
  } catch (error) {
    return { ok: false, reason: `cannot read (${(error as Error).message})` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
