/**
 * Worker heartbeats: each worker keeps a Redis key with a short time to live, refreshed every few
 * seconds, saying who it is and what it is training. A worker that dies stops refreshing it and
 * drops out of the list when the key expires.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { heartbeatPrefix } from './redis.js';

/** Milliseconds between heartbeats. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A worker whose heartbeat is older than this is gone: its key expires. */
export const HEARTBEAT_TTL_SECONDS = 15;

const runningJobSchema = z.object({
  jobId: z.string(),
  candidateId: z.string(),
  genome: z.string(),
  startedAt: z.string(),
  attempt: z.number().int(),
  epoch: z.number().int(),
  epochs: z.number().int(),
  valAccuracy: z.number().nullable(),
  /** `loading` while the worker loads the job's dataset. */
  phase: z.enum(['loading', 'training']),
});

const heartbeatSchema = z.object({
  id: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  device: z.string(),
  concurrency: z.number().int(),
  threads: z.number().int(),
  startedAt: z.string(),
  beatAt: z.string(),
  completed: z.number().int(),
  failed: z.number().int(),
  jobs: z.array(runningJobSchema),
});

/** A job a worker is training, as its heartbeat shows it. */
export type RunningJob = z.infer<typeof runningJobSchema>;
/** What a live worker says about itself. */
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/**
 * Writes (or refreshes) a worker's heartbeat, valid for `ttlSeconds` (longer than the default
 * before work that blocks the worker's event loop, such as loading a dataset).
 */
export async function writeHeartbeat(
  client: Redis,
  queueName: string,
  beat: Heartbeat,
  ttlSeconds: number = HEARTBEAT_TTL_SECONDS,
): Promise<void> {
  await client.set(
    `${heartbeatPrefix(queueName)}${beat.id}`,
    JSON.stringify(beat),
    'EX',
    Math.ceil(ttlSeconds),
  );
}

export async function removeHeartbeat(
  client: Redis,
  queueName: string,
  workerId: string,
): Promise<void> {
  await client.del(`${heartbeatPrefix(queueName)}${workerId}`);
}

/** The live workers of a queue, by id. Keys that are not valid heartbeats are skipped. */
export async function readHeartbeats(client: Redis, queueName: string): Promise<Heartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(
      cursor,
      'MATCH',
      `${heartbeatPrefix(queueName)}*`,
      'COUNT',
      200,
    );
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await client.mget(...keys);
  const beats: Heartbeat[] = [];
  for (const value of values) {
    if (value === null) continue; // expired between SCAN and MGET
    try {
      const parsed = heartbeatSchema.safeParse(JSON.parse(value));
      if (parsed.success) beats.push(parsed.data);
    } catch {
      // not JSON: not a heartbeat of this version
    }
  }
  return beats.sort((a, b) => a.id.localeCompare(b.id));
}
