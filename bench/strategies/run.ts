/**
 * How long `nascent bench strategies` takes for the workload (100 trials x 150 queries x
 * random, re, ga, nsga2, predictor over the NAS-Bench-201 cell space), repeated, and what each
 * strategy reaches. The public NAS-Bench-201 file is not on this machine, so the table is the
 * seeded SYNTHETIC one of src/bench/synthetic-table.ts over all 15,625 arch strings: the timings
 * hold, the accuracies say nothing about NAS-Bench-201 (docs/tabular-benchmarks.md says how to run
 * it on the real data).
 *
 *   node dist/bench/strategies/run.js [--repetitions 3] [--trials 100] [--queries 150]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rowsCsv, syntheticRows } from '../../src/bench/synthetic-table.js';
import { DEFAULT_BENCH_STRATEGIES, benchStrategiesCommand } from '../../src/cli/bench.js';
import { allCellStrings } from '../../src/space/cells/index.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';

const { values } = parseArgs({
  options: {
    repetitions: { type: 'string', default: '3' },
    trials: { type: 'string', default: '100' },
    queries: { type: 'string', default: '150' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'nascent-bench-strategies-'));
const tablePath = join(dir, 'nb201-synthetic.csv');
writeFileSync(tablePath, rowsCsv(syntheticRows(allCellStrings(), 201)));

interface Curve {
  strategy: string;
  finalBestValidation: number;
  finalTestAtBest: number;
  finalTestAtBestSe: number;
  finalRegret: number;
  stalledTrials: number;
}
const walls: number[] = [];
let summary: { curves: Curve[]; optimum: { testAccuracy: number } } | undefined;
for (let r = 0; r < Number(values.repetitions); r += 1) {
  const out = join(dir, `run-${r}`);
  const started = process.hrtime.bigint();
  benchStrategiesCommand({
    evaluator: `table:${tablePath}`,
    space: 'cells',
    trials: Number(values.trials),
    queries: Number(values.queries),
    strategies: DEFAULT_BENCH_STRATEGIES,
    out,
    progress: false,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  walls.push(seconds);
  process.stdout.write(`repetition ${r + 1}: ${seconds.toFixed(1)} s\n`);
  summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as typeof summary;
}
rmSync(dir, { recursive: true, force: true });
const sorted = [...walls].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] as number;
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const machine = machineInfo();
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- bench-strategies:start -->', end: '<!-- bench-strategies:end -->' },
  [
    '## Strategy benchmark on a tabular evaluator (issue: benchmark the strategies)',
    '',
    `Command: \`node dist/bench/strategies/run.js --repetitions ${values.repetitions} --trials ${values.trials} --queries ${values.queries}\` (each repetition runs \`nascent bench strategies --evaluator table:FILE --space cells --trials ${values.trials} --queries ${values.queries} --strategies ${DEFAULT_BENCH_STRATEGIES}\`, writing the CSV, the SVG plots and the report page).`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}. Wall time of the whole command, ${walls.length} repetitions: median **${median.toFixed(1)} s** (min ${(sorted[0] as number).toFixed(1)} s, max ${(sorted.at(-1) as number).toFixed(1)} s); the issue's limit is 10 minutes.`,
    '',
    'The table is **synthetic** (a seeded random model over the arch-string tokens, all 15,625 cells), because the public NAS-Bench-201 file is not on this machine: the numbers below check the machinery, not the published anchors (regularized evolution about 93.9%, random about 93.7%, optimum 94.37% on CIFAR-10). docs/tabular-benchmarks.md converts the real file.',
    '',
    markdownTable(
      [
        'strategy',
        'best val acc after 150',
        'its test acc (mean ± s.e.)',
        'regret',
        'stalled trials',
      ],
      (summary?.curves ?? []).map((c) => [
        c.strategy,
        pct(c.finalBestValidation),
        `${pct(c.finalTestAtBest)} ± ${(100 * c.finalTestAtBestSe).toFixed(2)}`,
        pct(c.finalRegret),
        String(c.stalledTrials),
      ]),
      ['left', 'right', 'right', 'right', 'right'],
    ),
    '',
    `Optimum test accuracy in the table: ${pct(summary?.optimum.testAccuracy ?? 0)}.`,
  ].join('\n'),
  '# Benchmarks',
);
