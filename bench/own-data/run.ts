/**
 * bench/own-data: the time to decode and cache image folders.
 *
 *   node dist/bench/own-data/run.js [--out DIR] [--only fashion-mnist|cifar10]
 *
 * 1. Writes Fashion-MNIST's 70,000 images from its IDX files (Debian's dataset-fashion-mnist) as
 *    grayscale PNGs, `DIR/fashion-mnist/{train,test}/<label>-<class>/<index>.png`, numbered in
 *    the IDX order, and CIFAR-10's 60,000 from ../shared/data/cifar-10 as RGB PNGs the same way.
 * 2. Loads each folder with `folder:` twice, with a fresh cache: the first load decodes every
 *    image and writes the cache, the second reads the cache.
 * 3. Checks that the folder's images, labels and order equal the built-in loader's, and that the
 *    training split's normalisation is the built-in constants' (rounded to 3 decimals).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { folderDecodeStats } from '../../src/data/folder.js';
import { datasetNormalisation, loadDataset } from '../../src/data/registry.js';
import type { DatasetSplits, ImageDataset } from '../../src/data/types.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const out = resolve(argument('--out', 'runs/bench-own-data'));
const only = argument('--only', '');

function folderName(label: number, name: string): string {
  return `${label}-${name.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

async function writePngs(data: ImageDataset, folder: string): Promise<void> {
  const plane = data.height * data.width;
  for (const [label, name] of data.classes.entries())
    mkdirSync(join(folder, folderName(label, name)), { recursive: true });
  const digits = String(data.count).length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < data.count) {
      const n = next;
      next += 1;
      const chw = data.images.subarray(n * data.channels * plane, (n + 1) * data.channels * plane);
      const hwc = new Uint8Array(chw.length);
      for (let c = 0; c < data.channels; c += 1)
        for (let i = 0; i < plane; i += 1) hwc[i * data.channels + c] = chw[c * plane + i] ?? 0;
      const png = await sharp(Buffer.from(hwc), {
        raw: { width: data.width, height: data.height, channels: data.channels as 1 | 3 },
      })
        .toColourspace(data.channels === 1 ? 'b-w' : 'srgb')
        .png()
        .toBuffer();
      const label = data.labels[n] ?? 0;
      writeFileSync(
        join(
          folder,
          folderName(label, data.classes[label] ?? ''),
          `${String(n).padStart(digits, '0')}.png`,
        ),
        png,
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

function same(a: ImageDataset, b: ImageDataset): boolean {
  return (
    a.count === b.count &&
    Buffer.from(a.images).equals(Buffer.from(b.images)) &&
    Buffer.from(a.labels).equals(Buffer.from(b.labels))
  );
}

async function bench(name: 'fashion-mnist' | 'cifar10', dataDir?: string): Promise<string[]> {
  const builtIn: DatasetSplits = await loadDataset(name, dataDir ? { dataDir } : {});
  const folder = join(out, name);
  rmSync(folder, { recursive: true, force: true });
  let started = Date.now();
  await writePngs(builtIn.train, join(folder, 'train'));
  await writePngs(builtIn.test, join(folder, 'test'));
  const writeSeconds = (Date.now() - started) / 1000;
  process.env['NASCENT_CACHE_DIR'] = join(out, `cache-${name}`);
  rmSync(join(out, `cache-${name}`), { recursive: true, force: true });
  const dataset = `folder:${folder}`;
  const decodedBefore = folderDecodeStats.decoded;
  started = Date.now();
  const cold = await loadDataset(dataset);
  const coldSeconds = (Date.now() - started) / 1000;
  const decoded = folderDecodeStats.decoded - decodedBefore;
  started = Date.now();
  const warm = await loadDataset(dataset);
  const warmSeconds = (Date.now() - started) / 1000;
  const decodedWarm = folderDecodeStats.decoded - decodedBefore - decoded;
  const count = builtIn.train.count + builtIn.test.count;
  const lines = [
    `${name}: ${count} PNGs written in ${writeSeconds.toFixed(1)} s`,
    `${name}: first load (decode + cache) ${coldSeconds.toFixed(1)} s, ${decoded} decoded (${Math.round(decoded / coldSeconds)} images/s)`,
    `${name}: second load (cache) ${warmSeconds.toFixed(2)} s, ${decodedWarm} decoded`,
    `${name}: same images, labels and order as the built-in loader: train ${same(cold.train, builtIn.train)}, test ${same(cold.test, builtIn.test)}, cached ${same(warm.train, builtIn.train) && same(warm.test, builtIn.test)}`,
    `${name}: training-split normalisation ${JSON.stringify(datasetNormalisation(dataset))} (built-in ${JSON.stringify(datasetNormalisation(name))})`,
  ];
  for (const line of lines) process.stdout.write(`${line}\n`);
  return lines;
}

const lines: string[] = [];
if (only === '' || only === 'fashion-mnist') lines.push(...(await bench('fashion-mnist')));
if (only === '' || only === 'cifar10')
  lines.push(...(await bench('cifar10', resolve('../shared/data/cifar-10'))));
writeFileSync(join(out, 'results.txt'), `${lines.join('\n')}\n`);
