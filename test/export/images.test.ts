import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/export/images.js';

/** Pseudo-random bytes. */
function noise(count: number, seed: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state >> 16;
  });
}

function encode(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4) {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } }).toColourspace(
    channels === 1 ? 'b-w' : 'srgb',
  );
}

describe('image files', () => {
  it('decodes grayscale PNG exactly', async () => {
    const pixels = noise(7 * 6, 1);
    const png = await encode(pixels, 7, 6, 1).png().toBuffer();
    const image = await decodeImage(png, 'g.png');
    expect(image).toMatchObject({ width: 7, height: 6, channels: 1 });
    expect(Array.from(image.pixels)).toEqual(Array.from(pixels));
  });

  it('decodes RGBA PNG to channel-major RGB, dropping alpha', async () => {
    const rgba = noise(5 * 5 * 4, 2);
    const image = await decodeImage(await encode(rgba, 5, 5, 4).png().toBuffer(), 'c.png');
    expect(image.channels).toBe(3);
    for (let i = 0; i < 25; i += 1) {
      for (let c = 0; c < 3; c += 1) expect(image.pixels[c * 25 + i]).toBe(rgba[4 * i + c]);
    }
  });

  it('decodes JPEG, resizes and converts channels', async () => {
    const flat = new Uint8Array(16 * 16 * 3).fill(128);
    const jpeg = await encode(flat, 16, 16, 3).jpeg({ quality: 100 }).toBuffer();
    const image = await decodeImage(jpeg, 'f.jpg');
    expect(image).toMatchObject({ width: 16, height: 16, channels: 3 });
    expect(Math.abs((image.pixels[0] ?? 0) - 128)).toBeLessThanOrEqual(2);
    const small = await decodeImage(jpeg, 'f.jpg', { size: { width: 8, height: 4 }, channels: 1 });
    expect(small).toMatchObject({ width: 8, height: 4, channels: 1 });
    expect(small.pixels.length).toBe(32);
    const gray = await encode(noise(9, 5), 3, 3, 1).png().toBuffer();
    const rgb = await decodeImage(gray, 'g.png', { channels: 3 });
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.pixels.subarray(0, 9))).toEqual(Array.from(rgb.pixels.subarray(9, 18)));
  });

  it('decodes PGM and PPM, binary and plain, with comments and other maxvals', async () => {
    const binary = Buffer.concat([
      Buffer.from('P5\n# a comment\n3 2\n255\n'),
      Buffer.from([0, 1, 2, 253, 254, 255]),
    ]);
    expect(Array.from((await decodeImage(binary, 'b.pgm')).pixels)).toEqual([
      0, 1, 2, 253, 254, 255,
    ]);
    const plain = Buffer.from('P2 2 1 15\n0 15\n');
    expect(Array.from((await decodeImage(plain, 'p.pgm')).pixels)).toEqual([0, 255]);
    const ppm = Buffer.from('P3\n2 1\n255\n1 2 3  4 5 6\n');
    const colour = await decodeImage(ppm, 'c.ppm');
    expect(colour.channels).toBe(3);
    expect(Array.from(colour.pixels)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('names the file and the problem for what it cannot read', async () => {
    await expect(decodeImage(Buffer.from('hello, world'), 'x.txt')).rejects.toThrow(
      /x\.txt: not an image Nascent can read/,
    );
    await expect(decodeImage(Buffer.from('P5 4 4 255\n\x01\x02'), 's.pgm')).rejects.toThrow(
      /s\.pgm: truncated: 16 bytes of pixels expected, 2 found/,
    );
    const png = await encode(noise(64, 4), 8, 8, 1).png().toBuffer();
    await expect(decodeImage(png.subarray(0, png.length - 30), 'cut.png')).rejects.toThrow(
      /cut\.png: corrupt or unreadable image/,
    );
  });
});
