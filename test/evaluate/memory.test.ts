import { spawnSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultMemoryLimitBytes,
  estimateTrainingMemory,
  memoryLimitMessage,
  parseByteSize,
} from '../../src/evaluate/memory.js';
import { resolveArchitecture } from '../../src/cli/architecture-input.js';
import { type Architecture, IR_FORMAT } from '../../src/space/ir.js';

/** 1x4x4 -> conv 2 k3 same -> relu -> maxpool 2 -> flatten -> dense 3. */
const TINY: Architecture = {
  format: IR_FORMAT,
  input: { channels: 1, height: 4, width: 4 },
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    {
      id: 'c',
      op: 'conv2d',
      inputs: ['input'],
      filters: 2,
      kernel: 3,
      stride: 1,
      padding: 'same',
      dilation: 1,
      groups: 1,
      bias: true,
    },
    { id: 'a', op: 'activation', inputs: ['c'], fn: 'relu' },
    { id: 'p', op: 'maxpool2d', inputs: ['a'], kernel: 2, stride: 2, padding: 0 },
    { id: 'f', op: 'flatten', inputs: ['p'] },
    { id: 'd', op: 'dense', inputs: ['f'], units: 3, bias: true },
  ],
  output: 'd',
};

const HUGE_GENOME = 'NC 4096 7 relu;NC 4096 7 relu;RC 4096 7 relu;RC 4096 7 relu;FL relu;';

describe('estimateTrainingMemory', () => {
  it('counts a hand-worked network exactly', () => {
    // Parameters: conv 1*9*2 + 2 = 20, dense 8*3 + 3 = 27: 47 floats.
    // Kept per image: input 16, conv 32, relu 32, pool 8 + 16 (int64 indices), flatten 0 (a
    // view), dense 3 = 107; the widest backward step is relu's 32 in + 32 out = 64.
    // Training at batch 10: (107 + 64) * 10 = 1,710 floats; evaluation at batch 5: 107 * 5.
    const estimate = estimateTrainingMemory(TINY, {
      batchSize: 10,
      optimizer: 'adamw',
      evalBatchSize: 5,
    });
    expect(estimate.parts).toEqual({
      parameters: 47 * 4,
      gradients: 47 * 4,
      optimizerState: (2 * 47 + 27) * 4, // two moments, and a step's temporary of the dense weight
      activations: 1710 * 4,
    });
    expect(estimate.bytes).toBe(188 + 188 + 484 + 6840);
  });

  it('follows the optimizer, the best-weights copy and the larger of training and evaluation', () => {
    const plainSgd = estimateTrainingMemory(TINY, {
      batchSize: 10,
      optimizer: 'sgd',
      momentum: 0,
      restoreBest: true,
      evalBatchSize: 5,
    });
    expect(plainSgd.parts.optimizerState).toBe(0);
    expect(plainSgd.parts.parameters).toBe(2 * 47 * 4);
    const momentum = estimateTrainingMemory(TINY, { batchSize: 10, optimizer: 'sgd' });
    expect(momentum.parts.optimizerState).toBe((47 + 27) * 4);
    // Evaluation keeps every output at 1,024 images by default: 107 * 1024 > 171 * 10.
    expect(momentum.parts.activations).toBe(107 * 1024 * 4);
    expect(() => estimateTrainingMemory(TINY, { batchSize: 10, optimizer: 'lion' })).toThrow(
      /unknown optimizer "lion"/,
    );
    expect(() => estimateTrainingMemory(TINY, { batchSize: 0, optimizer: 'sgd' })).toThrow(
      /batchSize/,
    );
  });

  it('puts the 4096-filter genome far over any ordinary machine', () => {
    const architecture = resolveArchitecture({ genome: HUGE_GENOME }, 'fashion-mnist');
    const estimate = estimateTrainingMemory(architecture, {
      batchSize: 128,
      optimizer: 'adamw',
      restoreBest: true,
    });
    // Three 4096x4096x7x7 convolutions: about 2.47 G weights, 9.2 GiB as float32.
    expect(estimate.parts.gradients).toBeGreaterThan(9 * 2 ** 30);
    expect(estimate.parts.optimizerState).toBeGreaterThan(2 * estimate.parts.gradients);
    expect(estimate.bytes).toBeGreaterThan(40 * 2 ** 30);
    const message = memoryLimitMessage(estimate, 8 * 2 ** 30, 128);
    expect(message).toMatch(/needs about \d+ GiB to train \(parameters .* at batch 128\)/);
    expect(message).toContain('over the memory limit of 8.00 GiB');
  });
});

describe('memory limits', () => {
  it('parses sizes with units and refuses what is not one', () => {
    expect(parseByteSize('8GiB')).toBe(8 * 2 ** 30);
    expect(parseByteSize('512 MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('1.5GB')).toBe(1.5e9);
    expect(parseByteSize('2000')).toBe(2000);
    expect(() => parseByteSize('lots', '--max-memory')).toThrow(
      /--max-memory: "lots" is not a size/,
    );
    expect(() => parseByteSize('8 parsecs')).toThrow(/not a size/);
    expect(() => parseByteSize('0GiB')).toThrow(/not a positive size/);
  });

  it('defaults to a share of the memory there is', () => {
    const limit = defaultMemoryLimitBytes();
    expect(limit).toBeGreaterThan(0);
    expect(limit).toBeLessThan(totalmem());
  });
});

describe('nascent train --max-memory', () => {
  it('refuses the 4096-filter genome before loading data or training, with the estimate', () => {
    const result = spawnSync(
      join('bin', 'nascent'),
      ['train', '--genome', HUGE_GENOME, '--subset', '1000', '--epochs', '1', '--no-progress'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/not training: the network needs about \d+ GiB to train/);
    expect(result.stderr).toContain('over the memory limit');
    // Nothing was loaded or trained: no opening line, no epoch.
    expect(result.stderr).not.toContain('training on');
    expect(result.stderr).not.toMatch(/epoch \d/);
    expect(result.stdout).toBe('');
  });

  it('takes a limit from --max-memory', () => {
    const result = spawnSync(
      join('bin', 'nascent'),
      ['train', '--genome', 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;', '--max-memory', '1MiB'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('over the memory limit of 1.00 MiB');
  });
});
