/**
 * Candidates per hour of a local search with pool sizes 1 and 2 on this machine: the same
 * search (random strategy, fixed seed, so the same candidates) run with each pool size, the cores
 * split between the candidates trained at once.
 *
 *   node dist/bench/search-pool/run.js [--evaluations 16] [--subset 10000] [--epochs 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';

const { values } = parseArgs({
  options: {
    evaluations: { type: 'string', default: '16' },
    subset: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '2' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
const evaluations = Number(values.evaluations);
const rows: string[][] = [];
const rates: number[] = [];
for (const pool of [1, 2]) {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-pool-'));
  const config = loadSearchConfig(undefined, {
    store: join(dir, 'runs.db'),
    strategy: 'random',
    population: evaluations,
    subset: Number(values.subset),
    epochs: Number(values.epochs),
    generations: 1,
    pool,
    seed: 3,
  });
  const started = Date.now();
  await runSearch({ config });
  const seconds = (Date.now() - started) / 1000;
  const perHour = (evaluations / seconds) * 3600;
  rates.push(perHour);
  rows.push([
    String(pool),
    String(2 / pool),
    String(evaluations),
    `${seconds.toFixed(1)} s`,
    perHour.toFixed(0),
  ]);
  process.stdout.write(
    `pool ${pool}: ${evaluations} candidates in ${seconds.toFixed(1)} s (${perHour.toFixed(0)}/hour)\n`,
  );
  rmSync(dir, { recursive: true, force: true });
}
const machine = machineInfo();
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- search-pool:start -->', end: '<!-- search-pool:end -->' },
  [
    '## Local pool: candidates per hour (issue: search)',
    '',
    `Command: \`node dist/bench/search-pool/run.js --evaluations ${evaluations} --subset ${values.subset} --epochs ${values.epochs}\``,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}. Random search, seed 3 (the same ${evaluations} candidates for both pool sizes), \`course\` protocol, ${values.epochs} epochs on ${values.subset} Fashion-MNIST training images (10% held out), data loading included.`,
    '',
    markdownTable(
      ['pool size', 'threads per candidate', 'candidates', 'wall time', 'candidates/hour'],
      rows,
      ['right', 'right', 'right', 'right', 'right'],
    ),
    '',
    `Pool 2 / pool 1: ${((rates[1] ?? 0) / (rates[0] ?? 1)).toFixed(2)}×.`,
  ].join('\n'),
  '# Benchmarks',
);
