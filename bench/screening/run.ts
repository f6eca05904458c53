/**
 * Does pre-screening save training? The same genetic algorithm on Fashion-MNIST, three ways,
 * each training the same number of candidates:
 * - plain: population P, every candidate trained;
 * - vote: population 3P, each generation screened by the rank vote of synflow, jacob_cov and
 *   naswot, the best P trained;
 * - predictor: population 3P, screened by the LSTM predictor trained on the reference set
 *   (bench/reference-archs), the best P trained.
 * Every candidate is trained under the reference set's protocol. For each seed it reports the best
 * validation accuracy found, and how many trained candidates each screened search needed to reach
 * the plain search's final best.
 *
 *   node dist/bench/screening/run.js [--population 8] [--generations 3] [--seeds 1,2]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AccuracyPredictor } from '../../src/evaluate/predictor.js';
import { loadSearchConfig } from '../../src/search/config.js';
import { runSearch } from '../../src/search/runner.js';
import { RunStore } from '../../src/store/index.js';
import { loadExamples } from '../../src/cli/predictor.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { REFERENCE_PROTOCOL, RESULTS_FILE } from '../reference-archs/build.js';

const { values } = parseArgs({
  options: {
    population: { type: 'string', default: '8' },
    generations: { type: 'string', default: '3' },
    seeds: { type: 'string', default: '1,2' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
    dir: { type: 'string', default: 'runs/bench-screening' },
  },
});
const population = Number(values.population);
const generations = Number(values.generations);
const seeds = (values.seeds ?? '1,2').split(',').map(Number);
const dir = values.dir ?? 'runs/bench-screening';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// The predictor: the LSTM over layers (the best on held-out reference architectures), trained on
// the whole reference set.
const predictorDir = join(dir, 'predictor');
const reference = loadExamples({ table: RESULTS_FILE }, []);
const predictor = await AccuracyPredictor.train(reference, { kind: 'lstm', seed: 0, threads: 2 });
predictor.save(predictorDir);

type Variant = 'plain' | 'vote' | 'predictor';
const VARIANTS: Variant[] = ['plain', 'vote', 'predictor'];

/** Best validation accuracy after each trained candidate, in training order. */
function bestCurve(storePath: string, runId: string): number[] {
  const store = RunStore.open(storePath);
  try {
    const trained = store
      .evaluations(runId)
      .filter((e) => e.metrics.screened_out === undefined && e.reusedFrom === null)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.id - b.id);
    let best = 0;
    return trained.map(
      (e) => (best = Math.max(best, e.status === 'ok' ? (e.metrics.accuracy ?? 0) : 0)),
    );
  } finally {
    store.close();
  }
}

const results: { seed: number; variant: Variant; curve: number[]; seconds: number }[] = [];
for (const seed of seeds) {
  for (const variant of VARIANTS) {
    const store = join(dir, `${variant}-${seed}.db`);
    const config = loadSearchConfig(undefined, {
      store,
      name: `${variant}-${seed}`,
      seed,
      dataset: 'fashion-mnist',
      subset: REFERENCE_PROTOCOL.subset,
      testSubset: REFERENCE_PROTOCOL.testSubset,
      strategy: 'ga',
      population: variant === 'plain' ? population : 3 * population,
      protocol: REFERENCE_PROTOCOL.protocol,
      epochs: REFERENCE_PROTOCOL.epochs,
      generations,
      ...(variant === 'plain' ? {} : { screenKeep: population }),
      ...(variant === 'predictor' ? { screenPredictor: predictorDir } : {}),
    });
    const withSplit = {
      ...config,
      dataset: { ...config.dataset, validationFraction: REFERENCE_PROTOCOL.validationFraction },
    };
    const started = performance.now();
    const { runId } = await runSearch({ config: withSplit });
    const seconds = (performance.now() - started) / 1000;
    const curve = bestCurve(store, runId);
    results.push({ seed, variant, curve, seconds });
    console.log(
      `seed ${seed} ${variant}: ${curve.length} trained, best ${(curve.at(-1) ?? 0).toFixed(4)}, ${seconds.toFixed(0)} s`,
    );
  }
}

const rows: string[][] = [];
const ratios: Record<Variant, number[]> = { plain: [], vote: [], predictor: [] };
for (const seed of seeds) {
  const plain = results.find((r) => r.seed === seed && r.variant === 'plain');
  const target = plain?.curve.at(-1) ?? 1;
  for (const result of results.filter((r) => r.seed === seed)) {
    const reached = result.curve.findIndex((best) => best >= target - 1e-9);
    const needed = reached >= 0 ? reached + 1 : undefined;
    if (needed !== undefined && plain) ratios[result.variant].push(needed / plain.curve.length);
    rows.push([
      String(seed),
      result.variant,
      String(result.curve.length),
      (result.curve.at(-1) ?? 0).toFixed(4),
      needed !== undefined ? String(needed) : `not reached (${result.curve.length})`,
      needed !== undefined && plain ? (needed / plain.curve.length).toFixed(2) : '-',
      result.seconds.toFixed(0),
    ]);
  }
}
const mean = (xs: number[]): string =>
  xs.length === 0 ? 'n/a' : (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);
const body = [
  '## Pre-screening by proxies or predictor vs plain evolution (issue: proxies and predictor)',
  '',
  `Command: \`node dist/bench/screening/run.js --population ${population} --generations ${generations} --seeds ${seeds.join(',')}\``,
  '',
  `A genetic algorithm over the default genome space on Fashion-MNIST, ${generations} generations, every candidate trained under the reference set's protocol (\`${REFERENCE_PROTOCOL.protocol}\`, ${REFERENCE_PROTOCOL.epochs} epochs, ${REFERENCE_PROTOCOL.subset * (1 - REFERENCE_PROTOCOL.validationFraction)} training / ${REFERENCE_PROTOCOL.subset * REFERENCE_PROTOCOL.validationFraction} validation images). *plain*: population ${population}, all trained. *vote*: population ${3 * population}, screened by the rank vote of synflow, jacob_cov and naswot, best ${population} trained. *predictor*: population ${3 * population}, screened by the LSTM predictor trained on the ${reference.length} reference architectures, best ${population} trained. "needed" is the number of trained candidates a search took to reach the plain search's final best (same seed); the ratio divides it by the plain search's trained count. The GA's elites are carried over without retraining, so trained counts can fall below population × generations.`,
  '',
  markdownTable(
    ['seed', 'search', 'trained', 'best val acc', 'needed to reach plain best', 'ratio', 'seconds'],
    rows,
    ['right', 'left', 'right', 'right', 'right', 'right', 'right'],
  ),
  '',
  `Mean ratio of trained candidates needed (where reached): vote ${mean(ratios.vote)}, predictor ${mean(ratios.predictor)} (plain: 1 by definition).`,
].join('\n');
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- screening:start -->', end: '<!-- screening:end -->' },
  body,
  '# Benchmarks',
);
console.log(body);
