/**
 * What travels through the queue: the evaluation job a coordinator enqueues (the candidate's IR,
 * the protocol, the budget, the dataset with its content identity and split seed, the evaluation
 * identity the result is stored under) and the result a worker sends back. Both cross a process
 * and machine boundary, so both are validated when they are read.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DATASET_NAME_HINT, isDatasetSpec } from '../data/registry.js';
import type { EpochRecord } from '../engine/engine.js';
import type { TrainingProtocol } from '../evaluate/protocols.js';
import {
  type CandidateResult,
  type EvaluationRequest,
  augmentationIdentity,
} from '../evaluate/evaluator.js';
import type { Architecture } from '../space/ir.js';

/**
 * Format tag of the job payload; a worker refuses jobs of another format. Version 2 added the
 * dataset's content identity and the evaluation identity.
 */
export const JOB_FORMAT = 'nascent-job/2';
/** BullMQ queue every coordinator and worker of a Redis server shares. */
export const DEFAULT_QUEUE_NAME = 'nascent-evaluations';
/** BullMQ job name of an evaluation. */
export const EVALUATE_JOB = 'evaluate';

/** The dataset a worker must load, as the coordinator's configuration names it. */
export interface QueueDataset {
  /** A built-in dataset, folder:PATH or npz:FILE. */
  readonly name: string;
  /**
   * The content identity of the coordinator's dataset (data/identity.ts): a worker whose files
   * have another refuses the job, so no result is stored under data it was not trained on.
   */
  readonly content: string;
  /** The coordinator's data directory; a worker's own `--data-dir` takes precedence. */
  readonly dataDir: string | null;
  readonly subset: number | null;
  readonly testSubset: number | null;
  readonly validationFraction: number;
  /** A fixed number of validation images (the express protocol), instead of the fraction. */
  readonly validationCount?: number | undefined;
  /** Seed of the subset and the validation split (the run's seed). */
  readonly splitSeed: number;
}

const datasetSchema = z.object({
  name: z.string().refine(isDatasetSpec, { message: `not ${DATASET_NAME_HINT}` }),
  content: z.string().min(1),
  dataDir: z.string().nullable(),
  subset: z.number().int().min(1).nullable(),
  testSubset: z.number().int().min(1).nullable(),
  validationFraction: z.number().min(0).lt(1),
  validationCount: z.number().int().min(1).optional(),
  splitSeed: z.number().int().min(0),
});

const jobSchema = z.object({
  format: z.literal(JOB_FORMAT),
  candidateId: z.string().min(1),
  /** The evaluation identity the coordinator stores the result under (null when it gave none). */
  identity: z.string().min(1).nullable(),
  genome: z.string(),
  space: z.string(),
  /** Validated by the engine when the worker builds it: a bad one is a failed candidate. */
  architecture: z.record(z.string(), z.unknown()),
  dataset: datasetSchema,
  /** The whole recipe, so a worker running another version of a protocol refuses the job. */
  protocol: z.record(z.string(), z.unknown()).and(z.object({ name: z.string().min(1) })),
  epochs: z.number().int().min(1),
  maxStepsPerEpoch: z.number().int().min(1).nullable(),
  killBelow: z
    .object({ epoch: z.number().int().min(1), accuracy: z.number().min(0).max(1) })
    .nullable(),
  /** Absent from jobs of coordinators that never augment (and older ones). */
  augment: z
    .object({ cropPadding: z.number().int().min(0).max(16), flip: z.boolean() })
    .strict()
    .nullable()
    .default(null),
  seed: z.number().int().min(0),
});

/** An evaluation job as it is stored in Redis. */
export interface EvaluationJob {
  readonly format: typeof JOB_FORMAT;
  readonly candidateId: string;
  /** The evaluation identity (run/identity.ts) the coordinator stores the result under. */
  readonly identity: string | null;
  readonly genome: string;
  readonly space: string;
  readonly architecture: Architecture;
  readonly dataset: QueueDataset;
  readonly protocol: TrainingProtocol;
  readonly epochs: number;
  readonly maxStepsPerEpoch: number | null;
  readonly killBelow: { readonly epoch: number; readonly accuracy: number } | null;
  readonly augment: { readonly cropPadding: number; readonly flip: boolean } | null;
  readonly seed: number;
}

