/**
 * Builds the reference set: genome-string architectures sampled across the default genome space
 * (2 to 64 filters, 0 to 4 normal convolutions, every kernel and activation), each scored by
 * every proxy at initialisation and then trained under one fixed short protocol on Fashion-MNIST.
 *
 *   node dist/bench/reference-archs/build.js [--count 300] [--threads 2] [--shard 0/1]
 *
 * Small networks use two cores poorly: two processes of one thread each (`--threads 1 --shard
 * 0/2` and `--shard 1/2`) build the set faster than one process of two threads.
 *
 * The architecture list (`archs.txt`) is drawn once and then read back, so the set stays the same.
 * Results go to `reference.csv`, one row appended per architecture the moment it is done, in the
 * table format of docs/tabular-benchmarks.md (so `--evaluator table:` reads it too); a run that
 * stops resumes where it left off.
 *
 * The protocol: `course` (AdamW 1e-3, batch 128, Glorot init), 2 epochs, on 6,000 training
 * images; validation accuracy on 2,000 held-out training images; test accuracy on 2,000 test
 * images; training and split seed 1. Proxies: batch of 64 training images (32 for the NTK), seed 1.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareData } from '../../src/evaluate/prepared-data.js';
import { ENGINE_PROXY_NAMES, computeProxies } from '../../src/evaluate/proxies.js';
import { PROTOCOLS } from '../../src/evaluate/protocols.js';
import { trainArchitecture } from '../../src/evaluate/train.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { Random } from '../../src/util/random.js';

export const REFERENCE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'bench',
  'reference-archs',
);
export const ARCHS_FILE = join(REFERENCE_DIR, 'archs.txt');
export const RESULTS_FILE = join(REFERENCE_DIR, 'reference.csv');

export const REFERENCE_PROTOCOL = {
  protocol: 'course',
  epochs: 2,
  subset: 8_000,
  validationFraction: 0.25,
  testSubset: 2_000,
  seed: 1,
} as const;

export const RESULT_COLUMNS = [
  'arch',
  'val_accuracy',
  'test_accuracy',
  'params',
  'flops',
  'train_seconds',
  ...ENGINE_PROXY_NAMES,
  ...ENGINE_PROXY_NAMES.map((name) => `${name}_seconds`),
];

function sampleArchitectures(count: number): string[] {
  const space = new GenomeSpace();
  const random = new Random(2026);
  const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
  const seen = new Set<string>();
  while (seen.size < count) seen.add(space.format(space.sample(random, target)));
  return [...seen];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '300' },
      threads: { type: 'string', default: '2' },
      /** `i/n`: this process builds every n-th architecture from the i-th (run n at once). */
      shard: { type: 'string', default: '0/1' },
    },
  });
  const count = Number(values.count);
  const threads = Number(values.threads);
  const [shard, shards] = (values.shard ?? '0/1').split('/').map(Number) as [number, number];
  if (!existsSync(ARCHS_FILE))
    writeFileSync(ARCHS_FILE, `${sampleArchitectures(count).join('\n')}\n`);
  const archs = readFileSync(ARCHS_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, count);
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, `${RESULT_COLUMNS.join(',')}\n`);
  const done = new Set(
    readFileSync(RESULTS_FILE, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]),
  );
  const todo = archs.filter((arch, index) => !done.has(arch) && index % shards === shard);
  console.log(
    `${archs.length} architectures, ${archs.filter((arch) => done.has(arch)).length} done, ${todo.length} to go in shard ${shard}/${shards}`,
  );

  const protocol = PROTOCOLS[REFERENCE_PROTOCOL.protocol];
  const data = await prepareData('fashion-mnist', {
    subset: REFERENCE_PROTOCOL.subset,
    testSubset: REFERENCE_PROTOCOL.testSubset,
    validationFraction: REFERENCE_PROTOCOL.validationFraction,
    splitSeed: REFERENCE_PROTOCOL.seed,
    standardise: protocol.standardise,
  });
  const space = new GenomeSpace();
  const started = Date.now();
  for (const [index, arch] of todo.entries()) {
    const architecture = space.compile(space.parse(arch), { input: data.input, classes: 10 });
    const proxies = await computeProxies(architecture, data.train, {
      names: ENGINE_PROXY_NAMES,
      init: protocol.init,
      seed: REFERENCE_PROTOCOL.seed,
      threads,
    });
    const { report } = await trainArchitecture(architecture, data, {
      protocol,
      budget: { epochs: REFERENCE_PROTOCOL.epochs },
      seed: REFERENCE_PROTOCOL.seed,
      threads,
    });
    const cell = (value: number | null | undefined): string =>
      value === null || value === undefined || !Number.isFinite(value) ? '' : String(value);
    const row = [
      arch,
      cell(report.valAccuracy),
      cell(report.testAccuracy),
      String(report.params),
      String(report.flops),
      report.trainSeconds.toFixed(3),
      ...ENGINE_PROXY_NAMES.map((name) => cell(proxies[name]?.value)),
      ...ENGINE_PROXY_NAMES.map((name) => (proxies[name]?.seconds ?? 0).toFixed(4)),
    ];
    appendFileSync(RESULTS_FILE, `${row.join(',')}\n`);
    const failures = ENGINE_PROXY_NAMES.filter((name) => proxies[name]?.failure).join(' ');
    console.log(
      `${index + 1}/${todo.length} ${arch} val ${(report.valAccuracy ?? 0).toFixed(4)} ${report.params} params ${report.trainSeconds.toFixed(1)} s${failures ? ` (failed: ${failures})` : ''} [${Math.round((Date.now() - started) / 1000)} s]`,
    );
  }
  data.release();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
