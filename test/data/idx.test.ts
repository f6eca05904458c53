import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeIdx,
  parseIdx,
  readIdx,
  readIdxImages,
  readIdxLabels,
  writeIdx,
} from '../../src/data/idx.js';
import { DatasetError } from '../../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) % 256);
}

describe('IDX', () => {
  it('round-trips raw uint8 images with the real header layout', () => {
    const data = pattern(3 * 4 * 5);
    const path = join(dir, 'raw-images-idx3-ubyte');
    writeIdx(path, data, [3, 4, 5]);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 16)]).toEqual([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]);
    expect(bytes.length).toBe(16 + 60);
    const images = readIdxImages(path);
    expect(images).toMatchObject({ count: 3, height: 4, width: 5 });
    expect(images.data).toEqual(data);
    expect(images.data.byteOffset).toBe(0);
    expect(images.data.buffer.byteLength).toBe(60);
  });

  it('round-trips gzip labels, detecting gzip by content rather than name', () => {
    const data = Uint8Array.from([0, 1, 2, 9, 5]);
    const path = join(dir, 'labels-without-gz-suffix');
    writeIdx(path, data, [5], { gzip: true });
    const bytes = readFileSync(path);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const labels = readIdxLabels(path);
    expect(labels.count).toBe(5);
    expect(labels.data).toEqual(data);
    // And a raw file named .gz still reads.
    const raw = join(dir, 'raw-named.gz');
    writeIdx(raw, data, [5]);
    expect(readIdx(raw, 'labels').data).toEqual(data);
  });

  it('reads arrays of any rank when no kind is expected', () => {
    const data = pattern(24);
    expect(parseIdx(encodeIdx(data, [2, 3, 2, 2]), 'mem').dims).toEqual([2, 3, 2, 2]);
  });

  it('reports a truncated file with its name and both sizes', () => {
    const full = encodeIdx(pattern(10 * 28 * 28), [10, 28, 28]);
    const path = join(dir, 'train-images-idx3-ubyte.gz');
    writeFileSync(path, gzipSync(full.subarray(0, 16 + 1234)));
    expect(() => readIdxImages(path)).toThrow(DatasetError);
    expect(() => readIdxImages(path)).toThrow(
      `${path} is truncated: header declares 10 images of 28x28 (7840 bytes) but the file holds 1234 bytes`,
    );
  });

  it('reports trailing data', () => {
    const bytes = new Uint8Array([...encodeIdx(pattern(4), [4]), 1, 2]);
    expect(() => parseIdx(bytes, 'x-labels', 'labels')).toThrow(
      /x-labels has 2 bytes of trailing data: header declares 4 labels \(4 bytes\) but the file holds 6 bytes/,
    );
  });

  it('reports a corrupt gzip stream', () => {
    const gz = gzipSync(encodeIdx(pattern(1000), [1000]));
    const path = join(dir, 'cut.gz');
    writeFileSync(path, gz.subarray(0, gz.length - 20));
    expect(() => readIdxLabels(path)).toThrow(/cut\.gz is a corrupt or truncated gzip file/);
  });

  it('reports a wrong magic number', () => {
    const path = join(dir, 'not-idx');
    writeFileSync(path, Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0]));
    expect(() => readIdxImages(path)).toThrow(
      `${path} is not an IDX file (magic 0x12345678, expected 0x00000803 for images)`,
    );
  });

  it('reports an unsupported data type and a wrong number of dimensions', () => {
    const floats = Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => parseIdx(floats, 'f.idx', 'labels')).toThrow(
      /f\.idx holds IDX data of type 0x0d \(float32\); only type 0x08 \(unsigned byte\) is supported/,
    );
    const labels = encodeIdx(pattern(3), [3]);
    expect(() => parseIdx(labels, 'l.idx', 'images')).toThrow(
      /l\.idx has 1 dimension \(magic 0x00000801, expected 0x00000803 for images/,
    );
  });

  it('reports a missing file by name', () => {
    const path = join(dir, 'nope-idx1-ubyte');
    expect(() => readIdxLabels(path)).toThrow(new RegExp(`cannot read ${path}`));
  });

  it('writeIdx refuses dims that do not match the data', () => {
    expect(() => writeIdx(join(dir, 'bad'), pattern(5), [2, 3])).toThrow(
      /hold 6 bytes but the data has 5/,
    );
  });
});
