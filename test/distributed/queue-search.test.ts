/**
 * A search whose evaluations go through a BullMQ queue on a private Redis to two `nascent worker`
 * processes, one of which is killed with SIGKILL in the middle of a training.
 * Needs Debian's redis-server and the built CLI (`npm run build:ts`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../bench/queue/redis-server.js';
import { workersCommand } from '../../src/cli/workers.js';
import { DEFAULT_QUEUE_NAME } from '../../src/distributed/job.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';
import { type NascentProcess, startWorkerProcess, startedCandidates } from './processes.js';

const dataDir = fakeFashionMnist(600, 100);

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Every job's state, stalled counter and lock, for a failure message. */
async function queueState(url: string): Promise<string> {
  const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: { url } });
  try {
    const client = await queue.client;
    const jobs = await queue.getJobs();
    const lines = await Promise.all(
      jobs.map(async (job) => {
        const id = job.id ?? '';
        const lock = await client.get(`bull:${DEFAULT_QUEUE_NAME}:${id}:lock`);
        return `${id} ${await job.getState()} started ${job.attemptsStarted} stalled ${job.stalledCounter} lock ${lock ?? 'none'}`;
      }),
    );
    const stalled = await client.smembers(`bull:${DEFAULT_QUEUE_NAME}:stalled`);
    const check = await client.get(`bull:${DEFAULT_QUEUE_NAME}:stalled-check`);
    return `${lines.join('; ')}; stalled set [${stalled.join(' ')}]; stalled-check ${check ?? 'none'}`;
  } finally {
    await queue.close();
  }
}

describe('search over a queue', () => {
  it('completes when a worker is killed mid-job, and stores every candidate exactly once', async () => {
    const workers: NascentProcess[] = await Promise.all([
      startWorkerProcess(redis.url),
      startWorkerProcess(redis.url),
    ]);
    const store = join(mkdtempSync(join(tmpdir(), 'nascent-queue-')), 'runs.db');
    try {
      const config = loadSearchConfig(undefined, {
        store,
        dataDir,
        subset: 600,
        testSubset: 100,
        strategy: 'ga',
        population: 4,
        epochs: 8,
        generations: 2,
        protocol: 'standard',
        queue: redis.url,
        name: 'queued',
      });
      const search = runSearch({ config });

      // The first worker to finish an epoch has seven to go: freeze it there at once (on a fast
      // machine it could otherwise finish the job while the test looks), then kill it.
      let frozen = false;
      const [victim, candidate] = await Promise.race(
        workers.map((worker) =>
          worker.waitFor(/ (\S+) epoch 1\/8/).then((match) => {
            // Only the first: the other worker reaching its first epoch later must go on.
            if (!frozen) worker.child.kill('SIGSTOP');
            frozen = true;
            return [worker, match[1] as string] as const;
          }),
        ),
      );
      const survivor = workers.find((w) => w !== victim) as NascentProcess;
      // `nascent workers` lists both, and what the victim is training.
      const listing = await workersCommand({ queue: redis.url });
      expect(listing).toContain(victim.workerId);
      expect(listing).toContain(survivor.workerId);
      expect(listing).toContain(candidate);
      await victim.kill();
      expect(victim.output()).not.toContain(`done ${candidate}`);

      // Should the run hang, fail with what the workers said rather than a bare timeout.
      let deadline: NodeJS.Timeout | undefined;
      const { runId, reason } = await Promise.race([
        search,
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => {
            void queueState(redis.url).then((state) =>
              reject(
                new Error(
                  `the run did not finish in 90 s; queue: ${state}\nvictim ${victim.workerId} said:\n${victim.output()}\nsurvivor ${survivor.workerId} said:\n${survivor.output()}`,
                ),
              ),
            );
          }, 90_000);
        }),
      ]).finally(() => clearTimeout(deadline));
      expect(reason).toBe('2 generations done');

      // The killed job went to the other worker and was trained there to the end.
      expect(survivor.output()).toMatch(new RegExp(`start ${candidate} \\(job \\S+, attempt 2\\)`));
      expect(survivor.output()).toContain(`done ${candidate} ok`);

      const runs = RunStore.open(store);
      try {
        const candidates = runs.candidates(runId);
        expect(candidates).toHaveLength(4 + 3);
        const evaluations = runs.evaluations(runId);
        const perCandidate = new Map(candidates.map((c) => [c.id, 0]));
        for (const e of evaluations)
          perCandidate.set(e.candidateId, (perCandidate.get(e.candidateId) ?? 0) + 1);
        expect([...perCandidate.values()]).toEqual(candidates.map(() => 1));
        expect(evaluations.every((e) => e.status === 'ok')).toBe(true);
        const trained = evaluations.filter((e) => e.reusedFrom === null);
        expect(trained.every((e) => e.epochs.length === 8 && (e.metrics.params ?? 0) > 0)).toBe(
          true,
        );
        // Every trained candidate is one completed job, started once except the killed one.
        const starts = [...startedCandidates(victim), ...startedCandidates(survivor)];
        expect(new Set(starts)).toEqual(new Set(trained.map((e) => e.candidateId)));
        expect(starts.filter((id) => id === candidate)).toHaveLength(2);
        expect(starts).toHaveLength(trained.length + 1);
        const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: { url: redis.url } });
        try {
          expect(
            await queue.getJobCounts('completed', 'failed', 'waiting', 'active'),
          ).toMatchObject({
            completed: trained.length,
            failed: 0,
            waiting: 0,
            active: 0,
          });
        } finally {
          await queue.close();
        }
        expect(runs.getRun(runId).status).toBe('finished');
      } finally {
        runs.close();
      }
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
    }
  }, 150_000);
});
