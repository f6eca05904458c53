/**
 * Faults around the queue: trainings that fail, jobs that keep throwing, Redis unreachable at the
 * start and during a run, a coordinator killed with jobs in flight. Each test has its own private
 * Redis. Needs Debian's redis-server and the built CLI (`npm run build:ts`).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/queue/redis-server.js';
import { DEFAULT_QUEUE_NAME, jobFromRequest, jobId } from '../../src/distributed/job.js';
import { QueueEvaluator } from '../../src/distributed/queue-evaluator.js';
import { queueDataset } from '../../src/run/evaluators.js';
import { startQueueWorker } from '../../src/distributed/worker.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { datasetContentIdentity } from '../../src/data/identity.js';
import { fakeFashionMnist } from '../helpers.js';
import {
  cleanup,
  config,
  dataDir,
  evaluationCounts,
  redisServer,
  request,
  runCleanup,
  small,
  tooWide,
  worker,
} from './fixtures.js';
import { startNascent, startWorkerProcess, startedCandidates } from './processes.js';

afterEach(runCleanup);

async function job(url: string, id: string) {
  const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: { url } });
  try {
    const found = await queue.getJob(id);
    return { state: await queue.getJobState(id), job: found };
  } finally {
    await queue.close();
  }
}

/** A private Redis, one in-process worker, and an evaluator sending it one job at a time. */
async function evaluatorWithWorker() {
  const redis = await redisServer();
  await worker(redis.url);
  const dataset = await queueDataset(config(redis.url));
  const evaluator = await QueueEvaluator.connect({ url: redis.url, dataset, inFlight: 1 });
  cleanup.push(() => evaluator.close());
  return { redis, dataset, evaluator };
}

