import { startQueueWorker } from '../distributed/worker.js';

export interface WorkerCommandOptions {
  queue: string;
  device: string;
  concurrency: number;
  threads?: number;
  dataDir?: string;
  stallSeconds?: number;
}

function timestamped(line: string): void {
  const time = new Date().toISOString().slice(11, 19);
  process.stdout.write(`${time} ${line}\n`);
}

/**
 * `nascent worker`: trains the jobs of the queue until SIGINT or SIGTERM. The first signal stops
 * taking jobs and lets the running ones finish; a second one leaves at once (other workers take
 * the abandoned jobs over once their lock expires).
 */
export async function workerCommand(options: WorkerCommandOptions): Promise<void> {
  const worker = await startQueueWorker({
    url: options.queue,
    device: options.device,
    concurrency: options.concurrency,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.stallSeconds !== undefined ? { stallSeconds: options.stallSeconds } : {}),
    log: timestamped,
  });
  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        timestamped(`${signal} again: leaving the running jobs to other workers`);
        process.exit(130);
      }
      timestamped(
        `${signal}: finishing the running jobs, taking no new ones (send it again to leave now)`,
      );
      worker.close().then(resolve, reject);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  timestamped(`worker ${worker.id} stopped`);
}
