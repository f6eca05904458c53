/**
 * The state of a queue as `nascent workers` shows it: the job counts and the live workers with
 * what each is training.
 */
import { Queue } from 'bullmq';
import { type Heartbeat, readHeartbeats } from './heartbeat.js';
import { DEFAULT_QUEUE_NAME } from './job.js';
import { CONNECT_TIMEOUT_MS, connectChecked, parseRedisUrl } from './redis.js';

export interface QueueStatus {
  /** The URL without credentials. */
  readonly queue: string;
  readonly queueName: string;
  readonly counts: {
    readonly waiting: number;
    readonly active: number;
    readonly delayed: number;
    readonly completed: number;
    readonly failed: number;
  };
  readonly workers: readonly Heartbeat[];
}

/** Reads the queue's counts and heartbeats, or throws a clear error when Redis does not answer. */
export async function queueStatus(
  url: string,
  queueName: string = DEFAULT_QUEUE_NAME,
): Promise<QueueStatus> {
  const { display } = parseRedisUrl(url);
  const client = await connectChecked(url, 'start redis-server there or fix --queue');
  const queue = new Queue(queueName, {
    connection: { url, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 1 },
  });
  queue.on('error', () => undefined);
  try {
    const [counts, workers] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'),
      readHeartbeats(client, queueName),
    ]);
    return {
      queue: display,
      queueName,
      counts: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
      },
      workers,
    };
  } finally {
    await queue.close().catch(() => undefined);
    client.disconnect();
  }
}
