/**
 * The final stage's settings (the configuration's `final` section) and the training recipe they
 * describe. Kept apart from final-stage.ts so that run/config.ts can use the schema without an
 * import cycle.
 */
import { z } from 'zod';
import { BASELINE_NAMES } from '../evaluate/baselines.js';
import type { TrainingProtocol } from '../evaluate/protocols.js';

export const finalStageSchema = z
  .object({
    /** Run the final stage after the search (`--no-final` turns it off for one run). */
    enabled: z.boolean().default(true),
    /** The best this many networks of the Pareto front that meet the constraints. */
    networks: z.number().int().min(1).max(20).default(3),
    seeds: z.array(z.number().int().min(0)).min(1).default([1, 2, 3]),
    epochs: z.number().int().min(1).default(30),
    /** Linear warmup epochs before the cosine schedule. */
    warmupEpochs: z.number().min(0).default(2),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    /** SGD with Nesterov momentum 0.9. */
    lr: z.number().positive().default(0.05),
    batchSize: z.number().int().min(1).default(128),
    weightDecay: z.number().min(0).default(5e-4),
    /** Random crops with this many black pixels on each side (0: none). */
    cropPadding: z.number().int().min(0).max(16).default(2),
    /** Random horizontal flips. */
    flip: z.boolean().default(true),
    /** Hand-designed networks trained under the same recipe (evaluate/baselines.ts). */
    baselines: z.array(z.enum(BASELINE_NAMES)).default(['plain-cnn', 'mobilenet-v2-narrow']),
    /** Training images (all when absent) and test images (all when absent): for quick checks. */
    subset: z.number().int().min(1).optional(),
    testSubset: z.number().int().min(1).optional(),
    maxStepsPerEpoch: z.number().int().min(1).optional(),
  })
  .strict();
export type FinalStageConfig = z.infer<typeof finalStageSchema>;

/** The recipe as a protocol: SGD (Nesterov), warmup then cosine, label smoothing, Kaiming init. */
export function finalRecipe(final: FinalStageConfig): TrainingProtocol {
  return {
    name: 'final',
    description: `final recipe: SGD momentum 0.9 (Nesterov), lr ${final.lr}, ${final.warmupEpochs} warmup epochs then cosine, label smoothing ${final.labelSmoothing}, weight decay ${final.weightDecay}, batch ${final.batchSize}, ${final.epochs} epochs, Kaiming init`,
    init: 'kaiming',
    standardise: true,
    validationFraction: 0.1,
    training: {
      epochs: final.epochs,
      batchSize: final.batchSize,
      optimizer: 'sgd',
      lr: final.lr,
      momentum: 0.9,
      nesterov: true,
      weightDecay: final.weightDecay,
      schedule: 'cosine',
      warmupEpochs: final.warmupEpochs,
      labelSmoothing: final.labelSmoothing,
    },
  };
}
