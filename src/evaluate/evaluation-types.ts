/**
 * What an evaluation is run under and what it gives back: the settings a candidate is trained
 * with and its result. Declared apart from the evaluator interface (evaluate/evaluator.ts) and
 * the training session (evaluate/training-session.ts), which both use them, so neither has to
 * import the other for its types.
 */
import type { EpochRecord, WeightMap } from '../engine/engine.js';
import type { EvaluationStatus } from '../search/strategy.js';
import type { TrainingProtocol } from './protocols.js';
import type { Augmentation } from './train.js';

export interface EvaluationSettings {
  readonly protocol: TrainingProtocol;
  readonly epochs: number;
  readonly maxStepsPerEpoch?: number;
  readonly killBelow?: { readonly epoch: number; readonly accuracy: number };
  /** Crops and flips of the training batches (none when absent). */
  readonly augment?: Augmentation;
  readonly seed: number;
  readonly threads?: number;
  readonly device: string;
}

export interface CandidateResult {
  readonly status: EvaluationStatus;
  readonly error?: string;
  /** Epochs trained. */
  readonly fidelity: number;
  /** accuracy (validation, best epoch), val_loss, test_accuracy, params, flops, train_seconds, train_images, inherited_tensors */
  readonly metrics: Record<string, number>;
  readonly epochs: readonly EpochRecord[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Trained weights, for children to inherit (only when asked for). */
  readonly weights?: WeightMap;
}
