/**
 * Shared pieces of the queue tests: a fake dataset, private Redis servers and in-process workers
 * stopped after each test, search configurations and hand-made requests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServer, startRedisServer } from '../../bench/queue/redis-server.js';
import { type QueueWorker, startQueueWorker } from '../../src/distributed/worker.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import type { EvaluationRequest } from '../../src/evaluate/evaluator.js';
import { type SearchConfig, loadSearchConfig } from '../../src/run/config.js';
import type { Architecture } from '../../src/space/ir.js';
import type { RunStore } from '../../src/store/index.js';
import { conv, fakeFashionMnist } from '../helpers.js';

export const dataDir = fakeFashionMnist(600, 100);

/** Steps that undo what a test started, run (last first) by {@link runCleanup}. */
export const cleanup: (() => Promise<unknown>)[] = [];

export async function runCleanup(): Promise<void> {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
}

/** A private Redis, stopped after the test. */
export async function redisServer(port?: number): Promise<RedisServer> {
  const server = await startRedisServer(port === undefined ? {} : { port });
  cleanup.push(() => server.stop());
  return server;
}

/** A worker in this process (for the tests that do not kill workers), stopped after the test. */
export async function worker(
  url: string,
  options: { dataDir?: string } = {},
): Promise<QueueWorker> {
  const started = await startQueueWorker({
    url,
    device: 'cpu',
    concurrency: 1,
    threads: 1,
    stallSeconds: 3,
    ...options,
  });
  cleanup.push(() => started.close(true));
  return started;
}

/** A one-generation random search on the fake dataset, evaluated through the queue at `url`. */
export function config(url: string, overrides: Record<string, unknown> = {}): SearchConfig {
  return loadSearchConfig(undefined, {
    store: join(mkdtempSync(join(tmpdir(), 'nascent-queue-')), 'runs.db'),
    dataDir,
    subset: 600,
    testSubset: 100,
    strategy: 'random',
    population: 2,
    epochs: 1,
    generations: 1,
    protocol: 'standard',
    queue: url,
    ...overrides,
  });
}

/** Evaluations per candidate of a run. */
export function evaluationCounts(store: RunStore, runId: string): number[] {
  const counts = new Map(store.candidates(runId).map((c) => [c.id, 0]));
  for (const e of store.evaluations(runId))
    counts.set(e.candidateId, (counts.get(e.candidateId) ?? 0) + 1);
  return [...counts.values()];
}

export function request(
  candidateId: string,
  architecture: Architecture,
  epochs = 1,
): EvaluationRequest {
  return {
    candidateId,
    genome: 'handmade',
    space: 'ir',
    architecture,
    settings: { protocol: getProtocol('standard'), epochs, seed: 0, device: 'cpu' },
    parentWeights: [],
    keepWeights: false,
  };
}

/** A 29x29 kernel without padding does not fit a 28x28 image: the engine refuses the network. */
export const tooWide: Architecture = {
  format: 'nascent-ir/1',
  input: { channels: 1, height: 28, width: 28 },
  nodes: [
    { id: 'x', op: 'input', inputs: [] },
    conv('wide', 'x', 4, 29, { padding: 'valid' }),
    { id: 'pool', op: 'global_avg_pool', inputs: ['wide'] },
    { id: 'out', op: 'dense', inputs: ['pool'], units: 10, bias: true },
  ],
  output: 'out',
} as Architecture;

/** A small network that fits the images. */
export const small: Architecture = {
  format: 'nascent-ir/1',
  input: { channels: 1, height: 28, width: 28 },
  nodes: [
    { id: 'x', op: 'input', inputs: [] },
    conv('c1', 'x', 8, 3),
    { id: 'pool', op: 'global_avg_pool', inputs: ['c1'] },
    { id: 'out', op: 'dense', inputs: ['pool'], units: 10, bias: true },
  ],
  output: 'out',
} as Architecture;
