/**
 * The express trainer: one epoch over every training image, validation on a fixed 1,024-image
 * split, the data copied into native memory once for the whole search.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineInfo } from '../../src/engine/engine.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import { configuredProtocol, loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

describe('express evaluator', () => {
  it('trains each candidate one epoch over every training image, copying the data once', async () => {
    const store = join(mkdtempSync(join(tmpdir(), 'nascent-express-')), 'runs.db');
    const config = loadSearchConfig(undefined, {
      store,
      dataDir: fakeFashionMnist(1500, 50),
      subset: 1400,
      evaluator: 'express',
      strategy: 'random',
      population: 4,
      generations: 1,
      threads: 1,
    });
    expect(configuredProtocol(config)).toBe('express');
    const copiesBefore = engineInfo().datasetCopies;
    const { runId } = await runSearch({ config });
    // Training, validation and test sets: three copies for the whole search, not per candidate.
    expect(engineInfo().datasetCopies - copiesBefore).toBe(3);
    const runs = RunStore.open(store);
    try {
      const evaluations = runs.evaluations(runId);
      expect(evaluations).toHaveLength(4);
      const ok = evaluations.filter((e) => e.status === 'ok');
      expect(ok.length).toBeGreaterThan(0);
      for (const evaluation of ok) {
        // One epoch, over all 1,400 - 1,024 = 376 training images (the last batch is partial).
        expect(evaluation.epochs).toHaveLength(1);
        expect(evaluation.metrics.train_images).toBe(376);
        expect(evaluation.metrics.accuracy).toBeGreaterThanOrEqual(0);
      }
    } finally {
      runs.close();
    }
  });

  it('is a protocol with a fixed 1,024-image validation split and a step schedule', () => {
    const express = getProtocol('express');
    expect(express.validationCount).toBe(1024);
    expect(express.training.epochs).toBe(1);
    expect(express.training.schedule).toBe('step');
    expect(() => loadSearchConfig(undefined, { evaluator: 'quick', generations: 1 })).toThrow(
      /write train, express, proxies or table/,
    );
  });
});
