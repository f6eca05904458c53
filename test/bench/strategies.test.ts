import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PredictorStrategy, TokenRidgeSurrogate } from '../../src/bench/predictor-strategy.js';
import {
  BANANAS_CELL_ENCODINGS,
  BENCH_STRATEGY_NAMES,
  CURVE_COLUMNS,
  curvesCsv,
  meanCurve,
  runStrategyBenchmark,
  runTrial,
  type StrategyBenchmarkOptions,
} from '../../src/bench/strategies.js';
import { rowsCsv, syntheticRows } from '../../src/bench/synthetic-table.js';
import { BENCH_FILES } from '../../src/bench/strategy-report.js';
import { benchStrategiesCommand } from '../../src/cli/bench.js';
import { TableLookupError, loadResultTable, type ResultTable } from '../../src/evaluate/table.js';
import type { Evaluated } from '../../src/search/strategy.js';
import { CellSpace, allCellStrings } from '../../src/space/cells/index.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import type { CompileTarget, SearchSpace } from '../../src/space/space.js';

const FASHION: CompileTarget = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const CIFAR: CompileTarget = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };

/** 128 genomes: two RC parts (2 filters x 2 kernels x 2 activations each) and 2 final activations. */
const TINY_OPTIONS = {
  filters: [8, 16],
  kernels: [3, 5],
  activations: ['relu', 'tanh'],
  finalActivations: ['relu', 'tanh'],
  minNormal: 0,
  maxNormal: 0,
} as const;
const tinySpace = new GenomeSpace({
  ...TINY_OPTIONS,
  activations: [...TINY_OPTIONS.activations],
  finalActivations: [...TINY_OPTIONS.finalActivations],
  filters: [...TINY_OPTIONS.filters],
  kernels: [...TINY_OPTIONS.kernels],
}) as SearchSpace<unknown>;

function tinyGenomes(): string[] {
  const parts: string[] = [];
  for (const f of TINY_OPTIONS.filters)
    for (const k of TINY_OPTIONS.kernels)
      for (const a of TINY_OPTIONS.activations) parts.push(`RC ${f} ${k} ${a};`);
  return parts.flatMap((first) =>
    parts.flatMap((second) =>
      TINY_OPTIONS.finalActivations.map((fl) => `${first}${second}FL ${fl};`),
    ),
  );
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nascent-bench-'));
}

function writeTable(archs: readonly string[], seed: number, name = 'table.csv'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, rowsCsv(syntheticRows(archs, seed)));
  return path;
}

const tinyTablePath = writeTable(tinyGenomes(), 1);
const tinyTable = loadResultTable(tinyTablePath, { space: tinySpace });

function options(overrides: Partial<StrategyBenchmarkOptions> = {}): StrategyBenchmarkOptions {
  return {
    space: tinySpace,
    target: FASHION,
    table: tinyTable,
    strategies: BENCH_STRATEGY_NAMES,
    queries: 50,
    trials: 5,
    // Elitist strategies can exhaust a 128-genome space's neighbourhoods: stop those trials soon.
    staleLimit: 500,
    ...overrides,
  };
}

function maxOf(table: ResultTable, metric: string): number {
  return Math.max(...Array.from(table.entries(), (entry) => entry.metrics[metric] as number));
}

describe('meanCurve', () => {
  it('gives the mean and the standard error of the mean per query', () => {
    const curve = meanCurve(
      [Float64Array.of(1, 4), Float64Array.of(2, 4), Float64Array.of(3, 7)],
      2,
    );
    expect(curve.mean).toEqual([2, 5]);
    // Sample standard deviations 1 and sqrt(3), over sqrt(3).
    expect(curve.se[0]).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(curve.se[1]).toBeCloseTo(1, 12);
    expect(meanCurve([Float64Array.of(5)], 1).se[0]).toBeNaN();
  });
});

