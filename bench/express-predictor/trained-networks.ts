/**
 * A finished run's trained networks, each once: the ok evaluations that trained (a duplicate
 * answered from the store would sit on both sides of a train/test split), with their accuracy.
 */
import type { Architecture } from '../../src/space/ir.js';
import { type RunRecord, RunStore } from '../../src/store/index.js';

export interface TrainedNetwork {
  readonly candidateId: string;
  readonly architecture: Architecture;
  readonly accuracy: number;
}

export function trainedNetworks(
  store: string,
  runIdOrName: string,
): { run: RunRecord; networks: TrainedNetwork[] } {
  const runs = RunStore.open(store);
  try {
    const run = runs.getRun(runIdOrName);
    const networks = runs
      .evaluations(run.id)
      .filter((e) => e.status === 'ok' && e.metrics.accuracy !== undefined && e.reusedFrom === null)
      .map((e) => ({
        candidateId: e.candidateId,
        architecture: runs.getCandidate(e.candidateId).architecture as Architecture,
        accuracy: e.metrics.accuracy as number,
      }));
    return { run, networks };
  } finally {
    runs.close();
  }
}
