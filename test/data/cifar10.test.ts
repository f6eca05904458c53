import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { describe, expect, it, vi } from 'vitest';
import {
  CIFAR10_CLASSES,
  CIFAR10_URL,
  loadCifar10,
  readCifar10Batches,
} from '../../src/data/cifar10.js';
import { DatasetError } from '../../src/data/types.js';
import { scratchDirectories } from '../helpers.js';

const freshDir = scratchDirectories('nascent-cifar-');

/**
 * A record whose red plane is all `r`, green all `g`, blue all `b`, except that pixel (row 1,
 * column 2) of each plane carries a marker so row-major order can be checked too.
 */
function record(label: number, r: number, g: number, b: number): Uint8Array {
  const out = new Uint8Array(3073);
  out[0] = label;
  out.fill(r, 1, 1025);
  out.fill(g, 1025, 2049);
  out.fill(b, 2049, 3073);
  for (let c = 0; c < 3; c++) out[1 + c * 1024 + 1 * 32 + 2] = 200 + c;
  return out;
}

function batch(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.length * 3073);
  records.forEach((rec, i) => out.set(rec, i * 3073));
  return out;
}

/** Writes cifar-10-batches-bin/ under `dir`: batch k holds k records; test holds 2. */
function writeBatches(dir: string, meta?: string): string {
  const batches = join(dir, 'cifar-10-batches-bin');
  mkdirSync(batches, { recursive: true });
  let n = 0;
  for (let k = 1; k <= 5; k++) {
    const recs = Array.from({ length: k }, () => {
      const i = n++;
      return record(i % 10, 10 + i, 100 + i, 150 + i);
    });
    writeFileSync(join(batches, `data_batch_${k}.bin`), batch(recs));
  }
  writeFileSync(join(batches, 'test_batch.bin'), batch([record(3, 1, 2, 3), record(9, 4, 5, 6)]));
  if (meta !== undefined) writeFileSync(join(batches, 'batches.meta.txt'), meta);
  return batches;
}

function checkTinySet(splits: Awaited<ReturnType<typeof loadCifar10>>): void {
  const { train, test } = splits;
  expect(train).toMatchObject({
    name: 'cifar10/train',
    count: 15,
    channels: 3,
    height: 32,
    width: 32,
  });
  expect(test).toMatchObject({ name: 'cifar10/test', count: 2 });
  expect(train.images.length).toBe(15 * 3072);
  // Batches are concatenated in order 1..5; labels follow.
  expect([...train.labels]).toEqual(Array.from({ length: 15 }, (_, i) => i % 10));
  expect([...test.labels]).toEqual([3, 9]);
  // CHW: first 1024 bytes are red, then green, then blue; within a plane, row-major.
  for (let i = 0; i < 15; i++) {
    const img = train.images.subarray(i * 3072, (i + 1) * 3072);
    expect(img[0]).toBe(10 + i);
    expect(img[1023]).toBe(10 + i);
    expect(img[1024]).toBe(100 + i);
    expect(img[2047]).toBe(100 + i);
    expect(img[2048]).toBe(150 + i);
    expect(img[3071]).toBe(150 + i);
    expect(img[34]).toBe(200);
    expect(img[1024 + 34]).toBe(201);
    expect(img[2048 + 34]).toBe(202);
  }
  expect([...test.images.subarray(3072, 3072 + 3)]).toEqual([4, 4, 4]);
  expect(test.images[3072 + 2048]).toBe(6);
}

