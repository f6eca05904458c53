import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { folderDecodeStats, loadFolder } from '../../src/data/folder.js';
import {
  datasetNameFromFlags,
  datasetNormalisation,
  datasetShape,
  loadDataset,
} from '../../src/data/registry.js';
import { FOLDER_CLASSES, writeImageFolder } from './own-data-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'nascent-folder-'));
const images = join(root, 'images');
let broken = '';

beforeAll(async () => {
  process.env['NASCENT_CACHE_DIR'] = join(root, 'cache');
  broken = await writeImageFolder(images);
});

describe('image folder datasets', () => {
  it('refuses mixed image sizes without --image-size, naming the sizes', () => {
    expect(() => datasetShape(`folder:${images}`)).toThrow(
      /mixed sizes: .*12x12 .*16x16 .*give --image-size/,
    );
  });

  it('knows the shape before decoding: size from the name, colour detected', () => {
    const before = folderDecodeStats.decoded;
    expect(datasetShape(`folder:${images}?size=12`)).toEqual({
      channels: 3,
      height: 12,
      width: 12,
      classes: 4,
    });
    expect(datasetShape(`folder:${images}?size=14x12&channels=1`)).toMatchObject({
      channels: 1,
      height: 12,
      width: 14,
    });
    expect(folderDecodeStats.decoded).toBe(before);
  });

  it('decodes PNG and JPEG, skips and names the corrupt file, then reads the cache', async () => {
    const messages: string[] = [];
    const name = `folder:${images}?size=12`;
    const first = await loadDataset(name, { log: (m) => messages.push(m) });
    expect(first.skipped?.map((s) => s.path)).toEqual([broken]);
    expect(messages.join('\n')).toContain(`skipped 1 of 33 images`);
    expect(messages.join('\n')).toContain(broken);
    expect(first.train.classes).toEqual(FOLDER_CLASSES);
    expect(first.train.count + first.test.count).toBe(32);
    // 20 % of each class of 8 is held out for testing
    expect(first.test.count).toBe(8);
    expect(first.train.channels).toBe(3);
    expect(first.train.images.length).toBe(first.train.count * 3 * 12 * 12);
    // a gray PNG's pixels are the same in all three channels
    const normalisation = datasetNormalisation(name);
    expect(normalisation.mean).toHaveLength(3);
    expect(normalisation.mean[0]).toBeGreaterThan(0.1);

    const decodedBefore = folderDecodeStats.decoded;
    const again: string[] = [];
    const second = await loadDataset(name, { log: (m) => again.push(m) });
    expect(folderDecodeStats.decoded).toBe(decodedBefore);
    expect(again.join('\n')).toMatch(/read 32 images from the cache .*decoded 0/);
    expect(Buffer.from(second.train.images).equals(Buffer.from(first.train.images))).toBe(true);
    expect(Array.from(second.test.labels)).toEqual(Array.from(first.test.labels));
  });

  it('--strict refuses a folder with a corrupt image, naming it', async () => {
    const strict = datasetNameFromFlags(`folder:${images}`, { imageSize: '12', strict: true });
    expect(strict).toBe(`folder:${images}?size=12&strict`);
    await expect(loadDataset(strict)).rejects.toThrow(
      new RegExp(`1 image cannot be read \\(--strict refuses the dataset\\): ${broken}`),
    );
  });

  it('uses train/ and test/ folders, keeps the files’ numbered order across classes', async () => {
    const split = join(root, 'split');
    let index = 0;
    for (const part of ['train', 'test'])
      for (let i = 0; i < 3; i += 1)
        for (const name of ['b', 'a']) {
          mkdirSync(join(split, part, name), { recursive: true });
          const value = part === 'train' ? index : 200 + index;
          const png = await sharp(Buffer.alloc(16, value), {
            raw: { width: 4, height: 4, channels: 1 },
          })
            .toColourspace('b-w')
            .png()
            .toBuffer();
          writeFileSync(join(split, part, name, `${index}.png`), png);
          index += 1;
        }
    const splits = await loadFolder({ path: split });
    // classes in natural order: a, b; images in file-number order, across the class folders
    expect(splits.train.classes).toEqual(['a', 'b']);
    expect(Array.from(splits.train.labels)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(Array.from(splits.train.images.filter((_, i) => i % 16 === 0))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(splits.test.count).toBe(6);
    expect(splits.test.images[0]).toBe(206);
  });

  it('explains an empty class folder, a single class and a missing folder', () => {
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'one'), { recursive: true });
    mkdirSync(join(empty, 'two'), { recursive: true });
    writeFileSync(join(empty, 'one', 'x.png'), Buffer.alloc(10));
    expect(() => datasetShape(`folder:${empty}`)).toThrow(/class folder two holds no images/);
    const single = join(root, 'single');
    mkdirSync(join(single, 'only'), { recursive: true });
    expect(() => datasetShape(`folder:${single}`)).toThrow(/only one class folder \(only\)/);
    expect(() => datasetShape(`folder:${join(root, 'nowhere')}`)).toThrow(/no such folder/);
    expect(() => datasetShape(`folder:${images}?colour=1`)).toThrow(/unknown folder option colour/);
  });
});
