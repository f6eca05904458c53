/** The Nascent side: the native engine trained in this process through its TypeScript facade. */
import { Network, type TensorData, type TrainOptions } from '../../src/engine/engine.js';
import type { Architecture } from '../../src/space/ir.js';

export interface NascentMeasurement {
  readonly imagesPerSecond: number;
  readonly images: number;
  readonly seconds: number;
  readonly steps: number;
  readonly threads: number;
  readonly params: number;
  readonly meanLoss: number;
}

export interface NascentJob {
  readonly architecture: Architecture;
  readonly threads: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly warmupSteps: number;
  readonly seed: number;
}

function trainOptions(job: NascentJob, steps: number, seed: number): TrainOptions {
  return {
    epochs: 1,
    batchSize: job.batchSize,
    optimizer: 'adamw',
    lr: 1e-3,
    weightDecay: 1e-9,
    eps: 1e-7,
    schedule: 'constant',
    threads: job.threads,
    seed,
    maxStepsPerEpoch: steps,
  };
}

/** Threads in Node's libuv pool, which runs the engine's train calls. */
export function threadPoolSize(): number {
  const size = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4;
}

/**
 * Warms every libuv pool thread for each job, so that no timed call is the first on its thread.
 *
 * A train call runs on whichever pool thread is free, and the first call on a thread pays page
 * faults to grow that thread's glibc arena (about 0.1 s for the smallest model here). A warm-up
 * call on one thread does not warm the thread the timed call then lands on. Running as many calls
 * at once as the pool has threads puts one on each thread (calls waiting for cores hold their
 * thread), as PyTorch's single training thread is warm after its warm-up steps.
 *
 * This removes only the first-use cost. Pool threads that glibc attached to a secondary arena
 * (the engine's mallopt(M_ARENA_MAX, 1) comes after Node has started threads with their own
 * arenas) keep paying page faults on every call, because glibc unmaps a secondary arena's heap
 * when it empties, whatever M_TRIM_THRESHOLD says (M_TOP_PAD governs that). That cost is part of
 * what users get, so it stays in the measurement.
 */
export async function primeThreadPool(
  data: TensorData,
  jobs: readonly NascentJob[],
): Promise<void> {
  const size = threadPoolSize();
  for (const job of jobs) {
    const steps = Math.max(1, job.warmupSteps);
    await Promise.all(
      Array.from({ length: size }, (_, i) =>
        Network.build(job.architecture, { init: 'glorot', seed: job.seed + i }).train(
          data,
          null,
          trainOptions(job, steps, job.seed + i),
        ),
      ),
    );
  }
}

/** A fresh network, one warm-up train call, then one timed train call (the engine's own clock). */
export async function measureNascent(
  data: TensorData,
  job: NascentJob,
): Promise<NascentMeasurement> {
  const net = Network.build(job.architecture, { init: 'glorot', seed: job.seed });
  if (job.warmupSteps > 0) {
    await net.train(data, null, trainOptions(job, job.warmupSteps, job.seed));
  }
  const result = await net.train(data, null, trainOptions(job, job.steps, job.seed + 1));
  if (result.status !== 'completed') {
    throw new Error(`Nascent training ended ${result.status}: ${result.reason ?? ''}`);
  }
  return {
    imagesPerSecond: result.images / result.seconds,
    images: result.images,
    seconds: result.seconds,
    steps: result.steps,
    threads: result.threads,
    params: net.parameterCount(),
    meanLoss: result.epochs[0]?.trainLoss ?? Number.NaN,
  };
}
