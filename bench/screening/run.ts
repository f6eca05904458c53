/**
 * Does pre-screening save training? The same genetic algorithm on Fashion-MNIST, three ways,
 * each training the same number of candidates:
 * - plain: population P, every candidate trained;
 * - vote: population 3P, each generation screened by the rank vote of synflow, jacob_cov and
 *   naswot, the best P trained;
 * - predictor: population 3P, screened by the LSTM predictor trained on the reference set
 *   (bench/reference-archs), the best P trained.
 * Every candidate is trained under the reference set's protocol. `--report-only` re-reads the
 * stores of an earlier run. For each seed it reports the best
 * validation accuracy found, and how many trained candidates each screened search needed to reach
 * the plain search's final best.
 *
 *   node dist/bench/screening/run.js [--strategy ga|random] [--population 8] [--generations 3] [--seeds 1,2]
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AccuracyPredictor } from '../../src/evaluate/predictor.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { loadExamples } from '../../src/cli/predictor.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { REFERENCE_PROTOCOL, RESULTS_FILE } from '../reference-archs/build.js';

const { values } = parseArgs({
  options: {
    population: { type: 'string', default: '8' },
    generations: { type: 'string', default: '3' },
    seeds: { type: 'string', default: '1,2' },
    /** ga (evolution) or random (screened sampling). */
    strategy: { type: 'string', default: 'ga' },
    /** Variants to run (the report covers every variant whose store is in --dir). */
    variants: { type: 'string', default: 'plain,vote,predictor' },
    /** Report on the stores an earlier run left in --dir, without searching again. */
    'report-only': { type: 'boolean', default: false },
    out: { type: 'string', default: 'BENCHMARKS.md' },
    dir: { type: 'string', default: 'runs/bench-screening' },
  },
});
const population = Number(values.population);
const generations = Number(values.generations);
const seeds = (values.seeds ?? '1,2').split(',').map(Number);
const strategy = values.strategy ?? 'ga';
const dir = join(values.dir ?? 'runs/bench-screening', strategy);
const reportOnly = values['report-only'] === true;
mkdirSync(dir, { recursive: true });

// The predictor: the LSTM over layers (the best on held-out reference architectures), trained on
// the whole reference set.
const predictorDir = join(dir, 'predictor');
const reference = loadExamples({ table: RESULTS_FILE }, []);
if (!reportOnly) {
  const predictor = await AccuracyPredictor.train(reference, { kind: 'lstm', seed: 0, threads: 2 });
  predictor.save(predictorDir);
}

type Variant = 'plain' | 'vote' | 'predictor' | 'operators';
const VARIANTS: Variant[] = ['plain', 'vote', 'predictor', 'operators'];
const toRun = new Set((values.variants ?? '').split(',').filter((v) => v !== ''));
const unknownVariant = [...toRun].find((v) => !(VARIANTS as string[]).includes(v));
if (unknownVariant)
  throw new Error(`unknown variant ${unknownVariant} (expected ${VARIANTS.join(', ')})`);

/**
 * Best validation accuracy after each trained candidate, in training order, and the run's wall
 * time (creation to its last evaluation).
 */
function bestCurve(storePath: string, runName: string): { curve: number[]; seconds: number } {
  const store = RunStore.open(storePath);
  try {
    const run = store.getRun(runName);
    const evaluations = store.evaluations(run.id);
    const trained = evaluations
      .filter((e) => e.metrics.screened_out === undefined && e.reusedFrom === null)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.id - b.id);
    let best = 0;
    const curve = trained.map(
      (e) => (best = Math.max(best, e.status === 'ok' ? (e.metrics.accuracy ?? 0) : 0)),
    );
    const last = Math.max(...evaluations.map((e) => Date.parse(e.finishedAt)));
    return { curve, seconds: (last - Date.parse(run.createdAt)) / 1000 };
  } finally {
    store.close();
  }
}

const results: { seed: number; variant: Variant; curve: number[]; seconds: number }[] = [];
for (const seed of seeds) {
  for (const variant of VARIANTS) {
    const store = join(dir, `${variant}-${seed}.db`);
    const run = !reportOnly && toRun.has(variant);
    if (run)
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
    if (!run && !existsSync(store)) continue;
    const config = loadSearchConfig(undefined, {
      store,
      name: `${variant}-${seed}`,
      seed,
      dataset: 'fashion-mnist',
      subset: REFERENCE_PROTOCOL.subset,
      testSubset: REFERENCE_PROTOCOL.testSubset,
      strategy,
      population: variant === 'plain' || variant === 'operators' ? population : 3 * population,
      protocol: REFERENCE_PROTOCOL.protocol,
      epochs: REFERENCE_PROTOCOL.epochs,
      generations,
      ...(variant === 'vote' || variant === 'predictor' ? { screenKeep: population } : {}),
      ...(variant === 'predictor' ? { screenPredictor: predictorDir } : {}),
      ...(variant === 'operators' ? { screenOperators: predictorDir } : {}),
    });
    const withSplit = {
      ...config,
      dataset: { ...config.dataset, validationFraction: REFERENCE_PROTOCOL.validationFraction },
    };
    if (run) await runSearch({ config: withSplit });
    const { curve, seconds } = bestCurve(store, `${variant}-${seed}`);
    results.push({ seed, variant, curve, seconds });
    console.log(
      `seed ${seed} ${variant}: ${curve.length} trained, best ${(curve.at(-1) ?? 0).toFixed(4)}, ${seconds.toFixed(0)} s`,
    );
  }
}

