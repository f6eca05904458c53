/**
 * Image files for prediction, decoded by the same code as image-folder datasets
 * (src/data/image-decode.ts: sharp for PNG, JPEG, WebP, GIF, TIFF and AVIF; Netpbm PGM/PPM read
 * here). Alpha is dropped; an image can be resized to a model's input and converted to its
 * channels.
 */
import { readFileSync } from 'node:fs';
import {
  type DecodeOptions,
  type DecodedImage,
  IMAGE_EXTENSIONS,
  ImageFileError,
  decodeImage,
} from '../data/image-decode.js';

export { IMAGE_EXTENSIONS, ImageFileError, decodeImage };
export type { DecodeOptions, DecodedImage };

/** Reads and decodes an image file (resized and converted as `options` say). */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ImageFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return decodeImage(bytes, path, options);
}
