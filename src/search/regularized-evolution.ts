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
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { Random } from '../util/random.js';
import {
  baseOptionsShape,
  checkCount,
  checkSnapshot,
  checkSnapshotOptions,
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
  snapshotHeader,
  SNAPSHOT_VERSION,
  tournament,
  type BaseStrategyOptions,
} from './common.js';
import { compareKeys, rankingKey, type RankingKey } from './ranking.js';
import type { Constraint, Evaluated, Objective, Proposal, Strategy } from './strategy.js';

export interface RegularizedEvolutionOptions<G> extends BaseStrategyOptions<G> {
  /** Population size P, and the number of initial samples (default 20, at least 2). */
  readonly populationSize?: number;
  /** Members S drawn per tournament (default 5, 1 to populationSize). */
  readonly sampleSize?: number;
}

const NAME = 're';

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 2).default(20),
  sampleSize: intOption('sampleSize', 1).default(5),
};

const optionsSchema = z
  .strictObject(shape)
  .refine((o) => o.populationSize < 2 || o.sampleSize <= o.populationSize, {
    error: 'sampleSize must be at most populationSize',
    path: ['sampleSize'],
  });

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  sampled: z.number().int().min(0),
  population: z.array(memberSchema),
  pending: z.array(proposalSchema),
});

export class RegularizedEvolution<G> implements Strategy<G> {
  readonly name = NAME;
  private readonly space: SearchSpace<G>;
  private readonly target: CompileTarget;
  private readonly objectives: readonly Objective[];
  private readonly constraints: readonly Constraint[];
  private readonly populationSize: number;
  private readonly sampleSize: number;
  private readonly fingerprint: string;
  private random: Random;
  /** Oldest first. */
  private members: Evaluated<G>[] = [];
  private sampled = 0;
  private pending = new PendingProposals<G>();
  private askedCount = 0;
  private toldCount = 0;

  constructor(options: RegularizedEvolutionOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    this.space = options.space;
    this.target = options.target;
    this.objectives = o.objectives;
    this.constraints = o.constraints;
    this.populationSize = o.populationSize;
    this.sampleSize = o.sampleSize;
    this.fingerprint = optionsFingerprint(o);
    this.random = new Random(o.seed);
  }

  /** Proposals handed out so far. */
  get asked(): number {
    return this.askedCount;
  }

  /** Results told so far. */
  get told(): number {
    return this.toldCount;
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

  snapshot(): unknown {
    return {
      strategy: NAME,
      version: SNAPSHOT_VERSION,
      options: JSON.parse(this.fingerprint) as unknown,
      random: this.random.state,
      asked: this.askedCount,
      told: this.toldCount,
      sampled: this.sampled,
      population: this.members.map((m) => memberToJSON(this.space, m)),
      pending: this.pending.toJSON(this.space),
    };
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(
    snapshot: unknown,
    options: RegularizedEvolutionOptions<G>,
  ): RegularizedEvolution<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new RegularizedEvolution(options));
    checkSnapshotOptions(NAME, data.options, strategy.fingerprint);
    checkSnapshot(
      NAME,
      data.population.length <= strategy.populationSize && data.sampled <= strategy.populationSize,
      `population of ${String(data.population.length)} after ${String(data.sampled)} samples ` +
        `exceeds populationSize ${String(strategy.populationSize)}`,
    );
    strategy.random = Random.fromState(data.random);
    strategy.askedCount = data.asked;
    strategy.toldCount = data.told;
    strategy.sampled = data.sampled;
    strategy.members = data.population.map((m) => memberFromJSON(NAME, strategy.space, m));
    strategy.pending = PendingProposals.fromJSON(NAME, strategy.space, data.pending);
    return strategy;
  }
}
