/**
 * What the generational strategies (genetic algorithm, NSGA-II, (mu+lambda)) share: a
 * generation is a fixed {@link GenerationBatch} of proposals, generation 0 is sampled, `ask`
 * hands out the current generation's proposals until none are left (then `[]` until all of them
 * have been told), and the `tell` that completes it breeds the next. Each strategy adds its
 * options, how it breeds, and the members it carries from one generation to the next.
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
import type { Evaluated, Proposal } from './strategy.js';

/** The snapshot fields of every generational strategy, after {@link snapshotHeader}'s. */
export const generationFields = {
  generation: z.number().int().min(0),
  batch: batchSchema,
};

/** What every generational snapshot holds. */
export interface GenerationalSnapshotJson extends SnapshotHeaderJson {
  readonly generation: number;
  readonly batch: BatchJson;
}

export abstract class GenerationalStrategy<
  G,
  S extends GenerationalSnapshotJson,
> extends SeededStrategy<G, S> {
  protected generationIndex = 0;
  protected batch: GenerationBatch<G>;

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
      const proposals = this.breed();
      this.generationIndex += 1;
      this.batch = GenerationBatch.of(this.space, proposals);
    }
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
      ...this.snapshotMembers(),
    };
  }

  /** The snapshot fields after `generation` and `batch`: the members carried over. */
  protected abstract snapshotMembers(): Record<string, unknown>;

  protected restoreState(data: S): void {
    this.generationIndex = data.generation;
    this.batch = GenerationBatch.fromJSON(this.name, this.space, data.batch);
    this.restoreMembers(data);
  }

  /** Restores what {@link snapshotMembers} wrote. */
  protected abstract restoreMembers(data: S): void;
}
