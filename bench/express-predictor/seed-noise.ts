/**
 * How much of an express run's validation accuracy an architecture can explain at all: n of the
 * run's trained networks, drawn at random, are trained again under the run's own plan with other
 * seeds. The correlation of two seeds' accuracies over networks is the reliability of one
 * training; no predictor of the architecture alone can reach an R^2 above it on average (an
 * architecture's best prediction is its expected accuracy, and R^2 against one noisy training is
 * then var(expected) / var(observed), which is what the two-seed correlation estimates).
 * The run's own seed is trained again too, to check the stored accuracies repeat.
 *
 *   node dist/bench/express-predictor/seed-noise.js --store /tmp/express/r2.db --run RUN [--n 200]
 *     [--seeds 1,2] [--threads 2] [--out BENCHMARKS.md]
 */
import { parseArgs } from 'node:util';
import { evaluateCandidate } from '../../src/evaluate/evaluator.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { prepareSearchData } from '../../src/run/evaluators.js';
import { resolveRunPlan } from '../../src/run/plan.js';
import { Random } from '../../src/util/random.js';
import { pearson, rSquared } from '../../src/util/stats.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { trainedNetworks } from './trained-networks.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    run: { type: 'string' },
    n: { type: 'string', default: '200' },
    seeds: { type: 'string', default: '1,2' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
if (!values.store || !values.run) throw new Error('give --store and --run');
const n = Number(values.n);
const threads = Number(values.threads);
const seeds = values.seeds.split(',').map(Number);
if (!Number.isInteger(n) || n < 10) throw new Error(`--n must be an integer of 10 or more`);
if (seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds must be integers`);

const { run, networks: stored } = trainedNetworks(values.store, values.run);
const sample = new Random(7).shuffle([...stored]).slice(0, n);

const plan = resolveRunPlan(loadSearchConfig(undefined, {}, run.config as Record<string, unknown>));
const data = await prepareSearchData(plan, (message) => process.stderr.write(`${message}\n`));
const allSeeds = [plan.seed, ...seeds];
const accuracies = new Map<number, number[]>(allSeeds.map((seed) => [seed, []]));
const started = performance.now();
for (const [index, network] of sample.entries()) {
  for (const seed of allSeeds) {
    const result = await evaluateCandidate(network.architecture, data, {
      ...plan.evaluation,
      seed,
      threads,
    });
    accuracies.get(seed)?.push(result.metrics.accuracy ?? Number.NaN);
  }
  if ((index + 1) % 20 === 0)
    process.stderr.write(
      `${index + 1}/${n} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
    );
}

const storedAccuracy = sample.map((network) => network.accuracy);
const again = accuracies.get(plan.seed) ?? [];
const repeated = again.filter(
  (value, i) => Math.abs(value - (storedAccuracy[i] ?? 0)) < 1e-9,
).length;
const rows: string[][] = [];
for (const seed of seeds) {
  const other = accuracies.get(seed) ?? [];
  rows.push([
    `${plan.seed} (stored) vs ${seed}`,
    (pearson(storedAccuracy, other) ?? Number.NaN).toFixed(3),
    (rSquared(storedAccuracy, other) ?? Number.NaN).toFixed(3),
  ]);
}
if (seeds.length >= 2) {
  const a = accuracies.get(seeds[0] as number) ?? [];
  const b = accuracies.get(seeds[1] as number) ?? [];
  rows.push([
    `${seeds[0]} vs ${seeds[1]}`,
    (pearson(a, b) ?? Number.NaN).toFixed(3),
    (rSquared(a, b) ?? Number.NaN).toFixed(3),
  ]);
}
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};
const perNetworkSd = sample.map((_, i) =>
  sd(allSeeds.map((seed) => accuracies.get(seed)?.[i] ?? 0)),
);
const table = markdownTable(
  ['seeds', 'Pearson r (reliability)', 'R^2 of one seed predicting the other'],
  rows,
  ['left', 'right', 'right'],
);
const body = [
  `Command: \`node dist/bench/express-predictor/seed-noise.js --store ${values.store} --run ${values.run} --n ${n} --seeds ${values.seeds} --threads ${threads}\`.`,
  '',
  `${n} of the run's ${stored.length} trained networks (drawn at random, seed 7), each trained again under the run's plan with seed ${plan.seed} (the run's own) and with seeds ${seeds.join(', ')}; ${((performance.now() - started) / 1000 / 60).toFixed(1)} min. Re-trained with the run's seed, ${repeated} of ${n} repeated their stored accuracy exactly. Accuracy over the sample: sd ${sd(storedAccuracy).toFixed(4)} between networks; within a network, the sd over the ${allSeeds.length} seeds is ${mean(perNetworkSd).toFixed(4)} on average.`,
  '',
  table,
].join('\n');
process.stdout.write(`${body}\n`);
writeSection(
  values.out,
  { start: '<!-- express-seed-noise:start -->', end: '<!-- express-seed-noise:end -->' },
  body,
  '# Benchmarks',
);