/** The job for one request. Threads and device are the worker's own; weights are not sent. */
export function jobFromRequest(request: EvaluationRequest, dataset: QueueDataset): EvaluationJob {
  const s = request.settings;
  return {
    format: JOB_FORMAT,
    candidateId: request.candidateId,
    identity: request.identity ?? null,
    genome: request.genome,
    space: request.space,
    architecture: request.architecture,
    dataset,
    protocol: s.protocol,
    epochs: s.epochs,
    maxStepsPerEpoch: s.maxStepsPerEpoch ?? null,
    killBelow: s.killBelow ?? null,
    augment: augmentationIdentity(s.augment),
    seed: s.seed,
  };
}

/**
 * The BullMQ job id of a job: the run-scoped candidate id and a hash of everything the result
 * depends on. Asking again for the same evaluation (a restarted coordinator) names the same job,
 * which BullMQ does not add twice; a different budget for the same candidate (successive halving)
 * is a different job.
 */
export function jobId(job: EvaluationJob): string {
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        // The evaluation identity covers what follows (and the weights' origin) when given.
        job.identity,
        job.architecture,
        job.dataset,
        job.protocol,
        job.epochs,
        job.maxStepsPerEpoch,
        job.killBelow,
        // Only when set, so the ids of jobs without augmentation stay what they were.
        ...(job.augment ? [job.augment] : []),
        job.seed,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  // BullMQ refuses ':' in custom ids.
  return `${job.candidateId.replaceAll(':', '_')}.${hash}`;
}

/** Reads a job payload, naming the field and the rule broken. */
export function parseJob(data: unknown): EvaluationJob {
  const format = (data as { format?: unknown } | null)?.format;
  if (format !== JOB_FORMAT)
    throw new Error(
      `job format ${JSON.stringify(format)} is not ${JOB_FORMAT}: the coordinator and this worker run different versions of Nascent`,
    );
  const result = jobSchema.safeParse(data);
  if (!result.success) throw new Error(`invalid job: ${describeIssues(result.error)}`);
  return result.data as unknown as EvaluationJob;
}

/** Progress a worker reports after every epoch. */
export interface EpochProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly record: EpochRecord;
}

// JSON turns NaN and infinities into null: numbers that may be NaN are read back as such.
const maybeNumber = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);

const epochRecordSchema = z.object({
  epoch: z.number().int(),
  trainLoss: maybeNumber,
  trainAccuracy: maybeNumber,
  valLoss: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  lr: maybeNumber,
  seconds: maybeNumber,
});

const progressSchema = z.object({
  epoch: z.number().int(),
  epochs: z.number().int(),
  record: epochRecordSchema,
});

/** Reads a progress report, or undefined when it is not one of ours. */
export function parseProgress(data: unknown): EpochProgress | undefined {
  const result = progressSchema.safeParse(data);
  return result.success ? result.data : undefined;
}

/** What a worker returns: the candidate's result and who trained it. */
export interface JobResult {
  readonly result: CandidateResult;
  /** `hostname-pid` of the worker that trained it. */
  readonly worker: string;
}

const resultSchema = z.object({
  worker: z.string(),
  result: z.object({
    status: z.enum(['ok', 'killed', 'failed']),
    error: z.string().optional(),
    fidelity: z.number().int().min(0),
    metrics: z
      .record(z.string(), z.number().nullable())
      .transform((m) =>
        Object.fromEntries(
          Object.entries(m).filter((entry): entry is [string, number] => entry[1] !== null),
        ),
      ),
    epochs: z.array(epochRecordSchema),
    startedAt: z.string(),
    finishedAt: z.string(),
  }),
});

/** Reads a worker's return value, naming the field and the rule broken. */
export function parseJobResult(value: unknown): JobResult {
  const result = resultSchema.safeParse(value);
  if (!result.success)
    throw new Error(`the worker returned an invalid result: ${describeIssues(result.error)}`);
  return result.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
