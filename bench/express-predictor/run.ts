/**
 * The accuracy predictor's kinds on an express-cifar10 run: each kind trained on n of the run's
 * trained networks drawn at random (each network once) and scored by R^2 on all the others, for
 * 3 draws; the same draws for every kind. It reads a finished run; it trains nothing itself.
 *
 *   bin/nascent search --preset express-cifar10 --store runs/bench-presets/express-r2.db ...
 *   node dist/bench/express-predictor/run.js --store runs/bench-presets/express-r2.db --run RUN
 *     [--at 500,2000] [--kinds lstm,mlp,gbdt,gp,ensemble] [--command "the search command"]
 *     [--out BENCHMARKS.md]
 */
import { parseArgs } from 'node:util';
import { AccuracyPredictor, type PredictorExample } from '../../src/evaluate/predictor.js';
import { FEW_SHOT_KINDS, FewShotPredictor } from '../../src/evaluate/predictor/few-shot.js';
import type { Architecture } from '../../src/space/ir.js';
import { RunStore } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { rSquared } from '../../src/util/stats.js';
import { markdownTable, writeSection } from '../common/markdown.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    run: { type: 'string' },
    at: { type: 'string', default: '500,2000' },
    kinds: { type: 'string', default: 'lstm,mlp,gbdt,gp,ensemble' },
    command: { type: 'string', default: '' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
if (!values.store || !values.run) throw new Error('give --store and --run');

const KINDS = ['lstm', 'mlp', ...FEW_SHOT_KINDS] as const;
type Kind = (typeof KINDS)[number];
const kinds = values.kinds.split(',').map((kind) => {
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new Error(`unknown kind ${kind} (expected ${KINDS.join(', ')})`);
  }
  return kind as Kind;
});

const runs = RunStore.open(values.store);
const examples: PredictorExample[] = runs
  .evaluations(values.run)
  // Each network once: a duplicate answered from the store would sit on both sides of a split.
  .filter((e) => e.status === 'ok' && e.metrics.accuracy !== undefined && e.reusedFrom === null)
  .map((e) => ({
    architecture: runs.getCandidate(e.candidateId).architecture as Architecture,
    accuracy: e.metrics.accuracy as number,
  }));
runs.close();

async function fitAndPredict(
  kind: Kind,
  train: readonly PredictorExample[],
  test: readonly PredictorExample[],
): Promise<number[]> {
  if (kind === 'lstm' || kind === 'mlp') {
    return (await AccuracyPredictor.train(train, { kind, seed: 1 })).predict(test);
  }
  return FewShotPredictor.train(train, { kind, seed: 1 }).predict(test);
}

const sizes = values.at
  .split(',')
  .map(Number)
  .filter((n) => n <= examples.length - 20);
const rows: string[][] = [];
for (const n of sizes) {
  for (const kind of kinds) {
    const r2: number[] = [];
    const started = performance.now();
    for (const seed of [1, 2, 3]) {
      const shuffled = new Random(seed).shuffle([...examples]);
      const train = shuffled.slice(0, n);
      const test = shuffled.slice(n);
      const predicted = await fitAndPredict(kind, train, test);
      r2.push(
        rSquared(
          test.map((e) => e.accuracy),
          predicted,
        ) ?? Number.NaN,
      );
    }
    const mean = r2.reduce((sum, value) => sum + value, 0) / r2.length;
    rows.push([
      String(n),
      String(examples.length - n),
      kind,
      r2.map((value) => value.toFixed(3)).join(' / '),
      mean.toFixed(3),
      ((performance.now() - started) / 3000).toFixed(1),
    ]);
    process.stderr.write(`${n} ${kind}: ${r2.map((v) => v.toFixed(3)).join(' ')}\n`);
  }
}

const table = markdownTable(
  ['trained on', 'scored on', 'kind', 'R^2 (3 draws)', 'mean', 'fit s'],
  rows,
  ['right', 'right', 'left', 'right', 'right', 'right'],
);
const body = [
  `Command: \`node dist/bench/express-predictor/run.js --store ${values.store} --run ${values.run} --at ${values.at} --kinds ${values.kinds}\`${values.command ? `, on the run made by \`${values.command}\`` : ''}.`,
  '',
  `${examples.length} trained networks, each counted once. Each kind is trained on n networks drawn at random (seeds 1, 2, 3; the same draws for every kind) and scored on all the others; \`fit s\` is the mean wall time of one fit and prediction.`,
  '',
  table,
].join('\n');
process.stdout.write(`${body}\n`);
writeSection(
  values.out,
  { start: '<!-- express-predictor:start -->', end: '<!-- express-predictor:end -->' },
  body,
  '# Benchmarks',
);
