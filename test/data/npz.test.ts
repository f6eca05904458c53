import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, encodeNpz, parseNpy, readNpzDataset } from '../../src/data/npz.js';
import { datasetNormalisation, datasetShape, loadDataset } from '../../src/data/registry.js';
import { FOLDER_CLASSES, writeNpz } from './own-data-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'nascent-npz-'));

describe('npz datasets', () => {
  it('reads NHWC uint8 and NCHW float32 splits, with class names', async () => {
    const file = join(root, 'data.npz');
    writeNpz(file);
    expect(datasetShape(`npz:${file}`)).toEqual({ channels: 3, height: 10, width: 10, classes: 4 });
    const splits = await loadDataset(`npz:${file}`);
    expect(splits.train.count).toBe(40);
    expect(splits.test.count).toBe(16);
    expect(splits.train.classes).toEqual(FOLDER_CLASSES);
    expect(Array.from(splits.test.labels.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    // NHWC uint8 and NCHW float32 (0..1) end up in the same CHW bytes: the lit quadrant of
    // class 0 is the top left in every channel
    for (const data of [splits.train, splits.test]) {
      for (let c = 0; c < 3; c += 1) {
        expect(data.images[c * 100]).toBeGreaterThanOrEqual(190);
        expect(data.images[c * 100 + 99]).toBeLessThan(70);
      }
    }
    expect(datasetNormalisation(`npz:${file}`).mean).toHaveLength(3);
  });

  it('round-trips the .npy header and names what is missing or wrong', () => {
    const npy = parseNpy(encodeNpy('<f4', [2, 3], [1, 2, 3, 4, 5, 6]), 'a.npy');
    expect(npy).toMatchObject({ descr: '<f4', shape: [2, 3] });
    expect(npy.data.length).toBe(24);
    const partial = join(root, 'partial.npz');
    writeFileSync(
      partial,
      encodeNpz({ x_train: encodeNpy('|u1', [2, 2, 2], [0, 0, 0, 0, 0, 0, 0, 0]) }),
    );
    expect(() => readNpzDataset(partial)).toThrow(/no array x_test; .*this one holds x_train\)/);
    const badShape = join(root, 'shape.npz');
    writeFileSync(
      badShape,
      encodeNpz({
        x_train: encodeNpy('|u1', [2, 5], new Uint8Array(10)),
        y_train: encodeNpy('<i8', [2], [0, 1]),
        x_test: encodeNpy('|u1', [2, 5], new Uint8Array(10)),
        y_test: encodeNpy('<i8', [2], [0, 1]),
      }),
    );
    expect(() => readNpzDataset(badShape)).toThrow(/x_train: images must be N x H x W.*\(2, 5\)/);
    const notZip = join(root, 'not.npz');
    writeFileSync(notZip, 'hello');
    expect(() => readNpzDataset(notZip)).toThrow(/not a readable .npz/);
  });
});
