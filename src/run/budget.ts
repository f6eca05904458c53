/**
 * The run's budget: evaluations, training epochs and wall time, counted across sessions (a
 * resumed run counts what its earlier sessions spent). An evaluation is counted when it starts
 * ({@link RunBudget.reserve}), so however many run at once (a local pool, a queue with a whole
 * generation in flight) no more start than the budget allows.
 */
import { SCREENED_OUT_METRIC } from '../search/strategy.js';
import type { EvaluationView, RunStore } from '../store/index.js';
import type { SearchConfig } from './config.js';

/**
 * Wall time a run used before this session: each session runs from its start (the run's creation,
 * then each `resumed` event) to the last evaluation that finished in it. Time between that
 * evaluation and a crash is not counted (at most the one evaluation lost in flight).
 */
export function earlierSessionsMilliseconds(
  store: RunStore,
  runId: string,
  evaluations: readonly { finishedAt: string }[],
): number {
  const starts = [
    Date.parse(store.getRun(runId).createdAt),
    ...store
      .events(runId)
      .filter((event) => event.kind === 'resumed')
      .map((event) => Date.parse(event.at)),
  ].sort((a, b) => a - b);
  const lastFinish = starts.map((start) => start);
  for (const evaluation of evaluations) {
    const finished = Date.parse(evaluation.finishedAt);
    // The session it finished in: the last one that started at or before it.
    let session = -1;
    for (let i = 0; i < starts.length && (starts[i] as number) <= finished; i++) session = i;
    if (session >= 0) lastFinish[session] = Math.max(lastFinish[session] as number, finished);
  }
  return starts.reduce((total, start, i) => total + (lastFinish[i] as number) - start, 0);
}

export class RunBudget {
  /** Evaluations finished or started (reserved) in this run, all sessions. */
  private evaluations: number;
  private epochs: number;
  private readonly started: number;

  private constructor(
    private readonly limits: SearchConfig['budget'],
    spent: { evaluations: number; epochs: number; started: number },
  ) {
    this.evaluations = spent.evaluations;
    this.epochs = spent.epochs;
    this.started = spent.started;
  }

  /** The budget of a run, with what its stored evaluations spent. */
  static fromStore(store: RunStore, runId: string, limits: SearchConfig['budget']): RunBudget {
    const evaluations: EvaluationView[] = store.evaluations(runId, {});
    return new RunBudget(limits, {
      // Candidates screened out were never trained: they do not count.
      evaluations: evaluations.filter(
        (e) => e.decision !== 'screened-out' && e.metrics[SCREENED_OUT_METRIC] === undefined,
      ).length,
      epochs: evaluations.reduce((sum, e) => sum + (e.reusedFrom === null ? e.fidelity : 0), 0),
      // A wall-time budget spans sessions: a resumed run counts the time its earlier ones used.
      started: Date.now() - earlierSessionsMilliseconds(store, runId, evaluations),
    });
  }

  /** Why the budget is spent, or undefined. Evaluations in flight count as spent. */
  exhausted(): string | undefined {
    const b = this.limits;
    if (b.evaluations !== undefined && this.evaluations >= b.evaluations)
      return `${b.evaluations} evaluations done`;
    if (b.epochs !== undefined && this.epochs >= b.epochs)
      return `${b.epochs} training epochs spent`;
    if (b.minutes !== undefined && Date.now() - this.started >= b.minutes * 60_000)
      return `${b.minutes} minutes elapsed`;
    return undefined;
  }

  /**
   * Counts one evaluation about to start, if the budget allows it; false when it does not (the
   * evaluation must not start).
   */
  reserve(): boolean {
    if (this.exhausted() !== undefined) return false;
    this.evaluations += 1;
    return true;
  }

  /** Gives back a reservation whose evaluation did not happen. */
  release(): void {
    this.evaluations -= 1;
  }

  /** Adds the epochs an evaluation trained. */
  spendEpochs(epochs: number): void {
    this.epochs += epochs;
  }
}
