/**
 * Evaluation through BullMQ workers over Redis: each candidate becomes a job that any
 * `nascent worker` listening on the queue trains; its result comes back here, and the search
 * loop alone writes the store.
 *
 * - Job ids are deterministic (the run-scoped candidate id and a hash of what the result depends
 *   on), so a restarted coordinator that asks again for a candidate of the batch it was killed in
 *   re-attaches to the job still waiting, running or finished in Redis instead of training it again.
 * - A worker killed in the middle of a job stops renewing its lock; another worker takes the job
 *   over (BullMQ's stalled-job check); after 3 starts whose workers all died (the workers'
 *   `attempts`), the job is recorded as failed.
 * - A training that fails (the engine refuses the architecture, runs out of memory, diverges) is a
 *   `failed` result like any other; a job that throws in the worker (e.g. the worker cannot load
 *   the dataset) is tried `attempts` times, then recorded as failed with its error.
 * - Redis unreachable when the run starts stops it at once; unreachable for longer than
 *   `unreachableMs` during the run stops it with the same message; the run resumes later.
 * - Weights are not sent over the queue: with `inheritWeights`, candidates trained by workers
 *   start from scratch.
 */
import { type Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type CandidateEvaluator,
  type CandidateResult,
  type EvaluationRequest,
  failedCandidateResult,
} from '../evaluate/evaluator.js';
import { readHeartbeats } from './heartbeat.js';
import {
  DEFAULT_QUEUE_NAME,
  EVALUATE_JOB,
  type EvaluationJob,
  type QueueDataset,
  jobFromRequest,
  jobId,
  parseJobResult,
  parseProgress,
} from './job.js';
import {
  CONNECT_TIMEOUT_MS,
  QueueUnavailableError,
  answers,
  connectChecked,
  describeConnectionError,
  lastConnectionError,
  parseRedisUrl,
} from './redis.js';

export interface QueueEvaluatorOptions {
  /** `redis://host:port`. */
  readonly url: string;
  readonly dataset: QueueDataset;
  /** Jobs kept in flight at once: the search loop starts this many evaluations together. */
  readonly inFlight: number;
  readonly queueName?: string;
  /** Tries of a job that throws in a worker (default 3). */
  readonly attempts?: number;
  /** How long Redis may stay unreachable during a run before the run stops (default 60 s). */
  readonly unreachableMs?: number;
  /** Interval of the state check of the jobs in flight, behind the completion events (default 5 s). */
  readonly pollMs?: number;
  /** Finished jobs stay in Redis this long, for a restarted coordinator to collect (default 7 days). */
  readonly keepFinishedSeconds?: number;
  readonly log?: (message: string) => void;
  /** The run the evaluations belong to: messages on how to continue it name it. */
  readonly runId?: string;
}

interface Pending {
  readonly job: EvaluationJob;
  readonly promise: Promise<CandidateResult>;
  readonly onEpoch: EvaluationRequest['onEpoch'];
  readonly resolve: (result: CandidateResult) => void;
  readonly reject: (error: Error) => void;
}

/** Evaluations in flight this long with no live worker get a warning (repeated as often). */
const WORKER_WARNING_MS = 30_000;
const RESUME_ADVICE = 'start redis-server there or fix --queue';
/** How to continue the run (by its id, when the evaluator was told it). */
function runAdvice(runId: string | undefined): string {
  return runId !== undefined
    ? `the run can be resumed with \`nascent search --resume ${runId}\``
    : 'the run can be resumed with `nascent search --resume` and its id';
}

