/**
 * Pre-training checks: what can be known of a candidate before it trains, checked before it
 * trains. The constraints on parameters and FLOPs (from the compiled architecture) and the
 * training-memory estimate (evaluate/memory.ts) at the protocol's batch size. A candidate that
 * fails one is recorded as failed with the reason ("params 152,000 > limit 100,000"), never
 * trained, and the search goes on.
 */
import { estimateTrainingMemory, memoryLimitMessage } from '../evaluate/memory.js';
import type { Constraint } from '../search/strategy.js';
import type { Architecture } from '../space/ir.js';
import { formatCount } from '../util/format.js';
import type { RunPlan } from './plan.js';

/** The metrics known of a candidate before training and, when it must not train, why. */
export interface PreTrainingVerdict {
  /** Set when the candidate must not train. */
  readonly error?: string;
  /** `params`, `flops`, `memory_estimate_bytes`, and {@link INFEASIBLE_METRIC} when refused. */
  readonly metrics: Record<string, number>;
}

/** Metric set to 1 on a candidate refused by a pre-training check. */
export const INFEASIBLE_METRIC = 'infeasible';

function breaks(constraint: Constraint, value: number): boolean {
  return constraint.op === '<=' ? value > constraint.value : value < constraint.value;
}

/**
 * What is known of a candidate before training, and whether it may train. `known` holds the
 * metrics of the compiled architecture (`params`, `flops`).
 */
export function checkBeforeTraining(
  plan: Pick<RunPlan, 'pruners' | 'protocol'>,
  architecture: Architecture,
  known: Readonly<Record<string, number>>,
): PreTrainingVerdict {
  const metrics: Record<string, number> = { ...known };
  const reasons: string[] = [];
  for (const constraint of plan.pruners.preTrainingConstraints) {
    const value = known[constraint.metric];
    if (value === undefined || !breaks(constraint, value)) continue;
    const relation = constraint.op === '<=' ? '>' : '<';
    reasons.push(
      `${constraint.metric} ${formatCount(value)} ${relation} limit ${formatCount(constraint.value)}`,
    );
  }
  const limit = plan.pruners.memoryLimitBytes;
  if (limit !== null) {
    const training = plan.protocol.training;
    const estimate = estimateTrainingMemory(architecture, {
      batchSize: training.batchSize,
      optimizer: training.optimizer,
      ...(training.momentum !== undefined ? { momentum: training.momentum } : {}),
      ...(training.restoreBest !== undefined ? { restoreBest: training.restoreBest } : {}),
    });
    metrics.memory_estimate_bytes = estimate.bytes;
    if (estimate.bytes > limit)
      reasons.push(memoryLimitMessage(estimate, limit, training.batchSize));
  }
  if (reasons.length === 0) return { metrics };
  return {
    error: `infeasible before training: ${reasons.join('; ')}`,
    metrics: { ...metrics, [INFEASIBLE_METRIC]: 1 },
  };
}
