import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { inspectCommand } from '../../src/cli/inspect.js';
import { MALLOC_TUNABLES } from '../../src/engine/malloc-tuning.js';
import { trainCommand } from '../../src/cli/train.js';
import { parseArchitecture } from '../../src/space/ir.js';
import { fakeFashionMnist } from '../helpers.js';

const GENOME = 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;';

describe('nascent inspect', () => {
  it('prints the layer table with exact totals', () => {
    const out = inspectCommand({
      genome: 'NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;',
      dataset: 'fashion-mnist',
    });
    expect(out).toContain('parameters: 220,858');
    expect(out).toMatch(/g3\s+│ RC 64 6 relu\s+│ 64x4x4/);
    expect(out).toContain('FLOPs per image (forward): 14,855,316');
  });

  it('prints the IR as JSON that validates, and builds for CIFAR-10 shapes', () => {
    const arch = parseArchitecture(
      JSON.parse(inspectCommand({ genome: GENOME, dataset: 'cifar10', json: true })),
    );
    expect(arch.input).toEqual({ channels: 3, height: 32, width: 32 });
  });
});

describe('nascent train', () => {
  it('trains from IDX files in --data-dir and reports validation and test accuracy', async () => {
    const dataDir = fakeFashionMnist(800, 100);
    const save = join(dataDir, 'weights.pt');
    const out = await trainCommand({
      genome: 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL swish;',
      dataset: 'fashion-mnist',
      dataDir,
      protocol: 'standard',
      epochs: 8,
      seed: 1,
      device: 'cpu',
      progress: false,
      json: true,
      save,
    });
    const { report } = JSON.parse(out) as {
      report: { params: number; epochs: unknown[]; testAccuracy: number; valAccuracy: number };
    };
    expect(report.params).toBe(1 * 9 * 8 + 8 + 2 * (8 * 9 * 8 + 8) + 8 * 64 + 64 + 64 * 10 + 10);
    expect(report.epochs.length).toBeGreaterThan(0);
    expect(report.testAccuracy).toBeGreaterThan(0.8);
    expect(report.valAccuracy).toBeGreaterThan(0.8);
    expect(existsSync(save)).toBe(true);
  });

  it('trains with crops and flips when asked (--crop-padding, --flip)', async () => {
    const dataDir = fakeFashionMnist(300, 50);
    const train = async (augment: { cropPadding?: number; flip?: boolean }) => {
      const out = await trainCommand({
        genome: GENOME,
        dataset: 'fashion-mnist',
        dataDir,
        protocol: 'standard',
        epochs: 2,
        seed: 1,
        threads: 1,
        device: 'cpu',
        progress: false,
        json: true,
        ...augment,
      });
      const { report } = JSON.parse(out) as { report: { epochs: Array<{ trainLoss: number }> } };
      return report.epochs.map((epoch) => epoch.trainLoss);
    };
    const plain = await train({});
    // Same seed, same data: only the augmentation can make the training losses differ.
    expect(await train({})).toEqual(plain);
    expect(await train({ cropPadding: 3, flip: true })).not.toEqual(plain);
  });

  it('names a missing data set and how to get it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nascent-empty-'));
    await expect(
      trainCommand({
        genome: GENOME,
        dataset: 'fashion-mnist',
        dataDir: empty,
        protocol: 'course',
        seed: 0,
        device: 'cpu',
        progress: false,
      }),
    ).rejects.toThrow(/fashion-mnist/i);
  });

  it('rejects an unknown protocol', async () => {
    await expect(
      trainCommand({
        genome: GENOME,
        dataset: 'fashion-mnist',
        protocol: 'fast',
        seed: 0,
        device: 'cpu',
        progress: false,
      }),
    ).rejects.toThrow(/unknown protocol "fast" \(expected one of course, standard, express\)/);
  });
});

describe('the built nascent binary', () => {
  const bin = join('dist', 'src', 'cli', 'main.js');
  it('exits 1 with a message naming the broken part of a genome', () => {
    const result = spawnSync(
      process.execPath,
      [bin, 'inspect', '--genome', 'NC 8 3 relu;RC 8 3 relu;FL relu;'],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('nascent: the genome has 1 RC part; exactly 2 are required');
  });

  it('exits 0 and prints the table for a good genome', () => {
    const result = spawnSync(process.execPath, [bin, 'inspect', '--genome', GENOME], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('parameters: 2,474');
  });

  it('starts through the launcher, which sets the malloc tuning at process start', () => {
    expect(readFileSync(join('bin', 'nascent'), 'utf8')).toContain(`tuning="${MALLOC_TUNABLES}"`);
    const probe = spawnSync(join('bin', 'nascent'), ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=7' },
    });
    expect(probe.status).toBe(0);
    expect(probe.stdout.trim()).toBe('0.1.0');
  });
});