/** Sends evaluations to BullMQ workers and waits for their results. */
export class QueueEvaluator implements CandidateEvaluator {
  readonly description: string;
  readonly concurrency: number;
  private readonly pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;
  private readonly attempts: number;
  private readonly unreachableMs: number;
  private readonly keepFinishedSeconds: number;
  private readonly log: (message: string) => void;
  private broken: Error | undefined;
  private unreachableSince: number | undefined;
  private polling = false;
  /** When the live workers were last counted (a warning is logged when there are none). */
  private lastWorkerCheck = Date.now();
  private warnedWeights = false;

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly client: Redis,
    private readonly queueName: string,
    private readonly display: string,
    private readonly options: QueueEvaluatorOptions,
  ) {
    this.concurrency = options.inFlight;
    this.attempts = options.attempts ?? 3;
    this.unreachableMs = options.unreachableMs ?? 60_000;
    this.keepFinishedSeconds = options.keepFinishedSeconds ?? 7 * 24 * 3600;
    this.log = options.log ?? (() => undefined);
    this.description = `BullMQ workers at ${display} (queue ${queueName}), ${options.inFlight} job${options.inFlight === 1 ? '' : 's'} in flight; weights are not inherited over the queue`;
    events.on('completed', ({ jobId: id, returnvalue }) => this.completed(id, returnvalue));
    events.on('failed', ({ jobId: id }) => void this.check(id).catch(() => undefined));
    events.on('progress', ({ jobId: id, data }) => {
      const progress = parseProgress(data);
      if (progress) this.pending.get(id)?.onEpoch?.(progress.record);
    });
    // Connection trouble is noticed by the commands (see redis()); these only keep the emitters
    // from ending the process.
    events.on('error', () => undefined);
    queue.on('error', () => undefined);
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? 5_000);
  }

  /** Connects to Redis, or throws a {@link QueueUnavailableError} saying why and what to do. */
  static async connect(options: QueueEvaluatorOptions): Promise<QueueEvaluator> {
    const { display } = parseRedisUrl(options.url);
    const client = await connectChecked(
      options.url,
      `${RESUME_ADVICE}; ${runAdvice(options.runId)}`,
    );
    const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
    const queue = new Queue(queueName, {
      connection: { url: options.url, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 1 },
    });
    const events = new QueueEvents(queueName, {
      connection: { url: options.url, connectTimeout: CONNECT_TIMEOUT_MS },
    });
    try {
      await withTimeout(
        Promise.all([queue.waitUntilReady(), events.waitUntilReady()]),
        2 * CONNECT_TIMEOUT_MS,
        `Redis at ${display} did not become ready`,
      );
    } catch (error) {
      await Promise.allSettled([queue.disconnect(), events.close()]);
      client.disconnect();
      throw new QueueUnavailableError(
        `cannot reach Redis at ${display}: ${describeConnectionError(error)}; ${RESUME_ADVICE}; ${runAdvice(options.runId)}`,
      );
    }
    return new QueueEvaluator(queue, events, client, queueName, display, options);
  }

  evaluate(request: EvaluationRequest): Promise<CandidateResult> {
    if (this.broken) return Promise.reject(this.broken);
    if (request.keepWeights && !this.warnedWeights) {
      this.warnedWeights = true;
      this.log(
        'weights are not inherited over the queue: candidates trained by workers start from scratch',
      );
    }
    const job = jobFromRequest(request, this.options.dataset);
    const id = jobId(job);
    const existing = this.pending.get(id);
    if (existing) return existing.promise;
    let resolve!: (result: CandidateResult) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<CandidateResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(id, { job, promise, onEpoch: request.onEpoch, resolve, reject });
    void this.enqueue(id, job)
      .then(() => this.check(id))
      .catch((error: unknown) => this.fail(error));
    return promise;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const closed = new Error('the queue evaluator was closed');
    for (const pending of this.pending.values()) pending.reject(closed);
    this.pending.clear();
    // With Redis away, BullMQ's close waits for a reconnection that may never come: bounded.
    const wait = (await answers(this.client)) ? CONNECT_TIMEOUT_MS : 1_000;
    await withTimeout(
      Promise.allSettled([this.queue.close(), this.events.close()]),
      wait,
      'closing the queue',
    ).catch(() => undefined);
    this.client.disconnect();
  }

  /** Adds the job; BullMQ keeps the existing one when a job of that id is already there. */
  private async enqueue(id: string, job: EvaluationJob): Promise<void> {
    await this.redis(() =>
      this.queue.add(EVALUATE_JOB, job, {
        jobId: id,
        attempts: this.attempts,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: { age: this.keepFinishedSeconds },
        removeOnFail: { age: this.keepFinishedSeconds },
      }),
    );
  }

  /** Settles a job that has finished; adds it again if it vanished (e.g. Redis restarted empty). */
  private async check(id: string): Promise<void> {
    const pending = this.pending.get(id);
    if (!pending) return;
    const state = await this.redis(() => this.queue.getJobState(id));
    if (state === 'completed' || state === 'failed') {
      const job = await this.redis(() => this.queue.getJob(id));
      if (!job) return;
      if (state === 'completed') this.completed(id, job.returnvalue);
      else this.settle(id, failedResult(job));
    } else if (state === 'unknown') {
      this.log(`job ${id} is no longer in the queue: adding it again`);
      await this.enqueue(id, pending.job);
    }
  }

  private completed(id: string, returnvalue: unknown): void {
    if (!this.pending.has(id)) return;
    let result: CandidateResult;
    try {
      result = parseJobResult(returnvalue).result;
    } catch (error) {
      const now = new Date().toISOString();
      result = failedCandidateResult(error, now, now);
    }
    this.settle(id, result);
  }

  private settle(id: string, result: CandidateResult): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    pending.resolve(result);
  }

  /** Stops every evaluation in flight: the evaluator is unusable (Redis unreachable for too long). */
  private fail(error: unknown): void {
    this.broken ??= error instanceof Error ? error : new Error(String(error));
    for (const pending of this.pending.values()) pending.reject(this.broken);
    this.pending.clear();
  }

  /**
   * Runs a Redis call; while Redis does not answer, retries it for up to `unreachableMs`, then
   * throws a {@link QueueUnavailableError}. Errors while Redis answers are the call's own.
   */
  private async redis<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      if (this.broken) throw this.broken;
      try {
        const value = await call();
        if (this.unreachableSince !== undefined) {
          this.unreachableSince = undefined;
          this.log(`Redis at ${this.display} answers again`);
        }
        return value;
      } catch (error) {
        if (await answers(this.client)) throw error;
        const reason = describeConnectionError(lastConnectionError(this.client) ?? error);
        const now = Date.now();
        if (this.unreachableSince === undefined) {
          this.unreachableSince = now;
          this.log(
            `lost Redis at ${this.display} (${reason}); waiting up to ${Math.round(this.unreachableMs / 1000)} s for it`,
          );
        }
        if (now - this.unreachableSince >= this.unreachableMs)
          throw new QueueUnavailableError(
            `cannot reach Redis at ${this.display} for ${Math.round((now - this.unreachableSince) / 1000)} s: ${reason}; ${RESUME_ADVICE}; ${runAdvice(this.options.runId)}`,
          );
        await sleep(500);
      }
    }
  }

  /** Backstop to the events: settles finished jobs whose event was missed, notices Redis gone. */
  private async poll(): Promise<void> {
    if (this.polling || this.pending.size === 0 || this.broken) return;
    this.polling = true;
    try {
      for (const id of [...this.pending.keys()]) await this.check(id);
      if (this.pending.size > 0 && Date.now() - this.lastWorkerCheck > WORKER_WARNING_MS) {
        const workers = await this.redis(() => readHeartbeats(this.client, this.queueName));
        this.lastWorkerCheck = Date.now();
        if (workers.length === 0)
          this.log(
            `${this.pending.size} evaluation${this.pending.size === 1 ? '' : 's'} in flight and no live worker on ${this.display}: start one with \`nascent worker --queue ${this.display}\``,
          );
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.polling = false;
    }
  }
}

/** The result of a job that failed: the worker died too often, or the job kept throwing. */
function failedResult(job: Job): CandidateResult {
  const reason = job.failedReason || 'no reason given';
  const error = /stalled more than allowable limit/.test(reason)
    ? `the workers training it stopped (killed, crashed or out of memory) ${job.stalledCounter} times`
    : `the job failed after ${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}${job.processedBy ? ` (last on worker ${job.processedBy})` : ''}: ${reason}`;
  const started = job.processedOn ?? job.timestamp;
  return failedCandidateResult(
    error,
    new Date(started).toISOString(),
    new Date(job.finishedOn ?? Date.now()).toISOString(),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
