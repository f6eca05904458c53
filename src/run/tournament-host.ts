/**
 * Holds the DARTS tournaments a strategy schedules (src/search/generational.ts): compiles each
 * group's mixture network, trains it with the engine (src/evaluate/darts-tournament.ts), tells
 * the strategy the winners and logs every tournament in the run's events (`darts_tournament`,
 * with each candidate's alpha). The data are loaded once, when the first tournament is due.
 */
import { runDartsTournament } from '../evaluate/darts-tournament.js';
import type { PreparedData } from '../evaluate/prepared-data.js';
import { compileMixture } from '../space/mixture.js';
import type { SearchSpace } from '../space/space.js';
import type { RunStore } from '../store/index.js';
import { prepareSearchData } from './evaluators.js';
import type { RunPlan } from './plan.js';
import type { Strategy } from '../search/strategy.js';

export const DARTS_TOURNAMENT_EVENT = 'darts_tournament';

export class DartsTournamentHost<G> {
  private data: PreparedData | undefined;

  constructor(
    private readonly plan: RunPlan,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Holds the strategy's pending tournaments, if any; true when it held some. */
  async holdPending(strategy: Strategy<G>, store: RunStore, runId: string): Promise<boolean> {
    const request = strategy.pendingTournament?.();
    const settings = this.plan.strategy.dartsTournament;
    if (!request || !strategy.resolveTournament) return false;
    if (!settings)
      throw new Error(`strategy ${strategy.name} holds a tournament, but none is configured`);
    const data = await this.prepared();
    const winners: string[] = [];
    for (const [index, group] of request.groups.entries()) {
      const mixture = compileMixture(
        this.plan.space as SearchSpace<G>,
        group.map((member) => member.genome),
        this.plan.target,
      );
      const result = await runDartsTournament(
        mixture,
        { train: data.train, validation: data.validation as NonNullable<typeof data.validation> },
        {
          steps: settings.steps,
          batchSize: settings.batchSize,
          lr: settings.lr,
          architectureLr: settings.architectureLr,
          init: this.plan.protocol.init,
          seed: this.plan.seed * 1000 + request.generation * 37 + index,
          threads: this.plan.evaluation.threads ?? 1,
          device: this.plan.device,
        },
      );
      const winner = group[result.winner];
      if (!winner) throw new Error('internal: tournament winner out of range');
      winners.push(winner.id);
      const entries = group.map(
        (member, i) =>
          `${member.id} alpha ${(result.alpha[i] as number).toFixed(3)} (weight ${(result.weights[i] as number).toFixed(3)})`,
      );
      const message = `generation ${String(request.generation)} tournament ${String(index + 1)}/${String(request.groups.length)}: ${winner.id} wins; ${entries.join(', ')}; ${settings.steps} steps in ${result.seconds.toFixed(1)} s, mixture validation accuracy ${(result.validationAccuracy ?? 0).toFixed(3)}`;
      store.logEvent(runId, DARTS_TOURNAMENT_EVENT, message);
      this.log(message);
    }
    strategy.resolveTournament(winners);
    return true;
  }

  private async prepared(): Promise<PreparedData> {
    if (this.data) return this.data;
    this.data = await prepareSearchData(this.plan, this.log, { testSubset: 1 });
    if (!this.data.validation || this.data.validation.count === 0)
      throw new Error('a DARTS tournament needs validation data: set a validationFraction above 0');
    return this.data;
  }

  close(): void {
    this.data?.release();
    this.data = undefined;
  }
}
