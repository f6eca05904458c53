import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/export/images.js';

function chunk(type: string, body: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  // the decoder does not check CRCs; zeros keep this encoder short
  return Buffer.concat([length, Buffer.from(type, 'latin1'), body, Buffer.alloc(4)]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * A PNG encoder (the forward direction of the decoder's filters): row y uses filter y % 5, so a
 * few rows exercise None, Sub, Up, Average and Paeth.
 */
function encodePng(
  width: number,
  height: number,
  colour: number,
  depth: number,
  samples: Uint8Array,
  extra: Buffer[] = [],
): Uint8Array {
  const perPixel = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colour] ?? 1) * (depth / 8);
  const stride = width * perPixel;
  const filtered: number[] = [];
  for (let y = 0; y < height; y += 1) {
    const filter = y % 5;
    filtered.push(filter);
    for (let x = 0; x < stride; x += 1) {
      const value = samples[y * stride + x] ?? 0;
      const left = x >= perPixel ? (samples[y * stride + x - perPixel] ?? 0) : 0;
      const up = y > 0 ? (samples[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = y > 0 && x >= perPixel ? (samples[(y - 1) * stride + x - perPixel] ?? 0) : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter] ?? 0;
      filtered.push((value - predictor) & 0xff);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  header[9] = colour;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    ...extra,
    chunk('IDAT', deflateSync(Uint8Array.from(filtered))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Pseudo-random bytes, so that every filter sees varied neighbours. */
function noise(count: number, seed: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state >> 16;
  });
}

describe('image files', () => {
  it('decodes 8-bit grayscale PNG with every row filter', () => {
    const pixels = noise(7 * 6, 1);
    const image = decodeImage(encodePng(7, 6, 0, 8, pixels), 'g.png');
    expect(image).toMatchObject({ width: 7, height: 6, channels: 1 });
    expect(image.pixels).toEqual(pixels);
  });

  it('decodes RGBA PNG to channel-major RGB, dropping alpha', () => {
    const rgba = noise(5 * 5 * 4, 2);
    const image = decodeImage(encodePng(5, 5, 6, 8, rgba), 'c.png');
    expect(image.channels).toBe(3);
    for (let i = 0; i < 25; i += 1) {
      for (let c = 0; c < 3; c += 1) expect(image.pixels[c * 25 + i]).toBe(rgba[4 * i + c]);
    }
  });

  it('decodes 16-bit grayscale (high byte) and palette PNG', () => {
    const wide = noise(4 * 3 * 2, 3);
    const gray16 = decodeImage(encodePng(4, 3, 0, 16, wide), 'w.png');
    expect(Array.from(gray16.pixels)).toEqual(Array.from({ length: 12 }, (_, i) => wide[2 * i]));
    const palette = Buffer.from([10, 20, 30, 200, 100, 0]);
    const indices = Uint8Array.from([0, 1, 1, 0]);
    const paletted = decodeImage(encodePng(2, 2, 3, 8, indices, [chunk('PLTE', palette)]), 'p.png');
    expect(Array.from(paletted.pixels)).toEqual([10, 200, 200, 10, 20, 100, 100, 20, 30, 0, 0, 30]);
  });

  it('decodes PGM and PPM, binary and plain, with comments and other maxvals', () => {
    const binary = Buffer.concat([
      Buffer.from('P5\n# a comment\n3 2\n255\n'),
      Buffer.from([0, 1, 2, 253, 254, 255]),
    ]);
    expect(Array.from(decodeImage(binary, 'b.pgm').pixels)).toEqual([0, 1, 2, 253, 254, 255]);
    const plain = Buffer.from('P2 2 1 15\n0 15\n');
    expect(Array.from(decodeImage(plain, 'p.pgm').pixels)).toEqual([0, 255]);
    const ppm = Buffer.from('P3\n2 1\n255\n1 2 3  4 5 6\n');
    const colour = decodeImage(ppm, 'c.ppm');
    expect(colour.channels).toBe(3);
    expect(Array.from(colour.pixels)).toEqual([1, 4, 2, 5, 3, 6]);
    const deep = Buffer.concat([
      Buffer.from('P6 1 1 65535\n'),
      Buffer.from([0xff, 0xff, 0x80, 0x00, 0, 0]),
    ]);
    expect(Array.from(decodeImage(deep, 'd.ppm').pixels)).toEqual([255, 128, 0]);
  });

  it('names the file and the problem for what it cannot read', () => {
    expect(() => decodeImage(Buffer.from('GIF89a....'), 'x.gif')).toThrow(
      /x\.gif: not a PNG, PGM or PPM image/,
    );
    expect(() => decodeImage(Buffer.from('P5 4 4 255\n\x01\x02'), 's.pgm')).toThrow(
      /s\.pgm: truncated: 16 bytes of pixels expected, 2 found/,
    );
    const interlaced = Buffer.from(encodePng(2, 2, 0, 8, new Uint8Array(4)));
    interlaced[8 + 8 + 12] = 1; // the interlace byte of IHDR
    expect(() => decodeImage(interlaced, 'i.png')).toThrow(
      /i\.png: interlaced PNG is not supported/,
    );
    const png = encodePng(4, 4, 0, 8, noise(16, 4));
    expect(() => decodeImage(png.subarray(0, png.length - 20), 'cut.png')).toThrow(
      /cut\.png: truncated PNG/,
    );
  });
});
