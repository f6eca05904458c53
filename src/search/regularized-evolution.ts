/**
 * Regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image Classifier
 * Architecture Search".
 *
 * The first `populationSize` proposals are samples. After that each proposal draws
 * `sampleSize` members of the population uniformly with replacement, takes the best of them by
 * `ranking.ts` as the parent and proposes a mutation of it. Every told candidate joins the
 * population, and once the population is over `populationSize` its OLDEST member (the first to
 * have joined) leaves, whatever its rank: the aging that regularizes the search.
 *
 * Several proposals may be outstanding at once (parallel workers): once the samples are handed
 * out, `ask` mutates members of the population as it stands, and returns `[]` only while the
 * population is still empty.
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  checkCount,
  checkSnapshot,
  constructForRestore,
  intOption,
  memberFromJSON,
  memberSchema,
  memberToJSON,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  SeededStrategy,
  snapshotHeader,
  tournament,
  type BaseStrategyOptions,
} from './common.js';
import { compareKeys, rankingKey, type RankingKey } from './ranking.js';
import type { Evaluated, Proposal } from './strategy.js';

export interface RegularizedEvolutionOptions<G> extends BaseStrategyOptions<G> {
  /** Population size P, and the number of initial samples (default 20, at least 2). */
  readonly populationSize?: number;
  /** Members S drawn per tournament (1 to populationSize; default 5, or populationSize if smaller). */
  readonly sampleSize?: number;
}

const NAME = 're';

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 2).default(20),
  sampleSize: intOption('sampleSize', 1).optional(),
};

const optionsSchema = z
  .strictObject(shape)
  .refine((o) => o.sampleSize === undefined || o.sampleSize <= o.populationSize, {
    error: 'sampleSize must be at most populationSize',
    path: ['sampleSize'],
  });

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  sampled: z.number().int().min(0),
  population: z.array(memberSchema),
  pending: z.array(proposalSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

export class RegularizedEvolution<G> extends SeededStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly populationSize: number;
  private readonly sampleSize: number;
  /** Oldest first. */
  private members: Evaluated<G>[] = [];
  private sampled = 0;
  private pending = new PendingProposals<G>();

  constructor(options: RegularizedEvolutionOptions<G>) {
    const parsed = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    const o = { ...parsed, sampleSize: parsed.sampleSize ?? Math.min(5, parsed.populationSize) };
    super(options, o, optionsFingerprint(o));
    this.populationSize = o.populationSize;
    this.sampleSize = o.sampleSize;
  }

  /** The population, oldest first. */
  population(): Evaluated<G>[] {
    return [...this.members];
  }

  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const proposals: Proposal<G>[] = [];
    while (proposals.length < count) {
      let proposal: Proposal<G>;
      if (this.sampled < this.populationSize) {
        proposal = {
          genome: this.space.sample(this.random, this.target),
          parents: [],
          operator: 'sample',
        };
        this.sampled += 1;
      } else if (this.members.length > 0) {
        const parent = this.selectParent();
        proposal = {
          genome: this.space.mutate(parent.genome, this.random, this.target),
          parents: [parent.id],
          operator: 'mutate',
        };
      } else {
        break;
      }
      this.pending.add(this.space, proposal);
      proposals.push(proposal);
    }
    this.askedCount += proposals.length;
    return proposals;
  }

  private selectParent(): Evaluated<G> {
    const keys = new Map<number, RankingKey>();
    const key = (i: number): RankingKey => {
      let k = keys.get(i);
      if (k === undefined) {
        k = rankingKey(this.members[i] as Evaluated<G>, this.objectives, this.constraints);
        keys.set(i, k);
      }
      return k;
    };
    const winner = tournament(
      this.random,
      this.members.length,
      this.sampleSize,
      undefined,
      (i, j) => compareKeys(key(i), key(j)) < 0,
    );
    return this.members[winner] as Evaluated<G>;
  }

  /** Each result joins the population in the order told; the oldest members age out. */
  tell(results: readonly Evaluated<G>[]): void {
    const joined = this.pending.resolve(NAME, this.space, results);
    for (const member of joined) {
      this.members.push(member);
      if (this.members.length > this.populationSize) this.members.shift();
    }
    this.toldCount += results.length;
  }

  protected snapshotState(): Record<string, unknown> {
    return {
      sampled: this.sampled,
      population: this.members.map((m) => memberToJSON(this.space, m)),
      pending: this.pending.toJSON(this.space),
    };
  }

  protected override checkRestorable(data: Snapshot): void {
    checkSnapshot(
      NAME,
      data.population.length <= this.populationSize && data.sampled <= this.populationSize,
      `population of ${String(data.population.length)} after ${String(data.sampled)} samples ` +
        `exceeds populationSize ${String(this.populationSize)}`,
    );
  }

  protected restoreState(data: Snapshot): void {
    this.sampled = data.sampled;
    this.members = data.population.map((m) => memberFromJSON(NAME, this.space, m));
    this.pending = PendingProposals.fromJSON(NAME, this.space, data.pending);
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(
    snapshot: unknown,
    options: RegularizedEvolutionOptions<G>,
  ): RegularizedEvolution<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new RegularizedEvolution(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
