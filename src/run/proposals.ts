/**
 * Records a strategy's proposals: each becomes a candidate of the run (its text, JSON genome,
 * compiled architecture, parameter and FLOP counts, lineage), and the strategy's state after the
 * ask is saved with the candidate ids, in one transaction. A run killed after this answers the
 * same ask when it resumes.
 */
import type { Proposal, Strategy } from '../search/strategy.js';
import { analyzeArchitecture } from '../space/ir.js';
import type { CandidateRecord, RunStore } from '../store/index.js';
import { architectureHash } from './identity.js';
import type { RunPlan, SpaceGenome } from './plan.js';
import type { LoopState } from './stored.js';

export function recordProposals(
  store: RunStore,
  runId: string,
  plan: Pick<RunPlan, 'space' | 'target'>,
  strategy: Strategy<SpaceGenome>,
  generation: number,
  proposals: readonly Proposal<SpaceGenome>[],
): CandidateRecord[] {
  const { space, target } = plan;
  return store.transaction(() => {
    const added = store.addCandidates(
      runId,
      proposals.map((proposal) => {
        const text = space.format(proposal.genome);
        const architecture = space.compile(proposal.genome, target);
        const summary = analyzeArchitecture(architecture);
        return {
          generation,
          genome: text,
          genomeJson: space.toJSON(proposal.genome),
          architecture,
          // The compiled IR, not the text: a text may leave out options that change the network.
          hash: architectureHash(architecture),
          operator: proposal.operator,
          params: summary.params,
          flops: summary.flops,
          parents: [...proposal.parents],
        };
      }),
    );
    store.saveStrategyState(runId, 'asked', {
      strategy: strategy.snapshot(),
      generation,
      asked: added.map((c) => c.id),
    } satisfies LoopState);
    return added;
  });
}