describe('runTrial', () => {
  it('keeps the best validation accuracy so far and the test accuracy of that architecture', () => {
    const byValidation = new Map(
      Array.from(tinyTable.entries(), (e) => [e.metrics.accuracy, e.metrics.test_accuracy]),
    );
    for (const strategy of BENCH_STRATEGY_NAMES) {
      const trial = runTrial(strategy, options(), 3);
      expect(trial.queried).toBe(50);
      for (let q = 0; q < 50; q++) {
        const best = trial.bestValidation[q] as number;
        if (q > 0) expect(best).toBeGreaterThanOrEqual(trial.bestValidation[q - 1] as number);
        expect(trial.testAtBest[q]).toBe(byValidation.get(best));
      }
    }
  });

  it('counts distinct architectures only: the whole 128-genome space finds the optimum exactly', () => {
    const best = maxOf(tinyTable, 'accuracy');
    for (const seed of [0, 1, 2]) {
      const trial = runTrial('random', options({ queries: 128, staleLimit: 10_000 }), seed);
      expect(trial.queried).toBe(128);
      // Random sampling of 128 distinct genomes out of 128 takes several hundred proposals.
      expect(trial.repeats).toBeGreaterThan(128);
      expect(trial.bestValidation[127]).toBe(best);
      expect(trial.bestValidation[126]).toBeLessThanOrEqual(best);
    }
  });

  it('stops a trial that can find nothing new and holds its curve flat', () => {
    const result = runStrategyBenchmark(
      options({ strategies: ['random'], queries: 140, trials: 2, staleLimit: 2000 }),
    );
    expect(runTrial('random', options({ queries: 140, staleLimit: 2000 }), 0).queried).toBe(128);
    const [random] = result.curves;
    expect(random?.stalledTrials).toBe(2);
    expect(random?.bestValidation.mean[139]).toBe(maxOf(tinyTable, 'accuracy'));
    expect(random?.bestValidation.mean.slice(127)).toEqual(
      Array(13).fill(maxOf(tinyTable, 'accuracy')),
    );
  });

  it('stops with the architecture when the table lacks one the space produces', () => {
    const partial = loadResultTable(writeTable(tinyGenomes().slice(0, 100), 1), {
      space: tinySpace,
    });
    expect(() => runTrial('random', options({ table: partial, queries: 120 }), 0)).toThrow(
      TableLookupError,
    );
    expect(() => runTrial('random', options({ table: partial, queries: 120 }), 0)).toThrow(
      /architecture "RC .*FL (relu|tanh);" is not in the table .*table\.csv \(100 architectures\)/,
    );
  });
});

