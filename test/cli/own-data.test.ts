/**
 * `nascent search`, `train` and `predict` on the user's own data: an image folder (PNG and JPEG,
 * two sizes, grayscale and RGB, one corrupt file) and an .npz archive, written by the test. The
 * built CLI (dist/) runs them as a user would.
 */
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FOLDER_CLASSES, writeImageFolder, writeNpz } from '../data/own-data-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'nascent-own-data-'));
const images = join(root, 'images');
const npz = join(root, 'data.npz');
const store = join(root, 'runs.db');
let broken = '';

function nascent(...args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [join('dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NASCENT_CACHE_DIR: join(root, 'cache') },
  });
  return { status: result.status, out: `${result.stdout}\n${result.stderr}` };
}

const TINY_SEARCH = [
  '--generations',
  '1',
  '--population',
  '2',
  '--epochs',
  '1',
  '--max-steps',
  '2',
  '--space',
  'genome',
  '--set',
  'space.options.filters=[4]',
  '--store',
  store,
];
const GENOME = 'NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;';

beforeAll(async () => {
  broken = await writeImageFolder(images);
  writeNpz(npz);
});

describe('nascent on an image folder', () => {
  it('search names and skips the corrupt file; a second run reads the cache and decodes nothing', () => {
    const first = nascent(
      'search',
      '--dataset',
      `folder:${images}`,
      '--image-size',
      '12',
      '--name',
      'folder-1',
      ...TINY_SEARCH,
    );
    expect(first.status, first.out).toBe(0);
    expect(first.out).toMatch(/decoded 32 images .*3x12x12, 4 classes/);
    expect(first.out).toContain(
      `skipped 1 of 33 images that cannot be read (--strict refuses them): ${broken}`,
    );
    expect(first.out).toContain('2 evaluations');
    // the run records the skipped image in its store
    const db = new Database(store, { readonly: true });
    const events = db
      .prepare("SELECT message FROM run_events WHERE kind = 'skipped-images'")
      .all() as Array<{ message: string }>;
    db.close();
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toContain(broken);
    const second = nascent(
      'search',
      '--dataset',
      `folder:${images}`,
      '--image-size',
      '12',
      '--name',
      'folder-2',
      ...TINY_SEARCH,
    );
    expect(second.status, second.out).toBe(0);
    expect(second.out).toMatch(/read 32 images from the cache \([0-9a-f]+\), decoded 0/);
    expect(second.out).not.toMatch(/decoded 32 images/);
  });

  it('--strict refuses to start, naming the corrupt file', () => {
    const strict = nascent(
      'search',
      '--dataset',
      `folder:${images}`,
      '--image-size',
      '12',
      '--strict',
      '--name',
      'folder-strict',
      ...TINY_SEARCH,
    );
    expect(strict.status).toBe(1);
    expect(strict.out).toContain(
      `1 image cannot be read (--strict refuses the dataset): ${broken}`,
    );
  });

  it('mixed sizes without --image-size are explained', () => {
    const mixed = nascent(
      'train',
      '--dataset',
      `folder:${images}`,
      '--genome',
      GENOME,
      '--epochs',
      '1',
    );
    expect(mixed.status).toBe(1);
    expect(mixed.out).toMatch(/mixed sizes: .*give --image-size/);
  });

  it('train saves a model with the class names; predict reads a JPEG with them', () => {
    const model = join(root, 'folder.safetensors');
    const train = nascent(
      'train',
      '--dataset',
      `folder:${images}`,
      '--image-size',
      '12',
      '--channels',
      '1',
      '--genome',
      GENOME,
      '--epochs',
      '1',
      '--save',
      model,
      '--no-progress',
    );
    expect(train.status, train.out).toBe(0);
    expect(train.out).toMatch(/test accuracy: \d/);
    const predict = nascent('predict', model, join(images, 'dog', '009.jpg'), '--json');
    expect(predict.status, predict.out).toBe(0);
    const report = JSON.parse(predict.out.slice(0, predict.out.lastIndexOf('}') + 1)) as {
      classes: string[];
      predictions: Array<{ className: string }>;
    };
    expect(report.classes).toEqual(FOLDER_CLASSES);
    expect(FOLDER_CLASSES).toContain(report.predictions[0]?.className);
  });
});

describe('nascent on an .npz file', () => {
  it('search and train run; the model keeps the class names', () => {
    const search = nascent('search', '--dataset', `npz:${npz}`, '--name', 'npz-1', ...TINY_SEARCH);
    expect(search.status, search.out).toBe(0);
    expect(search.out).toContain(`on npz:${npz}`);
    expect(search.out).toContain('2 evaluations');
    const model = join(root, 'npz.safetensors');
    const train = nascent(
      'train',
      '--dataset',
      `npz:${npz}`,
      '--genome',
      GENOME,
      '--epochs',
      '1',
      '--save',
      model,
      '--no-progress',
    );
    expect(train.status, train.out).toBe(0);
    const predict = nascent('predict', model, `npz:${npz}`, '--json');
    expect(predict.status, predict.out).toBe(0);
    const report = JSON.parse(predict.out.slice(0, predict.out.lastIndexOf('}') + 1)) as {
      classes: string[];
      accuracy: number;
      predictions: unknown[];
    };
    expect(report.classes).toEqual(FOLDER_CLASSES);
    expect(report.predictions).toHaveLength(16);
    expect(report.accuracy).toBeGreaterThanOrEqual(0);
  });
});
