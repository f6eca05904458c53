/** Runs bench/engine-throughput/pytorch_bench.py under Debian's python3-torch. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { NascentJob } from './nascent.js';

/** glibc malloc settings equivalent to what the native engine sets with mallopt at load time. */
import { MALLOC_TUNABLES } from '../../src/engine/malloc-tuning.js';

export const TUNED_GLIBC_TUNABLES = MALLOC_TUNABLES;

export type MallocMode = 'default' | 'tuned';

const trainResultSchema = z.object({
  images_per_second: z.array(z.number()).min(1),
  seconds: z.array(z.number()),
  images: z.number(),
  steps: z.number(),
  batch_size: z.number(),
  params: z.number(),
  threads: z.number(),
  warmup_seconds: z.number(),
  load_seconds: z.number(),
  mean_loss: z.array(z.number()),
  torch_version: z.string(),
  glibc_tunables: z.string().nullable(),
});
export type PythonTrainResult = z.infer<typeof trainResultSchema>;

const gflopsSchema = z.object({ size: z.number(), gflops: z.array(z.number()).min(1) });
const peakResultSchema = z.object({
  peak: z.array(
    z.object({ threads: z.number(), onednn: gflopsSchema.optional(), blas: gflopsSchema }),
  ),
  torch_version: z.string(),
  blas_info: z.string(),
});
export type PythonPeakResult = z.infer<typeof peakResultSchema>;

const infoResultSchema = z.object({
  torch_version: z.string(),
  blas_info: z.string(),
  num_threads_default: z.number(),
  mkldnn: z.boolean(),
  python: z.string(),
});
export type PythonInfo = z.infer<typeof infoResultSchema>;

/** The script's path: it is not compiled, so look for it from here up (src tree or dist tree). */
export function findScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    const candidate = join(dir, 'bench', 'engine-throughput', 'pytorch_bench.py');
    if (existsSync(candidate)) return candidate;
    const here = join(dir, 'pytorch_bench.py');
    if (existsSync(here)) return here;
    dir = dirname(dir);
  }
  throw new Error('cannot find bench/engine-throughput/pytorch_bench.py');
}

/** The environment for a PyTorch child: the caller's, without or with the malloc tuning. */
export function pythonEnv(mode: MallocMode): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.GLIBC_TUNABLES;
  if (mode === 'tuned') env.GLIBC_TUNABLES = TUNED_GLIBC_TUNABLES;
  return env;
}

export interface PythonRunner {
  readonly python: string;
  readonly script: string;
}

function runJob(runner: PythonRunner, job: object, env: NodeJS.ProcessEnv): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(runner.python, [runner.script, '-'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) =>
      reject(new Error(`cannot run ${runner.python}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        reject(
          new Error(
            `${runner.python} ${runner.script} exited with ${signal ?? `code ${code}`}:\n${tail}`,
          ),
        );
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`pytorch_bench.py printed no JSON result: ${stdout.slice(-500)}`));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

export async function pythonInfo(runner: PythonRunner): Promise<PythonInfo> {
  return infoResultSchema.parse(await runJob(runner, { mode: 'info' }, pythonEnv('default')));
}

/** The same job as Nascent's, plus where the Python side reads the data from. */
export interface PythonTrainJob extends NascentJob {
  readonly dataDir: string;
}

/** One PyTorch measurement in a fresh process: load data, build, warm up, one timed run. */
export async function pythonTrain(
  runner: PythonRunner,
  job: PythonTrainJob,
  mode: MallocMode,
): Promise<PythonTrainResult> {
  const raw = await runJob(
    runner,
    {
      mode: 'train',
      architecture: job.architecture,
      threads: job.threads,
      batch_size: job.batchSize,
      steps: job.steps,
      warmup_steps: job.warmupSteps,
      repetitions: 1,
      seed: job.seed,
      data_dir: job.dataDir,
    },
    pythonEnv(mode),
  );
  return trainResultSchema.parse(raw);
}

export async function pythonPeak(
  runner: PythonRunner,
  options: {
    threads: readonly number[];
    size: number;
    repetitions: number;
    blasSize: number;
    blasRepetitions: number;
  },
): Promise<PythonPeakResult> {
  const raw = await runJob(
    runner,
    {
      mode: 'peak',
      threads: options.threads,
      size: options.size,
      repetitions: options.repetitions,
      blas_size: options.blasSize,
      blas_repetitions: options.blasRepetitions,
    },
    pythonEnv('default'),
  );
  return peakResultSchema.parse(raw);
}
