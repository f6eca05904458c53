/**
 * Evaluates one candidate: trains its architecture under the run's protocol and budget, with
 * early kill and weight inheritance, and returns the metrics a strategy is told. Failures (an
 * architecture the engine refuses, a diverging loss) become `failed` results with the reason.
 */
import type { EpochRecord, WeightMap } from '../engine/engine.js';
import type { PreparedData } from './prepared-data.js';
import type { Augmentation } from './train.js';
import { TrainingSession } from './training-session.js';
import type { Architecture } from '../space/ir.js';

import type { CandidateResult, EvaluationSettings } from './evaluation-types.js';

export type { CandidateResult, EvaluationSettings };

/** The result of a candidate that could not be evaluated: nothing spent, the reason kept. */
export function failedCandidateResult(
  error: unknown,
  startedAt: string,
  finishedAt = new Date().toISOString(),
): CandidateResult {
  return {
    status: 'failed',
    error: error instanceof Error ? error.message : String(error),
    fidelity: 0,
    metrics: {},
    epochs: [],
    startedAt,
    finishedAt,
  };
}

/** The result of an evaluation that trains nothing (a table lookup, proxy scores): no epochs. */
export function untrainedResult(
  metrics: Record<string, number>,
  startedAt: string,
): CandidateResult {
  return {
    status: 'ok',
    fidelity: 0,
    metrics,
    epochs: [],
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** One candidate to evaluate, as the search loop hands it to an evaluator. */
export interface EvaluationRequest {
  readonly candidateId: string;
  /** The space's canonical text of the candidate (what tabular evaluators look up). */
  readonly genome: string;
  readonly space: string;
  readonly architecture: Architecture;
  readonly settings: EvaluationSettings;
  /** Trained weights of the parents, for weight inheritance (empty when not inheriting). */
  readonly parentWeights: readonly WeightMap[];
  /** Return the trained weights in the result (for children to inherit). */
  readonly keepWeights: boolean;
  /**
   * The evaluation identity of this request (run/identity.ts): what the result is stored under,
   * and what a queue job carries.
   */
  readonly identity?: string;
  readonly onEpoch?: (record: EpochRecord) => void;
}

/**
 * Maps a candidate and a budget to metrics: local training, a BullMQ queue of remote workers, a
 * lookup table. Evaluators report failures as `failed` results, never by throwing, unless the
 * evaluator itself is broken (e.g. its queue is unreachable), which stops the run.
 */
export interface CandidateEvaluator {
  /** Shown to users, e.g. `local training`, `table runs/nb201.json`. */
  readonly description: string;
  /**
   * Extra identity mixed into the evaluation identity (run/identity.ts), so results of different evaluators are never
   * taken for each other (undefined for evaluators that train under the run's protocol).
   */
  readonly identity?: Readonly<Record<string, unknown>>;
  /**
   * False for evaluators that never read the dataset (a table of known results): the dataset's
   * files are then not checksummed into the evaluation identity. Absent means true.
   */
  readonly readsData?: boolean;
  /** How many candidates it usefully evaluates at once (the pool size for local training). */
  readonly concurrency: number;
  evaluate(request: EvaluationRequest): Promise<CandidateResult>;
  /**
   * Starts the request's training in segments (evaluate/training-session.ts), for pruners that
   * continue a promoted candidate from its rung (run/pruning.ts). Absent where a training cannot
   * be paused and continued here (queue workers, tables, proxies).
   */
  startSession?(request: EvaluationRequest): TrainingSession;
  close(): Promise<void>;
}

/** Trains candidates in this process with the engine, on data already in native memory. */
export class LocalTrainingEvaluator implements CandidateEvaluator {
  readonly description: string;

  constructor(
    private readonly data: PreparedData,
    readonly concurrency: number,
  ) {
    this.description = `local training, ${concurrency} at a time`;
  }

  evaluate(request: EvaluationRequest): Promise<CandidateResult> {
    return evaluateCandidate(request.architecture, this.data, request.settings, {
      parentWeights: request.parentWeights,
      keepWeights: request.keepWeights,
      ...(request.onEpoch ? { onEpoch: request.onEpoch } : {}),
    });
  }

  startSession(request: EvaluationRequest): TrainingSession {
    return TrainingSession.start(request.architecture, this.data, request.settings, {
      parentWeights: request.parentWeights,
      ...(request.onEpoch ? { onEpoch: request.onEpoch } : {}),
    });
  }

  close(): Promise<void> {
    this.data.release();
    return Promise.resolve();
  }
}

/** The augmentation as it identifies an evaluation: null when it changes nothing. */
export function augmentationIdentity(
  augment: Augmentation | undefined,
): { cropPadding: number; flip: boolean } | null {
  const cropPadding = augment?.cropPadding ?? 0;
  const flip = augment?.flip ?? false;
  return cropPadding > 0 || flip ? { cropPadding, flip } : null;
}

/** Copies the parents' tensors into a child by name and shape (evaluate/training-session.ts). */
export { inheritWeights } from './training-session.js';

/**
 * Trains a candidate to the settings' epochs in a {@link TrainingSession}: stop rules
 * (`killBelow`) are decided at their epoch boundaries while the engine waits, so a killed
 * candidate has exactly the fidelity and metrics of the epoch it was killed at.
 */
export async function evaluateCandidate(
  architecture: Architecture,
  data: PreparedData,
  settings: EvaluationSettings,
  options: {
    parentWeights?: readonly WeightMap[];
    keepWeights?: boolean;
    onEpoch?: (record: EpochRecord) => void;
  } = {},
): Promise<CandidateResult> {
  const startedAt = new Date().toISOString();
  let session: TrainingSession | undefined;
  try {
    session = TrainingSession.start(architecture, data, settings, {
      ...(options.parentWeights ? { parentWeights: options.parentWeights } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    });
    await session.advance(settings.epochs);
    return await session.finish({ keepWeights: options.keepWeights ?? false });
  } catch (error) {
    return failedCandidateResult(error, startedAt);
  } finally {
    session?.release();
  }
}
