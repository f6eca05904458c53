/**
 * A job whose workers keep dying (SIGKILL in the middle of the training) is taken over by another
 * worker each time, and recorded as failed after 3 starts instead of being retried forever.
 * Needs Debian's redis-server and the built CLI (`npm run build:ts`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { QueueEvaluator } from '../../src/distributed/queue-evaluator.js';
import { queueDataset } from '../../src/run/evaluators.js';
import { cleanup, config, redisServer, request, runCleanup, small } from './fixtures.js';
import { startWorkerProcess, startedCandidates } from './processes.js';

afterEach(runCleanup);

describe('stalled jobs', () => {
  it('records a job whose workers keep dying as failed after 3 starts', async () => {
    const redis = await redisServer();
    const workers = await Promise.all(
      [1, 2, 3, 4].map(() => startWorkerProcess(redis.url, ['--stall-seconds', '2'])),
    );
    for (const w of workers) cleanup.push(() => w.kill());
    const evaluator = await QueueEvaluator.connect({
      url: redis.url,
      dataset: await queueDataset(config(redis.url)),
      inFlight: 1,
    });
    cleanup.push(() => evaluator.close());
    const long = request('doomed-c1', small, 50);
    const pending = evaluator.evaluate(long);
    // Kill whichever worker trains it, three times.
    const alive = new Set(workers);
    for (const attempt of [1, 2, 3]) {
      const holder = await Promise.any(
        [...alive].map((w) =>
          w.waitFor(new RegExp(`attempt ${attempt}\\)[\\s\\S]*doomed-c1 epoch 1/50`)).then(() => w),
        ),
      );
      alive.delete(holder);
      await holder.kill();
    }
    const result = await pending;
    expect(result.status).toBe('failed');
    expect(result.error).toBe(
      'the workers training it stopped (killed, crashed or out of memory) 3 times',
    );
    const starts = workers.flatMap((w) => startedCandidates(w));
    expect(starts).toEqual(['doomed-c1', 'doomed-c1', 'doomed-c1']);
  }, 90_000);
});
