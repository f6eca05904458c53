import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/train.js';
import type { TrainingReport } from '../../src/evaluate/train.js';

const REPORT: TrainingReport = {
  params: 1000,
  flops: 20000,
  macs: 10000,
  status: 'completed',
  epochs: [
    {
      epoch: 1,
      trainLoss: 0.9,
      trainAccuracy: 0.6,
      valLoss: 0.8,
      valAccuracy: 0.7,
      lr: 1e-3,
      seconds: 1,
    },
  ],
  bestEpoch: 1,
  valAccuracy: 0.7,
  valLoss: 0.8,
  testAccuracy: 0.6875,
  testLoss: 0.85,
  trainSeconds: 1,
  imagesPerSecond: 100,
  trainedImages: 100,
  threads: 1,
};

describe('the nascent train report', () => {
  it('gives the accuracies of a finished training', () => {
    expect(formatReport(REPORT)).toContain('test accuracy: 68.75%');
  });

  it('gives no accuracy for a diverged training, but that it diverged and why', () => {
    const text = formatReport({
      ...REPORT,
      status: 'diverged',
      reason: 'non-finite loss at epoch 1, step 3',
      testAccuracy: 0.1,
    });
    expect(text).not.toMatch(/accuracy: \d/);
    expect(text).not.toContain('10.00%');
    expect(text).toContain(
      'no validation or test accuracy: the training diverged (non-finite loss at epoch 1, step 3)',
    );
  });
});
