/**
 * Kendall tau of the predictors on held-out NAS-Bench-201 cells (src/bench/predictor-benchmark.ts):
 *
 *   node dist/bench/nb201-predictor/run.js [--table ../shared/data/nas-bench-201/nb201-cifar10.csv]
 *     [--kinds gbdt,gp,ensemble] [--sizes 156,500,1563] [--splits 5] [--metric test_accuracy]
 *     [--encodings graf,adjacency] [--test-size N] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type BenchPredictorKind,
  runPredictorBenchmark,
} from '../../src/bench/predictor-benchmark.js';
import type { FeatureEncoding } from '../../src/evaluate/predictor/few-shot.js';
import { loadResultTable } from '../../src/evaluate/table.js';
import { CellSpace } from '../../src/space/cells/index.js';

const { values } = parseArgs({
  options: {
    table: { type: 'string', default: '../shared/data/nas-bench-201/nb201-cifar10.csv' },
    kinds: { type: 'string', default: 'gbdt,gp,ensemble' },
    sizes: { type: 'string', default: '156,500,1563' },
    splits: { type: 'string', default: '5' },
    metric: { type: 'string', default: 'test_accuracy' },
    encodings: { type: 'string' },
    'test-size': { type: 'string' },
    json: { type: 'string' },
  },
});
const space = new CellSpace({ allowDisconnected: true });
const table = loadResultTable(values.table as string, { space });
const started = Date.now();
const { rows, results } = await runPredictorBenchmark({
  table,
  space,
  target: { input: { channels: 3, height: 32, width: 32 }, classes: 10 },
  metric: values.metric as string,
  kinds: (values.kinds as string).split(',') as BenchPredictorKind[],
  trainSizes: (values.sizes as string).split(',').map(Number),
  splits: Number(values.splits),
  ...(values.encodings ? { encodings: values.encodings.split(',') as FeatureEncoding[] } : {}),
  ...(values['test-size'] ? { testSize: Number(values['test-size']) } : {}),
  onResult: (r) =>
    process.stderr.write(
      `${r.kind} n=${r.trainSize} split ${r.split}: tau ${r.kendall.toFixed(4)} rho ${r.spearman.toFixed(4)} (${r.seconds.toFixed(1)} s, ${r.testSize} held out)\n`,
    ),
});
for (const row of rows) {
  process.stdout.write(
    `${row.kind.padEnd(9)} n=${String(row.trainSize).padEnd(5)} tau ${row.kendallMean.toFixed(4)} ± ${row.kendallSd.toFixed(4)} (sd, ${row.splits} splits)  rho ${row.spearmanMean.toFixed(4)}  ${row.secondsMean.toFixed(1)} s/fit\n`,
  );
}
process.stdout.write(`total ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ rows, results }, null, 2)}\n`);
