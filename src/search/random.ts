/**
 * Random search: every proposal is a fresh sample from the space. A strong baseline for
 * architecture search, and the reference the other strategies must beat.
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  checkCount,
  constructForRestore,
  intOption,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  sampleProposals,
  SeededStrategy,
  snapshotHeader,
  type BaseStrategyOptions,
} from './common.js';
import type { Evaluated, Proposal } from './strategy.js';

export interface RandomSearchOptions<G> extends BaseStrategyOptions<G> {
  /** Accepted so that every strategy takes the same settings; random search has no population. */
  readonly populationSize?: number;
}

const NAME = 'random';

const shape = { ...baseOptionsShape, populationSize: intOption('populationSize', 1).optional() };
const optionsSchema = z.strictObject(shape);

const snapshotSchema = z.object({ ...snapshotHeader(NAME), pending: z.array(proposalSchema) });
type Snapshot = z.output<typeof snapshotSchema>;

export class RandomSearch<G> extends SeededStrategy<G, Snapshot> {
  readonly name = NAME;
  private pending = new PendingProposals<G>();

  constructor(options: RandomSearchOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    super(options, o, optionsFingerprint(o));
  }

  /** `count` fresh samples. */
  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const context = { space: this.space, target: this.target, random: this.random };
    const proposals = sampleProposals(context, count);
    for (const proposal of proposals) this.pending.add(this.space, proposal);
    this.askedCount += proposals.length;
    return proposals;
  }

  tell(results: readonly Evaluated<G>[]): void {
    this.pending.resolve(NAME, this.space, results);
    this.toldCount += results.length;
  }

  protected snapshotState(): Record<string, unknown> {
    return { pending: this.pending.toJSON(this.space) };
  }

  protected restoreState(data: Snapshot): void {
    this.pending = PendingProposals.fromJSON(NAME, this.space, data.pending);
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: RandomSearchOptions<G>): RandomSearch<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new RandomSearch(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
