import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SYSTEM_DIR,
  FASHION_MNIST_URL,
  loadFashionMnist,
} from '../../src/data/fashion-mnist.js';
import { encodeIdx, writeIdx } from '../../src/data/idx.js';
import { MNIST_URL, loadMnist } from '../../src/data/mnist.js';
import { DatasetError } from '../../src/data/types.js';
import { scratchDirectories } from '../helpers.js';

const freshDir = scratchDirectories('nascent-mnist-');
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

interface FakeSplit {
  images: Uint8Array;
  labels: Uint8Array;
}

function fakeSplit(count: number, salt: number): FakeSplit {
  const images = Uint8Array.from({ length: count * 28 * 28 }, (_, i) => (i * 7 + salt) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + salt) % 10);
  return { images, labels };
}

/** Writes the four files; `gzip` picks .gz names and compression. */
function writeFakeMnist(dir: string, train: FakeSplit, test: FakeSplit, gzip: boolean): void {
  const ext = gzip ? '.gz' : '';
  writeIdx(
    join(dir, `train-images-idx3-ubyte${ext}`),
    train.images,
    [train.labels.length, 28, 28],
    { gzip },
  );
  writeIdx(join(dir, `train-labels-idx1-ubyte${ext}`), train.labels, [train.labels.length], {
    gzip,
  });
  writeIdx(join(dir, `t10k-images-idx3-ubyte${ext}`), test.images, [test.labels.length, 28, 28], {
    gzip,
  });
  writeIdx(join(dir, `t10k-labels-idx1-ubyte${ext}`), test.labels, [test.labels.length], { gzip });
}

