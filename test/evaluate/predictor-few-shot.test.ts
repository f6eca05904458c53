import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRows } from '../../src/bench/synthetic-table.js';
import type { PredictorExample } from '../../src/evaluate/predictor.js';
import {
  GRAF_FEATURE_NAMES,
  PATH_ENCODING_LENGTH,
  adjacencyEncoding,
  cellEncodingLength,
  encodeCell,
  grafFeatures,
  pathEncoding,
} from '../../src/evaluate/predictor/cell-encodings.js';
import {
  FewShotPredictor,
  featureVector,
  normalQuantile,
} from '../../src/evaluate/predictor/few-shot.js';
import { fitGaussianProcess } from '../../src/evaluate/predictor/gaussian-process.js';
import { allCellStrings, parseCell } from '../../src/space/cells/index.js';
import { fitBoostedTrees } from '../../src/util/gbdt.js';
import { Random } from '../../src/util/random.js';
import { kendall } from '../../src/util/stats.js';

const BEST =
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const DISCONNECTED = '|none~0|+|nor_conv_3x3~0|none~1|+|none~0|avg_pool_3x3~1|none~2|';

function cellExample(text: string, accuracy: number): PredictorExample {
  return { architecture: null, genome: { space: 'cells', text }, accuracy };
}

describe('cell encodings', () => {
  it('one-hots the op of each edge', () => {
    const row = adjacencyEncoding(parseCell(BEST));
    expect(row).toHaveLength(30);
    expect(row.reduce((a, b) => a + b, 0)).toBe(6);
    // Edge 0->1 is nor_conv_3x3 (op index 3); edge 0->3 is skip_connect (op index 1).
    expect(row[3]).toBe(1);
    expect(row[3 * 5 + 1]).toBe(1);
  });

  it('counts the op sequences of the input-output paths (BANANAS path encoding)', () => {
    const row = pathEncoding(parseCell(BEST));
    expect(row).toHaveLength(PATH_ENCODING_LENGTH);
    expect(PATH_ENCODING_LENGTH).toBe(4 + 16 + 64);
    // Four paths: skip (0->3), conv3-conv3 (0->1->3), conv3-conv1 (0->2->3), conv3-conv3-conv1.
    expect(row.reduce((a, b) => a + b, 0)).toBe(4);
    // No path exists in a disconnected cell.
    expect(pathEncoding(parseCell(DISCONNECTED)).every((v) => v === 0)).toBe(true);
  });

  it('gives graph features that tell a disconnected cell from the rest', () => {
    const named = (text: string): Record<string, number> =>
      Object.fromEntries(grafFeatures(parseCell(text)).map((v, i) => [GRAF_FEATURE_NAMES[i], v]));
    const best = named(BEST);
    expect(best.has_output).toBe(1);
    expect(best.paths_any).toBe(4);
    expect(best.min_len_any).toBe(1);
    expect(best.max_len_any).toBe(3);
    expect(best.max_convs_on_path).toBe(3);
    expect(best.count_nor_conv_3x3).toBe(4);
    expect(best.output_in_degree).toBe(3);
    const cut = named(DISCONNECTED);
    expect(cut.has_output).toBe(0);
    expect(cut.paths_any).toBe(0);
    expect(cut.live_avg_pool_3x3).toBe(0);
    expect(cut.count_avg_pool_3x3).toBe(1);
    expect(encodeCell(parseCell(BEST), ['graf', 'path', 'adjacency'])).toHaveLength(
      cellEncodingLength(['graf', 'path', 'adjacency']),
    );
  });
});

describe('boosted trees and the Gaussian process', () => {
  const random = new Random(3);
  const rows = Array.from({ length: 300 }, () => [
    random.uniform(0, 1),
    random.uniform(0, 1),
    random.int(0, 3),
  ]);
  const f = (r: number[]): number =>
    Math.sin(3 * (r[0] as number)) + (r[1] as number) ** 2 + 0.3 * (r[2] as number);
  const targets = rows.map(f);
  const test = Array.from({ length: 200 }, () => [
    random.uniform(0, 1),
    random.uniform(0, 1),
    random.int(0, 3),
  ]);
  const truth = test.map(f);

  it('boosted trees learn a smooth function and repeat for a seed', () => {
    const model = fitBoostedTrees(rows, targets, { trees: 200, seed: 1 });
    expect(kendall(truth, model.predict(test))).toBeGreaterThan(0.8);
    const again = fitBoostedTrees(rows, targets, { trees: 200, seed: 1 });
    expect(again.predict(test)).toEqual(model.predict(test));
    expect(fitBoostedTrees(rows, targets, { trees: 200, seed: 2 }).predict(test)).not.toEqual(
      model.predict(test),
    );
    expect(() => fitBoostedTrees([[1], [1, 2]], [0, 1])).toThrow(/row 1 has 2 features/);
  });

  it('the Gaussian process interpolates and ranks held-out points', () => {
    const model = fitGaussianProcess(rows, targets);
    expect(kendall(truth, model.predict(test))).toBeGreaterThan(0.85);
    const fitted = model.predict(rows.slice(0, 20));
    fitted.forEach((value, i) =>
      expect(Math.abs(value - (targets[i] as number))).toBeLessThan(0.2),
    );
  });

  it('normal quantiles match known values', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });
});

