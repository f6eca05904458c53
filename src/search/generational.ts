/**
 * What the generational strategies (genetic algorithm, NSGA-II, (mu+lambda)) share: a
 * generation is a fixed {@link GenerationBatch} of proposals, generation 0 is sampled, `ask`
 * hands out the current generation's proposals until none are left (then `[]` until all of them
 * have been told), and the `tell` that completes it breeds the next. Each strategy adds its
 * options, how it breeds, and the members it carries from one generation to the next.
 *
 * A scheduled selection step, the DARTS tournament (`dartsTournament: { every, size }`): when
 * generation g > 0 with g % every === 0 has been told, the strategy does not breed at once. It
 * groups the generation's successful candidates at random into tournaments of `size` and waits
 * (`ask` gives `[]`, {@link GenerationalStrategy.pendingTournament} lists the groups) until the
 * search loop has trained each group's mixture network and calls `resolveTournament` with each
 * group's winner, the candidate whose alpha is largest. Breeding then sees only the winners of
 * that generation (the losers are out of the selection, as the tournament replaces it), and
 * strategies that keep survivors keep every winner. A group of one wins without a tournament.
 */
import { z } from 'zod';
import {
  batchSchema,
  checkCount,
  GenerationBatch,
  isRestoring,
  sampleProposals,
  SeededStrategy,
  type BatchJson,
  type BaseStrategyOptions,
  type ParsedBaseOptions,
  type SnapshotHeaderJson,
  type VariationContext,
} from './common.js';
import type { Evaluated, Proposal, TournamentRequest } from './strategy.js';

/** The strategy option that schedules DARTS tournaments (see the module comment). */
export const dartsTournamentOption = z
  .strictObject({
    every: z.number().int().min(1, 'dartsTournament.every must be at least 1'),
    size: z.number().int().min(2, 'dartsTournament.size must be at least 2'),
  })
  .optional();

export type DartsTournamentSchedule = NonNullable<z.output<typeof dartsTournamentOption>>;

/** The snapshot fields of every generational strategy, after {@link snapshotHeader}'s. */
export const generationFields = {
  generation: z.number().int().min(0),
  batch: batchSchema,
  /** Tournament groups (candidate ids) waiting for their winners; absent when none wait. */
  tournament: z.array(z.array(z.string())).optional(),
};

/** What every generational snapshot holds. */
export interface GenerationalSnapshotJson extends SnapshotHeaderJson {
  readonly generation: number;
  readonly batch: BatchJson;
  readonly tournament?: string[][] | undefined;
}

export abstract class GenerationalStrategy<
  G,
  S extends GenerationalSnapshotJson,