describe('runStrategyBenchmark', () => {
  it('runs every strategy over the trials, repeatably, and writes the curves as CSV', () => {
    const first = runStrategyBenchmark(options());
    const again = runStrategyBenchmark(options({ strategies: ['nsga2', 'predictor'] }));
    expect(first.curves.map((c) => c.strategy)).toEqual([...BENCH_STRATEGY_NAMES]);
    expect(first.optimum.testAccuracy).toBe(maxOf(tinyTable, 'test_accuracy'));
    for (const curve of again.curves) {
      const same = first.curves.find((c) => c.strategy === curve.strategy);
      expect(curve.bestValidation.mean).toEqual(same?.bestValidation.mean);
      expect(curve.testAtBest.se).toEqual(same?.testAtBest.se);
    }
    expect(first.curves.find((c) => c.strategy === 'random')?.stalledTrials).toBe(0);
    for (const curve of first.curves) {
      for (let q = 0; q < 50; q++) {
        expect(curve.regret.mean[q]).toBeCloseTo(
          first.optimum.testAccuracy - (curve.testAtBest.mean[q] as number),
          12,
        );
        expect(curve.regret.mean[q]).toBeGreaterThanOrEqual(0);
      }
      expect(curve.bestValidation.mean[49]).toBeLessThanOrEqual(
        maxOf(tinyTable, 'accuracy') + 1e-12,
      );
    }
    // The mean at query q is the mean of the trials' runs, each trial seeded seed + t.
    const trials = [0, 1, 2, 3, 4].map((t) => runTrial('re', options(), t).bestValidation);
    const re = first.curves.find((c) => c.strategy === 're');
    expect(re?.bestValidation.mean).toEqual(meanCurve(trials, 50).mean);

    const lines = curvesCsv(first).trimEnd().split('\n');
    expect(lines[0]).toBe(CURVE_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + BENCH_STRATEGY_NAMES.length * 50);
    const row = lines.find((line) => line.startsWith('re,50,'))?.split(',') ?? [];
    expect(Number(row[3])).toBeCloseTo(re?.bestValidation.mean[49] as number, 6);
    expect(Number(row[6])).toBeCloseTo(re?.testAtBest.se[49] as number, 6);
  });

  it('refuses a table without test accuracies, unknown strategies and bad counts', () => {
    const path = join(tempDir(), 'val-only.csv');
    writeFileSync(path, `arch,accuracy\n${tinyGenomes().join(',0.5\n')},0.5\n`);
    const valOnly = loadResultTable(path, { space: tinySpace });
    expect(() => runStrategyBenchmark(options({ table: valOnly }))).toThrow(
      /has no test_accuracy for 128 of its 128 architectures/,
    );
    expect(() => runStrategyBenchmark(options({ strategies: ['random', 'bayes'] }))).toThrow(
      /unknown strategy "bayes" \(known: random, ga, re, mu\+lambda, nsga2, local-search, bananas, predictor\)/,
    );
    expect(() => runStrategyBenchmark(options({ trials: 0 }))).toThrow(/trials must be/);
  });

  it('on a NAS-Bench-201-sized table, evolution and the predictor beat random search', () => {
    const space = new CellSpace() as SearchSpace<unknown>;
    const table = loadResultTable(writeTable(allCellStrings(), 7, 'nb201.csv'), { space });
    expect(table.size).toBe(15_625);
    const started = performance.now();
    const result = runStrategyBenchmark({
      space,
      target: CIFAR,
      table,
      strategies: ['random', 're', 'predictor'],
      queries: 50,
      trials: 10,
    });
    expect(performance.now() - started).toBeLessThan(20_000);
    const final = (name: string): number =>
      result.curves.find((c) => c.strategy === name)?.regret.mean[49] as number;
    expect(final('re')).toBeLessThan(final('random'));
    expect(final('predictor')).toBeLessThan(final('random'));
  });

  it('on a NAS-Bench-201-sized table, local search and bananas (with cell features) beat random search', () => {
    const space = new CellSpace() as SearchSpace<unknown>;
    const table = loadResultTable(writeTable(allCellStrings(), 8, 'nb201.csv'), { space });
    const result = runStrategyBenchmark({
      space,
      target: CIFAR,
      table,
      strategies: ['random', 'local-search', 'bananas'],
      queries: 60,
      trials: 6,
    });
    const final = (name: string): number =>
      result.curves.find((c) => c.strategy === name)?.bestValidation.mean[59] as number;
    expect(final('local-search')).toBeGreaterThan(final('random'));
    expect(final('bananas')).toBeGreaterThan(final('random'));
    // bananas never proposes an architecture twice; local search never re-proposes a neighbour.
    expect(result.curves.find((c) => c.strategy === 'bananas')?.meanRepeats).toBe(0);
    expect(BANANAS_CELL_ENCODINGS).toEqual(['graf']);
  });
});

