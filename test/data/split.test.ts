import { describe, expect, it } from 'vitest';
import { sliceDataset, splitTrainValidation, takeSubset } from '../../src/data/split.js';
import { DatasetError } from '../../src/data/types.js';
import type { ImageDataset } from '../../src/data/types.js';

/** A dataset of `count` 2x3x3 images; image i is filled with the byte i % 256, label i % 10. */
function fake(count: number): ImageDataset {
  const size = 2 * 3 * 3;
  const images = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) images.fill(i % 256, i * size, (i + 1) * size);
  return {
    name: 'fake/train',
    images,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    channels: 2,
    height: 3,
    width: 3,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}

/** Recovers the original index of each image (valid while count <= 256). */
function ids(ds: ImageDataset): number[] {
  const size = ds.channels * ds.height * ds.width;
  return Array.from({ length: ds.count }, (_, i) => ds.images[i * size] ?? -1);
}

describe('splitTrainValidation', () => {
  const ds = fake(200);

  it('is deterministic by seed, disjoint and complete', () => {
    const a = splitTrainValidation(ds, { validationFraction: 0.25, seed: 1 });
    const b = splitTrainValidation(ds, { validationFraction: 0.25, seed: 1 });
    const c = splitTrainValidation(ds, { validationFraction: 0.25, seed: 2 });
    expect(ids(a.validation)).toEqual(ids(b.validation));
    expect(ids(a.train)).toEqual(ids(b.train));
    expect(ids(c.validation)).not.toEqual(ids(a.validation));

    expect(a.validation.count).toBe(50);
    expect(a.train.count).toBe(150);
    const trainIds = new Set(ids(a.train));
    expect(ids(a.validation).filter((i) => trainIds.has(i))).toEqual([]);
    expect([...ids(a.train), ...ids(a.validation)].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Labels travel with their images, metadata is kept.
    for (const part of [a.train, a.validation]) {
      expect([...part.labels]).toEqual(ids(part).map((i) => i % 10));
      expect(part).toMatchObject({ channels: 2, height: 3, width: 3, classes: ds.classes });
    }
    expect(a.train.name).toBe('fake/train[train 150]');
    expect(a.validation.name).toBe('fake/train[validation 50]');
  });

  it('accepts an exact count and defaults to a tenth', () => {
    expect(splitTrainValidation(ds, { validationCount: 7, seed: 3 }).validation.count).toBe(7);
    expect(splitTrainValidation(ds, { seed: 3 }).validation.count).toBe(20);
    expect(
      splitTrainValidation(fake(3), { validationFraction: 0.01, seed: 3 }).validation.count,
    ).toBe(1);
  });

  it('rejects bad fractions and counts with clear errors', () => {
    expect(() => splitTrainValidation(ds, { validationFraction: 0, seed: 1 })).toThrow(
      /fake\/train: validationFraction must be strictly between 0 and 1, got 0/,
    );
    expect(() => splitTrainValidation(ds, { validationFraction: 1, seed: 1 })).toThrow(
      DatasetError,
    );
    expect(() => splitTrainValidation(ds, { validationFraction: Number.NaN, seed: 1 })).toThrow(
      DatasetError,
    );
    expect(() => splitTrainValidation(ds, { validationCount: 200, seed: 1 })).toThrow(
      /validationCount must be an integer in 1\.\.199, got 200/,
    );
    expect(() => splitTrainValidation(ds, { validationCount: 2.5, seed: 1 })).toThrow(DatasetError);
    expect(() =>
      splitTrainValidation(ds, { validationCount: 5, validationFraction: 0.1, seed: 1 }),
    ).toThrow(/not both/);
    expect(() => splitTrainValidation(fake(1), { seed: 1 })).toThrow(/holds only 1 image/);
    expect(() => splitTrainValidation(ds, { seed: 0.5 })).toThrow(/seed must be a safe integer/);
  });
});

describe('takeSubset / sliceDataset', () => {
  const ds = fake(100);

  it('takes a seeded subset of distinct images', () => {
    const a = takeSubset(ds, 30, 5);
    expect(a.name).toBe('fake/train[subset 30]');
    expect(a.count).toBe(30);
    expect(new Set(ids(a)).size).toBe(30);
    expect(ids(takeSubset(ds, 30, 5))).toEqual(ids(a));
    expect(ids(takeSubset(ds, 30, 6))).not.toEqual(ids(a));
    expect(ids(takeSubset(ds, 100, 6))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => takeSubset(ds, 0, 1)).toThrow(/must be an integer in 1\.\.100/);
    expect(() => takeSubset(ds, 101, 1)).toThrow(DatasetError);
  });

  it('slices in the given order and checks indices', () => {
    const s = sliceDataset(ds, [5, 2, 5]);
    expect(ids(s)).toEqual([5, 2, 5]);
    expect([...s.labels]).toEqual([5, 2, 5]);
    expect(s.name).toBe('fake/train[3 of 100]');
    expect(sliceDataset(ds, Uint32Array.of(1), 'one').name).toBe('one');
    expect(() => sliceDataset(ds, [0, 100])).toThrow(/index 100 at position 1 is outside 0\.\.99/);
  });
});