describe('CIFAR-10 loader', () => {
  it('loads a directory containing cifar-10-batches-bin/, with class names from batches.meta.txt', async () => {
    const dir = freshDir();
    const names = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9'];
    writeBatches(dir, `${names.join('\n')}\n\n`);
    const splits = await loadCifar10({ dataDir: dir, cacheDir: join(dir, 'cache') });
    checkTinySet(splits);
    expect(splits.train.classes).toEqual(names);
    expect(splits.test.classes).toEqual(names);
  });

  it('accepts the batches directory itself and falls back to the standard class names', async () => {
    const dir = freshDir();
    const batches = writeBatches(dir);
    const splits = await loadCifar10({ dataDir: batches, cacheDir: join(dir, 'cache') });
    checkTinySet(splits);
    expect(splits.train.classes).toEqual(CIFAR10_CLASSES);
    expect(CIFAR10_CLASSES[0]).toBe('airplane');
    expect(CIFAR10_CLASSES[9]).toBe('truck');
  });

  it('extracts cifar-10-binary.tar.gz once, from its directory or its own path', async () => {
    const src = freshDir();
    writeBatches(src, 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
    const archiveDir = freshDir();
    const archive = join(archiveDir, 'cifar-10-binary.tar.gz');
    await createTar({ gzip: true, file: archive, cwd: src }, ['cifar-10-batches-bin']);
    const cache = join(freshDir(), 'cache');

    const messages: string[] = [];
    const log = (m: string): void => void messages.push(m);
    checkTinySet(await loadCifar10({ dataDir: archiveDir, cacheDir: cache, log }));
    expect(existsSync(join(cache, 'cifar-10-batches-bin', 'data_batch_5.bin'))).toBe(true);
    expect(messages.filter((m) => m.startsWith('extracting')).length).toBe(1);

    // Loading again, by the archive's own path this time, reuses the extraction.
    checkTinySet(await loadCifar10({ dataDir: archive, cacheDir: cache, log }));
    expect(messages.filter((m) => m.startsWith('extracting')).length).toBe(1);
    // No temporary extraction directories are left behind.
    expect(readdirSync(cache)).toEqual(['cifar-10-batches-bin']);
  });

  it('downloads the archive with fetch when asked to, then extracts it', async () => {
    const src = freshDir();
    writeBatches(src);
    const built = join(freshDir(), 'built.tar.gz');
    await createTar({ gzip: true, file: built, cwd: src }, ['cifar-10-batches-bin']);
    const body = readFileSync(built);
    const requested: string[] = [];
    vi.stubGlobal('fetch', (url: string) => {
      requested.push(url);
      return Promise.resolve(new Response(body));
    });
    try {
      const dir = join(freshDir(), 'target');
      checkTinySet(await loadCifar10({ dataDir: dir, download: true }));
      expect(requested).toEqual([CIFAR10_URL]);
      expect(existsSync(join(dir, 'cifar-10-binary.tar.gz'))).toBe(true);
      expect(existsSync(join(dir, 'cifar-10-batches-bin', 'test_batch.bin'))).toBe(true);
      // Now present: no second download.
      checkTinySet(await loadCifar10({ dataDir: dir, download: true }));
      expect(requested.length).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('rejects an archive that is not the CIFAR-10 binary archive', async () => {
    const dir = freshDir();
    const bogus = join(dir, 'cifar-10-binary.tar.gz');
    writeFileSync(bogus, 'this is not a tarball');
    await expect(loadCifar10({ dataDir: bogus, cacheDir: join(dir, 'cache') })).rejects.toThrow(
      new RegExp(`${bogus} could not be extracted`),
    );
    const other = freshDir();
    mkdirSync(join(other, 'stuff'));
    writeFileSync(join(other, 'stuff', 'x.txt'), 'x');
    const wrong = join(dir, 'wrong.tar.gz');
    await createTar({ gzip: true, file: wrong, cwd: other }, ['stuff']);
    await expect(loadCifar10({ dataDir: wrong, cacheDir: join(dir, 'cache') })).rejects.toThrow(
      /wrong\.tar\.gz does not contain the CIFAR-10 binary batches: missing cifar-10-batches-bin\/data_batch_1\.bin/,
    );
  });

  it('rejects a batch whose size is not a multiple of 3073 bytes, naming the file', async () => {
    const dir = freshDir();
    const batches = writeBatches(dir);
    const bad = join(batches, 'data_batch_3.bin');
    writeFileSync(bad, new Uint8Array(3073 * 2 + 100));
    await expect(loadCifar10({ dataDir: dir })).rejects.toThrow(DatasetError);
    await expect(loadCifar10({ dataDir: dir })).rejects.toThrow(
      `${bad} holds 6246 bytes, which is not a whole number of 3073-byte CIFAR-10 records`,
    );
  });

  it('rejects out-of-range labels', () => {
    const dir = freshDir();
    const path = join(dir, 'test_batch.bin');
    writeFileSync(path, batch([record(1, 0, 0, 0), record(10, 0, 0, 0)]));
    expect(() => readCifar10Batches([path], 'x')).toThrow(`${path} record 1 has label 10`);
  });

  it('says where it looked and how to download when nothing is found', async () => {
    const dir = freshDir();
    const err = await loadCifar10({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const message = (err as Error).message;
    expect(message).toContain('CIFAR-10 dataset files not found');
    expect(message).toContain(`${dir} (no cifar-10-batches-bin/ or cifar-10-binary.tar.gz)`);
    expect(message).toContain('--download');
    expect(message).toContain('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz');

    mkdirSync(join(dir, 'cifar-10-batches-bin'));
    const partial = await loadCifar10({ dataDir: dir }).catch((e: unknown) => e);
    expect((partial as Error).message).toContain('cifar-10-batches-bin/ lacks data_batch_1.bin');
  });
});