describe('PredictorStrategy', () => {
  const base = {
    space: tinySpace,
    target: FASHION,
    objectives: [{ metric: 'accuracy', direction: 'maximize' as const }],
  };

  it('matches ridge regression solved from the normal equations', () => {
    const texts = tinyGenomes();
    const rows = syntheticRows(texts, 3);
    const surrogate = new TokenRidgeSurrogate(0.5);
    const train = rows.slice(0, 20);
    for (const row of train) surrogate.add(row.arch, -row.val_accuracy);
    // Primal: one-hot (position, token) features, (X'X + 0.5 I) w = X'(y - mean y).
    const vocabulary = new Map<string, number>();
    const encode = (text: string) =>
      text
        .split(/[\s|+;,]+/)
        .filter((t) => t !== '')
        .map((token, position) => `${position}:${token}`);
    for (const row of train)
      for (const f of encode(row.arch)) if (!vocabulary.has(f)) vocabulary.set(f, vocabulary.size);
    const d = vocabulary.size;
    const a = Array.from({ length: d }, (_, i) =>
      Array.from({ length: d + 1 }, (_, j) => (i === j ? 0.5 : 0)),
    );
    const mean = train.reduce((s, r) => s - r.val_accuracy, 0) / train.length;
    for (const row of train) {
      const ids = encode(row.arch).map((f) => vocabulary.get(f) as number);
      for (const i of ids) {
        for (const j of ids) (a[i] as number[])[j] = ((a[i] as number[])[j] as number) + 1;
        (a[i] as number[])[d] = ((a[i] as number[])[d] as number) + (-row.val_accuracy - mean);
      }
    }
    // Gauss-Jordan elimination.
    for (let c = 0; c < d; c++) {
      const pivot = a[c] as number[];
      const p = pivot[c] as number;
      for (let j = c; j <= d; j++) pivot[j] = (pivot[j] as number) / p;
      for (let r = 0; r < d; r++) {
        if (r === c) continue;
        const row = a[r] as number[];
        const factor = row[c] as number;
        for (let j = c; j <= d; j++) row[j] = (row[j] as number) - factor * (pivot[j] as number);
      }
    }
    const weights = a.map((row) => row[d] as number);
    for (const row of rows.slice(20, 40)) {
      const expected = encode(row.arch).reduce(
        (s, f) => s + (vocabulary.has(f) ? (weights[vocabulary.get(f) as number] as number) : 0),
        mean,
      );
      expect(surrogate.predict(row.arch)).toBeCloseTo(expected, 9);
    }
  });

  it('resumes from its snapshot exactly', () => {
    const run = (strategy: PredictorStrategy<unknown>, steps: number, offset: number): string[] => {
      const texts: string[] = [];
      for (let i = 0; i < steps; i++) {
        const [proposal] = strategy.ask(1);
        if (!proposal) throw new Error('no proposal');
        const text = tinySpace.format(proposal.genome);
        texts.push(text);
        const result: Evaluated<unknown> = {
          id: `c${offset + i}`,
          genome: proposal.genome,
          parents: proposal.parents,
          status: 'ok',
          metrics: tinyTable.require(text).metrics,
        };
        strategy.tell([result]);
      }
      return texts;
    };
    const settings = { ...base, seed: 11, populationSize: 4, candidates: 20 };
    const original = new PredictorStrategy(settings);
    run(original, 12, 0);
    const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as unknown;
    const restored = PredictorStrategy.restore(snapshot, settings);
    expect(run(restored, 10, 12)).toEqual(run(original, 10, 12));
    expect(() => PredictorStrategy.restore(snapshot, { ...settings, candidates: 21 })).toThrow(
      /other options: candidates/,
    );
  });

  it('refuses constraints and bad options', () => {
    expect(
      () =>
        new PredictorStrategy({
          ...base,
          seed: 0,
          constraints: [{ metric: 'params', op: '<=', value: 1000 }],
        }),
    ).toThrow(/constraints are not modelled/);
    expect(() => new PredictorStrategy({ ...base, seed: 0, candidates: 0 })).toThrow(
      /candidates must be at least 1/,
    );
  });
});

describe('nascent bench strategies', () => {
  it('writes the curves, the plots and a report page', () => {
    const out = join(tempDir(), 'out');
    const text = benchStrategiesCommand({
      evaluator: `table:${tinyTablePath}`,
      space: 'genome',
      spaceOptions: JSON.stringify(TINY_OPTIONS),
      dataset: 'fashion-mnist',
      queries: 20,
      trials: 3,
      strategies: 'random,re,predictor',
      out,
      progress: false,
    });
    expect(text).toContain('3 trials of 20 queries');
    expect(text).toMatch(/predictor/);
    const csv = readFileSync(join(out, BENCH_FILES.csv), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(1 + 3 * 20);
    for (const file of [BENCH_FILES.validationPlot, BENCH_FILES.testPlot, BENCH_FILES.regretPlot]) {
      const svg = readFileSync(join(out, file), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('predictor');
    }
    const html = readFileSync(join(out, BENCH_FILES.report), 'utf8');
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|src="/);
    const summary = JSON.parse(readFileSync(join(out, BENCH_FILES.summary), 'utf8')) as {
      curves: { strategy: string; finalTestAtBest: number }[];
    };
    expect(summary.curves.map((c) => c.strategy)).toEqual(['random', 're', 'predictor']);
    expect(existsSync(join(out, BENCH_FILES.summary))).toBe(true);
  });

  it('refuses an evaluator that is not a table, and bad space options', () => {
    expect(() => benchStrategiesCommand({ evaluator: 'train', space: 'genome' })).toThrow(
      /--evaluator must be table:<file>/,
    );
    expect(() =>
      benchStrategiesCommand({
        evaluator: `table:${tinyTablePath}`,
        space: 'genome',
        spaceOptions: '{',
      }),
    ).toThrow(/--space-options is not valid JSON/);
  });
});
