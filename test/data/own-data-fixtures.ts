/**
 * Datasets the own-data tests write themselves: an image folder (PNG and JPEG, two image sizes,
 * grayscale and RGB, one corrupt file) and an .npz archive.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeNpy, encodeNpz } from '../../src/data/npz.js';
import { Random } from '../../src/util/random.js';

/** Interleaved pixels of a learnable pattern: class k lights up quadrant k, plus noise. */
function pattern(label: number, size: number, channels: number, random: Random): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  const half = Math.floor(size / 2);
  const top = label >> 1 ? half : 0;
  const left = label % 2 ? half : 0;
  for (let y = 0; y < size; y += 1)
    for (let x = 0; x < size; x += 1) {
      const inside = y >= top && y < top + half && x >= left && x < left + half;
      for (let c = 0; c < channels; c += 1)
        out[(y * size + x) * channels + c] = (inside ? 190 : 20) + random.int(0, 40);
    }
  return out;
}

export const FOLDER_CLASSES = ['cat', 'dog', 'fox', 'owl'];

/**
 * Writes `root/<class>/NNN.(png|jpg)`: per class `perClass` images alternating grayscale PNG at
 * 12x12, RGB JPEG at 16x16, RGB PNG at 12x12 and grayscale JPEG at 16x16; plus `owl/broken.png`,
 * a PNG cut off in its image data. Returns the path of the corrupt file.
 */
export async function writeImageFolder(root: string, perClass = 8): Promise<string> {
  const random = new Random(7);
  let index = 0;
  for (const [label, name] of FOLDER_CLASSES.entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i += 1) {
      const variant = i % 4;
      const size = variant % 2 === 0 ? 12 : 16;
      const channels = variant === 0 || variant === 3 ? 1 : 3;
      const raw = sharp(Buffer.from(pattern(label, size, channels, random)), {
        raw: { width: size, height: size, channels: channels as 1 | 3 },
      }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
      const jpeg = variant % 2 === 1;
      const bytes = await (jpeg ? raw.jpeg({ quality: 95 }) : raw.png()).toBuffer();
      writeFileSync(
        join(root, name, `${String(index).padStart(3, '0')}.${jpeg ? 'jpg' : 'png'}`),
        bytes,
      );
      index += 1;
    }
  }
  const good = await sharp(Buffer.from(pattern(3, 12, 1, random)), {
    raw: { width: 12, height: 12, channels: 1 },
  })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  const broken = join(root, 'owl', 'broken.png');
  writeFileSync(broken, good.subarray(0, 40));
  return broken;
}

/** Writes an .npz of 4-class pattern images: NHWC uint8 train, NCHW float32 test, class names. */
export function writeNpz(
  file: string,
  options: { train?: number; test?: number; size?: number } = {},
): void {
  const size = options.size ?? 10;
  const random = new Random(11);
  const trainCount = options.train ?? 40;
  const testCount = options.test ?? 16;
  const xTrain = new Uint8Array(trainCount * size * size * 3);
  const yTrain: number[] = [];
  for (let n = 0; n < trainCount; n += 1) {
    xTrain.set(pattern(n % 4, size, 3, random), n * size * size * 3);
    yTrain.push(n % 4);
  }
  const plane = size * size;
  const xTest = new Float32Array(testCount * 3 * plane);
  const yTest: number[] = [];
  for (let n = 0; n < testCount; n += 1) {
    const hwc = pattern(n % 4, size, 3, random);
    for (let c = 0; c < 3; c += 1)
      for (let i = 0; i < plane; i += 1)
        xTest[(n * 3 + c) * plane + i] = (hwc[i * 3 + c] ?? 0) / 255;
    yTest.push(n % 4);
  }
  writeFileSync(
    file,
    encodeNpz(
      {
        x_train: encodeNpy('|u1', [trainCount, size, size, 3], xTrain),
        y_train: encodeNpy('<i8', [trainCount], yTrain),
        x_test: encodeNpy('<f4', [testCount, 3, size, size], xTest),
        y_test: encodeNpy('<i8', [testCount], yTest),
        classes: encodeNpy('<U8', [4], FOLDER_CLASSES),
      },
      true,
    ),
  );
}
