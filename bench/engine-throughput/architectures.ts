/** The architectures bench/engine-throughput measures, as genomes of the sequential CNN space. */

export interface BenchArchitecture {
  /** Short name used in tables. */
  readonly name: string;
  readonly genome: string;
  /**
   * Timed training steps (batch 128) per measurement at --steps-scale 1. Measured at 1 thread on
   * the 2-core Zen 5 machine: about 1.3 s (Nascent), 2 s (PyTorch, tuned malloc) and 9 s
   * (PyTorch, default malloc) for the README model; about 3 s, 3 s and 11 s for the other two.
   */
  readonly steps: number;
}

export const BENCH_ARCHITECTURES: readonly BenchArchitecture[] = [
  {
    name: 'README example',
    genome: 'NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;',
    steps: 150,
  },
  {
    name: 'mid-size',
    genome: 'NC 32 3 relu;RC 32 3 relu;NC 64 3 relu;RC 64 3 relu;FL gelu;',
    steps: 60,
  },
  {
    name: 'large',
    genome: 'NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;',
    steps: 60,
  },
];

/** The model whose compute efficiency the issue asks about, by its exact parameter count. */
export const EFFICIENCY_MODEL_PARAMS = 220_858;

export const THREAD_COUNTS: readonly number[] = [1, 2];

export const BATCH_SIZE = 128;

/** Fashion-MNIST's 60,000 training images give 468 full batches of 128. */
export const MAX_STEPS = Math.floor(60_000 / BATCH_SIZE);

/** Warm-up steps before a measurement: enough to create kernels and the optimizer's state. */
export function warmupSteps(steps: number): number {
  return Math.min(steps, Math.max(5, Math.ceil(steps / 10)));
}
