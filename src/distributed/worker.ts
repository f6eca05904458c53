/**
 * A queue worker: takes evaluation jobs from the BullMQ queue, trains them with the engine on a
 * dataset it loads once and keeps resident, reports every epoch, and keeps a heartbeat in Redis
 * saying what it is running. Many workers, on any machines that have the dataset, can serve one
 * queue; a worker serves any run whose dataset it can load.
 */
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { datasetContentIdentity } from '../data/identity.js';
import { checkDevice, engineInfo } from '../engine/engine.js';
import { type PreparedData, prepareTrainingData } from '../evaluate/prepared-data.js';
import { type TrainingProtocol, getProtocol } from '../evaluate/protocols.js';
import { evaluateCandidate } from '../evaluate/evaluator.js';
import {
  HEARTBEAT_INTERVAL_MS,
  type RunningJob,
  removeHeartbeat,
  writeHeartbeat,
} from './heartbeat.js';
import {
  DEFAULT_QUEUE_NAME,
  type EpochProgress,
  type EvaluationJob,
  type JobResult,
  type QueueDataset,
  parseJob,
} from './job.js';
import {
  CONNECT_TIMEOUT_MS,
  connectChecked,
  describeConnectionError,
  isConnectionError,
  parseRedisUrl,
} from './redis.js';

/** How long a job's lock is held while its worker loads a dataset (the event loop is blocked). */
const LOAD_LOCK_MS = 10 * 60_000;

export interface QueueWorkerOptions {
  /** `redis://host:port`. */
  readonly url: string;
  readonly queueName?: string;
  /** `cpu`, `cuda` or `cuda:N`: where this worker trains, whatever the coordinator uses. */
  readonly device: string;
  /** Jobs trained at once. */
  readonly concurrency: number;
  /** libtorch threads per job (default: the cores split between the jobs). */
  readonly threads?: number;
  /** Where this machine keeps the datasets; else the coordinator's data directory, else the defaults. */
  readonly dataDir?: string;
  /**
   * Seconds a job's lock lasts without renewal: a worker that dies in the middle of a job loses
   * it to another worker about this long after (default 30).
   */
  readonly stallSeconds?: number;
  /** Starts of a job, when its workers keep dying, before it fails (default 3). */
  readonly attempts?: number;
  /** Datasets kept loaded at once (default 2). */
  readonly residentDatasets?: number;
  readonly log?: (line: string) => void;
}

/** A running worker. */
export interface QueueWorker {
  /** `hostname-pid`, as heartbeats and job records name it. */
  readonly id: string;
  readonly threads: number;
  /**
   * Stops taking jobs and waits for the running ones to finish; `force` abandons them (another
   * worker takes them over once their lock expires).
   */
  close(force?: boolean): Promise<void>;
}

interface ResidentEntry {
  readonly data: Promise<PreparedData>;
  users: number;
  lastUsed: number;
  loaded: boolean;
}

/** A job whose dataset differs from this worker's files: refused, never trained. */
export class DatasetMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetMismatchError';
  }
}

/** Datasets loaded once and kept in native memory for every job that uses them. */
class ResidentDatasets {
  private readonly entries = new Map<string, ResidentEntry>();

