import { queueStatus } from '../distributed/status.js';
import { formatPercent, table } from '../util/format.js';

export interface WorkersCommandOptions {
  queue: string;
  json?: boolean;
}

function age(iso: string, now: number): string {
  return `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago`;
}

/** `nascent workers`: the queue's job counts and its live workers with what each is training. */
export async function workersCommand(options: WorkersCommandOptions): Promise<string> {
  const status = await queueStatus(options.queue);
  if (options.json) return JSON.stringify(status, null, 2);
  const c = status.counts;
  const head = `queue ${status.queueName} at ${status.queue}: ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed (retry), ${c.completed} completed, ${c.failed} failed`;
  if (status.workers.length === 0)
    return `${head}\nno live workers (start one with: nascent worker --queue ${status.queue})`;
  const now = Date.now();
  const rows = status.workers.map((w) => [
    w.id,
    w.device,
    `${w.jobs.length}/${w.concurrency}`,
    w.threads,
    w.jobs.length === 0
      ? 'idle'
      : w.jobs
          .map(
            (j) =>
              `${j.candidateId} ${j.phase === 'loading' ? 'loading data' : `epoch ${j.epoch}/${j.epochs}`}${j.valAccuracy !== null ? ` val acc ${formatPercent(j.valAccuracy)}` : ''}${j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}, ${age(j.startedAt, now).replace(' ago', '')}`,
          )
          .join('\n'),
    w.completed,
    w.failed,
    age(w.beatAt, now),
  ]);
  return [
    head,
    table(['worker', 'device', 'busy', 'threads', 'running', 'done', 'failed', 'heartbeat'], rows),
  ].join('\n');
}