> extends SeededStrategy<G, S> {
  protected generationIndex = 0;
  protected batch: GenerationBatch<G>;
  /** Tournament groups waiting for their winners, or null. */
  private waiting: string[][] | null = null;
  /** Candidates of the told generation that lost a tournament (empty when none was held). */
  private losers = new Set<string>();
  /** Winners of the tournament the coming breeding follows (empty when none was held). */
  private winners = new Set<string>();

  /** Samples `initialSize` proposals for generation 0 (none when restoring). */
  protected constructor(
    options: BaseStrategyOptions<G>,
    parsed: ParsedBaseOptions,
    fingerprint: string,
    initialSize: number,
  ) {
    super(options, parsed, fingerprint);
    this.batch = GenerationBatch.of(
      this.space,
      isRestoring() ? [] : sampleProposals(this.context(), initialSize),
    );
  }

  /** The DARTS tournament schedule, if the strategy's options set one (subclasses set it). */
  protected tournamentSchedule: DartsTournamentSchedule | undefined = undefined;

  /** The generation being evaluated (0 = the sampled one). */
  get generation(): number {
    return this.generationIndex;
  }

  ask(count: number): Proposal<G>[] {
    checkCount(this.name, count);
    const proposals = this.batch.take(count);
    this.askedCount += proposals.length;
    return proposals;
  }

  tell(results: readonly Evaluated<G>[]): void {
    this.batch.record(this.name, this.space, results);
    this.toldCount += results.length;
    if (results.length > 0 && this.batch.complete) {
      const schedule = this.tournamentSchedule;
      if (schedule && this.generationIndex > 0 && this.generationIndex % schedule.every === 0) {
        const entrants = this.random.shuffle(
          this.batch.told().filter((member) => member.status === 'ok'),
        );
        const groups: string[][] = [];
        for (let i = 0; i < entrants.length; i += schedule.size)
          groups.push(entrants.slice(i, i + schedule.size).map((member) => member.id));
        if (groups.some((group) => group.length > 1)) {
          this.waiting = groups;
          return;
        }
      }
      this.advance();
    }
  }

  /** The tournaments the search loop must hold before this strategy can breed, or null. */
  pendingTournament(): TournamentRequest<G> | null {
    if (!this.waiting) return null;
    const byId = new Map(this.batch.told().map((member) => [member.id, member]));
    return {
      generation: this.generationIndex,
      groups: this.waiting
        .filter((group) => group.length > 1)
        .map((group) => group.map((id) => byId.get(id) as Evaluated<G>)),
    };
  }

  /**
   * Each tournament's winner (one id per group of {@link pendingTournament}, in its order); the
   * losers leave the selection, and the strategy breeds its next generation.
   */
  resolveTournament(winners: readonly string[]): void {
    if (!this.waiting) throw new Error(`${this.name}: no tournament is waiting for its winners`);
    const contested = this.waiting.filter((group) => group.length > 1);
    if (winners.length !== contested.length)
      throw new Error(
        `${this.name}: ${String(contested.length)} tournaments need a winner each, got ${String(winners.length)}`,
      );
    const losers = new Set<string>();
    const won = new Set<string>();
    contested.forEach((group, i) => {
      const winner = winners[i] as string;
      if (!group.includes(winner))
        throw new Error(`${this.name}: ${winner} is not in tournament ${String(i + 1)}`);
      won.add(winner);
      for (const id of group) if (id !== winner) losers.add(id);
    });
    for (const group of this.waiting) if (group.length === 1) won.add(group[0] as string);
    this.waiting = null;
    this.losers = losers;
    this.winners = won;
    this.advance();
  }

  private advance(): void {
    const proposals = this.breed();
    this.generationIndex += 1;
    this.batch = GenerationBatch.of(this.space, proposals);
    this.losers = new Set();
    this.winners = new Set();
  }

  /** The told generation as breeding sees it: without the candidates that lost a tournament. */
  protected selectable(): Evaluated<G>[] {
    return this.batch.told().filter((member) => !this.losers.has(member.id));
  }

  /** The told generation's tournament winners (empty unless a tournament was just held). */
  protected tournamentWinners(): Evaluated<G>[] {
    return this.batch.told().filter((member) => this.winners.has(member.id));
  }

  protected context(): VariationContext<G> {
    return { space: this.space, target: this.target, random: this.random };
  }

  /**
   * Called once the current generation has been told: updates the members carried into the
   * next generation and returns its proposals.
   */
  protected abstract breed(): Proposal<G>[];

  protected snapshotState(): Record<string, unknown> {
    return {
      generation: this.generationIndex,
      batch: this.batch.toJSON(this.space),
      ...(this.waiting ? { tournament: this.waiting.map((group) => [...group]) } : {}),
      ...this.snapshotMembers(),
    };
  }

  /** The snapshot fields after `generation` and `batch`: the members carried over. */
  protected abstract snapshotMembers(): Record<string, unknown>;

  protected restoreState(data: S): void {
    this.generationIndex = data.generation;
    this.batch = GenerationBatch.fromJSON(this.name, this.space, data.batch);
    this.waiting = data.tournament ? data.tournament.map((group) => [...group]) : null;
    this.restoreMembers(data);
  }

  /** Restores what {@link snapshotMembers} wrote. */
  protected abstract restoreMembers(data: S): void;
}