  constructor(
    private readonly limit: number,
    private readonly device: string,
    private readonly dataDir: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The prepared dataset and a function to call when the job is done with it. `beforeLoad` runs
   * first when the dataset is not loaded yet: loading blocks the event loop for a while. Throws a
   * {@link DatasetMismatchError} when this worker's files are not the coordinator's (their
   * content identities differ), before anything is prepared.
   */
  async acquire(
    dataset: QueueDataset,
    protocol: TrainingProtocol,
    beforeLoad: () => Promise<void>,
  ): Promise<{ data: PreparedData; release: () => void }> {
    const dataDir = this.dataDir ?? dataset.dataDir ?? undefined;
    const key = JSON.stringify([dataset, dataDir ?? null, protocol.standardise]);
    let entry = this.entries.get(key);
    if (!entry?.loaded) await beforeLoad();
    // Checksummed once per process and place (data/identity.ts); a loaded dataset has been.
    const content = await datasetContentIdentity(dataset.name, { dataDir });
    if (content !== dataset.content)
      throw new DatasetMismatchError(
        `dataset ${dataset.name}: this worker's files (${dataDir ?? "the dataset's default places"}) have checksum ${content}, the search's have ${dataset.content}`,
      );
    entry = this.entries.get(key);
    if (!entry) {
      this.evictUnused(this.limit - 1);
      this.log(
        `loading ${dataset.name}${dataDir ? ` from ${dataDir}` : ''}${dataset.subset !== null ? `, ${dataset.subset} training images` : ''}, split seed ${dataset.splitSeed}`,
      );
      const created: ResidentEntry = {
        data: prepareTrainingData(dataset.name, protocol, {
          dataDir,
          subset: dataset.subset,
          testSubset: dataset.testSubset,
          split: {
            validationFraction: dataset.validationFraction,
            ...(dataset.validationCount !== undefined
              ? { validationCount: dataset.validationCount }
              : {}),
          },
          splitSeed: dataset.splitSeed,
          device: this.device,
          log: this.log,
        }),
        users: 0,
        lastUsed: Date.now(),
        loaded: false,
      };
      void created.data.then(
        () => (created.loaded = true),
        () => undefined,
      );
      this.entries.set(key, created);
      entry = created;
    }
    const current = entry;
    current.users += 1;
    current.lastUsed = Date.now();
    try {
      const data = await current.data;
      return {
        data,
        release: () => {
          current.users -= 1;
          current.lastUsed = Date.now();
        },
      };
    } catch (error) {
      current.users -= 1;
      // The next job tries again (the files may be fixed meanwhile).
      if (this.entries.get(key) === current) this.entries.delete(key);
      throw error;
    }
  }

  /** Releases the least recently used unused datasets until at most `keep` remain. */
  private evictUnused(keep: number): void {
    const unused = [...this.entries.entries()]
      .filter(([, entry]) => entry.users === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of unused) {
      if (this.entries.size <= Math.max(0, keep)) break;
      this.entries.delete(key);
      void entry.data.then(
        (data) => data.release(),
        () => undefined,
      );
    }
  }

  releaseAll(): void {
    this.evictUnused(0);
  }
}

/** Connects to Redis (or throws a clear error) and starts taking jobs. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const log = options.log ?? (() => undefined);
  const device = checkDevice(options.device);
  const { display } = parseRedisUrl(options.url);
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const id = `${hostname()}-${process.pid}`;
  const threads =
    options.threads ?? Math.max(1, Math.floor(engineInfo().hardwareCores / options.concurrency));
  const attempts = options.attempts ?? 3;
  const lockDuration = (options.stallSeconds ?? 30) * 1000;
  const client = await connectChecked(
    options.url,
    'start redis-server there or fix --queue; workers wait for the coordinator, not the other way round',
  );
  const datasets = new ResidentDatasets(
    options.residentDatasets ?? 2,
    device,
    options.dataDir,
    log,
  );
  const running = new Map<string, RunningJob>();
  const counts = { completed: 0, failed: 0 };
  const startedAt = new Date().toISOString();

  const beat = (ttlSeconds?: number): Promise<void> =>
    writeHeartbeat(
      client,
      queueName,
      {
        id,
        hostname: hostname(),
        pid: process.pid,
        device,
        concurrency: options.concurrency,
        threads,
        startedAt,
        beatAt: new Date().toISOString(),
        completed: counts.completed,
        failed: counts.failed,
        jobs: [...running.values()],
      },
      ttlSeconds,
    ).catch(() => undefined); // Redis away: the worker's own connection reports it
  await beat();
  const heartbeat = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);

  const process_ = async (job: Job, token?: string): Promise<JobResult> => {
    let payload: EvaluationJob;
    let protocol: TrainingProtocol;
    try {
      payload = parseJob(job.data);
      protocol = getProtocol(payload.protocol.name);
    } catch (error) {
      throw new UnrecoverableError(`worker ${id}: ${(error as Error).message}`);
    }
    if (JSON.stringify(protocol) !== JSON.stringify(payload.protocol))
      throw new UnrecoverableError(
        `worker ${id}: protocol ${protocol.name} differs between the coordinator and this worker (different versions of Nascent)`,
      );
    const jobId = job.id ?? payload.candidateId;
    const entry: RunningJob = {
      jobId,
      candidateId: payload.candidateId,
      genome: payload.genome,
      startedAt: new Date().toISOString(),
      attempt: job.attemptsStarted,
      epoch: 0,
      epochs: payload.epochs,
      valAccuracy: null,
      phase: 'training',
    };
    running.set(jobId, entry);
    void beat();
    log(
      `start ${payload.candidateId} (job ${jobId}, attempt ${job.attemptsStarted}) ${payload.genome}`,
    );
    try {
      let lease: Awaited<ReturnType<ResidentDatasets['acquire']>>;
      let loaded = false;
      try {
        lease = await datasets.acquire(payload.dataset, protocol, async () => {
          loaded = true;
          // Loading blocks the event loop, and with it the lock renewal and the heartbeat: hold
          // both long enough that neither the job nor the worker is taken for dead meanwhile.
          running.set(jobId, { ...entry, phase: 'loading' });
          await beat(Math.max(lockDuration, LOAD_LOCK_MS) / 1000);
          // A lock already lost is BullMQ's to report when the job ends.
          if (token !== undefined)
            await job
              .extendLock(token, Math.max(lockDuration, LOAD_LOCK_MS))
              .catch(() => undefined);
        });
        running.set(jobId, entry);
        // Back to the normal lock: a worker that dies from here on must lose its job within
        // lockDuration, not within the loading allowance.
        if (loaded) {
          void beat();
          if (token !== undefined) await job.extendLock(token, lockDuration).catch(() => undefined);
        }
      } catch (error) {
        // Another worker may hold the search's files: the job is tried again (`attempts`).
        if (error instanceof DatasetMismatchError) {
          log(`refused ${payload.candidateId}: ${error.message}`);
          throw new Error(`worker ${id} refuses the job: ${error.message}`);
        }
        throw new Error(
          `worker ${id} cannot load ${payload.dataset.name}: ${(error as Error).message}`,
        );
      }
      try {
        const result = await evaluateCandidate(
          payload.architecture,
          lease.data,
          {
            protocol,
            epochs: payload.epochs,
            ...(payload.maxStepsPerEpoch !== null
              ? { maxStepsPerEpoch: payload.maxStepsPerEpoch }
              : {}),
            ...(payload.killBelow !== null ? { killBelow: payload.killBelow } : {}),
            ...(payload.augment !== null ? { augment: payload.augment } : {}),
            seed: payload.seed,
            threads,
            device,
          },
          {
            onEpoch: (record) => {
              running.set(jobId, {
                ...entry,
                epoch: record.epoch,
                valAccuracy: record.valAccuracy,
              });
              const progress: EpochProgress = {
                epoch: record.epoch,
                epochs: payload.epochs,
                record,
              };
              job.updateProgress(progress).catch(() => undefined);
              log(
                `  ${payload.candidateId} epoch ${record.epoch}/${payload.epochs}${record.valAccuracy !== null ? ` val acc ${(record.valAccuracy * 100).toFixed(2)}%` : ''}`,
              );
            },
          },
        );
        log(
          `done ${payload.candidateId} ${result.status}${result.metrics.accuracy !== undefined ? ` val acc ${(result.metrics.accuracy * 100).toFixed(2)}%` : ''}${result.metrics.train_seconds !== undefined ? ` in ${result.metrics.train_seconds.toFixed(1)} s` : ''}${result.error ? ` (${result.error})` : ''}`,
        );
        // No weights: evaluateCandidate keeps them only when asked to, and they are not sent.
        return { worker: id, result };
      } finally {
        lease.release();
      }
    } finally {
      running.delete(jobId);
      void beat();
    }
  };

  const worker = new Worker(queueName, process_, {
    connection: { url: options.url, connectTimeout: CONNECT_TIMEOUT_MS },
    name: id,
    concurrency: options.concurrency,
    lockDuration,
    stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
    maxStalledCount: attempts - 1,
    autorun: false,
  });
  let connectionLost = false;
  worker.on('error', (error) => {
    if (!isConnectionError(error)) {
      log(`worker error: ${error.message}`);
      return;
    }
    if (connectionLost) return;
    connectionLost = true;
    log(`lost Redis at ${display} (${describeConnectionError(error)}); reconnecting`);
  });
  worker.on('ready', () => {
    if (!connectionLost) return;
    connectionLost = false;
    log(`Redis at ${display} answers again`);
  });
  worker.on('completed', () => (counts.completed += 1));
  worker.on('failed', (job, error) => {
    counts.failed += 1;
    if (job) log(`job ${job.id} failed: ${error.message}`);
  });
  void worker.run().catch((error: unknown) => log(`worker stopped: ${String(error)}`));
  await worker.waitUntilReady();
  log(
    `worker ${id} ready on ${display} (queue ${queueName}): device ${device}, ${options.concurrency} job${options.concurrency === 1 ? '' : 's'} at a time, ${threads} thread${threads === 1 ? '' : 's'} each`,
  );

  let closing: Promise<void> | undefined;
  return {
    id,
    threads,
    close(force = false): Promise<void> {
      closing ??= (async () => {
        await worker.close(force);
        clearInterval(heartbeat);
        await removeHeartbeat(client, queueName, id).catch(() => undefined);
        client.disconnect();
        datasets.releaseAll();
      })();
      return closing;
    },
  };
}
