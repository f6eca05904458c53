/**
 * Records each candidate's outcome in the store the moment it is known, and reports it: a
 * trained result, a result reused from the store, or a decision of this run that trained nothing
 * (refused before training, screened out, not promoted).
 */
import type { CandidateResult } from '../evaluate/evaluator.js';
import type { Objective } from '../search/strategy.js';
import type {
  CandidateRecord,
  EvaluationDecision,
  EvaluationRecord,
  RunStore,
} from '../store/index.js';
import type { SearchEventListener } from './events.js';

/** What the strategy is told of a candidate. */
export interface Outcome {
  readonly status: CandidateResult['status'];
  readonly metrics: Record<string, number>;
}

/** An outcome with the stored evaluation it came from (for reuse within a batch). */
export interface RecordedOutcome extends Outcome {
  readonly evaluationId: number;
  readonly candidateId: string;
}

export class ResultRecorder {
  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly objectives: readonly Objective[],
    private readonly onEvent: SearchEventListener | undefined,
  ) {}

  /** The objective metrics a stored evaluation carries. */
  objectiveValues(metrics: Readonly<Record<string, number>>): Record<string, number> {
    const values: Record<string, number> = {};
    for (const objective of this.objectives) {
      const value = metrics[objective.metric];
      if (value !== undefined) values[objective.metric] = value;
    }
    return values;
  }

  /**
   * A decision of this run that trained nothing: stored under the run's key, fidelity 0, marked
   * as the decision it is, so no other run takes it for a result.
   */
  decision(
    candidate: CandidateRecord,
    key: string,
    outcome: Outcome & { readonly error: string; readonly decision: EvaluationDecision },
    options: { readonly emit?: boolean } = {},
  ): RecordedOutcome {
    const now = new Date().toISOString();
    const evaluation = this.store.addEvaluation({
      candidateId: candidate.id,
      status: outcome.status,
      decision: outcome.decision,
      error: outcome.error,
      fidelity: 0,
      metrics: outcome.metrics,
      epochs: [],
      objectives: this.objectiveValues(outcome.metrics),
      evaluationKey: key,
      startedAt: now,
      finishedAt: now,
    });
    if (options.emit !== false)
      this.done(candidate, outcome.status, outcome.metrics, false, outcome.error, outcome.decision);
    return {
      status: outcome.status,
      metrics: outcome.metrics,
      evaluationId: evaluation.id,
      candidateId: candidate.id,
    };
  }

  /** A result taken from an earlier evaluation of the same network under the same identity. */
  reused(
    candidate: CandidateRecord,
    key: string,
    previous: Pick<EvaluationRecord, 'status' | 'metrics'> & { readonly id: number },
  ): RecordedOutcome {
    const metrics = previous.metrics;
    const now = new Date().toISOString();
    const evaluation = this.store.addEvaluation({
      candidateId: candidate.id,
      status: previous.status,
      fidelity: 0,
      metrics,
      epochs: [],
      objectives: this.objectiveValues(metrics),
      evaluationKey: key,
      reusedFrom: previous.id,
      startedAt: now,
      finishedAt: now,
    });
    this.done(candidate, previous.status, metrics, true);
    return {
      status: previous.status,
      metrics,
      evaluationId: evaluation.id,
      candidateId: candidate.id,
    };
  }

  /**
   * A trained result (`extraMetrics`, e.g. screening scores, are stored with it). `decision`
   * marks a training a pruner cut short (not promoted): what it trained is stored, as a decision
   * of this run that no other run reuses.
   */
  trained(
    candidate: CandidateRecord,
    key: string,
    result: CandidateResult,
    extraMetrics: Readonly<Record<string, number>> = {},
    decision?: EvaluationDecision,
  ): RecordedOutcome {
    const metrics = { ...extraMetrics, ...result.metrics };
    const evaluation = this.store.addEvaluation({
      candidateId: candidate.id,
      status: result.status,
      ...(decision ? { decision } : {}),
      ...(result.error ? { error: result.error } : {}),
      fidelity: result.fidelity,
      metrics,
      epochs: result.epochs,
      objectives: this.objectiveValues(metrics),
      evaluationKey: key,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
    });
    if (result.status === 'failed')
      this.store.logEvent(
        this.runId,
        'failed',
        `${candidate.id} ${candidate.genome}: ${result.error ?? ''}`,
      );
    this.done(candidate, result.status, metrics, false, result.error, decision);
    return {
      status: result.status,
      metrics,
      evaluationId: evaluation.id,
      candidateId: candidate.id,
    };
  }

  private done(
    candidate: CandidateRecord,
    status: CandidateResult['status'],
    metrics: Record<string, number>,
    reused: boolean,
    error?: string,
    decision?: EvaluationDecision,
  ): void {
    this.onEvent?.({
      type: 'candidate-done',
      id: candidate.id,
      genome: candidate.genome,
      generation: candidate.generation,
      status,
      metrics,
      reused,
      ...(error ? { error } : {}),
      ...(decision ? { decision } : {}),
    });
  }
}