describe('FewShotPredictor', () => {
  // A synthetic table over every cell, disconnected ones given 0.1 as in NAS-Bench-201.
  const cells = allCellStrings();
  const rows = syntheticRows(cells, 7);
  const examples = rows.map((row) =>
    cellExample(
      row.arch,
      encodeCell(parseCell(row.arch), ['graf'])[0] === 0 ? 0.1 : row.test_accuracy,
    ),
  );
  const order = new Random(11).permutation(examples.length);
  const train = Array.from(order.subarray(0, 300), (i) => examples[i] as PredictorExample);
  const test = Array.from(order.subarray(300, 1300), (i) => examples[i] as PredictorExample);

  it.each(['gbdt', 'gp', 'ensemble'] as const)(
    '%s learns from a few hundred cells, disconnected ones included, and ranks held-out cells',
    (kind) => {
      expect(train.some((e) => e.accuracy === 0.1)).toBe(true);
      const predictor = FewShotPredictor.train(train, { kind, seed: 0 });
      expect(predictor.encodings).toEqual(['graf', 'path']);
      const predicted = predictor.predict(test);
      expect(
        kendall(
          test.map((e) => e.accuracy),
          predicted,
        ),
      ).toBeGreaterThan(0.3);
      // Predictions are accuracies: within the training range.
      const accuracies = train.map((e) => e.accuracy);
      for (const value of predicted) {
        expect(value).toBeGreaterThanOrEqual(Math.min(...accuracies));
        expect(value).toBeLessThanOrEqual(Math.max(...accuracies));
      }
    },
  );

  it('saves and loads to the same predictions', () => {
    const predictor = FewShotPredictor.train(train.slice(0, 60), { kind: 'ensemble', trees: 30 });
    const directory = join(mkdtempSync(join(tmpdir(), 'nascent-few-shot-')), 'p');
    predictor.save(directory);
    expect(FewShotPredictor.isSavedIn(directory)).toBe(true);
    const loaded = FewShotPredictor.load(directory);
    expect(loaded.kind).toBe('ensemble');
    expect(loaded.trainedOn).toBe(60);
    expect(loaded.predict(test.slice(0, 50))).toEqual(predictor.predict(test.slice(0, 50)));
  });

  it('reads proxies as extra features, and refuses a query without them', () => {
    const withProxy = train
      .slice(0, 40)
      .map((e, i) => ({ ...e, proxies: { synflow: 10 ** (i % 7) } }));
    const predictor = FewShotPredictor.train(withProxy, {
      kind: 'gbdt',
      proxyFeatures: ['synflow'],
      trees: 20,
    });
    expect(
      featureVector(withProxy[3] as PredictorExample, ['graf'], ['synflow']).at(-1),
    ).toBeCloseTo(Math.log10(1 + 1000), 9);
    expect(() => predictor.predict([cellExample(BEST, 0)])).toThrow(
      /reads the proxy "synflow", which query 1 does not have/,
    );
  });

  it('refuses cell encodings for another space, and too few examples', () => {
    const genomeExample: PredictorExample = {
      architecture: null,
      genome: { space: 'genome', text: 'RC 8 3 relu;FL relu;' },
      accuracy: 0.5,
    };
    expect(() => featureVector(genomeExample, ['path'], [])).toThrow(
      /reads NAS-Bench-201 cells; this example is a genome-space architecture/,
    );
    // The network encoding serves every space: all zeros for a network with no output.
    expect(featureVector(genomeExample, ['network'], []).every((v) => v === 0)).toBe(true);
    expect(() => FewShotPredictor.train(train.slice(0, 3), { kind: 'gbdt' })).toThrow(/at least 4/);
  });
});
