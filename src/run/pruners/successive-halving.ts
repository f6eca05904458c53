/**
 * Successive halving over TrainingSessions: promoted candidates continue from their rung (same
 * weights, optimizer state and schedule), they never restart. Hyperband runs it once per
 * bracket. The search loop (run/loop.ts) calls {@link runSuccessiveHalving} or
 * {@link runHyperband} with a generation's candidates and a function that starts a session for
 * one; it records each outcome: `completed` results as the candidate's evaluation,
 * `not-promoted` ones as the pruner's decision of this run (never reused by another run).
 */
import type { SessionResult, TrainingSession } from '../../evaluate/training-session.js';
import type { Constraint, Objective } from '../../search/strategy.js';
import {
  type RungSettings,
  assignBrackets,
  hyperbandBrackets,
  planRungs,
  promote,
} from './rungs.js';

/** How one candidate left the pruner. */
export interface PrunerOutcome {
  readonly id: string;
  /**
   * `completed`: trained to the last rung (or ended on its own: early stopping, a stop rule,
   * divergence, as `result.status` says); `not-promoted`: stopped after `rungEpochs`.
   */
  readonly decision: 'completed' | 'not-promoted';
  /** Epochs of the rung it stopped at. */
  readonly rungEpochs: number;
  readonly result: SessionResult;
}

export interface SuccessiveHalvingOptions extends RungSettings {
  readonly objectives: readonly Objective[];
  readonly constraints: readonly Constraint[];
  /** Sessions trained at once (default 1). */
  readonly concurrency?: number;
  readonly keepWeights?: boolean;
}

async function eachAtMost<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from(
    { length: Math.max(1, Math.min(concurrency, items.length)) },
    async () => {
      while (next < items.length) {
        const item = items[next] as T;
        next += 1;
        await work(item);
      }
    },
  );
  await Promise.all(lanes);
}

/**
 * Trains `candidates` by successive halving: all to the first rung, then the best floor(n/eta)
 * of each rung (by {@link promote}: non-dominated rank, crowding, batch order) continue to the
 * next, up to maxEpochs. Returns one outcome per candidate, in batch order; every session is
 * finished and released.
 */
export async function runSuccessiveHalving<C extends { readonly id: string }>(
  candidates: readonly C[],
  startSession: (candidate: C) => TrainingSession,
  options: SuccessiveHalvingOptions,
): Promise<PrunerOutcome[]> {
  const plan = planRungs(candidates.length, options);
  const sessions = new Map<string, TrainingSession>();
  const outcomes = new Map<string, PrunerOutcome>();
  const concurrency = options.concurrency ?? 1;
  const finish = async (
    id: string,
    decision: PrunerOutcome['decision'],
    rungEpochs: number,
  ): Promise<void> => {
    const session = sessions.get(id) as TrainingSession;
    const result = await session.finish({ keepWeights: options.keepWeights ?? false });
    session.release();
    sessions.delete(id);
    outcomes.set(id, { id, decision, rungEpochs, result });
  };
  let active = [...candidates];
  try {
    for (const [r, rung] of plan.entries()) {
      const last = r === plan.length - 1;
      await eachAtMost(active, concurrency, async (candidate) => {
        let session = sessions.get(candidate.id);
        if (!session) {
          session = startSession(candidate);
          sessions.set(candidate.id, session);
        }
        const progress = await session.advance(rung.epochs);
        // ended on its own or killed by a stop rule: nothing left to promote
        if (last || progress.state !== 'paused')
          await finish(candidate.id, 'completed', rung.epochs);
      });
      if (last) break;
      const standing = active.filter((c) => sessions.has(c.id));
      const nextCount = plan[r + 1]?.count ?? 0;
      const promoted = new Set(
        promote(
          standing.map((c) => ({
            id: c.id,
            status: 'ok' as const,
            metrics: (sessions.get(c.id) as TrainingSession).interimMetrics(),
          })),
          options.objectives,
          options.constraints,
          nextCount,
        ),
      );
      for (const candidate of standing) {
        if (!promoted.has(candidate.id)) await finish(candidate.id, 'not-promoted', rung.epochs);
      }
      active = standing.filter((c) => promoted.has(c.id));
      if (active.length === 0) break;
    }
  } finally {
    for (const session of sessions.values()) session.release();
  }
  return candidates.flatMap((c) => {
    const outcome = outcomes.get(c.id);
    return outcome ? [outcome] : [];
  });
}

/**
 * Hyperband over one batch: the candidates are split, in batch order, over the brackets in
 * proportion to their weights ({@link assignBrackets}), and each bracket runs successive halving
 * from its own first rung up to maxEpochs.
 */
export async function runHyperband<C extends { readonly id: string }>(
  candidates: readonly C[],
  startSession: (candidate: C) => TrainingSession,
  options: SuccessiveHalvingOptions,
): Promise<PrunerOutcome[]> {
  const brackets = hyperbandBrackets(options);
  const counts = assignBrackets(candidates.length, brackets);
  const outcomes: PrunerOutcome[] = [];
  let start = 0;
  for (const [i, bracket] of brackets.entries()) {
    const share = candidates.slice(start, start + (counts[i] ?? 0));
    start += share.length;
    if (share.length === 0) continue;
    outcomes.push(
      ...(await runSuccessiveHalving(share, startSession, {
        ...options,
        minEpochs: bracket.minEpochs,
      })),
    );
  }
  return outcomes;
}