const rows: string[][] = [];
const ratios: Record<Variant, number[]> = { plain: [], vote: [], predictor: [], operators: [] };
/** Trained candidates a curve took to reach `target` (undefined: never). */
const neededFor = (curve: readonly number[], target: number): number | undefined => {
  const reached = curve.findIndex((best) => best >= target - 1e-9);
  return reached >= 0 ? reached + 1 : undefined;
};
for (const seed of seeds) {
  const plain = results.find((r) => r.seed === seed && r.variant === 'plain');
  const target = plain?.curve.at(-1) ?? 1;
  // What the plain search itself needed to find its best: the denominator of the ratio.
  const plainNeeded = plain ? neededFor(plain.curve, target) : undefined;
  for (const result of results.filter((r) => r.seed === seed)) {
    const needed = neededFor(result.curve, target);
    if (needed !== undefined && plainNeeded !== undefined)
      ratios[result.variant].push(needed / plainNeeded);
    rows.push([
      String(seed),
      result.variant,
      String(result.curve.length),
      (result.curve.at(-1) ?? 0).toFixed(4),
      needed !== undefined ? String(needed) : `not reached (${result.curve.length})`,
      needed !== undefined && plainNeeded !== undefined ? (needed / plainNeeded).toFixed(2) : '-',
      result.seconds.toFixed(0),
    ]);
  }
}
const mean = (xs: number[]): string =>
  xs.length === 0 ? 'n/a' : (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);

/**
 * The seeds together: each variant's best-so-far curve averaged over the seeds that ran it and
 * plain (cut to the shortest), and the trained candidates its average took to reach plain's
 * average final best. Single seeds hinge on one lucky training; the average less so.
 */
const averageCurve = (curves: readonly (readonly number[])[]): number[] => {
  const length = Math.min(...curves.map((c) => c.length));
  return Array.from(
    { length },
    (_, i) => curves.reduce((sum, c) => sum + (c[i] as number), 0) / curves.length,
  );
};
const averaged: string[] = [];
for (const variant of VARIANTS) {
  if (variant === 'plain') continue;
  const paired = seeds.filter((seed) =>
    ['plain', variant].every((v) => results.some((r) => r.seed === seed && r.variant === v)),
  );
  if (paired.length === 0) continue;
  const curveOf = (v: Variant, seed: number): number[] =>
    results.find((r) => r.seed === seed && r.variant === v)?.curve ?? [];
  const plainCurve = averageCurve(paired.map((seed) => curveOf('plain', seed)));
  const variantCurve = averageCurve(paired.map((seed) => curveOf(variant, seed)));
  const target = plainCurve.at(-1) ?? 1;
  const needed = neededFor(variantCurve, target);
  const plainNeeded = neededFor(plainCurve, target) ?? plainCurve.length;
  averaged.push(
    `- ${variant} (seeds ${paired.join(', ')}): average best ${(variantCurve.at(-1) ?? 0).toFixed(4)} after ${variantCurve.length} trained against plain's ${target.toFixed(4)} after ${plainCurve.length}; ${needed !== undefined ? `reached plain's average best after ${needed} trained where plain needed ${plainNeeded} (ratio ${(needed / plainNeeded).toFixed(2)})` : 'did not reach it'}.`,
  );
}
const body = [
  `## Pre-screening by proxies or predictor vs plain ${strategy === 'ga' ? 'evolution' : 'random search'} (issue: proxies and predictor)`,
  '',
  `Command: \`node dist/bench/screening/run.js --strategy ${strategy} --population ${population} --generations ${generations} --seeds ${seeds.join(',')}\``,
  '',
  `${strategy === 'ga' ? 'A genetic algorithm' : 'Random search'} over the default genome space on Fashion-MNIST, ${generations} generations, every candidate trained under the reference set's protocol (\`${REFERENCE_PROTOCOL.protocol}\`, ${REFERENCE_PROTOCOL.epochs} epochs, ${REFERENCE_PROTOCOL.subset * (1 - REFERENCE_PROTOCOL.validationFraction)} training / ${REFERENCE_PROTOCOL.subset * REFERENCE_PROTOCOL.validationFraction} validation images). *plain*: population ${population}, all trained. *vote*: population ${3 * population}, screened by the rank vote of synflow, jacob_cov and naswot, best ${population} trained. *predictor*: population ${3 * population}, screened by the LSTM predictor trained on the ${reference.length} reference architectures, best ${population} trained. *operators* (where run): population ${population}, every sample, mutation and crossover tried 3 times and the same predictor's favourite kept, all trained. "needed" is the number of trained candidates a search took to reach the plain search's final best (same seed); the ratio divides it by the number the plain search itself needed. ${strategy === 'ga' ? "The GA's elites are carried over without retraining, so trained counts can fall below population × generations." : ''}`,
  '',
  markdownTable(
    ['seed', 'search', 'trained', 'best val acc', 'needed to reach plain best', 'ratio', 'seconds'],
    rows,
    ['right', 'left', 'right', 'right', 'right', 'right', 'right'],
  ),
  '',
  `Mean ratio of trained candidates needed (where reached): vote ${mean(ratios.vote)}, predictor ${mean(ratios.predictor)}${ratios.operators.length > 0 || results.some((r) => r.variant === 'operators') ? `, operators ${mean(ratios.operators)}` : ''} (plain: 1 by definition).`,
  '',
  'Best-so-far curves averaged over the seeds (each against plain on the same seeds):',
  '',
  ...averaged,
].join('\n');
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: `<!-- screening-${strategy}:start -->`, end: `<!-- screening-${strategy}:end -->` },
  body,
  '# Benchmarks',
);
console.log(body);
