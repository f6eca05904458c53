/**
 * Reproduces the course evaluator on full Fashion-MNIST: each genome trained under the `course`
 * protocol with several seeds, test accuracy and time recorded in BENCHMARKS.md.
 *
 *   node dist/bench/course-accuracy/run.js [--seeds 1,2,3] [--threads 2] [--out BENCHMARKS.md]
 */
import { parseArgs } from 'node:util';
import { engineInfo } from '../../src/engine/engine.js';
import { prepareData } from '../../src/evaluate/prepared-data.js';
import { PROTOCOLS } from '../../src/evaluate/protocols.js';
import { trainArchitecture } from '../../src/evaluate/train.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';

const GENOMES = [
  {
    genome: 'NC 32 3 relu;RC 32 3 relu;NC 64 3 relu;RC 64 3 relu;FL gelu;',
    reference:
      'independent PyTorch replica of the course evaluator: 0.857, 0.853, 0.856 (about 125 s each on two threads)',
  },
  {
    genome: 'NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;',
    reference:
      'original Keras evaluator: 0.8995 (one run); PyTorch replica: 0.76, 0.72, 0.62, 0.74 over four seeds',
  },
];

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
const seeds = (values.seeds ?? '1,2,3').split(',').map(Number);
const threads = Number(values.threads);
const protocol = PROTOCOLS.course;
const data = await prepareData('fashion-mnist', {
  validationFraction: protocol.validationFraction,
  standardise: protocol.standardise,
});

const sections: string[] = [];
for (const { genome, reference, ...rest } of GENOMES) {
  const note = 'note' in rest ? ` ${rest.note}` : '';
  const architecture = genomeToArchitecture(genome, {
    input: data.input,
    classes: data.classes.length,
  });
  const rows: string[][] = [];
  const accuracies: number[] = [];
  for (const seed of seeds) {
    const started = Date.now();
    const { report } = await trainArchitecture(architecture, data, { protocol, seed, threads });
    const wall = (Date.now() - started) / 1000;
    accuracies.push(report.testAccuracy);
    rows.push([
      String(seed),
      report.testAccuracy.toFixed(4),
      (report.valAccuracy ?? 0).toFixed(4),
      `${report.bestEpoch} of ${report.epochs.length}`,
      report.status,
      `${report.trainSeconds.toFixed(0)} s`,
      `${wall.toFixed(0)} s`,
    ]);
    process.stdout.write(
      `${genome} seed ${seed}: test ${report.testAccuracy.toFixed(4)} in ${wall.toFixed(0)} s\n`,
    );
  }
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  sections.push(
    [
      `### \`${genome}\` (${analyzeArchitecture(architecture).params.toLocaleString('en-US')} parameters)`,
      '',
      markdownTable(
        [
          'seed',
          'test acc',
          'val acc (best epoch)',
          'best epoch',
          'status',
          'train time',
          'wall time',
        ],
        rows,
        ['right', 'right', 'right', 'left', 'left', 'right', 'right'],
      ),
      '',
      `Mean test accuracy ${mean.toFixed(4)}; min ${Math.min(...accuracies).toFixed(4)}, max ${Math.max(...accuracies).toFixed(4)}. Reference: ${reference}.${note}`,
    ].join('\n'),
  );
}
data.release();

const machine = machineInfo();
const body = [
  '## Course protocol on full Fashion-MNIST (issue: foundation)',
  '',
  `Command: \`npm run build && node dist/bench/course-accuracy/run.js --seeds ${seeds.join(',')} --threads ${threads}\``,
  '',
  `Machine: ${machine.cpus} × ${machine.cpuModel}, libtorch ${engineInfo().torchVersion}, ${threads} threads. ` +
    'Protocol `course`: 54,000 training images (10% of the training set held out for validation by a fixed seed), ' +
    "test accuracy on the 10,000 test images with the best epoch's weights (lowest validation loss).",
  '',
  sections.join('\n\n'),
].join('\n');
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- course-accuracy:start -->', end: '<!-- course-accuracy:end -->' },
  body,
  '# Benchmarks\n\nEvery figure here was produced by the command shown beside it.',
);