describe('Fashion-MNIST / MNIST loaders', () => {
  it('loads a tiny gzip Fashion-MNIST directory', async () => {
    const dir = freshDir();
    const train = fakeSplit(20, 1);
    const test = fakeSplit(10, 2);
    writeFakeMnist(dir, train, test, true);
    const { train: tr, test: te } = await loadFashionMnist({ dataDir: dir });
    expect(tr).toMatchObject({
      name: 'fashion-mnist/train',
      count: 20,
      channels: 1,
      height: 28,
      width: 28,
    });
    expect(te).toMatchObject({ name: 'fashion-mnist/test', count: 10 });
    expect(tr.images).toEqual(train.images);
    expect(tr.labels).toEqual(train.labels);
    expect(te.images).toEqual(test.images);
    expect(te.labels).toEqual(test.labels);
    expect(tr.classes).toEqual([
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ]);
  });

  it('accepts uncompressed files and a dataDir/fashion-mnist sub-directory', async () => {
    const dir = freshDir();
    writeFakeMnist(join(dir, 'fashion-mnist'), fakeSplit(5, 3), fakeSplit(4, 4), false);
    const splits = await loadFashionMnist({ dataDir: dir });
    expect(splits.train.count).toBe(5);
    expect(splits.test.count).toBe(4);
  });

  it('loads MNIST with digit class names', async () => {
    const dir = freshDir();
    writeFakeMnist(dir, fakeSplit(6, 5), fakeSplit(3, 6), true);
    const splits = await loadMnist({ dataDir: dir });
    expect(splits.train.name).toBe('mnist/train');
    expect(splits.train.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('rejects mismatched image and label counts', async () => {
    const dir = freshDir();
    const train = fakeSplit(20, 1);
    writeFakeMnist(dir, train, fakeSplit(10, 2), true);
    writeIdx(join(dir, 'train-labels-idx1-ubyte.gz'), train.labels.subarray(0, 19), [19], {
      gzip: true,
    });
    await expect(loadFashionMnist({ dataDir: dir })).rejects.toThrow(
      /train split is inconsistent: .*train-images-idx3-ubyte\.gz holds 20 images but .*train-labels-idx1-ubyte\.gz holds 19 labels/,
    );
  });

  it('rejects labels out of range and images of the wrong size', async () => {
    const dir = freshDir();
    const test = fakeSplit(10, 2);
    test.labels[7] = 10;
    writeFakeMnist(dir, fakeSplit(20, 1), test, true);
    await expect(loadFashionMnist({ dataDir: dir })).rejects.toThrow(
      /t10k-labels-idx1-ubyte\.gz has label 10 at index 7; Fashion-MNIST labels must be 0\.\.9/,
    );
    writeIdx(join(dir, 't10k-images-idx3-ubyte.gz'), new Uint8Array(10 * 32 * 32), [10, 32, 32], {
      gzip: true,
    });
    await expect(loadFashionMnist({ dataDir: dir })).rejects.toThrow(
      /holds 32x32 images; Fashion-MNIST images are 28x28/,
    );
  });

  it('explains where it looked and how to get the files', async () => {
    const dir = freshDir();
    writeIdx(join(dir, 'train-images-idx3-ubyte.gz'), new Uint8Array(28 * 28), [1, 28, 28], {
      gzip: true,
    });
    const err = await loadFashionMnist({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const message = (err as Error).message;
    expect(message).toContain('Fashion-MNIST dataset files not found');
    expect(message).toContain(
      `${dir} (missing train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])`,
    );
    expect(message).toContain(`${join(dir, 'fashion-mnist')} (does not exist)`);
    expect(message).toContain('apt-get install dataset-fashion-mnist');
    expect(message).toContain('--download');
  });

  it('searches $NASCENT_DATA_DIR and ~/.cache/nascent/datasets by default', async () => {
    const home = freshDir();
    const env = freshDir();
    vi.stubEnv('HOME', home);
    vi.stubEnv('NASCENT_DATA_DIR', env);
    const err = await loadMnist().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const message = (err as Error).message;
    const envPos = message.indexOf(join(env, 'mnist'));
    const homePos = message.indexOf(join(home, '.cache', 'nascent', 'datasets', 'mnist'));
    expect(envPos).toBeGreaterThan(0);
    expect(homePos).toBeGreaterThan(envPos);

    writeFakeMnist(
      join(home, '.cache', 'nascent', 'datasets', 'mnist'),
      fakeSplit(3, 0),
      fakeSplit(2, 0),
      true,
    );
    expect((await loadMnist()).train.count).toBe(3);
    writeFakeMnist(join(env, 'mnist'), fakeSplit(4, 0), fakeSplit(2, 0), false);
    expect((await loadMnist()).train.count).toBe(4);
  });

  it('downloads missing files with fetch when asked to', async () => {
    const dir = freshDir();
    const train = fakeSplit(8, 1);
    const test = fakeSplit(4, 2);
    const served: Record<string, Uint8Array> = {
      'train-images-idx3-ubyte.gz': encodeIdx(train.images, [8, 28, 28], { gzip: true }),
      'train-labels-idx1-ubyte.gz': encodeIdx(train.labels, [8], { gzip: true }),
      't10k-images-idx3-ubyte.gz': encodeIdx(test.images, [4, 28, 28], { gzip: true }),
      't10k-labels-idx1-ubyte.gz': encodeIdx(test.labels, [4], { gzip: true }),
    };
    const requested: string[] = [];
    vi.stubGlobal('fetch', (url: string) => {
      requested.push(url);
      const body = served[url.slice(MNIST_URL.length)];
      return Promise.resolve(
        body === undefined
          ? new Response('not found', { status: 404, statusText: 'Not Found' })
          : new Response(body, { headers: { 'content-length': String(body.length) } }),
      );
    });
    const messages: string[] = [];
    const splits = await loadMnist({ dataDir: dir, download: true, log: (m) => messages.push(m) });
    expect(requested.sort()).toEqual(
      Object.keys(served)
        .map((f) => MNIST_URL + f)
        .sort(),
    );
    expect(splits.train.images).toEqual(train.images);
    expect(splits.test.labels).toEqual(test.labels);
    expect(readFileSync(join(dir, 'train-labels-idx1-ubyte.gz'))).toEqual(
      Buffer.from(served['train-labels-idx1-ubyte.gz'] ?? []),
    );
    expect(messages.some((m) => m.includes('downloading'))).toBe(true);

    // A failing server gives a clear error and leaves no partial file.
    const other = freshDir();
    vi.stubGlobal('fetch', () =>
      Promise.resolve(new Response('gone', { status: 404, statusText: 'Not Found' })),
    );
    await expect(loadFashionMnist({ dataDir: other, download: true })).rejects.toThrow(
      `downloading ${FASHION_MNIST_URL}train-images-idx3-ubyte.gz failed: HTTP 404 Not Found`,
    );
    expect(existsSync(join(other, 'train-images-idx3-ubyte.gz'))).toBe(false);
  });

  // The CI installs Debian's dataset-fashion-mnist, so the real files are expected here.
  it('reads the real Debian Fashion-MNIST files', async () => {
    const { train, test } = await loadFashionMnist({ dataDir: FASHION_MNIST_SYSTEM_DIR });
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    for (const split of [train, test]) {
      expect([split.channels, split.height, split.width]).toEqual([1, 28, 28]);
      expect(split.images.length).toBe(split.count * 28 * 28);
      expect(split.labels.length).toBe(split.count);
    }
    // Fashion-MNIST is balanced: 6000 train and 1000 test images per class.
    const perClass = new Array<number>(10).fill(0);
    for (const label of train.labels) perClass[label] = (perClass[label] ?? 0) + 1;
    expect(perClass).toEqual(new Array<number>(10).fill(6000));
    expect(train.classes).toEqual(FASHION_MNIST_CLASSES);
    // Mean pixel of the training set matches the published normalisation constant.
    let sum = 0;
    for (const v of train.images) sum += v;
    expect(sum / train.images.length / 255).toBeCloseTo(0.286, 3);
  });
});
