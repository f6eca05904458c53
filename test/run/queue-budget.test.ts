/**
 * The evaluations budget over a queue: a whole generation is in flight at once, yet no more
 * trainings start than the budget allows. Needs Debian's redis-server.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_NAME } from '../../src/distributed/job.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { config, redisServer, runCleanup, worker } from '../distributed/fixtures.js';

afterEach(runCleanup);

describe('queue budget', () => {
  it('with --queue, --evaluations 6 trains exactly 6', async () => {
    const redis = await redisServer();
    await worker(redis.url);
    const settings = config(redis.url, {
      strategy: 'random',
      population: 4,
      generations: undefined,
      evaluations: 6,
    });
    const { runId, reason } = await runSearch({ config: settings });
    expect(reason).toBe('6 evaluations done');
    const store = RunStore.open(settings.store);
    try {
      const evaluations = store.evaluations(runId);
      expect(evaluations).toHaveLength(6);
      expect(evaluations.every((e) => e.status === 'ok' && e.fidelity === 1)).toBe(true);
    } finally {
      store.close();
    }
    // Exactly 6 jobs reached the workers: none started beyond the budget.
    const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: { url: redis.url } });
    try {
      const counts = await queue.getJobCounts(
        'completed',
        'failed',
        'waiting',
        'active',
        'delayed',
      );
      expect(counts).toMatchObject({ completed: 6, failed: 0, waiting: 0, active: 0, delayed: 0 });
    } finally {
      await queue.close();
    }
  }, 120_000);
});