describe('queue faults', () => {
  it('returns a training that fails as a failed result, tried once', async () => {
    const { redis, dataset, evaluator } = await evaluatorWithWorker();
    const bad = request('bad-c1', tooWide);
    const result = await evaluator.evaluate(bad);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/wide/);
    const { state, job: stored } = await job(redis.url, jobId(jobFromRequest(bad, dataset)));
    expect(state).toBe('completed');
    expect(stored?.attemptsStarted).toBe(1);
  });

  it('sends the augmentation with the job: the worker trains with it, under another job id', async () => {
    const { dataset, evaluator } = await evaluatorWithWorker();
    const plain = request('aug-c1', small);
    const augmented = {
      ...plain,
      settings: { ...plain.settings, augment: { cropPadding: 2, flip: true } },
    };
    const plainJob = jobFromRequest(plain, dataset);
    const augmentedJob = jobFromRequest(augmented, dataset);
    expect(plainJob.augment).toBeNull();
    expect(augmentedJob.augment).toEqual({ cropPadding: 2, flip: true });
    expect(jobId(augmentedJob)).not.toBe(jobId(plainJob));
    const [plainResult, augmentedResult] = [
      await evaluator.evaluate(plain),
      await evaluator.evaluate(augmented),
    ];
    expect(plainResult.status).toBe('ok');
    expect(augmentedResult.status).toBe('ok');
    expect(augmentedResult.metrics.val_loss).not.toBe(plainResult.metrics.val_loss);
  });

  it("refuses a job whose dataset differs from the worker's files, naming both checksums", async () => {
    const redis = await redisServer();
    // Same dataset name, other images: 700 training images instead of the search's 600 (enough
    // for its subset of 600, so without the check the worker would train the job).
    const otherData = fakeFashionMnist(700, 100);
    await worker(redis.url, { dataDir: otherData });
    const dataset = await queueDataset(config(redis.url));
    const evaluator = await QueueEvaluator.connect({ url: redis.url, dataset, inFlight: 1 });
    cleanup.push(() => evaluator.close());
    const workers = await datasetContentIdentity('fashion-mnist', { dataDir: otherData });
    expect(workers).not.toBe(dataset.content);
    const result = await evaluator.evaluate(request('other-data-c1', small));
    expect(result.status).toBe('failed');
    expect(result.fidelity).toBe(0);
    expect(result.error).toContain(
      `refuses the job: dataset fashion-mnist: this worker's files (${otherData}) have checksum ${workers}, the search's have ${dataset.content}`,
    );
  });

  it('records a job that keeps throwing as failed after 3 attempts', async () => {
    const redis = await redisServer();
    await worker(redis.url, { dataDir: join(tmpdir(), 'nascent-no-such-data') });
    const settings = config(redis.url);
    const { runId, reason } = await runSearch({ config: settings });
    expect(reason).toBe('1 generation done');
    const store = RunStore.open(settings.store);
    try {
      expect(evaluationCounts(store, runId)).toEqual([1, 1]);
      for (const evaluation of store.evaluations(runId)) {
        expect(evaluation.status).toBe('failed');
        expect(evaluation.error).toMatch(
          /^the job failed after 3 attempts \(last on worker \S+\): worker \S+ cannot load fashion-mnist: /,
        );
      }
    } finally {
      store.close();
    }
  });

  it('stops with a clear error when Redis is unreachable, and resumes once it answers', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const settings = config(url, { name: 'unreachable' });
    const advice = new RegExp(
      `^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: connection refused; start redis-server there or fix --queue`,
    );
    const error = await runSearch({ config: settings }).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error?.message).toMatch(advice);
    expect(error?.message).toMatch(
      /; the run can be resumed with `nascent search --resume run-\d{8}-[0-9a-f]{6}`$/,
    );
    await expect(startQueueWorker({ url, device: 'cpu', concurrency: 1 })).rejects.toThrow(advice);
    const store = RunStore.open(settings.store);
    try {
      const run = store.getRun('unreachable');
      expect(run.status).toBe('failed');
      expect(store.evaluationCount(run.id)).toBe(0);
    } finally {
      store.close();
    }

    await redisServer(port);
    await worker(url);
    const { runId } = await runSearch({ config: settings, resume: 'unreachable' });
    const resumed = RunStore.open(settings.store);
    try {
      expect(resumed.getRun(runId).status).toBe('finished');
      expect(evaluationCounts(resumed, runId)).toEqual([1, 1]);
    } finally {
      resumed.close();
    }
  });

  it('stops the evaluations in flight when Redis goes away for too long', async () => {
    const redis = await redisServer();
    const evaluator = await QueueEvaluator.connect({
      url: redis.url,
      dataset: await queueDataset(config(redis.url)),
      inFlight: 1,
      unreachableMs: 1_500,
      pollMs: 200,
    });
    cleanup.push(() => evaluator.close());
    const pending = evaluator.evaluate(request('lost-c1', tooWide)); // no worker: it waits
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.stop();
    await expect(pending).rejects.toThrow(
      new RegExp(
        `^cannot reach Redis at ${redis.url.replaceAll('.', '\\.')} for \\d+ s: connection refused; start redis-server there or fix --queue; the run can be resumed`,
      ),
    );
    await expect(evaluator.evaluate(request('lost-c2', tooWide))).rejects.toThrow(
      /cannot reach Redis/,
    );
  });

  it('re-attaches a restarted coordinator to its jobs without training a candidate twice', async () => {
    const redis = await redisServer();
    const trainer = await startWorkerProcess(redis.url);
    cleanup.push(() => trainer.kill());
    const settings = config(redis.url, { population: 4, epochs: 3, name: 'restarted' });
    const coordinator = startNascent([
      'search',
      '--queue',
      redis.url,
      '--store',
      settings.store,
      '--data-dir',
      dataDir,
      '--subset',
      '600',
      '--test-subset',
      '100',
      '--strategy',
      'random',
      '--population',
      '4',
      '--epochs',
      '3',
      '--generations',
      '1',
      '--protocol',
      'standard',
      '--name',
      'restarted',
      '--no-progress',
    ]);
    cleanup.push(() => coordinator.kill());
    // Kill the coordinator once it has stored a result, with the other jobs waiting or running.
    await coordinator.waitFor(/^gen 0 /m);
    await coordinator.kill();
    const first = RunStore.open(settings.store);
    const run = first.getRun('restarted');
    const storedAtKill = first.evaluationCount(run.id);
    first.close();
    expect(storedAtKill).toBeGreaterThanOrEqual(1);
    expect(storedAtKill).toBeLessThan(4);
    // The worker goes on: let it finish a job whose result is not stored.
    await trainer.waitFor(new RegExp(`(?:[\\s\\S]*? done run-){${storedAtKill + 1}}`));

    await runSearch({ config: settings, resume: 'restarted' });
    const store = RunStore.open(settings.store);
    try {
      expect(store.getRun(run.id).status).toBe('finished');
      expect(evaluationCounts(store, run.id)).toEqual([1, 1, 1, 1]);
      const trained = store.evaluations(run.id).filter((e) => e.reusedFrom === null);
      // Each trained candidate was started exactly once by the worker.
      const starts = startedCandidates(trainer);
      expect(starts.slice().sort()).toEqual(trained.map((e) => e.candidateId).sort());
    } finally {
      store.close();
    }
  });
});
