/**
 * The loop's call site of the rung pruners (run/pruners/rungs.ts): successive halving and
 * Hyperband over one batch, with rung continuation. Every candidate of a bracket starts a
 * training session (evaluate/training-session.ts) whose learning-rate schedule is the full
 * training's; at each rung the sessions pause, the best 1/eta (non-dominated rank, then crowding
 * distance) are promoted and continue from where they are, with the same optimizer state, and
 * the others end there. So a candidate promoted to the last rung trains exactly what one full
 * training does (its result is stored under the full training's identity), and the epochs a
 * batch trains are the rung schedule's, not a sum of restarts.
 *
 * A candidate not promoted is stored with what it trained, as the run's decision
 * (`not-promoted`, status killed), never reused by another run. Sessions are held in memory
 * between rungs (a network and its optimizer state per candidate of the bracket).
 */
import type { CandidateResult, EvaluationRequest } from '../evaluate/evaluator.js';
import type { TrainingSession } from '../evaluate/training-session.js';
import type { CandidateRecord } from '../store/index.js';
import type { RunPlan } from './plan.js';
import { runPool } from './pool.js';
import {
  type Bracket,
  type RungResult,
  assignBrackets,
  hyperbandBrackets,
  planRungs,
  promote,
} from './pruners/rungs.js';
import type { Outcome, RecordedOutcome } from './results.js';

/** What the pruner needs of the search loop. */
export interface PruningHost {
  readonly plan: RunPlan;
  readonly evaluator: {
    readonly concurrency: number;
    startSession(request: EvaluationRequest): TrainingSession;
  };
  /** The request that starts a candidate's training (weights, settings, epoch events). */
  request(candidate: CandidateRecord): EvaluationRequest;
  /** Reserves the candidate's evaluation in the budget; false when it must not start. */
  mayStart(): boolean;
  /** Whether the run must stop (budget or stop request) before the next rung. */
  mustStop(): boolean;
  /** Counts epochs trained. */
  spendEpochs(epochs: number): void;
  /** Stores a finished training (with `decision` when a pruner cut it short). */
  record(
    candidate: CandidateRecord,
    result: CandidateResult,
    decision?: 'not-promoted',
  ): RecordedOutcome;
  /** Stores a training that could not start (the engine refused the architecture). */
  recordFailure(candidate: CandidateRecord, error: unknown): RecordedOutcome;
}

/** The brackets of the configured pruner: one for successive halving, Hyperband's several. */
export function bracketsOf(plan: RunPlan): { minEpochs: number; eta: number; brackets: Bracket[] } {
  const maxEpochs = plan.evaluation.epochs;
  if (plan.pruners.hyperband) {
    const { minEpochs, eta } = plan.pruners.hyperband;
    return { minEpochs, eta, brackets: hyperbandBrackets({ minEpochs, eta, maxEpochs }) };
  }
  const halving = plan.pruners.successiveHalving;
  if (!halving) throw new Error('internal: no rung pruner configured');
  return {
    minEpochs: halving.minEpochs,
    eta: halving.eta,
    brackets: [{ s: 0, minEpochs: halving.minEpochs, weight: 1 }],
  };
}

interface Running {
  readonly candidate: CandidateRecord;
  readonly session: TrainingSession;
  /** Epochs trained so far (counted in the budget). */
  trained: number;
}

/**
 * Prunes a batch: splits it over the brackets (in batch order) and runs successive halving in
 * each, one bracket after the other. Results go into `results` as they are stored.
 */
export async function pruneBatch(
  host: PruningHost,
  candidates: readonly CandidateRecord[],
  results: Map<string, Outcome>,
): Promise<void> {
  const { eta, brackets } = bracketsOf(host.plan);
  const counts = assignBrackets(candidates.length, brackets);
  let next = 0;
  for (const [i, bracket] of brackets.entries()) {
    const share = candidates.slice(next, next + (counts[i] ?? 0));
    next += share.length;
    if (share.length === 0) continue;
    await halve(host, share, { minEpochs: bracket.minEpochs, eta }, results);
    if (host.mustStop()) return;
  }
}

async function halve(
  host: PruningHost,
  candidates: readonly CandidateRecord[],
  settings: { minEpochs: number; eta: number },
  results: Map<string, Outcome>,
): Promise<void> {
  const { plan, evaluator } = host;
  const maxEpochs = plan.evaluation.epochs;
  const rungs = planRungs(candidates.length, { ...settings, maxEpochs });
  const keepWeights = plan.inheritWeights;
  let alive: Running[] = [];
  // The first rung starts each candidate's session, as far as the budget allows.
  await runPool(
    candidates,
    evaluator.concurrency,
    (candidate) => {
      try {
        alive.push({
          candidate,
          session: evaluator.startSession(host.request(candidate)),
          trained: 0,
        });
      } catch (error) {
        results.set(candidate.id, host.recordFailure(candidate, error));
      }
      return Promise.resolve();
    },
    () => host.mayStart(),
  );
  // The batch order, whatever order the sessions started in.
  const order = new Map(candidates.map((c, i) => [c.id, i]));
  alive.sort((a, b) => (order.get(a.candidate.id) ?? 0) - (order.get(b.candidate.id) ?? 0));
  const finish = async (running: Running, decision?: 'not-promoted'): Promise<void> => {
    const result = await running.session.finish({ keepWeights });
    running.session.release();
    const stored =
      decision && result.status === 'ok'
        ? {
            ...result,
            status: 'killed' as const,
            error: `not promoted by ${plan.pruners.hyperband ? 'Hyperband' : 'successive halving'} after ${running.trained} epoch${running.trained === 1 ? '' : 's'}`,
          }
        : result;
    results.set(
      running.candidate.id,
      host.record(
        running.candidate,
        stored,
        decision && result.status === 'ok' ? decision : undefined,
      ),
    );
  };
  try {
    for (const [index, rung] of rungs.entries()) {
      if (index > 0 && host.mustStop()) return;
      await runPool(alive, evaluator.concurrency, async (running) => {
        const progress = await running.session.advance(rung.epochs);
        host.spendEpochs(progress.epoch - running.trained);
        running.trained = progress.epoch;
      });
      const last = index === rungs.length - 1;
      const ranked: RungResult[] = alive.map((running) => ({
        id: running.candidate.id,
        status: running.session.state === 'killed' ? 'killed' : 'ok',
        metrics: running.session.interimMetrics(),
      }));
      const promoted = new Set(
        last
          ? []
          : promote(ranked, plan.objectives, plan.constraints, rungs[index + 1]?.count ?? 0),
      );
      const continuing: Running[] = [];
      for (const running of alive) {
        // A session a stop rule killed, or that ended on its own (early stopping, divergence),
        // has its final result now; so have the promoted ones at the last rung.
        if (promoted.has(running.candidate.id) && running.session.state === 'paused') {
          continuing.push(running);
        } else {
          const cutShort =
            !last && !promoted.has(running.candidate.id) && running.session.state === 'paused';
          await finish(running, cutShort ? 'not-promoted' : undefined);
        }
      }
      alive = continuing;
      if (alive.length === 0) return;
    }
  } finally {
    // Stopped between rungs: what was not finished is lost, like any training in flight.
    for (const running of alive) running.session.release();
  }
}
