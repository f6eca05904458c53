/**
 * Scale-out through the queue on this machine: candidates per hour of the same search evaluated
 * by the local pool (sizes 1 and 2) and by 1 and 2 `nascent worker` processes over a private
 * Redis, and the queue's overhead per job (jobs whose training is one batch, timed against the
 * same jobs trained locally, the dataset already loaded on both sides).
 *
 *   node dist/bench/queue/run.js [--evaluations 16] [--subset 10000] [--epochs 2] [--jobs 24]
 *     [--test-subset 200] [--data-dir DIR] [--out BENCHMARKS.md]
 *
 * Needs Debian's redis-server and the built CLI (`npm run build:ts`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { QueueEvaluator } from '../../src/distributed/queue-evaluator.js';
import type { CandidateEvaluator } from '../../src/evaluate/evaluator.js';
import { type SearchConfig, loadSearchConfig } from '../../src/run/config.js';
import { createEvaluator, queueDataset } from '../../src/run/evaluators.js';
import { resolveRunPlan } from '../../src/run/plan.js';
import { runSearch } from '../../src/run/runner.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const { values } = parseArgs({
  options: {
    evaluations: { type: 'string', default: '16' },
    subset: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '24' },
    /** Test images of the overhead jobs. */
    'test-subset': { type: 'string', default: '200' },
    'data-dir': { type: 'string' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
const evaluations = Number(values.evaluations);
const jobs = Number(values.jobs);
const cores = machineInfo().cpus;
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** A fresh store for each measured search, so that nothing is reused between them. */
function searchConfig(overrides: Record<string, unknown>): SearchConfig {
  return loadSearchConfig(undefined, {
    store: join(mkdtempSync(join(tmpdir(), 'nascent-queue-bench-')), 'runs.db'),
    strategy: 'random',
    generations: 1,
    seed: 3,
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    ...overrides,
  });
}

interface WorkerProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `nascent worker` and waits until it takes jobs. */
async function startWorker(url: string, threads: number): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [cli, 'worker', '--queue', url, '--threads', String(threads)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = (chunk?: Buffer): void => {
      if (chunk) output += chunk.toString();
      if (output.includes('ready on')) resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void closed.then(() =>
      reject(new Error(`nascent worker ended before it was ready:\n${output}`)),
    );
  });
  return {
    child,
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

/** Wall seconds of one search with `evaluator` (or the configured one, data loading included). */
async function timedSearch(config: SearchConfig, evaluator?: CandidateEvaluator): Promise<number> {
  const started = performance.now();
  await runSearch({ config, ...(evaluator ? { evaluator } : {}) });
  const seconds = (performance.now() - started) / 1000;
  rmSync(join(config.store, '..'), { recursive: true, force: true });
  return seconds;
}

const throughputRows: string[][] = [];
const rates = new Map<string, number>();
const record = (label: string, threads: string, seconds: number): void => {
  const perHour = (evaluations / seconds) * 3600;
  rates.set(label, perHour);
  throughputRows.push([
    label,
    threads,
    String(evaluations),
    `${seconds.toFixed(1)} s`,
    perHour.toFixed(0),
  ]);
  log(
    `${label}: ${evaluations} candidates in ${seconds.toFixed(1)} s (${perHour.toFixed(0)}/hour)`,
  );
};
const workload = {
  population: evaluations,
  subset: Number(values.subset),
  epochs: Number(values.epochs),
};

/** The overhead workload: jobs whose training is one batch. */
const tiny = {
  population: jobs,
  subset: Math.min(1000, workload.subset),
  testSubset: Number(values['test-subset']),
  epochs: 1,
  maxSteps: 1,
};

let redis: RedisServer | undefined;
const overheadRows: string[][] = [];
let overheadPerJob = Number.NaN;
try {
  for (const pool of [1, 2]) {
    const seconds = await timedSearch(searchConfig({ ...workload, pool }));
    record(`local pool ${pool}`, String(Math.max(1, Math.floor(cores / pool))), seconds);
  }
  for (const count of [1, 2]) {
    // A fresh server and fresh workers: each configuration loads its data inside the timing.
    redis = await startRedisServer();
    const threads = Math.max(1, Math.floor(cores / count));
    const url = redis.url;
    const workers = await Promise.all(
      Array.from({ length: count }, () => startWorker(url, threads)),
    );
    try {
      const seconds = await timedSearch(searchConfig({ ...workload, queue: url }));
      record(`queue, ${count} worker process${count === 1 ? '' : 'es'}`, String(threads), seconds);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await redis.stop();
      redis = undefined;
    }
  }

  // Overhead: one-batch jobs, the data already resident and a first search done on both sides.
  const localConfig = searchConfig(tiny);
  const local = await createEvaluator(resolveRunPlan(localConfig), log);
  let localSeconds: number;
  try {
    await timedSearch(searchConfig({ ...tiny, population: 2 }), local); // warm, as the worker is
    localSeconds = await timedSearch(localConfig, local);
  } finally {
    await local.close();
  }
  redis = await startRedisServer();
  const url = redis.url;
  const worker = await startWorker(url, cores);
  try {
    const warmup = searchConfig({ ...tiny, population: 2, queue: url });
    await timedSearch(warmup); // the worker loads the dataset
    const timings: [string, number][] = [];
    for (const inFlight of [1, jobs]) {
      const config = searchConfig({ ...tiny, queue: url });
      const queued = await QueueEvaluator.connect({
        url,
        dataset: await queueDataset(config),
        inFlight,
        log,
      });
      try {
        timings.push([
          inFlight === 1 ? 'one job in flight (round trip)' : `${inFlight} jobs in flight`,
          await timedSearch(config, queued),
        ]);
      } finally {
        await queued.close();
      }
    }
    overheadRows.push([
      'local pool 1',
      `${localSeconds.toFixed(2)} s`,
      `${((localSeconds / jobs) * 1000).toFixed(1)} ms`,
      '-',
    ]);
    for (const [label, seconds] of timings) {
      const perJob = ((seconds - localSeconds) / jobs) * 1000;
      if (label.startsWith('one')) overheadPerJob = perJob;
      overheadRows.push([
        `queue, ${label}`,
        `${seconds.toFixed(2)} s`,
        `${((seconds / jobs) * 1000).toFixed(1)} ms`,
        `${perJob.toFixed(1)} ms`,
      ]);
      log(
        `queue, ${label}: ${seconds.toFixed(2)} s for ${jobs} jobs (${perJob.toFixed(1)} ms/job over local)`,
      );
    }
  } finally {
    await worker.stop();
  }
} finally {
  await redis?.stop();
}

const machine = machineInfo();
const ratio = (a: string, b: string): string =>
  ((rates.get(a) ?? 0) / (rates.get(b) ?? 1)).toFixed(2);
writeSection(
  values.out ?? 'BENCHMARKS.md',
  { start: '<!-- queue:start -->', end: '<!-- queue:end -->' },
  [
    '## Queue workers: candidates per hour and overhead per job (issue: scale-out)',
    '',
    `Command: \`node dist/bench/queue/run.js --evaluations ${evaluations} --subset ${values.subset} --epochs ${values.epochs} --jobs ${jobs}\``,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}; Redis (Debian's redis-server) on loopback; the worker processes on the same machine as the coordinator. Random search, seed 3 (the same ${evaluations} candidates everywhere), \`course\` protocol, ${values.epochs} epochs on ${values.subset} Fashion-MNIST training images (10% held out), data loading included (each worker process loads its own copy). The queue keeps the whole generation in flight; each worker trains one job at a time with the cores split between the worker processes.`,
    '',
    markdownTable(
      ['evaluated by', 'threads per candidate', 'candidates', 'wall time', 'candidates/hour'],
      throughputRows,
      ['left', 'right', 'right', 'right', 'right'],
    ),
    '',
    `Queue with 2 workers / local pool 2: ${ratio('queue, 2 worker processes', 'local pool 2')}×; queue with 1 worker / local pool 1: ${ratio('queue, 1 worker process', 'local pool 1')}×; 2 workers / 1 worker: ${ratio('queue, 2 worker processes', 'queue, 1 worker process')}×.`,
    '',
    `Overhead per job: ${jobs} jobs whose training is a single batch (${tiny.subset} images, ${tiny.testSubset} test images), the dataset already loaded by the local evaluator and by the one worker (${cores} threads).`,
    '',
    markdownTable(['evaluated by', 'wall time', 'per job', 'over local, per job'], overheadRows, [
      'left',
      'right',
      'right',
      'right',
    ]),
    '',
    `Queue overhead per job (one in flight: enqueue, pick-up, result event, store): ${overheadPerJob.toFixed(1)} ms. With the generation in flight, the worker takes the next job while the coordinator records the last result, so that bookkeeping overlaps training (in a separate process, on the other core) rather than adding to it.`,
  ].join('\n'),
  '# Benchmarks',
);
