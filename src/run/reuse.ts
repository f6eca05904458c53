/**
 * Deduplication and reuse: a network is never trained twice under the same evaluation identity.
 * Before a candidate trains, the store is asked for an earlier result of the same network under
 * the same identity (any run), and the batch for an identical network already training; either
 * answers the candidate instead of a training.
 */
import type { CandidateRecord, RunStore } from '../store/index.js';
import type { Outcome, RecordedOutcome } from './results.js';

/** The trainings of a batch in flight, by network hash: a duplicate waits for the first. */
export type InFlightTrainings = Map<string, Promise<RecordedOutcome>>;

/** An earlier result, the evaluation it is stored as and the candidate it belongs to. */
export interface ReusableOutcome extends Outcome {
  readonly id: number;
  readonly candidateId: string;
}

/**
 * The outcome this candidate already has in its run (a resumed batch), if any: its record under
 * `key`, else its latest record (a decision of the run, or a row of an older store whose key is
 * legacy). A candidate's records are its own run's, so a resume never screens or trains it again.
 */
export function storedOutcome(
  store: RunStore,
  candidate: CandidateRecord,
  key: string,
): Outcome | undefined {
  const evaluations = store.candidateEvaluations(candidate.id);
  const existing =
    evaluations.filter((evaluation) => evaluation.evaluationKey === key).at(-1) ??
    evaluations.at(-1);
  return existing ? { status: existing.status, metrics: existing.metrics } : undefined;
}

/**
 * An earlier result of the same network under `key`: from the store, or from the identical
 * network training in this batch (awaited).
 */
export async function reusableOutcome(
  store: RunStore,
  candidate: CandidateRecord,
  key: string,
  inFlight: InFlightTrainings,
): Promise<ReusableOutcome | undefined> {
  const stored = store.findReusableEvaluation(candidate.hash, key);
  if (stored)
    return {
      status: stored.status,
      metrics: stored.metrics,
      id: stored.id,
      candidateId: stored.candidateId,
    };
  const training = inFlight.get(inFlightKey(candidate, key));
  if (!training) return undefined;
  const outcome = await training;
  // Only `ok` results are reused: a failed or killed twin trains on its own.
  if (outcome.status !== 'ok') return undefined;
  return {
    status: outcome.status,
    metrics: outcome.metrics,
    id: outcome.evaluationId,
    candidateId: outcome.candidateId,
  };
}

/** A training in flight is the same evaluation as another when network and key both match. */
function inFlightKey(candidate: CandidateRecord, key: string): string {
  return `${candidate.hash}\u0000${key}`;
}

/** Registers a training in flight for {@link reusableOutcome}. */
export function trackTraining(
  inFlight: InFlightTrainings,
  candidate: CandidateRecord,
  key: string,
  training: Promise<RecordedOutcome>,
): void {
  inFlight.set(inFlightKey(candidate, key), training);
}
