/**
 * The accuracy weight inheritance buys at a fixed short budget, as a paired comparison: parents
 * sampled from the genome space are trained; each gets mutated children; every child is trained
 * twice under the same budget and seed, once from scratch and once starting from its parent's
 * trained layers (matched by layer identity), and the validation accuracies are compared.
 *
 *   node dist/bench/weight-inheritance/run.js [--parents 8] [--children 3] [--epochs 1] [--subset 20000]
 */
import { parseArgs } from 'node:util';
import { prepareData } from '../../src/evaluate/prepared-data.js';
import { PROTOCOLS } from '../../src/evaluate/protocols.js';
import { type EvaluationSettings, evaluateCandidate } from '../../src/evaluate/evaluator.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { Random } from '../../src/util/random.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';

const { values } = parseArgs({
  options: {
    parents: { type: 'string', default: '8' },
    children: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '1' },
    subset: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
const parents = Number(values.parents);
const childrenPerParent = Number(values.children);
const epochs = Number(values.epochs);
const subset = Number(values.subset);
const seed = Number(values.seed);
const protocol = PROTOCOLS.course;

const data = await prepareData('fashion-mnist', {
  subset,
  validationFraction: protocol.validationFraction,
  standardise: protocol.standardise,
});
const target = { input: data.input, classes: data.classes.length };
const space = new GenomeSpace({ filters: [8, 16, 24, 32], maxNormal: 3 });
const random = new Random(seed);
const settings: EvaluationSettings = { protocol, epochs, seed, threads: 2, device: 'cpu' };

const pairs: { scratch: number; inherited: number; tensors: number }[] = [];
for (let p = 0; p < parents; p += 1) {
  const parent = space.sample(random, target);
  const trained = await evaluateCandidate(space.compile(parent, target), data, settings, {
    keepWeights: true,
  });
  if (trained.status !== 'ok' || !trained.weights) continue;
  for (let c = 0; c < childrenPerParent; c += 1) {
    const child = space.compile(space.mutate(parent, random, target), target);
    const scratch = await evaluateCandidate(child, data, settings);
    const inherited = await evaluateCandidate(child, data, settings, {
      parentWeights: [trained.weights],
    });
    if (scratch.status !== 'ok' || inherited.status !== 'ok') continue;
    pairs.push({
      scratch: scratch.metrics.accuracy ?? 0,
      inherited: inherited.metrics.accuracy ?? 0,
      tensors: inherited.metrics.inherited_tensors ?? 0,
    });
    process.stdout.write(
      `parent ${p + 1} child ${c + 1}: scratch ${scratch.metrics.accuracy?.toFixed(4)}, inherited ${inherited.metrics.accuracy?.toFixed(4)} (${inherited.metrics.inherited_tensors} tensors)\n`,
    );
  }
}
data.release();

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const gains = pairs.map((p) => p.inherited - p.scratch);
const meanGain = mean(gains);
const sd = Math.sqrt(
  gains.reduce((a, g) => a + (g - meanGain) ** 2, 0) / Math.max(1, gains.length - 1),
);
const standardError = sd / Math.sqrt(gains.length);
const machine = machineInfo();
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- weight-inheritance:start -->', end: '<!-- weight-inheritance:end -->' },
  [
    '## Weight inheritance at a fixed short budget (issue: search)',
    '',
    `Command: \`node dist/bench/weight-inheritance/run.js --parents ${parents} --children ${childrenPerParent} --epochs ${epochs} --subset ${subset} --seed ${seed}\``,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}. ${parents} parents sampled from the genome space (filters 8–32, up to 3 NC), each trained ${epochs} epoch(s) under \`course\` on ${subset} Fashion-MNIST training images (10% held out); ${childrenPerParent} mutants of each, every mutant trained ${epochs} epoch(s) twice with the same seed: from scratch, and starting from its parent's trained tensors wherever name (layer identity) and shape match.`,
    '',
    markdownTable(
      [
        'pairs',
        'mean val acc, scratch',
        'mean val acc, inherited',
        'mean gain',
        'std. error',
        'children better with inheritance',
        'mean tensors inherited',
      ],
      [
        [
          String(pairs.length),
          mean(pairs.map((p) => p.scratch)).toFixed(4),
          mean(pairs.map((p) => p.inherited)).toFixed(4),
          `${meanGain >= 0 ? '+' : ''}${(100 * meanGain).toFixed(2)} points`,
          `${(100 * standardError).toFixed(2)} points`,
          `${gains.filter((g) => g > 0).length} of ${gains.length}`,
          mean(pairs.map((p) => p.tensors)).toFixed(1),
        ],
      ],
      ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ].join('\n'),
  '# Benchmarks',
);
process.stdout.write(
  `mean gain ${(100 * meanGain).toFixed(2)} ± ${(100 * standardError).toFixed(2)} points over ${pairs.length} pairs\n`,
);
